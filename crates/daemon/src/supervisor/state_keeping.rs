//! Keeping the state record (`state_record.rs`) in step with the table.
//!
//! A change only marks the table changed and, if none is pending, arms one
//! write [`WRITE_INTERVAL`] later: the changes in between go into that one
//! write. The actor encodes the table (it owns it); the file is written by a
//! task of its own on the blocking pool, never on the actor's thread, and a
//! write still pending when the next one comes is replaced by it. A large
//! table (thousands of apps, megabytes of record) is written less often: the
//! interval grows with the time the last encoding and write took, so keeping
//! the record costs the actor a few percent of its time at most.

use super::{Actor, Supervisor, Timer};
use crate::state_record::{self, DaemonIdentity, WRITE_INTERVAL};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The interval is at least this many times the last encoding's duration.
const ENCODE_SHARE: u32 = 20;
/// The longest interval, whatever the size of the table.
const MAX_INTERVAL: Duration = Duration::from_secs(30);

pub(super) struct StateKeeping {
    /// Off inside a user's process (`connect(true)`): its apps die with it.
    on: bool,
    changed: bool,
    armed: bool,
    daemon: DaemonIdentity,
    /// Start times of running children, read once per pid.
    start_times: HashMap<u32, Option<u64>>,
    /// How long the last encoding took.
    last_encode: Duration,
    writer: Arc<Writer>,
}

/// What the actor, the writing task and a clean stop share.
struct Writer {
    home: PathBuf,
    /// The latest encoded record not written yet; taken by the writing task,
    /// so no copy of the record stays in memory between writes.
    pending: Mutex<Option<Vec<u8>>>,
    ready: Notify,
    /// How long the last write took, in microseconds.
    last_write_us: AtomicU64,
    /// Held for each write, so a clean stop never races one.
    busy: tokio::sync::Mutex<()>,
    closed: AtomicBool,
}

impl Writer {
    fn take(&self) -> Option<Vec<u8>> {
        self.pending.lock().expect("state record lock").take()
    }
}

impl StateKeeping {
    /// Starts the writing task (inside the tokio runtime).
    pub(super) fn start(home: PathBuf, on: bool) -> StateKeeping {
        let writer = Arc::new(Writer {
            home,
            pending: Mutex::new(None),
            ready: Notify::new(),
            last_write_us: AtomicU64::new(0),
            busy: Default::default(),
            closed: AtomicBool::new(false),
        });
        if on {
            let w = writer.clone();
            tokio::spawn(async move {
                loop {
                    w.ready.notified().await;
                    let _busy = w.busy.lock().await;
                    if w.closed.load(Ordering::SeqCst) {
                        break;
                    }
                    let Some(bytes) = w.take() else { continue };
                    let home = w.home.clone();
                    let started = Instant::now();
                    let _ = tokio::task::spawn_blocking(move || state_record::write(&home, &bytes))
                        .await;
                    let took = started.elapsed().as_micros() as u64;
                    w.last_write_us.store(took, Ordering::Relaxed);
                }
            });
        }
        StateKeeping {
            on,
            changed: false,
            armed: false,
            daemon: state_record::this_daemon(),
            start_times: HashMap::new(),
            last_encode: Duration::ZERO,
            writer,
        }
    }
}

impl StateKeeping {
    /// The time until the next write: [`WRITE_INTERVAL`], longer for a table
    /// whose record takes long to encode or write.
    fn interval(&self) -> Duration {
        let write = Duration::from_micros(self.writer.last_write_us.load(Ordering::Relaxed));
        (self.last_encode * ENCODE_SHARE)
            .max(write * 2)
            .clamp(WRITE_INTERVAL, MAX_INTERVAL)
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
            let delay = keeping.interval();
            self.after(delay, Timer::SaveState);
        }
    }

    /// The write timer: encodes the table and hands it to the writing task.
    pub(super) fn save_state(&mut self) {
        self.state.armed = false;
        if !self.state.on || !self.state.changed {
            return;
        }
        self.state.changed = false;
        let started = Instant::now();
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
        self.state.last_encode = started.elapsed();
        let writer = &self.state.writer;
        *writer.pending.lock().expect("state record lock") = Some(bytes);
        writer.ready.notify_one();
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
            w.ready.notify_one();
            state_record::remove(&w.home);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_table_slow_to_encode_or_write_is_written_less_often() {
        let home = std::env::temp_dir();
        let mut keeping = StateKeeping::start(home, false);
        assert_eq!(keeping.interval(), WRITE_INTERVAL);
        keeping.last_encode = Duration::from_millis(100);
        assert_eq!(keeping.interval(), Duration::from_secs(2));
        keeping
            .writer
            .last_write_us
            .store(3_000_000, Ordering::Relaxed);
        assert_eq!(keeping.interval(), Duration::from_secs(6));
        keeping.last_encode = Duration::from_secs(5);
        assert_eq!(keeping.interval(), MAX_INTERVAL);
    }
}
