//! Keeping the state record (`state_record.rs`) in step with the table.
//!
//! A change only marks the table changed and, if none is pending, arms one
//! write [`WRITE_INTERVAL`] later: the changes in between go into that one
//! write. The actor encodes the table (it owns it); the file is written by a
//! task of its own on the blocking pool, never on the actor's thread, and a
//! write still pending when the next one comes is replaced by it.

use super::{Actor, Supervisor, Timer};
use crate::state_record::{self, DaemonIdentity, WRITE_INTERVAL};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

pub(super) struct StateKeeping {
    /// Off inside a user's process (`connect(true)`): its apps die with it.
    on: bool,
    changed: bool,
    armed: bool,
    daemon: DaemonIdentity,
    /// Start times of running children, read once per pid.
    start_times: HashMap<u32, Option<u64>>,
    latest: watch::Sender<Option<Arc<Vec<u8>>>>,
    writer: Arc<Writer>,
}

/// What the writing task and a clean stop share.
struct Writer {
    home: PathBuf,
    /// Held for each write, so a clean stop never races one.
    busy: tokio::sync::Mutex<()>,
    closed: AtomicBool,
}

impl StateKeeping {
    /// Starts the writing task (inside the tokio runtime).
    pub(super) fn start(home: PathBuf, on: bool) -> StateKeeping {
        let (latest, mut rx) = watch::channel(None::<Arc<Vec<u8>>>);
        let writer = Arc::new(Writer {
            home,
            busy: Default::default(),
            closed: AtomicBool::new(false),
        });
        if on {
            let w = writer.clone();
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let Some(bytes) = rx.borrow_and_update().clone() else {
                        continue;
                    };
                    let _busy = w.busy.lock().await;
                    if w.closed.load(Ordering::SeqCst) {
                        break;
                    }
                    let home = w.home.clone();
                    let _ = tokio::task::spawn_blocking(move || state_record::write(&home, &bytes))
                        .await;
                }
            });
        }
        StateKeeping {
            on,
            changed: false,
            armed: false,
            daemon: state_record::this_daemon(),
            start_times: HashMap::new(),
            latest,
            writer,
        }
    }
}

impl Actor {
    /// The table changed: the record is written within [`WRITE_INTERVAL`].
    pub(super) fn note_change(&mut self) {
        let keeping = &mut self.state;
        if !keeping.on {
            return;
        }
        keeping.changed = true;
        if !keeping.armed {
            keeping.armed = true;
            self.after(WRITE_INTERVAL, Timer::SaveState);
        }
    }

    /// The write timer: encodes the table and hands it to the writing task.
    pub(super) fn save_state(&mut self) {
        self.state.armed = false;
        if !self.state.on || !self.state.changed {
            return;
        }
        self.state.changed = false;
        let known = std::mem::take(&mut self.state.start_times);
        let mut seen = HashMap::new();
        let bytes = state_record::encode_table(
            &self.state.daemon,
            self.next_id,
            self.cgroups.as_ref().map(|c| c.dir()),
            self.procs.values(),
            |pid| {
                let start = known
                    .get(&pid)
                    .copied()
                    .unwrap_or_else(|| state_record::start_time(pid));
                seen.insert(pid, start);
                start
            },
        );
        self.state.start_times = seen;
        self.state.latest.send_replace(Some(Arc::new(bytes)));
    }
}

impl Supervisor {
    /// The daemon stops cleanly: no more writes, and the record goes.
    pub async fn forget_state(&self) {
        let writer = self
            .query(|a| {
                a.state.on = false;
                Ok(a.state.writer.clone())
            })
            .await;
        if let Ok(w) = writer {
            let _busy = w.busy.lock().await;
            w.closed.store(true, Ordering::SeqCst);
            state_record::remove(&w.home);
        }
    }
}
