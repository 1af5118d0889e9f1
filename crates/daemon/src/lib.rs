//! The PM2-compatible daemon: serves PM2's RPC methods on `rpc.sock`,
//! publishes events on `pub.sock`, and supervises apps.
//!
//! Used by the `pm2-daemon` binary and, for `connect(true)`, inside the Node
//! addon (the same supervisor, in the user's process).

mod adopt_after_crash;
mod agent_data;
mod app_processes;
pub mod bus;
mod cgroup;
mod child;
mod clock;
mod cluster;
mod cron;
pub mod daemon_log;
pub mod exposure;
mod fd_limit;
mod glob;
mod handlers;
pub mod handover;
pub mod heap;
pub mod host_metrics;
mod lifecycle;
mod limits;
mod log_rotation;
mod log_throttle;
mod log_writer;
mod option_checks;
pub mod orphans;
mod os;
pub use os::code_pages;
pub mod pm2_env;
pub mod pm2_env_vars;
mod proc_info;
mod process;
mod process_sweep;
mod report_pace;
mod rpc_server;
mod runtime;
pub mod settings;
mod spawn;
pub mod state_record;
pub mod supervisor;
pub mod trigger;
mod usage_sample;
pub mod watch;
pub mod web;

use bus::Bus;
use cgroup::AppCgroups;
use daemon_log::DaemonLog;
use pm2_config::Paths;
use serde_json::json;
use settings::Settings;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use supervisor::Supervisor;
use tokio::net::UnixListener;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why the daemon is going down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExitReason {
    /// `killMe` from a client; the daemon sends SIGQUIT to that client's pid
    /// (checked by `handlers/daemon.rs`) once it is down, as PM2 does.
    KillMe { pid: Option<i32> },
    /// SIGTERM, SIGINT or SIGQUIT: save the process list first, as PM2 does.
    Signal,
    /// The host process is going away (in-process mode).
    HostExit,
}

pub struct Daemon {
    pub supervisor: Supervisor,
    pub bus: Bus,
    log: DaemonLog,
    paths: Paths,
    settings: Settings,
    /// Where the apps' cgroups are, when the daemon can have them.
    cgroups: Option<Arc<AppCgroups>>,
    /// The last host snapshot, for `getSystemData`.
    host: host_metrics::HostMetrics,
    /// `pm2 web`: the HTTP listener, when one is on.
    web: web::Web,
    exit: tokio::sync::watch::Sender<Option<ExitReason>>,
    /// The listening sockets `rpc.sock` and `pub.sock`, handed over by an
    /// exec in place.
    sockets: [RawFd; 2],
    /// Whether this daemon replaced another in place, and how that went.
    handover: handover::Outcome,
}

impl Daemon {
    pub fn request_exit(&self, reason: ExitReason) {
        self.exit.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

#[derive(Debug)]
pub enum StartError {
    /// A daemon answers on `rpc.sock`, or `pm2.pid` names a live daemon
    /// (whose pid is given) that does not answer.
    AlreadyRunning(Option<i32>),
    Io(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::AlreadyRunning(None) => write!(f, "a PM2 daemon already serves this PM2_HOME"),
            StartError::AlreadyRunning(Some(pid)) => write!(
                f,
                "a PM2 daemon (pid {pid}) is alive for this PM2_HOME but does not answer on rpc.sock"
            ),
            StartError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        StartError::Io(e)
    }
}

/// A started daemon. [`DaemonHandle::finished`] resolves once it has shut down.
pub struct DaemonHandle {
    pub daemon: Arc<Daemon>,
    done: tokio::sync::watch::Receiver<bool>,
}

impl DaemonHandle {
    /// The lines a supervisor in the foreground logged before its command
    /// could read the bus; empty after the first call.
    pub fn early_log_lines(&self) -> Vec<daemon_log::EarlyLine> {
        self.daemon.log.take_early_lines()
    }

    pub async fn finished(&self) {
        let mut d = self.done.clone();
        let _ = d.wait_for(|done| *done).await;
    }
}

fn bind(path: &std::path::Path) -> io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o770))?;
    Ok(listener)
}

