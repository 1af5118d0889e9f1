//! `pm2 startup [platform]` / `pm2 unstartup`: the init system runs
//! `pm2 resurrect` at boot and `pm2 kill` at shutdown, for one user.
//!
//! systemd is built; the other init systems PM2 knows answer that they are
//! not built yet. As root the unit is written and enabled; as another user
//! the command prints the `sudo` line that does it, as PM2 does.
//! `PM2_STARTUP_ROOT=<dir>` writes under `<dir>` instead of `/` and runs no
//! `systemctl`: the unit can be checked without touching the machine.

use super::{Ctx, Failure, Outcome};
use std::path::{Path, PathBuf};

/// What `pm2 startup` was told, with PM2's defaults filled in.
pub struct Startup {
    pub user: String,
    pub home: PathBuf,
    pub service: String,
}

/// PM2's platform names and aliases, by init system.
fn init_system(platform: &str) -> Option<&'static str> {
    Some(match platform {
        "systemd" | "ubuntu" | "ubuntu16" | "ubuntu18" | "ubuntu20" | "ubuntu22" | "centos"
        | "centos7" | "redhat" | "amazon" | "debian" | "fedora" | "arch" | "oracle" | "suse" => {
            "systemd"
        }
        "upstart" | "ubuntu14" | "ubuntu12" => "upstart",
        "launchd" | "darwin" | "macos" => "launchd",
        "openrc" | "gentoo" | "alpine" => "openrc",
        "rcd" | "freebsd" => "rcd",
        "systemv" | "chkconfig" | "centos6" | "amazon1" => "systemv",
        _ => return None,
    })
}

/// The init system of this machine, when none is named.
fn detect() -> &'static str {
    if Path::new("/run/systemd/system").is_dir() || Path::new("/usr/bin/systemctl").exists() {
        "systemd"
    } else if Path::new("/sbin/openrc-run").exists() {
        "openrc"
    } else {
        "systemv"
    }
}

/// The systemd unit that keeps this user's PM2 across reboots.
pub fn systemd_unit(s: &Startup, pm2_bin: &Path, path_var: &str) -> String {
    let pm2_home = s.home.join(".pm2");
    let bin = pm2_bin.display();
    format!(
        "[Unit]\n\
         Description=PM2 process manager for {user}\n\
         After=network.target\n\
         \n\
         [Service]\n\
         Type=forking\n\
         User={user}\n\
         LimitNOFILE=infinity\n\
         LimitNPROC=infinity\n\
         LimitCORE=infinity\n\
         Environment=PATH={path_var}\n\
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
        user = s.user,
        home = pm2_home.display(),
    )
}

fn root_dir() -> Option<PathBuf> {
    std::env::var_os("PM2_STARTUP_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn unit_path(service: &str) -> PathBuf {
    let base = root_dir().unwrap_or_else(|| PathBuf::from("/"));
    base.join("etc/systemd/system")
        .join(format!("{service}.service"))
}

fn systemctl(args: &[&str]) -> Result<(), Failure> {
    if root_dir().is_some() {
        return Ok(());
    }
    let status = std::process::Command::new("systemctl")
        .args(args)
        .status()
        .map_err(|e| Failure::Error(format!("cannot run systemctl: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Error(format!(
            "systemctl {} failed ({status})",
            args.join(" ")
        )))
    }
}

/// Who the unit is for: `-u`, `--hp`, `--service-name`, else this user.
fn resolve(ctx: &Ctx, user: Option<&str>, home: Option<&str>, service: Option<&str>) -> Startup {
    let user = user
        .map(str::to_string)
        .or_else(|| ctx.env.get("USER").cloned())
        .unwrap_or_else(|| "root".into());
    let home = home
        .map(PathBuf::from)
        .or_else(|| ctx.env.get("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(if user == "root" { "/root" } else { "/home" }));
    let service = service
        .map(str::to_string)
        .unwrap_or_else(|| format!("pm2-{user}"));
    Startup {
        user,
        home,
        service,
    }
}

fn platform(name: Option<&str>) -> Result<&'static str, Failure> {
    match name {
        None => Ok(detect()),
        Some(p) => init_system(p).ok_or_else(|| {
            Failure::Error(format!(
                "Init system not found: {p} (known: systemd, upstart, launchd, openrc, rcd, systemv and their aliases)"
            ))
        }),
    }
}

fn not_built(system: &str) -> Failure {
    Failure::Error(format!(
        "pm2 startup for {system} is not built in this pm2 yet; systemd is"
    ))
}

pub fn startup(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let system = platform(name)?;
    let f = &ctx.flags;
    let s = resolve(
        ctx,
        f.user.as_deref(),
        f.hp.as_deref(),
        f.service_name.as_deref(),
    );
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
            name.unwrap_or(system),
            s.user,
            s.home.display()
        ));
        return Err(Failure::Plain(String::new()));
    }
    if system != "systemd" {
        return Err(not_built(system));
    }
    let unit = systemd_unit(
        &s,
        &pm2_bin,
        ctx.env.get("PATH").map_or("/usr/bin:/bin", String::as_str),
    );
    let path = unit_path(&s.service);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    pm2_config::write_atomic(&path, unit.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    ctx.info(&format!("Init System found: {system}"));
    ctx.info(&format!("Writing init configuration in {}", path.display()));
    if root_dir().is_none() {
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", &s.service])?;
        ctx.info(&format!(
            "[v] Command successfully executed: systemctl enable {}",
            s.service
        ));
    }
    ctx.info("Freeze a process list on reboot via:\n$ pm2 save");
    Ok(())
}

pub fn unstartup(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let system = platform(name)?;
    if system != "systemd" {
        return Err(not_built(system));
    }
    let f = &ctx.flags;
    let s = resolve(ctx, f.user.as_deref(), None, f.service_name.as_deref());
    let path = unit_path(&s.service);
    if !path.exists() {
        return Err(Failure::Error(format!(
            "No startup script at {}",
            path.display()
        )));
    }
    systemctl(&["disable", &s.service])?;
    std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    systemctl(&["daemon-reload"])?;
    ctx.info(&format!("Init file {} removed", path.display()));
    Ok(())
}
