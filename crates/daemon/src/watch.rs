//! `watch`: restart an app when files under its folder (or the paths it
//! names) change.
//!
//! Each watched app gets a watcher of its own: notify's inotify (or, with
//! `watch_options.usePolling`, polling) thread reports file events, which are
//! filtered there (ignored paths, reads) and handed to a small thread of ours
//! that owns the watcher. That thread adds watches for folders as they appear,
//! debounces a burst of changes (an editor's save, an `npm install`) into one,
//! and sends one [`Trigger::WatchChange`] to the supervisor, which restarts the
//! app through its usual restart path and acknowledges with
//! [`Signal::Restarted`]. Changes seen during that restart are folded into at
//! most one more restart. Nothing runs while nothing changes: inotify wakes
//! the threads only for events.
//!
//! Folders are watched one by one (not with notify's recursive mode), so
//! ignored trees such as `node_modules` cost no inotify watch at all.

use crate::daemon_log::DaemonLog;
use crate::glob::Glob;
use crate::trigger::Trigger;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A burst of changes is over once nothing changed for this long.
pub const QUIET: Duration = Duration::from_millis(250);
/// A tree that never goes quiet (an app writing into its own folder) still
/// restarts its app at most this often.
pub const MAX_BURST: Duration = Duration::from_secs(10);
/// chokidar's polling interval when `usePolling` gives none.
const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// How `startWatch`, `stopWatch` and `toggleWatch` change an app's `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
    Toggle,
}

/// Whether a `watch` value asks for watching: `true`, a path, a list of
/// paths (an empty list means the app's folder, as in PM2).
pub fn is_on(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        Some(Value::Array(_)) => true,
        _ => false,
    }
}

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

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
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

fn millis(v: Option<&Value>) -> Option<u64> {
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

impl WatchConfig {
    /// The watch settings of an app, `None` when it is not watched. `home` is
    /// PM2_HOME: what the daemon writes there is never a change.
    pub fn from_env(env: &Map<String, Value>, home: &Path) -> Result<Option<WatchConfig>, String> {
        let watch = env.get("watch");
        if !is_on(watch) {
            return Ok(None);
        }
        let base = PathBuf::from(env.get("pm_cwd").and_then(Value::as_str).unwrap_or("/"));
        let mut roots: Vec<PathBuf> = strings(watch.unwrap_or(&Value::Null), "watch")?
            .iter()
            .map(|p| base.join(p))
            .collect();
        if roots.is_empty() {
            roots.push(base.clone());
        }
        let options = env
            .get("watch_options")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut patterns: Option<Vec<String>> = match env.get("ignore_watch") {
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
            if let Some(p) = env.get(key).and_then(Value::as_str) {
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
            delay: Duration::from_millis(millis(env.get("watch_delay")).unwrap_or(0)),
            poll,
            follow_symlinks: options.get("followSymlinks").and_then(Value::as_bool) != Some(false),
            depth: millis(options.get("depth")).map(|d| d as usize),
        }))
    }
}

/// What the daemon writes under PM2_HOME (logs, pid files, sockets, dump,
/// configuration). Only these are excluded: an app that lives there (an
/// installed module) is watched as PM2 watches it.
fn daemon_files(home: &Path) -> Vec<PathBuf> {
    let p = pm2_config::Paths::new(home);
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
    ]
}

