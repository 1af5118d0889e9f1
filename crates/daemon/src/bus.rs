//! The publisher behind `pub.sock`: every event goes to every subscriber as
//! `[s:<event>, j:<payload>]`. A subscriber that cannot keep up loses events
//! rather than making the daemon buffer them without bound.

use pm2_wire::rpc::pub_frame;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// Frames queued per subscriber before further events are dropped for it.
const SUBSCRIBER_QUEUE: usize = 4096;

#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    subscribers: Mutex<Vec<mpsc::Sender<Arc<Vec<u8>>>>>,
    count: AtomicUsize,
}

impl Bus {
    /// Cheap check so producers skip building payloads nobody will read.
    pub fn has_subscribers(&self) -> bool {
        self.inner.count.load(Ordering::Relaxed) > 0
    }

    pub fn publish(&self, event: &str, payload: &Value) {
        if !self.has_subscribers() {
            return;
        }
        let frame = Arc::new(pub_frame(event, payload));
        let mut subs = self.inner.subscribers.lock().expect("bus lock");
        subs.retain(|tx| match tx.try_send(frame.clone()) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        self.inner.count.store(subs.len(), Ordering::Relaxed);
    }

    /// Serves one subscriber connection until it closes.
    pub fn attach(&self, stream: UnixStream) {
        let (tx, mut rx) = mpsc::channel::<Arc<Vec<u8>>>(SUBSCRIBER_QUEUE);
        {
            let mut subs = self.inner.subscribers.lock().expect("bus lock");
            subs.push(tx);
            self.inner.count.store(subs.len(), Ordering::Relaxed);
        }
        let (mut read, mut write) = stream.into_split();
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        let inner = self.inner.clone();
        tokio::spawn(async move {
            // Subscribers send nothing; reading only tells us when they leave.
            let mut sink = [0u8; 1024];
            while matches!(read.read(&mut sink).await, Ok(n) if n > 0) {}
            writer.abort();
            let mut subs = inner.subscribers.lock().expect("bus lock");
            subs.retain(|tx| !tx.is_closed());
            inner.count.store(subs.len(), Ordering::Relaxed);
        });
    }
}
