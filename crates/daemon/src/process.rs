//! One supervised process: its `pm2_env` (the description PM2 clients read)
//! and the handles of its running child.

use crate::lifecycle::Lifecycle;
use crate::log_writer::{LogConfig, LogSink};
use crate::pm2_env::Pm2Env;
use crate::proc_info::CpuSample;
use crate::runtime::Runtime;
use pm2_config::date_format::dayjs_to_chrono;
use pm2_config::{AppOptions, Paths};
use pm2_wire::ipc::IpcWriter;
use serde_json::{json, Map, Value};
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// A caller waiting for a request on a process to be carried out; told the
/// process as it is then (its `describe` view), or why it was not.
pub type Waiter = oneshot::Sender<Result<Value, String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Launching,
    Online,
    Stopping,
    Stopped,
    Errored,
    WaitingRestart,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Launching => "launching",
            Status::Online => "online",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Errored => "errored",
            Status::WaitingRestart => "waiting restart",
        }
    }

    pub fn is_running(self) -> bool {
        matches!(self, Status::Launching | Status::Online)
    }
}

/// A live child.
pub struct Running {
    pub pid: u32,
    pub ipc: Option<IpcWriter>,
    /// Shared so `sendLineToStdin` calls can write without taking it away.
    pub stdin: Option<Arc<tokio::sync::Mutex<tokio::net::unix::pipe::Sender>>>,
    pub started: Instant,
    /// The daemon's ends of the child's pipes and channel, owned by the
    /// tasks that use them: what an exec of the daemon in place hands over.
    /// None for a child taken back after a crash (the daemon has not all of them).
    pub fds: Option<ChildFds>,
}

/// Descriptor numbers of a running child's stdin, stdout, stderr and IPC
/// channel in the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildFds {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub ipc: RawFd,
}

pub struct Proc {
    pub pm_id: u64,
    /// The flattened `pm2_env`: the app's options, runtime fields, and the
    /// app's env both under `env` and copied onto the top level (both
    /// shared with the apps that have the same env).
    pub env: Pm2Env,
    /// The supervision options of `env`, typed; read again whenever the
    /// options in `env` change (see [`Proc::refresh_options`]).
    pub opts: AppOptions,
    pub status: Status,
    pub running: Option<Running>,
    /// Bumped at each launch; events from an older child carry an older value
    /// and are ignored.
    pub generation: u64,
    /// Whether a child is alive and what comes after it, with the callers
    /// waiting for that (see `lifecycle`).
    pub life: Lifecycle<Waiter>,
    pub cpu: Option<CpuSample>,
    pub log: Option<Arc<LogSink>>,
}

impl Proc {
    pub fn name(&self) -> &str {
        self.str("name").unwrap_or("")
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.env.get(key).and_then(Value::as_str)
    }

    /// An online Node or Bun app whose container has not reported
    /// `node_version` yet: it is still loading, and its memory is not the
    /// app's yet.
    pub fn is_booting(&self) -> bool {
        let contained = self
            .str("exec_interpreter")
            .is_some_and(|i| Runtime::of(i).has_container());
        contained
            && self.status == Status::Online
            && self.env.get("node_version").is_none_or(Value::is_null)
    }

    /// A numeric option; accepts numbers and numeric strings.
    pub fn num(&self, key: &str) -> Option<u64> {
        pm2_config::app_options::number(self.env.get(key))
    }

    pub fn set(&mut self, key: &str, value: Value) {
        self.env.insert(key.to_string(), value);
    }

    pub fn pid(&self) -> u32 {
        self.running.as_ref().map(|r| r.pid).unwrap_or(0)
    }

    /// The process as its log packets name it.
    pub fn identity(&self) -> crate::log_writer::LogIdentity {
        let namespace = self.str("namespace").unwrap_or("default");
        crate::log_writer::LogIdentity::new(self.pm_id, self.name(), namespace)
    }

    /// The pm2_env without `env`, as `process:event` packets carry it.
    pub fn event_view(&self) -> Value {
        let mut v = self.env.to_map();
        v.shift_remove("env");
        Value::Object(v)
    }