/// Holds an exclusive lock on PM2_HOME while a daemon starts: daemons
/// launched at once by several clients start one after the other, so the
/// second finds the first serving instead of removing its sockets.
fn lock_home_for_start(home: &std::path::Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(home).ok()?;
    // SAFETY: flock on a descriptor this function owns; it waits at most as
    // long as another daemon's start, a few milliseconds.
    let r = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) };
    (r == 0).then_some(dir)
}

/// Binds both sockets and starts serving. Returns once clients can connect.
pub async fn start(paths: Paths, settings: Settings) -> Result<DaemonHandle, StartError> {
    start_after(paths, settings, handover::Inherited::Fresh).await
}

/// A listening socket this process inherited by number.
fn inherited_listener(fd: RawFd) -> io::Result<UnixListener> {
    let fd = handover::take_fd(fd)
        .ok_or_else(|| io::Error::other(format!("descriptor {fd} is not open")))?;
    let listener = std::os::unix::net::UnixListener::from(fd);
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// [`start`] for a daemon that may come from an exec in place: it then
/// takes the old daemon's sockets and adopts its apps.
pub async fn start_after(
    paths: Paths,
    settings: Settings,
    inherited: handover::Inherited,
) -> Result<DaemonHandle, StartError> {
    paths.init_file_structure()?;
    let _starting = lock_home_for_start(&paths.home);
    let (record, abandoned) = match inherited {
        handover::Inherited::Fresh => (None, None),
        handover::Inherited::Record(r) => (Some(r), None),
        handover::Inherited::Abandoned(why) => (None, Some(why)),
    };
    let (rpc, publisher, cgroups) = match &record {
        Some(r) => {
            let cgroups = match &r.cgroup {
                Some((dir, fd)) => handover::take_fd(*fd)
                    .map(|owner| Arc::new(AppCgroups::adopt(dir.clone(), owner)))
                    .ok_or_else(|| format!("the cgroup lock (descriptor {fd}) is not open")),
                None => Err("the replaced daemon had none".to_string()),
            };
            (
                inherited_listener(r.rpc_fd)?,
                inherited_listener(r.pub_fd)?,
                cgroups,
            )
        }
        None => {
            if tokio::net::UnixStream::connect(&paths.rpc_sock)
                .await
                .is_ok()
            {
                return Err(StartError::AlreadyRunning(None));
            }
            if !settings.in_process {
                if let Some(pid) = paths.live_daemon_pid() {
                    return Err(StartError::AlreadyRunning(Some(pid)));
                }
            }
            let rpc = bind(&paths.rpc_sock)?;
            let publisher = bind(&paths.pub_sock)?;
            pm2_env_vars::chown_sockets(&[&paths.rpc_sock, &paths.pub_sock])
                .map_err(|e| StartError::Io(io::Error::other(e)))?;
            let cgroups = if settings.app_cgroups {
                AppCgroups::create().map(Arc::new)
            } else {
                Err("PM2_APP_CGROUPS is off".into())
            };
            (rpc, publisher, cgroups)
        }
    };
    let bus = Bus::default();
    let log = if settings.in_process {
        DaemonLog::foreground(bus.clone())
    } else {
        DaemonLog::new(paths.log_file.clone(), bus.clone())
    };
    let supervisor = Supervisor::start(
        paths.clone(),
        settings.clone(),
        bus.clone(),
        log.clone(),
        cgroups.as_ref().ok().cloned(),
    );
    let outcome = handover::take_over(&supervisor, record, abandoned).await;
    let (exit, mut exit_rx) = tokio::sync::watch::channel(None);
    let daemon = Arc::new(Daemon {
        supervisor,
        bus,
        log,
        paths,
        settings,
        cgroups: cgroups.as_ref().ok().cloned(),
        host: host_metrics::HostMetrics::default(),
        web: web::Web::default(),
        exit,
        sockets: [rpc.as_raw_fd(), publisher.as_raw_fd()],
        handover: outcome,
    });
    // Not inside a user's Node process, nor where `pm2 set pm2:sysmonit false` says so.
    if !daemon.settings.in_process && !host_metrics::sampling_off(&daemon.paths.module_conf) {
        daemon.host.start_sampling(daemon.settings.worker_interval);
    }
    // A daemon exec'd in place has its predecessor's apps already (or
    // stopped them): the state record names this very process.
    if !daemon.settings.in_process && daemon.handover.replaced.is_none() {
        adopt_after_crash::adopt_from_record(&daemon.supervisor, &daemon.log, &daemon.paths.home)
            .await;
    }
    rpc_server::serve_rpc(rpc, daemon.clone());
    rpc_server::serve_pub(publisher, daemon.clone());
    if !daemon.settings.in_process {
        pm2_config::write_atomic(
            &daemon.paths.pid_file,
            std::process::id().to_string().as_bytes(),
        )?;
    }
    if daemon.settings.in_process {
        daemon.log.info("Launching in no daemon mode");
    } else {
        daemon.log.info(&format!(
            "PM2 daemon (rust) v{VERSION} started, pid {}, PM2_HOME {}",
            std::process::id(),
            daemon.paths.home.display()
        ));
    }
    if let Some(r) = &daemon.handover.replaced {
        daemon.log.info(&format!("PM2 daemon {}", r.message));
    }
    for notice in pm2_env_vars::notices() {
        daemon.log.info(&notice);
    }
    for warning in exposure::warnings(&daemon.paths) {
        daemon.log.info(&format!("WARNING: {warning}"));
    }
    daemon.log.info(&match &cgroups {
        Ok(c) => format!(
            "apps run in cgroups under {}: a stop kills every process an app started",
            c.dir().display()
        ),
        Err(why) => format!(
            "apps run without cgroups ({why}): a stop reaches an app's process tree, group and session"
        ),
    });
    web::restore(&daemon).await;
    let (done_tx, done) = tokio::sync::watch::channel(false);
    let d = daemon.clone();
    tokio::spawn(async move {
        let reason = loop {
            if let Some(r) = *exit_rx.borrow_and_update() {
                break r;
            }
            if exit_rx.changed().await.is_err() {
                break ExitReason::HostExit;
            }
        };
        shut_down(&d, reason).await;
        let _ = done_tx.send(true);
    });
    Ok(DaemonHandle { daemon, done })
}

async fn shut_down(d: &Daemon, reason: ExitReason) {
    // A foreground supervisor's command says when it is done instead.
    if !d.settings.in_process {
        d.log
            .info(&format!("PM2 daemon shutting down ({reason:?})"));
    }
    d.supervisor.block_restarts().await;
    // The setting stays in PM2_HOME for the next daemon.
    d.web.stop();
    if reason == ExitReason::Signal {
        if let Err(e) = save_dump(d).await {
            d.log.info(&format!("could not save the process list: {e}"));
        }
    }
    if let ExitReason::KillMe { .. } = reason {
        d.bus.publish(
            "pm2:kill",
            &json!({"status": "killed", "msg": "pm2 has been killed via CLI"}),
        );
    }
    d.supervisor.stop_all().await;
    d.supervisor.forget_state().await;
    process_sweep::drained().await;
    if let Some(cgroups) = &d.cgroups {
        cgroups.remove().await;
    }
    if let ExitReason::KillMe { pid: Some(pid) } = reason {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGQUIT,
        );
    }
    let _ = std::fs::remove_file(&d.paths.rpc_sock);
    let _ = std::fs::remove_file(&d.paths.pub_sock);
    if !d.settings.in_process {
        let _ = std::fs::remove_file(&d.paths.pid_file);
    }
}

/// Writes `dump.pm2` from the live list (modules left out), keeping a `.bak`.
async fn save_dump(d: &Daemon) -> io::Result<()> {
    let list = d.supervisor.list().await.unwrap_or_default();
    let entries = pm2_config::dump::entries_from_list(&list);
    pm2_config::dump::write(&d.paths, &entries)
}
