//! The files `pm2 startup` writes, one per init system: each runs
//! `pm2 resurrect` as the user at boot and `pm2 kill` at shutdown, with that
//! user's PM2_HOME and the PATH `pm2 startup` ran with. Pure text: where they
//! go and what enables them is `commands/startup.rs`.

use std::path::Path;

/// Who and what an init file is for.
pub struct InitFile<'a> {
    pub user: &'a str,
    /// The user's home folder; PM2_HOME is `<home>/.pm2`.
    pub home: &'a Path,
    /// The service's name (unit, script, rc.d name or launchd label).
    pub service: &'a str,
    pub pm2_bin: &'a Path,
    pub path_var: &'a str,
    /// systemd only: start once the network is online (`--wait-ip`).
    pub wait_network: bool,
}

impl InitFile<'_> {
    fn pm2_home(&self) -> String {
        self.home.join(".pm2").display().to_string()
    }

    fn bin(&self) -> String {
        self.pm2_bin.display().to_string()
    }
}

/// A shell word that stays one word whatever it holds.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The systemd unit.
pub fn systemd(f: &InitFile) -> String {
    let (after, wants) = if f.wait_network {
        (
            "After=network.target network-online.target\n",
            "Wants=network-online.target\n",
        )
    } else {
        ("After=network.target\n", "")
    };
    let home = f.pm2_home();
    let bin = f.bin();
    format!(
        "[Unit]\n\
         Description=PM2 process manager for {user}\n\
         {after}{wants}\
         \n\
         [Service]\n\
         Type=forking\n\
         User={user}\n\
         LimitNOFILE=infinity\n\
         LimitNPROC=infinity\n\
         LimitCORE=infinity\n\
         Environment=PATH={path}\n\
         Environment=PM2_HOME={home}\n\
         PIDFile={home}/pm2.pid\n\
         Restart=on-failure\n\
         \n\
         ExecStart={bin} resurrect\n\
         ExecReload={bin} reload all\n\
         ExecStop={bin} kill\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        user = f.user,
        path = f.path_var,
    )
}

/// The settings every shell init script starts with, and `run_pm2`, which
/// runs the CLI as the user (`su_form` is how this system's `su` passes
/// arguments to the shell).
fn shell_prelude(f: &InitFile, su_form: &str) -> String {
    format!(
        "PM2={bin}\n\
         PM2_USER={user}\n\
         PATH={path}\n\
         PM2_HOME={home}\n\
         export PATH PM2_HOME\n\
         \n\
         # Runs the pm2 CLI as $PM2_USER, with its arguments kept as words and\n\
         # this PATH and PM2_HOME (su may reset the environment).\n\
         run_pm2() {{\n\
         \x20   if [ \"$(id -un)\" = \"$PM2_USER\" ]; then\n\
         \x20       \"$PM2\" \"$@\"\n\
         \x20   else\n\
         \x20       {su_form} 'PATH=\"$1\" PM2_HOME=\"$2\"; export PATH PM2_HOME; shift 2; exec \"$@\"' \\\n\
         \x20           pm2 \"$PATH\" \"$PM2_HOME\" \"$PM2\" \"$@\"\n\
         \x20   fi\n\
         }}\n",
        bin = sh_quote(&f.bin()),
        user = sh_quote(f.user),
        path = sh_quote(f.path_var),
        home = sh_quote(&f.pm2_home()),
    )
}