/// Whether `path` is the temp file `write_atomic` writes `file` through
/// (`.<name>.<pid>.partial` next to it).
fn is_temp_of(path: &Path, file: &Path) -> bool {
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

/// Which paths do not count as changes.
pub struct Ignore {
    /// Where relative patterns start (the app's folder), then each root.
    bases: Vec<PathBuf>,
    excluded: Vec<PathBuf>,
    rules: Rules,
}

enum Rules {
    /// PM2's default: any dotfile or dot-folder, and `node_modules`.
    Default,
    Patterns {
        /// Patterns with a `/`, against the path relative to the app's folder
        /// (or against the absolute path, for absolute patterns).
        paths: Vec<Glob>,
        /// Patterns without one (`node_modules`, `*.log`), against each name
        /// along the path: they ignore a folder's whole tree.
        names: Vec<Glob>,
    },
}

impl Ignore {
    fn compile(patterns: &[String]) -> Result<Rules, String> {
        let mut paths = Vec::new();
        let mut names = Vec::new();
        for raw in patterns {
            let p = raw.trim().trim_start_matches("./").trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            let glob = Glob::new(p)
                .map_err(|e| format!("ignore_watch: invalid pattern \"{raw}\": {e}"))?;
            if p.contains('/') {
                paths.push(glob);
            } else {
                names.push(glob);
            }
        }
        Ok(Rules::Patterns { paths, names })
    }

    pub fn new(config: &WatchConfig) -> Ignore {
        let rules = match &config.patterns {
            None => Rules::Default,
            Some(p) => Ignore::compile(p).unwrap_or(Rules::Default),
        };
        let mut bases = vec![config.base.clone()];
        bases.extend(config.roots.iter().cloned());
        Ignore {
            bases,
            excluded: config.excluded.clone(),
            rules,
        }
    }

    pub fn is_ignored(&self, path: &Path) -> bool {
        if self
            .excluded
            .iter()
            .any(|e| path.starts_with(e) || is_temp_of(path, e))
        {
            return true;
        }
        let rel = self
            .bases
            .iter()
            .find_map(|b| path.strip_prefix(b).ok())
            .unwrap_or(path);
        let names = || {
            rel.components().filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
        };
        match &self.rules {
            Rules::Default => names().any(|n| {
                let n = n.to_string_lossy();
                n.starts_with('.') || n.contains("node_modules")
            }),
            Rules::Patterns {
                paths,
                names: by_name,
            } => {
                let any = |set: &[Glob], p: &Path| {
                    let text = p.to_string_lossy();
                    set.iter().any(|g| g.is_match(&text))
                };
                names().any(|n| any(by_name, Path::new(n)))
                    || rel
                        .ancestors()
                        .filter(|a| !a.as_os_str().is_empty())
                        .any(|a| any(paths, a))
                    || path.ancestors().any(|a| any(paths, a))
            }
        }
    }
}

/// What the watcher thread of an app hears.
#[derive(Debug)]
pub enum Signal {
    /// A file changed (the first path of a burst is the one reported).
    Change(PathBuf),
    /// A folder appeared: watch it and what it holds.
    NewDir(PathBuf),
    /// The restart asked for is over.
    Restarted,
    /// The watcher goes away.
    Stop,
}

/// Lets the watcher thread know its restart is over.
pub struct RestartAck(std_mpsc::Sender<Signal>);

impl RestartAck {
    pub fn done(self) {
        let _ = self.0.send(Signal::Restarted);
    }
}

/// Which events count as a change: writes, creations, removals, renames and
/// metadata changes (`touch`); opening or reading a file does not.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Events that may bring a new folder into the tree.
fn may_add_folder(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(
                RenameMode::To | RenameMode::Both | RenameMode::Any
            ))
            | EventKind::Any
    )
}

/// Whether `path` is inside what `roots` names (a file root: that file only).
fn in_scope(roots: &[PathBuf], path: &Path) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

/// The first part of a watcher: notify's thread calls this with each event.
struct EventFilter {
    roots: Vec<PathBuf>,
    ignore: Ignore,
    follow_symlinks: bool,
    out: std_mpsc::Sender<Signal>,
}

impl EventFilter {
    fn handle(&self, res: notify::Result<notify::Event>) {
        let event = match res {
            Ok(e) => e,
            Err(_) => return,
        };
        if event.need_rescan() {
            if let Some(root) = self.roots.first() {
                let _ = self.out.send(Signal::NewDir(root.clone()));
                let _ = self.out.send(Signal::Change(root.clone()));
            }
            return;
        }
        if !is_change(&event.kind) {
            return;
        }
        let second = matches!(
            event.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        );
        for (i, path) in event.paths.iter().enumerate() {
            if !in_scope(&self.roots, path) || self.ignore.is_ignored(path) {
                continue;
            }
            let folder = (may_add_folder(&event.kind) && (!second || i == 1))
                .then(|| self.metadata(path))
                .flatten()
                .is_some_and(|m| m.is_dir());
            if folder {
                let _ = self.out.send(Signal::NewDir(path.clone()));
            }
            let _ = self.out.send(Signal::Change(path.clone()));
        }
    }

    fn metadata(&self, path: &Path) -> Option<std::fs::Metadata> {
        if self.follow_symlinks {
            std::fs::metadata(path).ok()
        } else {
            std::fs::symlink_metadata(path).ok()
        }
    }
}

