//! `pm2 startup [platform]` / `pm2 unstartup [platform]`: the init system
//! runs `pm2 resurrect` at boot and `pm2 kill` at shutdown, for one user.
//!
//! Every init system PM2 knows, with its names and aliases: systemd (a unit,
//! `systemctl enable`), upstart (PM2 writes a System V script enabled with
//! `update-rc.d`, and so does this), systemv (`chkconfig`), openrc
//! (`rc-update`), rcd (FreeBSD, `sysrc`) and launchd (a LaunchAgent,
//! `launchctl`). With no platform the machine's init system is detected.
//! As root the file is written and enabled; as another user the command
//! prints the `sudo` line that does it, as PM2 does.
//! `PM2_STARTUP_ROOT=<dir>` writes under `<dir>` instead of `/`, detects the
//! init system from what is under `<dir>`, and runs no command (it says which
//! it would have run): the files can be checked without touching the machine.

use super::{Ctx, Failure, Outcome};
use crate::init_files::{self, InitFile};
use std::path::{Path, PathBuf};

/// What `pm2 startup` was told, with PM2's defaults filled in.
pub struct Startup {
    pub user: String,
    pub home: PathBuf,
    /// `--service-name`, if given: each init system has its own default.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitSystem {
    Systemd,
    Upstart,
    Systemv,
    Openrc,
    Rcd,
    Launchd,
}

impl InitSystem {
    fn name(self) -> &'static str {
        match self {
            InitSystem::Systemd => "systemd",
            InitSystem::Upstart => "upstart",
            InitSystem::Systemv => "systemv",
            InitSystem::Openrc => "openrc",
            InitSystem::Rcd => "rcd",
            InitSystem::Launchd => "launchd",
        }
    }
}

/// PM2's platform names and aliases, by init system.
fn init_system(platform: &str) -> Option<InitSystem> {
    use InitSystem::*;
    Some(match platform {
        "systemd" | "ubuntu" | "ubuntu16" | "ubuntu18" | "ubuntu20" | "ubuntu22" | "centos"
        | "centos7" | "redhat" | "amazon" | "debian" | "fedora" | "arch" | "oracle" | "suse" => {
            Systemd
        }
        "upstart" | "ubuntu14" | "ubuntu12" => Upstart,
        "launchd" | "darwin" | "macos" => Launchd,
        "openrc" | "gentoo" | "alpine" => Openrc,
        "rcd" | "freebsd" => Rcd,
        "systemv" | "chkconfig" | "centos6" | "amazon1" => Systemv,
        _ => return None,
    })
}

/// The init system of the machine under `root`: the first of the tools
/// PM2 looks for (in PM2's order) found in the system's bin folders, or a
/// running systemd.
fn detect(root: &Path) -> Option<InitSystem> {
    if cfg!(target_os = "macos") || root.join("run/systemd/system").is_dir() {
        return Some(if cfg!(target_os = "macos") {
            InitSystem::Launchd
        } else {
            InitSystem::Systemd
        });
    }
    const TOOLS: &[(&str, InitSystem)] = &[
        ("systemctl", InitSystem::Systemd),
        ("update-rc.d", InitSystem::Upstart),
        ("chkconfig", InitSystem::Systemv),
        ("rc-update", InitSystem::Openrc),
        ("launchctl", InitSystem::Launchd),
        ("sysrc", InitSystem::Rcd),
    ];
    const DIRS: &[&str] = &[
        "usr/local/sbin",
        "usr/local/bin",
        "usr/sbin",
        "usr/bin",
        "sbin",
        "bin",
    ];
    TOOLS.iter().find_map(|(tool, system)| {
        DIRS.iter()
            .any(|d| root.join(d).join(tool).is_file())
            .then_some(*system)
    })
}

