//! Keeping the state record (`state_record.rs`) in step with the table.
//!
//! A change only marks the table changed and, if none is pending, arms one
//! write [`WRITE_INTERVAL`] later: the changes in between go into that one
//! write. The actor encodes the table (it owns it); the file is written by a
//! task of its own on the blocking pool, never on the actor's thread, and a
//! write still pending when the next one comes is replaced by it. A large
//! table (thousands of apps, megabytes of record) is encoded
//! [`ENCODE_BATCH`] processes at a time, other messages handled in between,
//! and written less often: the interval grows with the time the last
//! encoding and write took, so keeping the record costs the actor a few
//! percent of its time at most. Each process's entry is taken whole from
//! one moment; a change during the encoding is in the next record.

use super::{Actor, Supervisor, Timer};
use crate::state_record::{self, DaemonIdentity, RecordEncoder, WRITE_INTERVAL};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A record at least this long (about a hundred apps) leaves enough freed
/// behind it to trim the heap after its write; a smaller one is not worth
/// the walk through the heap each time the table changes.
const TRIM_AFTER_RECORD: usize = 256 * 1024;

/// The interval is at least this many times the last encoding's duration.
const ENCODE_SHARE: u32 = 20;
/// The longest interval, whatever the size of the table.
const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// Processes encoded in one turn of the actor: other messages are handled
/// between two batches, so a large table never holds the actor long.
const ENCODE_BATCH: usize = 25;
/// The pause between two batches.
const BATCH_PAUSE: Duration = Duration::from_millis(2);

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
    /// A record being encoded, a batch of processes at a time.
    encoding: Option<Encoding>,
    writer: Arc<Writer>,
}

/// A record under way.
struct Encoding {
    record: RecordEncoder,
    /// The first pm_id of the next batch.
    next_id: u64,
    /// Start times known before, and those of the children met so far.
    known: HashMap<u32, Option<u64>>,
    seen: HashMap<u32, Option<u64>>,
    took: Duration,
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
                    let large = bytes.len() >= TRIM_AFTER_RECORD;
                    let started = Instant::now();
                    let _ = tokio::task::spawn_blocking(move || state_record::write(&home, &bytes))
                        .await;
                    let took = started.elapsed().as_micros() as u64;
                    w.last_write_us.store(took, Ordering::Relaxed);
                    // The record and its encoding are freed now, after the
                    // trim that followed the requests that changed the table.
                    if large {
                        crate::heap::release_soon();
                    }
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
            encoding: None,
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
        if !self.state.on {
            self.state.encoding = None;
            self.state.armed = false;
            return;
        }
        let mut encoding = match self.state.encoding.take() {
            Some(encoding) => encoding,
            None if self.state.changed => {
                self.state.changed = false;
                let cgroup = self.cgroups.as_ref().map(|c| c.dir());
                Encoding {
                    record: RecordEncoder::new(&self.state.daemon, cgroup),
                    next_id: 0,
                    known: std::mem::take(&mut self.state.start_times),
                    seen: HashMap::new(),
                    took: Duration::ZERO,
                }
            }
            None => {
                self.state.armed = false;
                return;
            }
        };
        let started = Instant::now();
        let mut batch = self.procs.range(encoding.next_id..).take(ENCODE_BATCH + 1);
        for (&id, p) in batch.by_ref().take(ENCODE_BATCH) {
            let start = p.running.as_ref().and_then(|r| {
                let start = encoding
                    .known
                    .get(&r.pid)
                    .copied()
                    .unwrap_or_else(|| state_record::start_time(r.pid));
                encoding.seen.insert(r.pid, start);
                start
            });
            encoding.record.push(p, start);
            encoding.next_id = id + 1;
        }
        let more = batch.next().is_some();
        encoding.took += started.elapsed();
        if more {
            // The rest after a pause: a chain of turns without one would
            // keep the runtime from polling its sockets (clients wait).
            self.state.encoding = Some(encoding);
            self.after(BATCH_PAUSE, Timer::SaveState);
            return;
        }
        self.state.start_times = encoding.seen;
        self.state.last_encode = encoding.took;
        let bytes = encoding.record.finish(self.next_id);
        let writer = &self.state.writer;
        *writer.pending.lock().expect("state record lock") = Some(bytes);
        writer.ready.notify_one();
        self.state.armed = false;
        if self.state.changed {
            // Changes made while this record was being encoded.
            self.state.armed = true;
            let delay = self.state.interval();
            self.after(delay, Timer::SaveState);
        }
    }
}

impl Supervisor {
    /// The daemon stops cleanly: no more writes, and the record goes.
    /// A daemon that keeps no record (inside a user's process) leaves alone
    /// the one a crashed daemon may have left.
    pub async fn forget_state(&self) {
        let writer = self
            .query(|a| {
                let kept = std::mem::replace(&mut a.state.on, false);
                Ok(kept.then(|| a.state.writer.clone()))
            })
            .await;
        if let Ok(Some(w)) = writer {
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
