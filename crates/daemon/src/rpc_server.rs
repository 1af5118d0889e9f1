//! `rpc.sock` (axon rep) and `pub.sock` (axon pub) listeners.
//!
//! Each RPC connection has a reader that decodes frames and a writer task;
//! every call runs in its own task, so a slow call (a stop waiting for its
//! child) does not hold up the calls behind it. A frame that cannot be AMP
//! closes that connection only; a well-framed request with bad content gets
//! an error reply.

use crate::handlers;
use crate::{Daemon, ExitReason};
use pm2_wire::amp::{encode, Arg, Decoder};
use pm2_wire::rpc::{parse_request, reply_err, reply_ok, reply_ok_json, Request};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

pub fn serve_rpc(listener: UnixListener, daemon: Arc<Daemon>) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, daemon.clone()));
        }
    });
}

pub fn serve_pub(listener: UnixListener, daemon: Arc<Daemon>) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            daemon.bus.attach(stream);
        }
    });
}

async fn connection(stream: UnixStream, daemon: Arc<Daemon>) {
    let requester = stream.peer_cred().ok().and_then(|c| c.pid());
    let (mut read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if write.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    let mut decoder = Decoder::new();
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
                    daemon.log.info(&format!("closing an RPC connection: {e}"));
                    break 'conn;
                }
            };
            let (request, id) = parse_request(frame);
            let Some(id) = id else { continue };
            match request {
                Err(bad) => {
                    let _ = tx.send(reply_err(&bad.0, id)).await;
                }
                Ok(Request::Methods) => {
                    let frame = encode(&[Arg::Json(handlers::methods_reply()), id]);
                    let _ = tx.send(frame).await;
                }
                Ok(Request::Call { method, args }) => {
                    tokio::spawn(call(
                        daemon.clone(),
                        tx.clone(),
                        method,
                        args,
                        id,
                        requester,
                    ));
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

async fn call(
    daemon: Arc<Daemon>,
    tx: mpsc::Sender<Vec<u8>>,
    method: String,
    args: Vec<serde_json::Value>,
    id: Arg,
    requester: Option<i32>,
) {
    if method == "killMe" {
        // PM2's daemon never answers killMe (its clients may not even hold a
        // callback for it); clients learn of the exit from the closed socket.
        // Only a refused request gets an answer.
        match handlers::kill_request(&args, requester) {
            Ok(pid) => daemon.request_exit(ExitReason::KillMe { pid }),
            Err(msg) => {
                daemon.log.info(&msg);
                let _ = tx.send(reply_err(&msg, id)).await;
            }
        }
        return;
    }
    let frame = match handlers::dispatch(&daemon, &method, &args).await {
        Ok(handlers::Reply::Values(values)) => reply_ok(values, id),
        Ok(handlers::Reply::Json(arg)) => reply_ok_json(&arg, id),
        Err(msg) => reply_err(&msg, id),
    };
    let _ = tx.send(frame).await;
    crate::heap::release_soon();
}
