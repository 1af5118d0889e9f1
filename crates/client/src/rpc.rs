//! An axon `req` socket: requests carry `<pid>:<counter>` ids, replies are
//! matched back to them, so several calls can be in flight on one connection.

use crate::error::{Error, Result};
use pm2_wire::{rpc, Decoder};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

/// Waiters by call id; each gets its reply's body unparsed.
type Pending = Arc<Mutex<Option<HashMap<String, oneshot::Sender<Vec<u8>>>>>>;

pub struct RpcClient {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    counter: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
    closed: tokio::sync::watch::Receiver<bool>,
}

impl RpcClient {
    pub async fn connect(sock: &Path) -> std::io::Result<RpcClient> {
        let stream = UnixStream::connect(sock).await?;
        let (mut read, writer) = stream.into_split();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (closed_tx, closed) = tokio::sync::watch::channel(false);
        let reader_pending = pending.clone();
        let reader = tokio::spawn(async move {
            // The daemon is trusted: a process list can outgrow any fixed limit.
            let mut decoder = Decoder::with_limit(usize::MAX);
            let mut buf = vec![0u8; 64 * 1024];
            'read: loop {
                let n = match read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                loop {
                    match decoder.next_raw_frame() {
                        Ok(Some(frame)) => {
                            if let Some((id, reply)) = rpc::split_reply(frame) {
                                let waiter = reader_pending
                                    .lock()
                                    .expect("pending lock")
                                    .as_mut()
                                    .and_then(|p| p.remove(&id));
                                if let Some(w) = waiter {
                                    let _ = w.send(reply);
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(_) => break 'read,
                    }
                }
            }
            // Dropping the senders fails every call still waiting.
            reader_pending.lock().expect("pending lock").take();
            let _ = closed_tx.send(true);
        });
        Ok(RpcClient {
            writer: tokio::sync::Mutex::new(writer),
            pending,
            counter: AtomicU64::new(0),
            reader,
            closed,
        })
    }

    /// Calls `method` and returns the reply's arguments (after the error slot).
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Vec<Value>> {
        let body = self.call_raw(method, args).await?;
        rpc::parse_reply_body(&body).map_err(Error::Remote)
    }

    /// Calls `method` and returns the reply's body unparsed, for
    /// [`rpc::reply_args_raw`].
    pub async fn call_raw(&self, method: &str, args: Vec<Value>) -> Result<Vec<u8>> {
        let rx = self.send(method, args).await?;
        rx.await.map_err(|_| Error::Disconnected)
    }

    /// Sends a call whose reply nobody waits for (`notifyKillPM2` never replies).
    pub async fn notify(&self, method: &str, args: Vec<Value>) -> Result<()> {
        self.send(method, args).await.map(drop)
    }

    async fn send(&self, method: &str, args: Vec<Value>) -> Result<oneshot::Receiver<Vec<u8>>> {
        let id = format!(
            "{}:{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().expect("pending lock").as_mut() {
            Some(p) => p.insert(id.clone(), tx),
            None => return Err(Error::Disconnected),
        };
        let frame = rpc::call_frame(method, &args, &id);
        let mut w = self.writer.lock().await;
        w.write_all(&frame).await.map_err(|_| Error::Disconnected)?;
        Ok(rx)
    }

    /// Resolves when the daemon closes the connection.
    pub async fn closed(&self) {
        let mut c = self.closed.clone();
        let _ = c.wait_for(|closed| *closed).await;
    }
}

impl Drop for RpcClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
