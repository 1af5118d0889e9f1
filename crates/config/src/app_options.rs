//! The options that drive an app's supervision, typed: read once from its
//! `pm2_env` (at start, restart with new options, and each launch) so the
//! daemon reads fields instead of looking keys up and parsing them again.
//!
//! Values were converted to numbers and checked when they were accepted
//! (`resolve_app`, the daemon's `prepare` and restart checks); reading here
//! is lenient, as PM2's daemon is, for dumps and apps from older versions.

use std::time::Duration;

use serde_json::{Map, Value};

/// Restarts within `min_uptime` of a launch count as unstable (PM2's default).
pub const DEFAULT_MIN_UPTIME_MS: u64 = 1000;
/// Unstable restarts allowed before the app is errored (PM2's default).
pub const DEFAULT_MAX_RESTARTS: u64 = 16;

/// How an app's processes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecMode {
    #[default]
    Fork,
    /// Node cluster workers sharing the app's ports.
    Cluster,
}

/// An app's supervision options, with PM2's defaults for those it does not set.
#[derive(Debug, Clone, PartialEq)]
pub struct AppOptions {
    pub exec_mode: ExecMode,
    /// Processes the app was started with, when it says.
    pub instances: Option<u64>,
    pub autorestart: bool,
    pub min_uptime: Duration,
    pub max_restarts: u64,
    /// Exit codes after which the app is not restarted.
    pub stop_exit_codes: Box<[i64]>,
    /// `exp_backoff_restart_delay`, when set and above 0.
    pub exp_backoff_restart_delay: Option<Duration>,
    pub restart_delay: Duration,
    /// `None`: the daemon's `PM2_KILL_TIMEOUT`.
    pub kill_timeout: Option<Duration>,
    /// The app's stop signal by name; `None`: the daemon's `PM2_KILL_SIGNAL`.
    pub kill_signal: Option<Box<str>>,
    /// How long a launch waits for `ready` or `listening`; `None`: the daemon's.
    pub listen_timeout: Option<Duration>,
    pub wait_ready: bool,
    pub shutdown_with_message: bool,
    /// Signals reach the whole process tree, not only the main process.
    pub treekill: bool,
    /// Restart above this many bytes of memory (set and above 0).
    pub max_memory_restart: Option<u64>,
    /// Whether the app is watched (`watch: true` or a list of paths).
    pub watch: bool,
    /// The least time between a change and the restart it causes.
    pub watch_delay: Duration,
    /// The `cron_restart` pattern as written, when there is one.
    pub cron_restart: Option<Box<str>>,
    /// The app is an installed module.
    pub pmx_module: bool,
}

impl Default for AppOptions {
    fn default() -> AppOptions {
        AppOptions::from_pm2_env(&Map::new())
    }
}

impl AppOptions {
    /// Reads the options of an app from its `pm2_env`.
    pub fn from_pm2_env(env: &Map<String, Value>) -> AppOptions {
        AppOptions::from_getter(|key| env.get(key))
    }

    /// The options read by `get`, which gives the `pm2_env`'s value of a key.
    pub fn from_getter<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> AppOptions {
        let ms = |key: &str| number(get(key)).map(Duration::from_millis);
        AppOptions {
            exec_mode: match get("exec_mode").and_then(Value::as_str) {
                Some("cluster_mode" | "cluster") => ExecMode::Cluster,
                _ => ExecMode::Fork,
            },
            instances: number(get("instances")),
            autorestart: switch(get("autorestart"), true),
            min_uptime: ms("min_uptime").unwrap_or(Duration::from_millis(DEFAULT_MIN_UPTIME_MS)),
            max_restarts: number(get("max_restarts")).unwrap_or(DEFAULT_MAX_RESTARTS),
            stop_exit_codes: match get("stop_exit_codes") {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
                Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
                _ => Box::default(),
            },
            exp_backoff_restart_delay: ms("exp_backoff_restart_delay").filter(|d| !d.is_zero()),
            restart_delay: ms("restart_delay").unwrap_or_default(),
            kill_timeout: ms("kill_timeout"),
            kill_signal: get("kill_signal").and_then(Value::as_str).map(Box::from),
            listen_timeout: ms("listen_timeout"),
            wait_ready: switch(get("wait_ready"), false),
            shutdown_with_message: switch(get("shutdown_with_message"), false),
            treekill: switch(get("treekill"), true),
            max_memory_restart: number(get("max_memory_restart")).filter(|b| *b > 0),
            watch: watch_is_on(get("watch")),
            watch_delay: Duration::from_millis(millis(get("watch_delay")).unwrap_or(0)),
            cron_restart: cron_pattern(get("cron_restart")),
            pmx_module: switch(get("pmx_module"), false),
        }
    }