    /// The list entry as a borrowed view, serialized without copying the env.
    pub fn described(&self, memory: u64, cpu: f64) -> Described<'_> {
        Described {
            pid: self.pid(),
            name: self.name(),
            pm2_env: &self.env,
            pm_id: self.pm_id,
            monit: Monit { memory, cpu },
        }
    }

    /// A list entry as a value: `{pid, name, pm2_env, pm_id, monit}`.
    pub fn describe(&self, memory: u64, cpu: f64) -> Value {
        serde_json::to_value(self.described(memory, cpu)).expect("a list entry is valid JSON")
    }

    /// Copies `env` onto the top level, as PM2 does at every launch (a
    /// variable named as an option sets that option, as in PM2).
    pub fn flatten_env(&mut self) {
        self.env.flatten();
        self.refresh_options();
    }

    /// Reads the typed options again from `env`, after options in it changed.
    pub fn refresh_options(&mut self) {
        let env = &self.env;
        self.opts = AppOptions::from_getter(|k| env.get(k));
    }

    pub fn log_config(&self) -> LogConfig {
        let path = |k: &str| self.str(k).map(std::path::PathBuf::from);
        let date_format = self
            .str("log_date_format")
            .filter(|f| !f.is_empty())
            .map(dayjs_to_chrono);
        LogConfig {
            out: path("pm_out_log_path"),
            err: path("pm_err_log_path"),
            combined: path("pm_log_path"),
            date_format,
            json: self.str("log_type") == Some("json"),
            is_module: self.opts.pmx_module,
        }
    }
}

/// A list entry, `{pid, name, pm2_env, pm_id, monit}` in that order.
#[derive(serde::Serialize)]
pub struct Described<'a> {
    pid: u32,
    name: &'a str,
    pm2_env: &'a Pm2Env,
    pm_id: u64,
    monit: Monit,
}

#[derive(serde::Serialize)]
struct Monit {
    memory: u64,
    #[serde(serialize_with = "js_number")]
    cpu: f64,
}

/// A float as `JSON.stringify` writes it: whole values without `.0`, so
/// clients can print the daemon's JSON as it is (`pm2 jlist`).
fn js_number<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Inserts `key` only when the app did not set it.
fn default(env: &mut Map<String, Value>, key: &str, value: Value) {
    if env.get(key).is_none_or(Value::is_null) {
        env.insert(key.to_string(), value);
    }
}

/// Gives a per-process file its `-<pm_id>`: `app-out.log` → `app-out-3.log`,
/// replacing a suffix a dump or an earlier table already put there.
fn with_id_suffix(path: &str, pm_id: u64, ext: &str) -> String {
    let Some(stem) = path.strip_suffix(ext) else {
        return format!("{path}-{pm_id}");
    };
    let stem = match stem.rsplit_once('-') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => stem,
    };
    format!("{stem}-{pm_id}{ext}")
}

/// Larger package.json files are not read for their version.
const MAX_PACKAGE_JSON_BYTES: u64 = 1024 * 1024;

/// The version of the nearest package.json above `dir`, or `N/A`.
///
/// Only a regular file owned by the daemon's user (or root) counts: another
/// user must not be able to choose the reported version, nor plant a FIFO
/// that would block the daemon on open.
pub fn package_version(dir: &Path) -> Value {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for d in dir.ancestors() {
        let file = d.join("package.json");
        let Ok(meta) = std::fs::symlink_metadata(&file) else {
            continue;
        };
        if meta.uid() != me && meta.uid() != 0 {
            continue;
        }
        return pm2_config::safe_fs::read_limited(&file, MAX_PACKAGE_JSON_BYTES)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|v| v.get("version").cloned())
            .unwrap_or_else(|| json!("N/A"));
    }
    json!("N/A")
}

