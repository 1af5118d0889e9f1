//! Daemon-wide settings, read once from the daemon's environment at start,
//! as PM2 does (`pm2 update` is how users apply new values).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// SIGKILL follows the stop signal after this long (`PM2_KILL_TIMEOUT`, 1600 ms).
    pub kill_timeout: Duration,
    /// The stop signal (`PM2_KILL_SIGNAL`, SIGINT).
    pub kill_signal: String,
    /// Stop by sending `'shutdown'` over IPC (`PM2_KILL_USE_MESSAGE`).
    pub kill_use_message: bool,
    /// Period of the memory/backoff checks (`PM2_WORKER_INTERVAL`, 30 s).
    pub worker_interval: Duration,
    /// Default `listen_timeout` for `wait_ready` (`PM2_GRACEFUL_LISTEN_TIMEOUT`, 3 s).
    pub listen_timeout: Duration,
    /// Uptime after which the exponential backoff resets (`EXP_BACKOFF_RESET_TIMER`, 30 s).
    pub backoff_reset: Duration,
    /// The JS container node apps run through.
    pub container: PathBuf,
    /// Set when the supervisor runs inside a user's Node process (`connect(true)`).
    pub in_process: bool,
    /// Run each app in a cgroup of its own where cgroup v2 is delegated to the
    /// daemon (`PM2_APP_CGROUPS`, on; `false` turns it off).
    pub app_cgroups: bool,
}

fn ms(var: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(var)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default),
    )
}

impl Settings {
    pub fn from_env() -> Settings {
        let container = std::env::var_os("PM2_CONTAINER_PATH")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(default_container);
        Settings {
            kill_timeout: ms("PM2_KILL_TIMEOUT", 1600),
            kill_signal: std::env::var("PM2_KILL_SIGNAL").unwrap_or_else(|_| "SIGINT".into()),
            kill_use_message: std::env::var("PM2_KILL_USE_MESSAGE").is_ok_and(|v| v == "true"),
            worker_interval: ms("PM2_WORKER_INTERVAL", 30_000),
            listen_timeout: ms("PM2_GRACEFUL_LISTEN_TIMEOUT", 3000),
            backoff_reset: ms("EXP_BACKOFF_RESET_TIMER", 30_000),
            container,
            in_process: false,
            app_cgroups: std::env::var("PM2_APP_CGROUPS")
                .map_or(true, |v| !matches!(v.trim(), "false" | "0" | "off")),
        }
    }
}

/// `<package>/lib/container.js`, found from this binary's path.
fn default_container() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    pm2_config::package_dir(&exe)
        .join("lib")
        .join("container.js")
}