fn root_dir() -> Option<PathBuf> {
    std::env::var_os("PM2_STARTUP_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `path` (absolute) under PM2_STARTUP_ROOT, or as is.
fn rooted(path: &Path) -> PathBuf {
    match root_dir() {
        Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// Where an init system's file goes, what it holds, and the commands that
/// enable it and disable it.
struct Plan {
    path: PathBuf,
    text: String,
    mode: u32,
    enable: Vec<Vec<String>>,
    disable: Vec<Vec<String>>,
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

fn plan(system: InitSystem, s: &Startup, pm2_bin: &Path, path_var: &str, wait_ip: bool) -> Plan {
    use InitSystem::*;
    // PM2's default names: pm2-<user>, except openrc's pm2, rc.d's
    // pm2_<user> and launchd's pm2.<user>.
    let service = match (system, &s.service) {
        (Rcd, Some(name)) => init_files::rcd_name(name),
        (_, Some(name)) => name.clone(),
        (Openrc, None) => "pm2".into(),
        (Rcd, None) => init_files::rcd_name(&format!("pm2_{}", s.user)),
        (Launchd, None) => format!("pm2.{}", s.user),
        _ => format!("pm2-{}", s.user),
    };
    let file = InitFile {
        user: &s.user,
        home: &s.home,
        service: &service,
        pm2_bin,
        path_var,
        wait_network: wait_ip,
    };
    let svc = service.as_str();
    match system {
        Systemd => Plan {
            path: PathBuf::from(format!("/etc/systemd/system/{svc}.service")),
            text: init_files::systemd(&file),
            mode: 0o644,
            enable: vec![
                words(&["systemctl", "daemon-reload"]),
                words(&["systemctl", "enable", svc]),
            ],
            disable: vec![words(&["systemctl", "disable", svc])],
        },
        Upstart => Plan {
            path: PathBuf::from(format!("/etc/init.d/{svc}")),
            text: init_files::sysv(&file),
            mode: 0o755,
            enable: vec![words(&["update-rc.d", svc, "defaults"])],
            disable: vec![
                words(&["update-rc.d", svc, "disable"]),
                words(&["update-rc.d", "-f", svc, "remove"]),
            ],
        },
        Systemv => Plan {
            path: PathBuf::from(format!("/etc/init.d/{svc}")),
            text: init_files::sysv(&file),
            mode: 0o755,
            enable: vec![
                words(&["chkconfig", "--add", svc]),
                words(&["chkconfig", svc, "on"]),
            ],
            disable: vec![
                words(&["chkconfig", svc, "off"]),
                words(&["chkconfig", "--del", svc]),
            ],
        },
        Openrc => Plan {
            path: PathBuf::from(format!("/etc/init.d/{svc}")),
            text: init_files::openrc(&file),
            mode: 0o755,
            enable: vec![words(&["rc-update", "add", svc, "default"])],
            disable: vec![words(&["rc-update", "delete", svc, "default"])],
        },
        Rcd => Plan {
            path: PathBuf::from(format!("/usr/local/etc/rc.d/{svc}")),
            text: init_files::rcd(&file),
            mode: 0o755,
            enable: vec![words(&["sysrc", &format!("{svc}_enable=YES")])],
            disable: vec![words(&["sysrc", "-x", &format!("{svc}_enable")])],
        },
        Launchd => {
            let path = s.home.join(format!("Library/LaunchAgents/{svc}.plist"));
            let shown = path.display().to_string();
            Plan {
                text: init_files::launchd(&file),
                mode: 0o644,
                enable: vec![words(&["launchctl", "load", "-w", &shown])],
                disable: vec![words(&["launchctl", "remove", svc])],
                path,
            }
        }
    }
}

/// Runs an init system's command, or under PM2_STARTUP_ROOT says it would have.
fn run(ctx: &Ctx, command: &[String]) -> Outcome {
    let line = command.join(" ");
    if root_dir().is_some() {
        ctx.info(&format!("PM2_STARTUP_ROOT is set: not running `{line}`"));
        return Ok(());
    }
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .status()
        .map_err(|e| Failure::Error(format!("cannot run {}: {e}", command[0])))?;
    if status.success() {
        ctx.info(&format!("[v] Command successfully executed: {line}"));
        Ok(())
    } else {
        Err(Failure::Error(format!("`{line}` failed ({status})")))
    }
}

/// Who the file is for: `-u`, `--hp`, `--service-name`, else this user.
fn resolve(ctx: &Ctx) -> Startup {
    let f = &ctx.flags;
    let user = f
        .user
        .clone()
        .or_else(|| ctx.env.get("USER").cloned())
        .unwrap_or_else(|| "root".into());
    let home =
        f.hp.as_ref()
            .map(PathBuf::from)
            .or_else(|| ctx.env.get("HOME").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(if user == "root" { "/root" } else { "/home" }));
    Startup {
        user,
        home,
        service: f.service_name.clone(),
    }
}

fn platform(name: Option<&str>) -> Result<InitSystem, Failure> {
    match name {
        None => {
            let root = root_dir().unwrap_or_else(|| PathBuf::from("/"));
            detect(&root).ok_or_else(|| {
                Failure::Error(
                    "Init system not found: name it, e.g. pm2 startup systemd (known: systemd, upstart, launchd, openrc, rcd, systemv)"
                        .into(),
                )
            })
        }
        Some(p) => init_system(p).ok_or_else(|| {
            Failure::Error(format!(
                "Init system not found: {p} (known: systemd, upstart, launchd, openrc, rcd, systemv and their aliases)"
            ))
        }),
    }
}

pub fn startup(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let system = platform(name)?;
    if ctx.flags.wait_ip && system != InitSystem::Systemd {
        return Err(Failure::Error(format!(
            "--wait-ip is for systemd units; the {} file starts after the network already",
            system.name()
        )));
    }
    let s = resolve(ctx);
    let pm2_bin = std::env::current_exe().map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0 || root_dir().is_some();
    if !root {
        ctx.info("To setup the Startup Script, copy/paste the following command:");
        // Boot has a bare PATH: the line adds the folder `node` is in.
        let path_var = ctx.env.get("PATH").cloned().unwrap_or_default();
        let node_dir = std::env::split_paths(&path_var)
            .find(|d| d.join("node").is_file())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        crate::output::line(&format!(
            "sudo env PATH=$PATH:{node_dir} {} startup {} -u {} --hp {}",
            pm2_bin.display(),
            name.unwrap_or(system.name()),
            s.user,
            s.home.display()
        ));
        return Err(Failure::Plain(String::new()));
    }
    let path_var = ctx.env.get("PATH").map_or("/usr/bin:/bin", String::as_str);
    let plan = plan(system, &s, &pm2_bin, path_var, ctx.flags.wait_ip);
    let path = rooted(&plan.path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    pm2_config::write_atomic(&path, plan.text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(plan.mode))
        .map_err(|e| format!("cannot make {} mode {:o}: {e}", path.display(), plan.mode))?;
    ctx.info(&format!("Init System found: {}", system.name()));
    ctx.info(&format!("Writing init configuration in {}", path.display()));
    for command in &plan.enable {
        run(ctx, command)?;
    }
    ctx.info("Freeze a process list on reboot via:\n$ pm2 save");
    Ok(())
}

pub fn unstartup(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let system = platform(name)?;
    let s = resolve(ctx);
    let pm2_bin = std::env::current_exe().map_err(|e| e.to_string())?;
    let plan = plan(system, &s, &pm2_bin, "", false);
    let path = rooted(&plan.path);
    if !path.exists() {
        return Err(Failure::Error(format!(
            "No startup script at {}",
            path.display()
        )));
    }
    for command in &plan.disable {
        run(ctx, command)?;
    }
    std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    if system == InitSystem::Systemd {
        run(ctx, &words(&["systemctl", "daemon-reload"]))?;
    }
    ctx.info(&format!("Init file {} removed", path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_name_init_systems() {
        assert_eq!(init_system("ubuntu"), Some(InitSystem::Systemd));
        assert_eq!(init_system("centos6"), Some(InitSystem::Systemv));
        assert_eq!(init_system("darwin"), Some(InitSystem::Launchd));
        assert_eq!(init_system("gentoo"), Some(InitSystem::Openrc));
        assert_eq!(init_system("freebsd"), Some(InitSystem::Rcd));
        assert_eq!(init_system("ubuntu14"), Some(InitSystem::Upstart));
        assert_eq!(init_system("windows"), None);
    }

    #[test]
    fn default_service_names_are_pm2s() {
        let s = Startup {
            user: "app".into(),
            home: PathBuf::from("/home/app"),
            service: None,
        };
        let bin = PathBuf::from("/usr/bin/pm2");
        let p = |sys| plan(sys, &s, &bin, "/usr/bin", false).path;
        assert_eq!(
            p(InitSystem::Systemd),
            Path::new("/etc/systemd/system/pm2-app.service")
        );
        assert_eq!(p(InitSystem::Upstart), Path::new("/etc/init.d/pm2-app"));
        assert_eq!(p(InitSystem::Openrc), Path::new("/etc/init.d/pm2"));
        assert_eq!(p(InitSystem::Rcd), Path::new("/usr/local/etc/rc.d/pm2_app"));
        assert_eq!(
            p(InitSystem::Launchd),
            Path::new("/home/app/Library/LaunchAgents/pm2.app.plist")
        );
    }
}
