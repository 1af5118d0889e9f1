//! The publisher behind `pub.sock`: every event goes to every subscriber as
//! `[s:<event>, j:<payload>]`. A subscriber that cannot keep up loses events
//! (counted, and reported in `pm2.log`) once [`MAX_EVENT_BYTES_QUEUED`] wait
//! for it, rather than making the daemon buffer them without bound; the other
//! subscribers are not affected.

use crate::limits::{Slot, MAX_EVENT_BYTES_QUEUED};
use pm2_wire::rpc::pub_frame;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, Notify};

/// Charged per queued event on top of its bytes: the queue's own bookkeeping,
/// so that a flood of tiny events is bounded too.
const EVENT_OVERHEAD: usize = 64;

#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    subscribers: Mutex<Vec<Subscriber>>,
    /// In-process listeners (the web dashboard), each with its own filter.
    listeners: Mutex<Vec<Listener>>,
    count: AtomicUsize,
    listener_count: AtomicUsize,
    next_id: AtomicU64,
}

/// Which events an in-process listener wants.
pub type EventFilter = Box<dyn Fn(&str, &Value) -> bool + Send + Sync>;

struct Listener {
    id: u64,
    wants: EventFilter,
    queue: mpsc::Sender<(String, Value)>,
}

/// What an in-process listener receives; it stops listening when dropped.
pub struct Listening {
    pub events: mpsc::Receiver<(String, Value)>,
    id: u64,
    inner: Arc<Inner>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let mut ls = self.inner.listeners.lock().expect("bus lock");
        ls.retain(|l| l.id != self.id);
        self.inner.listener_count.store(ls.len(), Ordering::Relaxed);
    }
}

struct Subscriber {
    id: u64,
    queue: mpsc::UnboundedSender<Arc<Vec<u8>>>,
    backlog: Arc<Backlog>,
}

/// What waits for one subscriber, shared by the publisher and its tasks.
#[derive(Default)]
struct Backlog {
    /// Bytes queued or being written, each event charged by [`cost`].
    bytes: AtomicUsize,
    /// Events dropped since the last report.
    dropped: AtomicU64,
    /// Wakes the subscriber's reporter after a drop.
    fell_behind: Notify,
}

fn cost(frame: &Vec<u8>) -> usize {
    frame.capacity() + EVENT_OVERHEAD
}

impl Bus {
    /// Cheap check so producers skip building payloads nobody will read.
    pub fn has_subscribers(&self) -> bool {
        self.inner.count.load(Ordering::Relaxed) > 0
            || self.inner.listener_count.load(Ordering::Relaxed) > 0
    }

    /// Listens in process to the events `wants` picks, at most `capacity`
    /// waiting: the ones past that are dropped for this listener alone.
    pub fn listen(&self, capacity: usize, wants: EventFilter) -> Listening {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, events) = mpsc::channel(capacity.max(1));
        let mut ls = self.inner.listeners.lock().expect("bus lock");
        ls.push(Listener { id, wants, queue });
        self.inner.listener_count.store(ls.len(), Ordering::Relaxed);
        Listening {
            events,
            id,
            inner: self.inner.clone(),
        }
    }

    fn tell_listeners(&self, event: &str, payload: &Value) {
        if self.inner.listener_count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let ls = self.inner.listeners.lock().expect("bus lock");
        for l in ls.iter().filter(|l| (l.wants)(event, payload)) {
            let _ = l.queue.try_send((event.to_string(), payload.clone()));
        }
    }

    pub fn publish(&self, event: &str, payload: &Value) {
        self.tell_listeners(event, payload);
        if self.inner.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let frame = Arc::new(pub_frame(event, payload));
        let cost = cost(&frame);
        let mut subs = self.inner.subscribers.lock().expect("bus lock");
        subs.retain(|sub| {
            let queued = sub.backlog.bytes.load(Ordering::Acquire);
            // An event larger than the whole budget still goes to an idle subscriber.
            if queued > 0 && queued + cost > MAX_EVENT_BYTES_QUEUED {
                sub.backlog.dropped.fetch_add(1, Ordering::Relaxed);
                sub.backlog.fell_behind.notify_one();
                return !sub.queue.is_closed();
            }
            sub.backlog.bytes.fetch_add(cost, Ordering::AcqRel);
            sub.queue.send(frame.clone()).is_ok()
        });
        self.inner.count.store(subs.len(), Ordering::Relaxed);
    }

    /// Serves one subscriber connection until it closes, holding its `slot`.
    /// `reporter(id)` gives what is told of the events dropped for subscriber
    /// `id`: `(count, KB still waiting)`. The caller decides where that goes,
    /// so the bus knows nothing of the daemon's log.
    pub(crate) fn attach<R>(&self, stream: UnixStream, slot: Slot, reporter: impl FnOnce(u64) -> R)
    where
        R: Fn(u64, usize) + Send + 'static,
    {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, mut rx) = mpsc::unbounded_channel::<Arc<Vec<u8>>>();
        let backlog = Arc::new(Backlog::default());
        {
            let mut subs = self.inner.subscribers.lock().expect("bus lock");
            subs.push(Subscriber {
                id,
                queue,
                backlog: backlog.clone(),
            });
            self.inner.count.store(subs.len(), Ordering::Relaxed);
        }
        let (read, mut write) = stream.into_split();
        let written = backlog.clone();
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write.write_all(&frame).await.is_err() {
                    break;
                }
                written.bytes.fetch_sub(cost(&frame), Ordering::AcqRel);
            }
        });
        let report = reporter(id);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            until_gone(read, &backlog, report).await;
            writer.abort();
            drop(slot);
            let mut subs = inner.subscribers.lock().expect("bus lock");
            subs.retain(|sub| sub.id != id);
            inner.count.store(subs.len(), Ordering::Relaxed);
        });
    }
}

/// Waits for a subscriber to leave, reporting the events dropped for it
/// meanwhile. Subscribers send nothing; reading only tells us when they leave.
async fn until_gone(mut read: OwnedReadHalf, backlog: &Backlog, report: impl Fn(u64, usize)) {
    let mut sink = [0u8; 1024];
    loop {
        tokio::select! {
            r = read.read(&mut sink) => if !matches!(r, Ok(n) if n > 0) { return },
            _ = backlog.fell_behind.notified() => {
                let n = backlog.dropped.swap(0, Ordering::Relaxed);
                let waiting = backlog.bytes.load(Ordering::Relaxed) >> 10;
                if n > 0 {
                    report(n, waiting);
                }
            }
        }
    }
}
