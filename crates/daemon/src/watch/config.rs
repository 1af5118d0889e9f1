//! What to watch for one app, read from its `pm2_env` and checked.

use super::*;
use pm2_config::app_options::millis;
use pm2_config::AppOptions;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to watch for one app, from its `pm2_env`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchConfig {
    /// Folders or files to watch, absolute.
    pub roots: Vec<PathBuf>,
    /// The app's folder: relative patterns and paths are read against it.
    pub base: PathBuf,
    /// `ignore_watch` (and `watch_options.ignored`) patterns; `None`: PM2's
    /// default, dotfiles and `node_modules`.
    pub patterns: Option<Vec<String>>,
    /// Always ignored: PM2_HOME and the app's own log and pid files, which
    /// the daemon writes (a change there must not restart the app).
    pub excluded: Vec<PathBuf>,
    /// `watch_delay`: the least time between the first change and the restart.
    pub delay: Duration,
    /// `watch_options.usePolling`: poll at this interval instead of inotify.
    pub poll: Option<Duration>,
    /// `watch_options.followSymlinks` (default true, as in chokidar).
    pub follow_symlinks: bool,
    /// `watch_options.depth`: how many folder levels below a root.
    pub depth: Option<usize>,
}

pub(super) fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{what}: {other} is not a path or pattern")),
            })
            .collect(),
        Value::Bool(_) | Value::Null => Ok(Vec::new()),
        other => Err(format!("{what}: {other} is not a path or a list of paths")),
    }
}

impl WatchConfig {
    /// The watch settings of an app, `None` when it is not watched: whether
    /// and the delay from its typed options, the paths and patterns from its
    /// `pm2_env`. `home` is PM2_HOME: what the daemon writes there is never
    /// a change.
    pub fn from_env(
        env: &impl crate::pm2_env::Fields,
        opts: &AppOptions,
        home: &Path,
    ) -> Result<Option<WatchConfig>, String> {
        if !opts.watch {
            return Ok(None);
        }
        let watch = env.field("watch");
        let base = PathBuf::from(env.field("pm_cwd").and_then(Value::as_str).unwrap_or("/"));
        let mut roots: Vec<PathBuf> = strings(watch.unwrap_or(&Value::Null), "watch")?
            .iter()
            .map(|p| base.join(p))
            .collect();
        if roots.is_empty() {
            roots.push(base.clone());
        }
        let options = env
            .field("watch_options")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut patterns: Option<Vec<String>> = match env.field("ignore_watch") {
            None | Some(Value::Null) => None,
            Some(v) => Some(strings(v, "ignore_watch")?),
        };
        // chokidar's options are merged over PM2's: `ignored` there replaces.
        if let Some(v) = options.get("ignored") {
            patterns = Some(strings(v, "watch_options.ignored")?);
        }
        if let Some(p) = &patterns {
            Ignore::compile(p)?;
        }
        let mut excluded = daemon_files(home);
        for key in [
            "pm_out_log_path",
            "pm_err_log_path",
            "pm_log_path",
            "pm_pid_path",
        ] {
            if let Some(p) = env.field(key).and_then(Value::as_str) {
                excluded.push(PathBuf::from(p));
            }
        }
        let polling = options.get("usePolling").and_then(Value::as_bool) == Some(true);
        let poll = polling.then(|| {
            millis(options.get("interval"))
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_POLL)
        });
        Ok(Some(WatchConfig {
            roots,
            base,
            patterns,
            excluded,
            delay: opts.watch_delay,
            poll,
            follow_symlinks: options.get("followSymlinks").and_then(Value::as_bool) != Some(false),
            depth: millis(options.get("depth")).map(|d| d as usize),
        }))
    }
}

/// What the daemon writes under PM2_HOME (logs, pid files, sockets, dump,
/// configuration). Only these are excluded: an app that lives there (an
/// installed module) is watched as PM2 watches it.
pub(super) fn daemon_files(home: &Path) -> Vec<PathBuf> {
    let p = pm2_config::Paths::new(home);
    let token = crate::web::token::file(&p);
    vec![
        p.logs_dir,
        p.pids_dir,
        p.log_file,
        p.pid_file,
        p.rpc_sock,
        p.pub_sock,
        p.dump_file,
        p.dump_backup,
        p.module_conf,
        home.join("conf.js"),
        home.join("web.json"),
        token,
        crate::state_record::path(home),
        home.join(crate::state_record::BAD_FILE_NAME),
        home.join(".handover-probe"),
        home.join("module_conf.json.lock"),
    ]
}

/// Whether `path` is the temp file `write_atomic` writes `file` through
/// (`.<name>.<pid>.partial` next to it).
pub(super) fn is_temp_of(path: &Path, file: &Path) -> bool {
    let (Some(name), Some(temp)) = (file.file_name(), path.file_name()) else {
        return false;
    };
    let temp = temp.to_string_lossy();
    path.parent() == file.parent()
        && temp.ends_with(".partial")
        && temp.starts_with(&format!(".{}.", name.to_string_lossy()))
}

/// Checks the watch options of an app before it is created or updated, so a
/// bad pattern is refused with a message instead of silently not watching.
pub fn check(app: &Map<String, Value>) -> Result<(), String> {
    if let Some(v) = app.get("ignore_watch").filter(|v| !v.is_null()) {
        Ignore::compile(&strings(v, "ignore_watch")?)?;
    }
    if let Some(v) = app.get("watch").filter(|v| !v.is_null()) {
        strings(v, "watch")?;
    }
    if let Some(v) = app.get("watch_options") {
        if !v.is_null() && !v.is_object() {
            return Err(format!("watch_options must be an object (got {v})"));
        }
        if let Some(ignored) = v.get("ignored") {
            Ignore::compile(&strings(ignored, "watch_options.ignored")?)?;
        }
    }
    Ok(())
}
