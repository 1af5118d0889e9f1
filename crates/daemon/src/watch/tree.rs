//! The watcher thread of one app: notify's events filtered, the folders of
//! the tree added as they appear, and bursts of changes turned into restarts.

use super::*;
use crate::daemon_log::DaemonLog;
use crate::trigger::Trigger;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use tokio::sync::mpsc;

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
pub struct RestartAck(pub(super) std_mpsc::Sender<Signal>);

impl RestartAck {
    pub fn done(self) {
        let _ = self.0.send(Signal::Restarted);
    }
}

/// Which events count as a change: writes, creations, removals, renames and
/// metadata changes (`touch`); opening or reading a file does not.
pub(super) fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Events that may bring a new folder into the tree.
pub(super) fn may_add_folder(kind: &EventKind) -> bool {
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
pub(super) fn in_scope(roots: &[PathBuf], path: &Path) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

/// The first part of a watcher: notify's thread calls this with each event.
pub(super) struct EventFilter {
    pub(super) roots: Vec<PathBuf>,
    pub(super) ignore: Ignore,
    pub(super) follow_symlinks: bool,
    pub(super) out: std_mpsc::Sender<Signal>,
}

impl EventFilter {
    pub(super) fn handle(&self, res: notify::Result<notify::Event>) {
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

    pub(super) fn metadata(&self, path: &Path) -> Option<std::fs::Metadata> {
        if self.follow_symlinks {
            std::fs::metadata(path).ok()
        } else {
            std::fs::symlink_metadata(path).ok()
        }
    }
}

/// The folders of a watched tree, added one by one.
pub(super) struct Tree {
    pub(super) watcher: Box<dyn Watcher + Send>,
    pub(super) config: WatchConfig,
    pub(super) filter: Arc<EventFilter>,
    pub(super) name: String,
    pub(super) log: DaemonLog,
    /// A warning about the inotify limit was logged already.
    pub(super) warned: bool,
}

impl Tree {
    /// Watches `dir` and every folder below it that is not ignored.
    pub(super) fn add(&mut self, dir: &Path) {
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

    pub(super) fn limit_reached(&mut self, e: &notify::Error) -> bool {
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
    pub(super) fn add_roots(&mut self) {
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
pub(super) struct Outlet {
    pub(super) id: u64,
    pub(super) token: u64,
    pub(super) tx: mpsc::Sender<Trigger>,
}

impl Outlet {
    pub(super) fn send(&self, path: PathBuf) -> bool {
        self.tx
            .blocking_send(Trigger::WatchChange {
                id: self.id,
                token: self.token,
                path,
            })
            .is_ok()
    }
}

/// The watcher thread: sets up the tree, then turns bursts into restarts.
pub(super) fn run(mut tree: Tree, rx: std_mpsc::Receiver<Signal>, outlet: Outlet) {
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