/// Builds the pm2_env of a new process from what a client sent to `prepare`.
/// Clients normally send fully resolved options; defaults here cover the rest
/// (and dumps from older versions).
pub fn new_pm2_env(
    app: &Map<String, Value>,
    pm_id: u64,
    instance: u64,
    paths: &Paths,
) -> Result<Map<String, Value>, String> {
    let mut env = app.clone();
    for k in [
        "pm_id",
        "status",
        "restart_time",
        "unstable_restarts",
        "pm_uptime",
        "created_at",
        "unique_id",
        "exit_code",
    ] {
        env.shift_remove(k);
    }
    if env.get("script").is_none() && env.get("pm_exec_path").is_none() {
        return Err("script is missing: give the app a `script` to run".into());
    }
    let exec_path = env
        .get("pm_exec_path")
        .or_else(|| env.get("script"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = env
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            Path::new(&exec_path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "app".into())
        });
    let cwd = env
        .get("pm_cwd")
        .or_else(|| env.get("cwd"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            Path::new(&exec_path)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".into())
        });
    env.insert("name".into(), json!(name));
    env.insert("pm_exec_path".into(), json!(exec_path));
    env.insert("pm_cwd".into(), json!(cwd));
    default(&mut env, "namespace", json!("default"));
    default(&mut env, "exec_interpreter", json!("node"));
    default(&mut env, "exec_mode", json!("fork_mode"));
    // No default `instances`: a dump entry (one process) has none, and PM2
    // shows none for a resurrected process either.
    for (key, value) in pm2_config::options::defaults() {
        default(&mut env, key, value);
    }
    default(&mut env, "watch", json!(false));
    default(&mut env, "filter_env", json!([]));
    default(&mut env, "node_args", json!([]));
    default(&mut env, "env", json!({}));
    let cluster = env.get("exec_mode").and_then(Value::as_str) == Some("cluster_mode");
    default(&mut env, "merge_logs", json!(!cluster));
    default(
        &mut env,
        "username",
        json!(std::env::var("USER").unwrap_or_else(|_| "root".into())),
    );

    let safe = pm2_config::sanitize_name(&name);
    let logs = paths.logs_dir.to_string_lossy();
    default(
        &mut env,
        "pm_out_log_path",
        json!(format!("{logs}/{safe}-out.log")),
    );
    default(
        &mut env,
        "pm_err_log_path",
        json!(format!("{logs}/{safe}-error.log")),
    );
    let merge = env
        .get("merge_logs")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !merge {
        for key in ["pm_out_log_path", "pm_err_log_path", "pm_log_path"] {
            if let Some(p) = env.get(key).and_then(Value::as_str) {
                if p != "/dev/null" {
                    let suffixed = with_id_suffix(p, pm_id, ".log");
                    env.insert(key.into(), json!(suffixed));
                }
            }
        }
    }
    let pid_path = match env.get("pm_pid_path").and_then(Value::as_str) {
        Some(p) => with_id_suffix(p, pm_id, ".pid"),
        None => format!("{}/{safe}-{pm_id}.pid", paths.pids_dir.to_string_lossy()),
    };
    env.insert("pm_pid_path".into(), json!(pid_path));

    let now = crate::clock::now_ms();
    let instance_var = crate::pm2_env_vars::instance_var(&env);
    env.insert(instance_var, json!(instance));
    increment(&mut env, instance);
    env.insert("pm_id".into(), json!(pm_id));
    env.insert("status".into(), json!("stopped"));
    env.insert("restart_time".into(), json!(0));
    env.insert("unstable_restarts".into(), json!(0));
    env.insert("created_at".into(), json!(now));
    env.insert("pm_uptime".into(), json!(now));
    env.insert("unique_id".into(), json!(uuid::Uuid::new_v4().to_string()));
    env.insert("km_link".into(), json!(false));
    env.insert("vizion_running".into(), json!(false));
    env.insert("axm_actions".into(), json!([]));
    env.insert("axm_monitor".into(), json!({}));
    env.insert("axm_options".into(), json!({}));
    env.insert("axm_dynamic".into(), json!({}));
    default(&mut env, "node_version", Value::Null);
    Ok(env)
}