/// The folders of a watched tree, added one by one.
struct Tree {
    watcher: Box<dyn Watcher + Send>,
    config: WatchConfig,
    filter: Arc<EventFilter>,
    name: String,
    log: DaemonLog,
    /// A warning about the inotify limit was logged already.
    warned: bool,
}

impl Tree {
    /// Watches `dir` and every folder below it that is not ignored.
    fn add(&mut self, dir: &Path) {
        let root_depth = self
            .config
            .roots
            .iter()
            .filter(|r| dir.starts_with(r))
            .map(|r| r.components().count())
            .max()
            .unwrap_or(0);
        let mut seen = HashSet::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Some(meta) = self.filter.metadata(&d) else {
                continue;
            };
            if !meta.is_dir() || !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            if let Err(e) = self.watcher.watch(&d, RecursiveMode::NonRecursive) {
                if self.limit_reached(&e) {
                    return;
                }
                continue;
            }
            let level = d.components().count().saturating_sub(root_depth);
            if self.config.depth.is_some_and(|max| level >= max) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = match entry.file_type() {
                    Ok(t) if t.is_dir() => true,
                    Ok(t) if t.is_symlink() && self.config.follow_symlinks => {
                        std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
                    }
                    _ => false,
                };
                if is_dir && !self.filter.ignore.is_ignored(&path) {
                    stack.push(path);
                }
            }
        }
    }

    fn limit_reached(&mut self, e: &notify::Error) -> bool {
        if !matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
            return false;
        }
        if !self.warned {
            self.warned = true;
            self.log.info(&format!(
                "[Watch] app {}: the inotify watch limit is reached (fs.inotify.max_user_watches); some folders are not watched. Add them to ignore_watch, raise the limit, or set watch_options.usePolling",
                self.name
            ));
        }
        true
    }

    /// Watches each root: a folder with its tree, a file through its folder
    /// (so an editor replacing the file is seen too).
    fn add_roots(&mut self) {
        for root in self.config.roots.clone() {
            match std::fs::metadata(&root) {
                Ok(m) if m.is_dir() => self.add(&root),
                Ok(_) => {
                    let parent = root.parent().unwrap_or(Path::new("/")).to_path_buf();
                    if let Err(e) = self.watcher.watch(&parent, RecursiveMode::NonRecursive) {
                        if !self.limit_reached(&e) {
                            self.log.info(&format!(
                                "[Watch] app {}: cannot watch {}: {e}",
                                self.name,
                                root.display()
                            ));
                        }
                    }
                }
                Err(e) => self.log.info(&format!(
                    "[Watch] app {}: cannot watch {}: {e}",
                    self.name,
                    root.display()
                )),
            }
        }
    }
}

/// What the watcher thread asks of the supervisor: one message per burst.
struct Outlet {
    id: u64,
    token: u64,
    tx: mpsc::Sender<Trigger>,
}

impl Outlet {
    fn send(&self, path: PathBuf) -> bool {
        self.tx
            .blocking_send(Trigger::WatchChange {
                id: self.id,
                token: self.token,
                path,
            })
            .is_ok()
    }
}

/// How many changed paths of a burst are kept to name the change.
const NAMED_PATHS: usize = 64;

