//! The selected app's log on the dashboard: the last lines of its files,
//! then what it prints from now on (from the bus), `err` lines marked, and
//! its restarts and exits between them. The stream ends once the token it
//! was opened with is replaced.

use super::live::{event, still_current};
use crate::bus::Bus;
use crate::supervisor::Supervisor;
use serde_json::json;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Lines read back from each file when a page opens an app's log.
const TAIL_LINES: usize = 200;
/// Bytes read back from the end of each file for them.
const TAIL_BYTES: u64 = 64 * 1024;
/// Events waiting for the page; past that they are dropped for it.
const QUEUE: usize = 256;
/// Logs followed at once (each holds one of the server's connections).
pub const MAX_FOLLOWERS: usize = 8;
/// A comment sent to a quiet stream, so that proxies keep it open.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(30);
/// How often a stream checks that its token is still the dashboard's.
const TOKEN_CHECK: std::time::Duration = super::live::TICK;

/// The last lines of `path`.
fn tail(path: &str) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(TAIL_BYTES);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    let _ = f.take(TAIL_BYTES).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0); // cut in the middle
    }
    let skip = lines.len().saturating_sub(TAIL_LINES);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// Whose stream it is: the dashboard's current token, and the one the
/// stream was opened with.
pub struct Opener {
    pub current: Arc<RwLock<Option<String>>>,
    pub token: String,
}

/// The stream of app `id`'s log, holding `slot` while it lasts.
pub async fn follow(
    sup: &Supervisor,
    bus: &Bus,
    id: u64,
    slot: tokio::sync::OwnedSemaphorePermit,
    opener: Opener,
) -> Result<mpsc::Receiver<Vec<u8>>, String> {
    // Listening first: a line printed while the files are read is not lost
    // (it may show twice, at worst).
    let mut live = bus.listen(
        QUEUE,
        Box::new(move |event, payload| {
            matches!(event, "log:out" | "log:err" | "process:event")
                && payload["process"]["pm_id"].as_u64() == Some(id)
        }),
    );
    let p = sup.get(id).await?;
    let out = p["pm2_env"]["pm_out_log_path"].as_str().map(str::to_string);
    let err = p["pm2_env"]["pm_err_log_path"].as_str().map(str::to_string);
    let (out, err) = tokio::task::spawn_blocking(move || {
        (
            out.as_deref().map(tail).unwrap_or_default(),
            err.as_deref().map(tail).unwrap_or_default(),
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let _ = tx.try_send(event("tail", &json!({"id": id, "out": out, "err": err})));
    tokio::spawn(async move {
        let _slot = slot;
        let mut quiet = tokio::time::interval(KEEPALIVE);
        quiet.tick().await;
        let mut check = tokio::time::interval(TOKEN_CHECK);
        check.tick().await;
        loop {
            let (name, packet) = tokio::select! {
                got = live.events.recv() => match got {
                    Some(got) => got,
                    None => return,
                },
                // The page left: stop listening now, not at the app's next line.
                _ = tx.closed() => return,
                _ = check.tick() => {
                    if !still_current(&opener.current, &opener.token) {
                        return;
                    }
                    continue;
                }
                _ = quiet.tick() => {
                    if tx.try_send(b": keepalive\n\n".to_vec()).is_err() {
                        return;
                    }
                    continue;
                }
            };
            let line = match name.as_str() {
                "process:event" => json!({"event": packet["event"], "at": packet["at"]}),
                _ => json!({
                    "err": name == "log:err",
                    "at": packet["at"],
                    "data": packet["data"],
                }),
            };
            let kind = if name == "process:event" {
                "event"
            } else {
                "log"
            };
            // A page that does not take its lines is gone or stuck: stop.
            if tx.try_send(event(kind, &line)).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}
