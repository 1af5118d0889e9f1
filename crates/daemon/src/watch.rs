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

mod config;
mod debounce;
mod ignore;
mod tree;

pub use config::*;
use debounce::*;
pub use ignore::*;
pub use tree::*;

use crate::daemon_log::DaemonLog;
use crate::trigger::Trigger;
use notify::Watcher;
use pm2_config::AppOptions;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;
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
pub use pm2_config::app_options::watch_is_on as is_on;

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
    pub fn sync(
        &mut self,
        id: u64,
        name: &str,
        env: &impl crate::pm2_env::Fields,
        opts: &AppOptions,
    ) {
        let config = match WatchConfig::from_env(env, opts, &self.home) {
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
mod tests;