/// Waits for a burst to end: `QUIET` without a change, at least `delay` after
/// its first change, at most `MAX_BURST` (or `delay`) in all. Returns the
/// path that names the burst (see [`burst_name`]), or `None` when the
/// watcher is to stop.
fn wait_for_quiet(
    tree: &mut Tree,
    rx: &std_mpsc::Receiver<Signal>,
    delay: Duration,
    first: PathBuf,
) -> Option<PathBuf> {
    let start = Instant::now();
    let mut last = start;
    let mut changed = vec![first];
    loop {
        let due = (start + delay)
            .max(last + QUIET)
            .min(start + MAX_BURST.max(delay));
        let now = Instant::now();
        if now >= due {
            return Some(burst_name(changed));
        }
        match rx.recv_timeout(due - now) {
            Ok(Signal::Change(p)) => {
                last = Instant::now();
                if changed.len() < NAMED_PATHS && !changed.contains(&p) {
                    changed.push(p);
                }
            }
            Ok(Signal::NewDir(d)) => {
                tree.add(&d);
                last = Instant::now();
            }
            Ok(Signal::Restarted) => {}
            Ok(Signal::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(std_mpsc::RecvTimeoutError::Timeout) => return Some(burst_name(changed)),
        }
    }
}

/// The path a burst of changes is reported by: the first one that still
/// exists, so an editor's save (a temp file written, then renamed over the
/// file) names the file saved, not the temp file; else the first.
fn burst_name(mut changed: Vec<PathBuf>) -> PathBuf {
    match changed.iter().position(|p| p.symlink_metadata().is_ok()) {
        Some(i) => changed.swap_remove(i),
        None => changed.swap_remove(0),
    }
}

/// The watcher thread: sets up the tree, then turns bursts into restarts.
fn run(mut tree: Tree, rx: std_mpsc::Receiver<Signal>, outlet: Outlet) {
    tree.add_roots();
    // Logged once the tree is watched: a change from now on is seen.
    tree.log
        .info(&format!("[Watch] Start watching {}", tree.name));
    let delay = tree.config.delay;
    let mut pending: Option<PathBuf> = None;
    loop {
        let first = match pending.take() {
            Some(p) => p,
            None => match rx.recv() {
                Ok(Signal::Change(p)) => p,
                Ok(Signal::NewDir(d)) => {
                    tree.add(&d);
                    continue;
                }
                Ok(Signal::Restarted) => continue,
                Ok(Signal::Stop) | Err(_) => return,
            },
        };
        let Some(named) = wait_for_quiet(&mut tree, &rx, delay, first) else {
            return;
        };
        if !outlet.send(named) {
            return;
        }
        // Until the restart is over, changes are kept for one more restart.
        loop {
            match rx.recv() {
                Ok(Signal::Restarted) => break,
                Ok(Signal::Change(p)) => {
                    pending.get_or_insert(p);
                }
                Ok(Signal::NewDir(d)) => {
                    tree.add(&d);
                    pending.get_or_insert(d);
                }
                Ok(Signal::Stop) | Err(_) => return,
            }
        }
    }
}

struct AppWatcher {
    token: u64,
    config: WatchConfig,
    signals: std_mpsc::Sender<Signal>,
}

impl Drop for AppWatcher {
    fn drop(&mut self) {
        let _ = self.signals.send(Signal::Stop);
    }
}

/// The watchers of all apps, owned by the supervisor.
pub struct Watchers {
    apps: HashMap<u64, AppWatcher>,
    next_token: u64,
    tx: mpsc::Sender<Trigger>,
    log: DaemonLog,
    home: PathBuf,
}

impl Watchers {
    pub fn new(tx: mpsc::Sender<Trigger>, log: DaemonLog, home: PathBuf) -> Watchers {
        Watchers {
            apps: HashMap::new(),
            next_token: 0,
            tx,
            log,
            home,
        }
    }

    /// Starts, keeps or stops the watcher of app `id` to match its options
    /// (`watch`, `ignore_watch`, `watch_delay`, `watch_options`).
    pub fn sync(&mut self, id: u64, name: &str, env: &Map<String, Value>) {
        let config = match WatchConfig::from_env(env, &self.home) {
            Ok(Some(c)) => c,
            Ok(None) => {
                self.stop(id, name);
                return;
            }
            Err(e) => {
                self.stop(id, name);
                self.log
                    .info(&format!("[Watch] app {name}: {e}; not watching"));
                return;
            }
        };
        if self.apps.get(&id).is_some_and(|w| w.config == config) {
            return;
        }
        self.apps.remove(&id);
        self.next_token += 1;
        let token = self.next_token;
        match self.spawn(id, token, name, config.clone()) {
            Ok(signals) => {
                self.apps.insert(
                    id,
                    AppWatcher {
                        token,
                        config,
                        signals,
                    },
                );
            }
            Err(e) => self
                .log
                .info(&format!("[Watch] app {name}: cannot watch: {e}")),
        }
    }

    fn spawn(
        &self,
        id: u64,
        token: u64,
        name: &str,
        config: WatchConfig,
    ) -> Result<std_mpsc::Sender<Signal>, String> {
        let (signals, rx) = std_mpsc::channel();
        let filter = Arc::new(EventFilter {
            roots: config.roots.clone(),
            ignore: Ignore::new(&config),
            follow_symlinks: config.follow_symlinks,
            out: signals.clone(),
        });
        let f = filter.clone();
        let handler = move |res| f.handle(res);
        let watcher: Box<dyn Watcher + Send> = match config.poll {
            Some(interval) => Box::new(
                notify::PollWatcher::new(
                    handler,
                    notify::Config::default()
                        .with_poll_interval(interval)
                        .with_follow_symlinks(config.follow_symlinks),
                )
                .map_err(|e| e.to_string())?,
            ),
            None => Box::new(
                notify::RecommendedWatcher::new(
                    handler,
                    notify::Config::default().with_follow_symlinks(config.follow_symlinks),
                )
                .map_err(|e| e.to_string())?,
            ),
        };
        let tree = Tree {
            watcher,
            config,
            filter,
            name: name.to_string(),
            log: self.log.clone(),
            warned: false,
        };
        let outlet = Outlet {
            id,
            token,
            tx: self.tx.clone(),
        };
        std::thread::Builder::new()
            .name(format!("pm2-watch-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || run(tree, rx, outlet))
            .map_err(|e| e.to_string())?;
        Ok(signals)
    }

    /// Stops watching app `id`; true when it was watched.
    pub fn stop(&mut self, id: u64, name: &str) -> bool {
        let stopped = self.apps.remove(&id).is_some();
        if stopped {
            self.log.info(&format!("[Watch] Stop watching {name}"));
        }
        stopped
    }

    pub fn is_watching(&self, id: u64) -> bool {
        self.apps.contains_key(&id)
    }

    /// The acknowledgement for a change message, if `token` is still the
    /// current watcher of `id` (a stopped watcher's late message is not).
    pub fn ack(&self, id: u64, token: u64) -> Option<RestartAck> {
        self.apps
            .get(&id)
            .filter(|w| w.token == token)
            .map(|w| RestartAck(w.signals.clone()))
    }
}

/// A changed path as the log shows it: relative to the app's folder, as
/// PM2's watcher reports it.
pub fn shown_path(path: &Path, cwd: Option<&str>) -> String {
    cwd.and_then(|c| path.strip_prefix(c).ok())
        .filter(|r| !r.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn config(v: Value) -> WatchConfig {
        WatchConfig::from_env(&env(v), Path::new("/home/u/.pm2"))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn watch_values_that_turn_it_on() {
        assert!(is_on(Some(&json!(true))));
        assert!(is_on(Some(&json!([]))));
        assert!(is_on(Some(&json!(["src"]))));
        assert!(is_on(Some(&json!("src"))));
        assert!(!is_on(Some(&json!(false))));
        assert!(!is_on(Some(&json!("false"))));
        assert!(!is_on(Some(&json!(""))));
        assert!(!is_on(None));
        let off = WatchConfig::from_env(&env(json!({"watch": false})), Path::new("/h")).unwrap();
        assert!(off.is_none());
    }

    #[test]
    fn roots_default_to_the_cwd_and_resolve_against_it() {
        let c = config(json!({"watch": true, "pm_cwd": "/srv/app"}));
        assert_eq!(c.roots, [PathBuf::from("/srv/app")]);
        let c = config(json!({"watch": [], "pm_cwd": "/srv/app"}));
        assert_eq!(c.roots, [PathBuf::from("/srv/app")]);
        let c = config(json!({"watch": ["src", "/etc/app.conf"], "pm_cwd": "/srv/app"}));
        assert_eq!(
            c.roots,
            [
                PathBuf::from("/srv/app/src"),
                PathBuf::from("/etc/app.conf")
            ]
        );
        let c = config(json!({"watch": "lib", "pm_cwd": "/srv/app", "watch_delay": 1500}));
        assert_eq!(c.roots, [PathBuf::from("/srv/app/lib")]);
        assert_eq!(c.delay, Duration::from_millis(1500));
    }

    #[test]
    fn watch_options_polling_and_symlinks() {
        let c = config(json!({"watch": true, "pm_cwd": "/a"}));
        assert_eq!((c.poll, c.follow_symlinks, c.depth), (None, true, None));
        let c = config(json!({"watch": true, "pm_cwd": "/a",
            "watch_options": {"usePolling": true, "interval": 500, "followSymlinks": false, "depth": 2}}));
        assert_eq!(c.poll, Some(Duration::from_millis(500)));
        assert!(!c.follow_symlinks);
        assert_eq!(c.depth, Some(2));
        let c =
            config(json!({"watch": true, "pm_cwd": "/a", "watch_options": {"usePolling": true}}));
        assert_eq!(c.poll, Some(DEFAULT_POLL));
    }

    #[test]
    fn default_ignores_dotfiles_node_modules_and_the_daemons_files() {
        let c = config(json!({"watch": true, "pm_cwd": "/srv/.hidden/app",
            "pm_out_log_path": "/srv/.hidden/app/out.log"}));
        let i = Ignore::new(&c);
        assert!(!i.is_ignored(Path::new("/srv/.hidden/app/index.js")));
        assert!(!i.is_ignored(Path::new("/srv/.hidden/app/lib/a.js")));
        assert!(i.is_ignored(Path::new("/srv/.hidden/app/.git/index")));
        assert!(i.is_ignored(Path::new("/srv/.hidden/app/.app.js.swp")));
        assert!(i.is_ignored(Path::new("/srv/.hidden/app/node_modules/x/i.js")));
        assert!(i.is_ignored(Path::new("/srv/.hidden/app/lib/node_modules")));
        assert!(i.is_ignored(Path::new("/srv/.hidden/app/out.log")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/logs/app-out.log")));
    }

    #[test]
    fn an_app_under_pm2_home_is_watched_but_not_the_daemons_files() {
        let home = Path::new("/home/u/.pm2");
        let c = WatchConfig::from_env(
            &env(json!({"watch": true, "pm_cwd": "/home/u/.pm2/modules/mod/node_modules/mod"})),
            home,
        )
        .unwrap()
        .unwrap();
        let i = Ignore::new(&c);
        assert!(!i.is_ignored(Path::new(
            "/home/u/.pm2/modules/mod/node_modules/mod/index.js"
        )));
        assert!(!i.is_ignored(Path::new(
            "/home/u/.pm2/modules/mod/node_modules/mod/lib/a.js"
        )));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/logs/mod-out.log")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/pids/mod-0.pid")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/pm2.log")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/rpc.sock")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/dump.pm2")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/module_conf.json")));
        // Custom patterns: the daemon's files and their temp files still go.
        let c = WatchConfig::from_env(
            &env(json!({"watch": ["/home/u/.pm2"], "ignore_watch": ["*.tmp"], "pm_cwd": "/home/u/.pm2"})),
            home,
        )
        .unwrap()
        .unwrap();
        let i = Ignore::new(&c);
        assert!(i.is_ignored(Path::new("/home/u/.pm2/.dump.pm2.42.partial")));
        assert!(i.is_ignored(Path::new("/home/u/.pm2/.module_conf.json.7.partial")));
        assert!(!i.is_ignored(Path::new("/home/u/.pm2/modules/m/index.js")));
    }

    #[test]
    fn pm2_home_inside_the_app_folder_is_ignored() {
        let c = WatchConfig::from_env(
            &env(json!({"watch": true, "pm_cwd": "/srv/app"})),
            Path::new("/srv/app/pm2home"),
        )
        .unwrap()
        .unwrap();
        let i = Ignore::new(&c);
        assert!(i.is_ignored(Path::new("/srv/app/pm2home/logs/app-out.log")));
        assert!(i.is_ignored(Path::new("/srv/app/pm2home/pm2.log")));
        assert!(!i.is_ignored(Path::new("/srv/app/pm2home.js")));
    }

    #[test]
    fn ignore_watch_patterns_replace_the_default() {
        let c = config(json!({"watch": true, "pm_cwd": "/srv/app",
            "ignore_watch": ["node_modules", "client/img", "\\.git", "*.log", "./tmp/"]}));
        let i = Ignore::new(&c);
        assert!(i.is_ignored(Path::new("/srv/app/node_modules/a/b.js")));
        assert!(i.is_ignored(Path::new("/srv/app/lib/node_modules")));
        assert!(i.is_ignored(Path::new("/srv/app/client/img/logo.png")));
        assert!(!i.is_ignored(Path::new("/srv/app/client/app.js")));
        assert!(i.is_ignored(Path::new("/srv/app/.git/HEAD")));
        assert!(i.is_ignored(Path::new("/srv/app/debug.log")));
        assert!(i.is_ignored(Path::new("/srv/app/logs/deep/debug.log")));
        assert!(i.is_ignored(Path::new("/srv/app/tmp/x")));
        assert!(
            !i.is_ignored(Path::new("/srv/app/.env")),
            "the default no longer applies"
        );
        let c = config(json!({"watch": true, "pm_cwd": "/srv/app", "ignore_watch": "dist"}));
        assert!(Ignore::new(&c).is_ignored(Path::new("/srv/app/dist/a.js")));
    }

    #[test]
    fn bad_options_are_refused_with_their_name() {
        let e = check(&env(json!({"ignore_watch": ["a[b"]}))).unwrap_err();
        assert!(e.contains("ignore_watch") && e.contains("a[b"), "{e}");
        let e = check(&env(json!({"watch": 3}))).unwrap_err();
        assert!(e.starts_with("watch:"), "{e}");
        let e = check(&env(json!({"watch_options": "fast"}))).unwrap_err();
        assert!(e.contains("watch_options"), "{e}");
        assert!(check(&env(json!({"watch": true, "ignore_watch": ["*.log"]}))).is_ok());
        assert!(check(&env(
            json!({"watch": ["src"], "watch_options": {"usePolling": true}})
        ))
        .is_ok());
    }

    #[test]
    fn reads_do_not_count_as_changes() {
        use notify::event::{CreateKind, DataChange, MetadataKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn the_log_shows_paths_relative_to_the_app() {
        assert_eq!(
            shown_path(Path::new("/srv/app/lib/a.js"), Some("/srv/app")),
            "lib/a.js"
        );
        assert_eq!(
            shown_path(Path::new("/etc/x.conf"), Some("/srv/app")),
            "/etc/x.conf"
        );
        assert_eq!(
            shown_path(Path::new("/srv/app"), Some("/srv/app")),
            "/srv/app"
        );
    }

    /// A real tree: a burst of writes becomes one message, an ignored folder
    /// none, and a folder made after the start is watched too.
    #[test]
    fn a_burst_is_named_by_its_first_path_that_still_exists() {
        let dir = std::env::temp_dir().join(format!("pm2-watch-name-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.js"), "1").unwrap();
        let temp = dir.join("app.js.tmp-123");
        let saved = burst_name(vec![temp.clone(), dir.join("app.js")]);
        assert_eq!(saved, dir.join("app.js"));
        assert_eq!(burst_name(vec![temp.clone(), dir.join("gone.js")]), temp);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_burst_of_changes_is_one_message_and_ignored_trees_none() {
        let dir = std::env::temp_dir().join(format!("pm2-watch-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("node_modules/pkg")).unwrap();
        std::fs::write(dir.join("app.js"), "1").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        // A dotfile: ignored, so the log's own writes are no change.
        let log_file = dir.join(".pm2.log");
        let log = DaemonLog::new(log_file.clone(), crate::bus::Bus::default());
        let mut watchers = Watchers::new(tx, log, PathBuf::from("/nonexistent-home"));
        let app = env(json!({"watch": true, "pm_cwd": dir.to_str().unwrap()}));
        watchers.sync(7, "unit", &app);
        assert!(watchers.is_watching(7));
        let next = |rx: &mut mpsc::Receiver<Trigger>, wait: u64| {
            rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(wait), rx.recv())
                    .await
                    .ok()
                    .flatten()
            })
        };
        // The watcher logs once its tree is watched.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&log_file)
            .unwrap_or_default()
            .contains("Start watching unit")
        {
            assert!(Instant::now() < deadline, "the watcher did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::write(dir.join("node_modules/pkg/index.js"), "x").unwrap();
        assert!(next(&mut rx, 600).is_none(), "node_modules is ignored");
        for i in 0..50 {
            std::fs::write(dir.join("app.js"), i.to_string()).unwrap();
        }
        let Some(Trigger::WatchChange { id, token, path }) = next(&mut rx, 3000) else {
            panic!("no change message")
        };
        assert_eq!((id, path), (7, dir.join("app.js")));
        assert!(next(&mut rx, 600).is_none(), "one message per burst");
        watchers.ack(7, token).unwrap().done();
        std::fs::create_dir(dir.join("lib")).unwrap();
        let Some(Trigger::WatchChange { token, .. }) = next(&mut rx, 3000) else {
            panic!("no message for a new folder")
        };
        // The folder was watched before its change was reported.
        watchers.ack(7, token).unwrap().done();
        std::fs::write(dir.join("lib/b.js"), "x").unwrap();
        let Some(Trigger::WatchChange { path, token, .. }) = next(&mut rx, 3000) else {
            panic!("no message for a file in the new folder")
        };
        assert_eq!(path, dir.join("lib/b.js"));
        assert!(watchers.stop(7, "unit"));
        assert!(watchers.ack(7, token).is_none());
        std::fs::write(dir.join("app.js"), "after").unwrap();
        assert!(
            next(&mut rx, 600).is_none(),
            "a stopped watcher says nothing"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