    pub fn is_cluster(&self) -> bool {
        self.exec_mode == ExecMode::Cluster
    }
}

/// An on/off option: `"false"` is off, as in PM2's daemon; unset or `null`
/// is `default`; any other value is on.
pub fn switch(v: Option<&Value>, default: bool) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s != "false",
        Some(Value::Null) | None => default,
        Some(_) => true,
    }
}

/// A whole number from a number (negatives read as 0) or a numeric string.
pub fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Milliseconds (or another whole amount) from a number or a numeric
/// string, fractions cut; negatives are none.
pub fn millis(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .map(|f| f as u64),
        _ => None,
    }
}

/// `watch: true`, a path or a list of paths turns watching on.
pub fn watch_is_on(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        Some(Value::Array(_)) => true,
        _ => false,
    }
}

/// The pattern of `cron_restart`; a value that is no pattern at all is kept
/// as text, so parsing it fails with a message where the job is armed.
fn cron_pattern(v: Option<&Value>) -> Option<Box<str>> {
    match crate::cron::pattern(v?) {
        Ok(p) => p.map(Box::from),
        Err(_) => v.map(|v| Box::from(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(v: Value) -> AppOptions {
        AppOptions::from_pm2_env(v.as_object().unwrap())
    }

    #[test]
    fn an_app_without_options_gets_pm2_defaults() {
        let o = AppOptions::default();
        assert!(o.autorestart && o.treekill && !o.wait_ready && !o.watch);
        assert_eq!(o.min_uptime, Duration::from_millis(1000));
        assert_eq!(o.max_restarts, 16);
        assert_eq!(o.kill_timeout, None);
        assert_eq!(o.exec_mode, ExecMode::Fork);
        assert_eq!(o.restart_delay, Duration::ZERO);
        assert!(o.stop_exit_codes.is_empty());
    }

    #[test]
    fn reads_numbers_switches_and_lists_as_the_daemon_stores_them() {
        let o = of(json!({
            "kill_timeout": 3000, "min_uptime": "500", "max_restarts": 3,
            "autorestart": "false", "treekill": false, "wait_ready": true,
            "stop_exit_codes": [0, 3], "exp_backoff_restart_delay": 0,
            "max_memory_restart": 1048576, "exec_mode": "cluster_mode",
            "watch": ["src"], "watch_delay": 250.7, "cron_restart": " 0 * * * * ",
            "kill_signal": "SIGTERM", "listen_timeout": 8000,
        }));
        assert_eq!(o.kill_timeout, Some(Duration::from_millis(3000)));
        assert_eq!(o.min_uptime, Duration::from_millis(500));
        assert_eq!(o.max_restarts, 3);
        assert!(!o.autorestart && !o.treekill && o.wait_ready);
        assert_eq!(&*o.stop_exit_codes, &[0, 3]);
        assert_eq!(o.exp_backoff_restart_delay, None);
        assert_eq!(o.max_memory_restart, Some(1 << 20));
        assert!(o.is_cluster() && o.watch);
        assert_eq!(o.watch_delay, Duration::from_millis(250));
        assert_eq!(o.cron_restart.as_deref(), Some("0 * * * *"));
        assert_eq!(o.kill_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(o.listen_timeout, Some(Duration::from_millis(8000)));
    }

    #[test]
    fn off_values_turn_options_off() {
        let o = of(
            json!({"watch": "false", "cron_restart": "0", "max_memory_restart": 0, "stop_exit_codes": 2}),
        );
        assert!(!o.watch);
        assert_eq!(o.cron_restart, None);
        assert_eq!(o.max_memory_restart, None);
        assert_eq!(&*o.stop_exit_codes, &[2]);
        assert_eq!(
            of(json!({"cron_restart": [1]})).cron_restart.as_deref(),
            Some("[1]")
        );
    }
}