/// A System V init script (LSB and chkconfig headers), for `update-rc.d`
/// (PM2's "upstart") and `chkconfig` ("systemv").
pub fn sysv(f: &InitFile) -> String {
    format!(
        "#!/bin/sh\n\
         ### BEGIN INIT INFO\n\
         # Provides:          {service}\n\
         # Required-Start:    $local_fs $remote_fs $network\n\
         # Required-Stop:     $local_fs $remote_fs $network\n\
         # Default-Start:     2 3 4 5\n\
         # Default-Stop:      0 1 6\n\
         # Short-Description: PM2 process manager for {user}\n\
         # Description:       Brings back {user}'s saved PM2 process list at boot\n\
         #                    (pm2 resurrect) and stops it at shutdown (pm2 kill).\n\
         ### END INIT INFO\n\
         # chkconfig: 2345 98 02\n\
         # description: PM2 process manager for {user}\n\
         \n\
         {prelude}\
         \n\
         case \"$1\" in\n\
         \x20   start)\n\
         \x20       echo \"Starting PM2 for $PM2_USER\"\n\
         \x20       run_pm2 resurrect\n\
         \x20       ;;\n\
         \x20   stop)\n\
         \x20       echo \"Stopping PM2 for $PM2_USER\"\n\
         \x20       run_pm2 kill\n\
         \x20       ;;\n\
         \x20   restart)\n\
         \x20       run_pm2 kill\n\
         \x20       run_pm2 resurrect\n\
         \x20       ;;\n\
         \x20   reload|force-reload)\n\
         \x20       run_pm2 reload all\n\
         \x20       ;;\n\
         \x20   status)\n\
         \x20       # (without starting a daemon, as `pm2 ping` would)\n\
         \x20       if ! kill -0 \"$(cat \"$PM2_HOME/pm2.pid\" 2>/dev/null)\" 2>/dev/null; then\n\
         \x20           echo \"PM2 is not running for $PM2_USER\"\n\
         \x20           exit 3\n\
         \x20       fi\n\
         \x20       run_pm2 ls\n\
         \x20       ;;\n\
         \x20   *)\n\
         \x20       echo \"Usage: $0 {{start|stop|restart|reload|status}}\" >&2\n\
         \x20       exit 2\n\
         \x20       ;;\n\
         esac\n",
        service = f.service,
        user = f.user,
        prelude = shell_prelude(f, "su \"$PM2_USER\" -s /bin/sh -c"),
    )
}

/// An OpenRC service script.
pub fn openrc(f: &InitFile) -> String {
    format!(
        "#!/sbin/openrc-run\n\
         description=\"PM2 process manager for {user}: pm2 resurrect at boot, pm2 kill at shutdown\"\n\
         extra_started_commands=\"reload\"\n\
         \n\
         {prelude}\
         \n\
         depend() {{\n\
         \x20   need net localmount\n\
         \x20   after bootmisc\n\
         }}\n\
         \n\
         start() {{\n\
         \x20   ebegin \"Starting PM2 for $PM2_USER\"\n\
         \x20   run_pm2 resurrect\n\
         \x20   eend $?\n\
         }}\n\
         \n\
         stop() {{\n\
         \x20   ebegin \"Stopping PM2 for $PM2_USER\"\n\
         \x20   run_pm2 kill\n\
         \x20   eend $?\n\
         }}\n\
         \n\
         reload() {{\n\
         \x20   ebegin \"Reloading the apps of PM2 for $PM2_USER\"\n\
         \x20   run_pm2 reload all\n\
         \x20   eend $?\n\
         }}\n",
        user = f.user,
        prelude = shell_prelude(f, "su \"$PM2_USER\" -s /bin/sh -c"),
    )
}

/// A FreeBSD rc.d script; `service` must be a shell name (see [`rcd_name`]).
pub fn rcd(f: &InitFile) -> String {
    let name = f.service;
    format!(
        "#!/bin/sh\n\
         #\n\
         # PROVIDE: {name}\n\
         # REQUIRE: LOGIN\n\
         # KEYWORD: shutdown\n\
         #\n\
         # PM2 process manager for {user}: pm2 resurrect at boot, pm2 kill at\n\
         # shutdown. Enable with: sysrc {name}_enable=YES\n\
         \n\
         . /etc/rc.subr\n\
         \n\
         name=\"{name}\"\n\
         rcvar=\"{name}_enable\"\n\
         extra_commands=\"reload status\"\n\
         start_cmd=\"{name}_start\"\n\
         stop_cmd=\"{name}_stop\"\n\
         reload_cmd=\"{name}_reload\"\n\
         status_cmd=\"{name}_status\"\n\
         \n\
         {prelude}\
         \n\
         {name}_start() {{\n\
         \x20   run_pm2 resurrect\n\
         }}\n\
         \n\
         {name}_stop() {{\n\
         \x20   run_pm2 kill\n\
         }}\n\
         \n\
         {name}_reload() {{\n\
         \x20   run_pm2 reload all\n\
         }}\n\
         \n\
         {name}_status() {{\n\
         \x20   run_pm2 ls\n\
         }}\n\
         \n\
         load_rc_config \"$name\"\n\
         : \"${{{name}_enable:=NO}}\"\n\
         run_rc_command \"$1\"\n",
        user = f.user,
        // FreeBSD's su hands what follows the user name to the shell (its
        // own -c is a login class); -m keeps the root shell, /bin/sh.
        prelude = shell_prelude(f, "su -m \"$PM2_USER\" -c"),
    )
}