/// `increment_var`: the named env variable counts up from the app's value
/// (0 when unset), one per instance number.
fn increment(env: &mut Map<String, Value>, instance: u64) {
    let Some(var) = env
        .get("increment_var")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
    else {
        return;
    };
    let Some(Value::Object(app_env)) = env.get_mut("env") else {
        return;
    };
    let base = match app_env.get(&var) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    let value = base.saturating_add(instance as i64);
    app_env.insert(var.clone(), json!(value.to_string()));
    env.insert(var, json!(value.to_string()));
}

impl Proc {
    pub fn new(pm_id: u64, env: Map<String, Value>) -> Proc {
        let mut p = Proc {
            pm_id,
            env: Pm2Env::from_map(env),
            opts: AppOptions::default(),
            status: Status::Stopped,
            running: None,
            generation: 0,
            life: Lifecycle::default(),
            cpu: None,
            log: None,
        };
        p.flatten_env();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_runtime_fields_and_default_paths() {
        let paths = Paths::new("/h");
        let app = json!({"name": "api", "script": "/srv/api.js", "pm_exec_path": "/srv/api.js", "env": {"A": "1"}});
        let env = new_pm2_env(app.as_object().unwrap(), 3, 0, &paths).unwrap();
        assert_eq!(env["pm_out_log_path"], "/h/logs/api-out.log");
        assert_eq!(env["pm_err_log_path"], "/h/logs/api-error.log");
        assert_eq!(env["pm_pid_path"], "/h/pids/api-3.pid");
        assert_eq!(env["pm_id"], 3);
        assert_eq!(env["NODE_APP_INSTANCE"], 0);
        assert_eq!(env["namespace"], "default");
        assert_eq!(env["unique_id"].as_str().unwrap().len(), 36);
        let p = Proc::new(3, env);
        assert_eq!(p.env["A"], "1", "env is flattened onto pm2_env");
    }

    #[test]
    fn typed_options_follow_the_pm2_env_and_its_flattened_env() {
        let env = json!({"name": "a", "kill_timeout": 3000, "env": {"treekill": false}});
        let mut p = Proc::new(0, env.as_object().unwrap().clone());
        assert_eq!(
            p.opts.kill_timeout,
            Some(std::time::Duration::from_millis(3000))
        );
        assert!(
            !p.opts.treekill,
            "an env variable named as an option sets it, as in PM2"
        );
        p.set("kill_timeout", json!(500));
        p.refresh_options();
        assert_eq!(
            p.opts.kill_timeout,
            Some(std::time::Duration::from_millis(500))
        );
    }

    #[test]
    fn per_instance_logs_get_the_id_suffix() {
        let paths = Paths::new("/h");
        let app = json!({"name": "w", "pm_exec_path": "/w.js", "merge_logs": false, "pm_out_log_path": "/l/echo-out.log", "pm_pid_path": "/p/w-0.pid"});
        let env = new_pm2_env(app.as_object().unwrap(), 2, 1, &paths).unwrap();
        assert_eq!(env["pm_out_log_path"], "/l/echo-out-2.log");
        assert_eq!(env["pm_pid_path"], "/p/w-2.pid");
        assert_eq!(env["pm_err_log_path"], "/h/logs/w-error-2.log");
    }

    #[test]
    fn increment_var_counts_up_per_instance() {
        let app = json!({"name": "w", "pm_exec_path": "/w.js", "increment_var": "PORT", "env": {"PORT": "3000"}});
        let env = new_pm2_env(app.as_object().unwrap(), 5, 2, &Paths::new("/h")).unwrap();
        assert_eq!(env["env"]["PORT"], "3002");
        assert_eq!(env["PORT"], "3002");
    }

    #[test]
    fn an_app_without_a_script_is_refused() {
        let err = new_pm2_env(
            json!({"name": "x"}).as_object().unwrap(),
            0,
            0,
            &Paths::new("/h"),
        )
        .unwrap_err();
        assert!(err.contains("script"));
    }
}
