//! An axon `req` socket: requests carry `<pid>:<counter>` ids, replies are
//! matched back to them, so several calls can be in flight on one connection.

use crate::error::{Error, Result};
use pm2_wire::{rpc, Decoder};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
            'read: loop {
                // Straight into the decoder, all of a large reply at once.
                match read.read_buf(decoder.read_buffer(READ_AT_LEAST)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
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
    ///
    /// Gives up after [`timeout_for`] `method`: a daemon that never answers
    /// cannot hold the caller forever.
    pub async fn call_raw(&self, method: &str, args: Vec<Value>) -> Result<Vec<u8>> {
        self.call_within(method, args, timeout_for(method)?).await
    }

    async fn call_within(
        &self,
        method: &str,
        args: Vec<Value>,
        limit: Duration,
    ) -> Result<Vec<u8>> {
        let (id, rx) = match tokio::time::timeout(limit, self.send(method, args)).await {
            Ok(sent) => sent?,
            Err(_) => return Err(timed_out(method, limit)),
        };
        match tokio::time::timeout(limit, rx).await {
            Ok(reply) => reply.map_err(|_| Error::Disconnected),
            Err(_) => {
                if let Some(p) = self.pending.lock().expect("pending lock").as_mut() {
                    p.remove(&id);
                }
                Err(timed_out(method, limit))
            }
        }
    }

    /// Sends a call whose reply nobody waits for (`notifyKillPM2` never replies).
    pub async fn notify(&self, method: &str, args: Vec<Value>) -> Result<()> {
        let limit = timeout_for(method)?;
        match tokio::time::timeout(limit, self.send(method, args)).await {
            Ok(sent) => sent.map(drop),
            Err(_) => Err(timed_out(method, limit)),
        }
    }

    async fn send(
        &self,
        method: &str,
        args: Vec<Value>,
    ) -> Result<(String, oneshot::Receiver<Vec<u8>>)> {
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
        Ok((id, rx))
    }

    /// Resolves when the daemon closes the connection.
    pub async fn closed(&self) {
        let mut c = self.closed.clone();
        let _ = c.wait_for(|closed| *closed).await;
    }
}

/// The room given to each read of the socket, at least.
const READ_AT_LEAST: usize = 64 * 1024;

/// Requests that may wait for apps to stop (each up to twice its
/// `kill_timeout`) or to start: they get the long bound.
const SLOW_METHODS: &[&str] = &[
    "prepare",
    "startProcessId",
    "stopProcessId",
    "restartProcessId",
    "reloadProcessId",
    "softReloadProcessId",
    "deleteProcessId",
    "killMe",
    "notifyKillPM2",
    "waitBooted",
];
/// How long a request that starts or stops apps may take.
const SLOW: Duration = Duration::from_secs(300);
/// How long any other request may take.
const QUICK: Duration = Duration::from_secs(60);
/// Overrides both bounds, in milliseconds.
const TIMEOUT_VAR: &str = "PM2_RPC_TIMEOUT";

/// How long the client waits for the answer to `method`: `PM2_RPC_TIMEOUT`
/// (ms) when set, else 5 minutes for requests that start or stop apps and
/// 1 minute for the rest.
pub fn timeout_for(method: &str) -> Result<Duration> {
    match std::env::var(TIMEOUT_VAR) {
        Ok(v) => parse_timeout(&v),
        Err(_) if SLOW_METHODS.contains(&method) => Ok(SLOW),
        Err(_) => Ok(QUICK),
    }
}

fn parse_timeout(v: &str) -> Result<Duration> {
    match v.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(Error::Usage(format!(
            "{TIMEOUT_VAR} must be a number of milliseconds above 0, not {v:?}"
        ))),
    }
}

fn timed_out(method: &str, after: Duration) -> Error {
    Error::Timeout {
        method: method.to_string(),
        after,
    }
}

impl Drop for RpcClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_checked_and_in_milliseconds() {
        assert_eq!(parse_timeout("1500").unwrap(), Duration::from_millis(1500));
        for bad in ["0", "-1", "1s", ""] {
            let e = parse_timeout(bad).unwrap_err().to_string();
            assert!(e.contains("PM2_RPC_TIMEOUT"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_daemon_that_never_answers_is_given_up_on() {
        let dir = std::env::temp_dir().join(format!("pm2-rpc-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("rpc.sock");
        let _ = std::fs::remove_file(&sock);
        let listener = tokio::net::UnixListener::bind(&sock).unwrap();
        // Accepts and reads, never answers.
        let silent = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        let client = RpcClient::connect(&sock).await.unwrap();
        let limit = Duration::from_millis(200);
        let e = client
            .call_within("ping", vec![], limit)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("ping") && e.contains("0.2 s"), "{e}");
        assert!(client.pending.lock().unwrap().as_ref().unwrap().is_empty());
        silent.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