/// An rc.d name (and rcvar prefix) must be a shell variable name.
pub fn rcd_name(service: &str) -> String {
    let mut name: String = service
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// A launchd property list: `pm2 resurrect` once at load (the daemon it
/// starts leaves the job's process group, so launchd lets it run).
pub fn launchd(f: &InitFile) -> String {
    let home = f.pm2_home();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20 <key>Label</key>\n\
         \x20 <string>{label}</string>\n\
         \x20 <key>UserName</key>\n\
         \x20 <string>{user}</string>\n\
         \x20 <key>ProgramArguments</key>\n\
         \x20 <array>\n\
         \x20   <string>{bin}</string>\n\
         \x20   <string>resurrect</string>\n\
         \x20 </array>\n\
         \x20 <key>RunAtLoad</key>\n\
         \x20 <true/>\n\
         \x20 <key>LaunchOnlyOnce</key>\n\
         \x20 <true/>\n\
         \x20 <key>AbandonProcessGroup</key>\n\
         \x20 <true/>\n\
         \x20 <key>EnvironmentVariables</key>\n\
         \x20 <dict>\n\
         \x20   <key>PATH</key>\n\
         \x20   <string>{path}</string>\n\
         \x20   <key>PM2_HOME</key>\n\
         \x20   <string>{home}</string>\n\
         \x20 </dict>\n\
         \x20 <key>StandardOutPath</key>\n\
         \x20 <string>{home}/launchd.log</string>\n\
         \x20 <key>StandardErrorPath</key>\n\
         \x20 <string>{home}/launchd.log</string>\n\
         </dict>\n\
         </plist>\n",
        label = xml_escape(f.service),
        user = xml_escape(f.user),
        bin = xml_escape(&f.bin()),
        path = xml_escape(f.path_var),
        home = xml_escape(&home),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(service: &str) -> (PathBuf, PathBuf) {
        let _ = service;
        (
            PathBuf::from("/home/o'neil"),
            PathBuf::from("/opt/pm2 & co/pm2"),
        )
    }

    #[test]
    fn shell_words_survive_quotes_and_spaces() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("o'neil"), r"'o'\''neil'");
        let (home, bin) = file("pm2-x");
        let f = InitFile {
            user: "o'neil",
            home: &home,
            service: "pm2-oneil",
            pm2_bin: &bin,
            path_var: "/usr/bin:/bin",
            wait_network: false,
        };
        let text = sysv(&f);
        assert!(text.contains(r"PM2='/opt/pm2 & co/pm2'"), "{text}");
        assert!(text.contains(r"PM2_HOME='/home/o'\''neil/.pm2'"), "{text}");
        let plist = launchd(&f);
        assert!(
            plist.contains("<string>/opt/pm2 &amp; co/pm2</string>"),
            "{plist}"
        );
    }

    #[test]
    fn wait_ip_waits_for_the_network_in_systemd() {
        let home = PathBuf::from("/root");
        let bin = PathBuf::from("/usr/bin/pm2");
        let mut f = InitFile {
            user: "root",
            home: &home,
            service: "pm2-root",
            pm2_bin: &bin,
            path_var: "/usr/bin",
            wait_network: false,
        };
        assert!(!systemd(&f).contains("network-online"));
        f.wait_network = true;
        let unit = systemd(&f);
        assert!(unit.contains("Wants=network-online.target\n"));
        assert!(unit.contains("After=network.target network-online.target\n"));
    }

    #[test]
    fn rcd_names_are_shell_names() {
        assert_eq!(rcd_name("pm2-root"), "pm2_root");
        assert_eq!(rcd_name("1st.svc"), "_1st_svc");
    }
}
