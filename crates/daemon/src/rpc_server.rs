//! `rpc.sock` (axon rep) and `pub.sock` (axon pub) listeners.
//!
//! Each RPC connection has a reader that decodes frames and a writer task;
//! every call runs in its own task, so a slow call (a stop waiting for its
//! child) does not hold up the calls behind it. A frame that cannot be AMP
//! closes that connection only; a well-framed request with bad content gets
//! an error reply. What one connection may have outstanding is bounded
//! ([`CallBudget`]): a client that sends without reading stops being read.

use crate::daemon_log::DaemonLog;
use crate::handlers;
use crate::limits::{self, CallBudget, CallCharge, ConnectionSlots, Slot};
use crate::log_throttle::LogThrottle;
use crate::Daemon;
use pm2_wire::amp::{encode, Arg, Decoder};
use pm2_wire::rpc::{parse_request, reply_err, reply_ok, Request};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

pub fn serve_rpc(listener: UnixListener, daemon: Arc<Daemon>) {
    let log = daemon.log.clone();
    let bad_frames = LogThrottle::new(log.clone(), "bad RPC connections closed");
    tokio::spawn(accept_forever(
        listener,
        "rpc.sock",
        log,
        move |stream, slot| {
            tokio::spawn(connection(stream, slot, daemon.clone(), bad_frames.clone()));
        },
    ));
}

pub fn serve_pub(listener: UnixListener, daemon: Arc<Daemon>) {
    let log = daemon.log.clone();
    tokio::spawn(accept_forever(
        listener,
        "pub.sock",
        log,
        move |stream, slot| {
            daemon
                .bus
                .attach(stream, slot, |id| subscriber_drops(daemon.log.clone(), id));
        },
    ));
}

/// Reports the events dropped for `pub.sock` subscriber `id`, rate-limited,
/// to `pm2.log` only: published, a line about dropped events would be dropped
/// for the same subscriber and reported again.
fn subscriber_drops(log: DaemonLog, id: u64) -> impl Fn(u64, usize) + Send + 'static {
    let drops =
        LogThrottle::new(log, format!("events dropped for pub.sock subscriber #{id}")).file_only();
    move |n, waiting_kb| {
        drops.events(n, || {
            format!("pub.sock subscriber #{id} is not reading: {n} events dropped, {waiting_kb} KB waiting for it")
        })
    }
}

/// Accepts connections for as long as the daemon runs. A failed accept (the
/// fd limit reached, say) is logged and retried after a pause; connections
/// past [`limits::MAX_CONNECTIONS`] are closed at once.
async fn accept_forever(
    listener: UnixListener,
    name: &'static str,
    log: DaemonLog,
    mut serve: impl FnMut(UnixStream, Slot),
) {
    let slots = ConnectionSlots::new(limits::MAX_CONNECTIONS);
    let failed = LogThrottle::new(log.clone(), format!("failed accepts on {name}"));
    let refused = LogThrottle::new(log, format!("connections to {name} refused"));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match slots.take() {
                Some(slot) => serve(stream, slot),
                None => refused.event(|| {
                    format!(
                        "refusing a connection to {name}: {} already open",
                        slots.max()
                    )
                }),
            },
            Err(e) => {
                failed.event(|| format!("accept on {name} failed: {e}"));
                tokio::time::sleep(limits::ACCEPT_RETRY).await;
            }
        }
    }
}

/// A reply on its way to the socket; its call's charge goes with it.
struct Outgoing {
    frame: Vec<u8>,
    _charge: CallCharge,
}

impl Outgoing {
    fn new(frame: Vec<u8>, charge: CallCharge) -> Outgoing {
        let charge = charge.hold_reply(frame.capacity());
        Outgoing {
            frame,
            _charge: charge,
        }
    }
}

async fn connection(stream: UnixStream, _slot: Slot, daemon: Arc<Daemon>, bad_frames: LogThrottle) {
    // Numbers the connection for the supervisor, which serves connections in turn.
    static CONNECTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let connection = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let requester = stream.peer_cred().ok().and_then(|c| c.pid());
    let (mut read, write) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(write_replies(write, rx));
    let budget = CallBudget::new(limits::MAX_CALLS_IN_FLIGHT, limits::MAX_REPLY_BYTES_QUEUED);
    let mut decoder = Decoder::with_limit(limits::MAX_REQUEST_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    'conn: loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    bad_frames.event(|| format!("closing an RPC connection: {e}"));
                    break 'conn;
                }
            };
            let (request, id) = parse_request(frame);
            let Some(id) = id else { continue };
            // At the budget's limit this waits, and the client is not read
            // until it has read some of its replies.
            let charge = budget.reserve_call().await;
            match request {
                Err(bad) => {
                    let _ = tx.send(Outgoing::new(reply_err(&bad.0, id), charge));
                }
                Ok(Request::Methods) => {
                    let frame = encode(&[Arg::Json(handlers::methods_reply()), id]);
                    let _ = tx.send(Outgoing::new(frame, charge));
                }
                Ok(Request::Call { method, args }) => {
                    // What the call asks the supervisor takes its turn
                    // with this connection's other requests.
                    tokio::spawn(crate::supervisor::as_client(
                        connection,
                        call(
                            daemon.clone(),
                            tx.clone(),
                            charge,
                            method,
                            args,
                            id,
                            requester,
                        ),
                    ));
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Writes replies in order; once the client is gone the rest are dropped,
/// which frees their charges.
async fn write_replies(mut write: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(reply) = rx.recv().await {
        if write.write_all(&reply.frame).await.is_err() {
            break;
        }
    }
}

async fn call(
    daemon: Arc<Daemon>,
    tx: mpsc::UnboundedSender<Outgoing>,
    charge: CallCharge,
    method: String,
    args: Vec<serde_json::Value>,
    id: Arg,
    requester: Option<i32>,
) {
    let call = handlers::Call {
        daemon: &daemon,
        method: &method,
        args: &args,
        requester,
    };
    let frame = match handlers::dispatch(call).await {
        // The answer to a start of thousands of apps is megabytes: encoded
        // off the thread that serves every other client.
        Ok(handlers::Reply::Values(values))
            if matches!(method.as_str(), "prepare" | "prepareUnique") =>
        {
            match tokio::task::spawn_blocking(move || reply_ok(values, id)).await {
                Ok(frame) => frame,
                Err(_) => return,
            }
        }
        Ok(handlers::Reply::Values(values)) => reply_ok(values, id),
        Ok(handlers::Reply::Json(reply)) => reply.into_frame(id),
        Ok(handlers::Reply::Silent) => return,
        Err(msg) => reply_err(&msg, id),
    };
    let _ = tx.send(Outgoing::new(frame, charge));
    crate::heap::release_soon();
}
