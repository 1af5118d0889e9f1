//! The dashboard's live feed: while at least one page is open, a sampler
//! reads the process list every [`TICK`], records each app's CPU and memory
//! in its ring and sends every page one `list` event; with no page open
//! there is no sampler at all. Each page has a bounded queue: a page that
//! cannot keep up is dropped (the browser reconnects), never buffered for.
//! A page opened with a token that has since been replaced is ended at the
//! next tick: `pm2 web --new-token` cuts off what the old token opened.

use super::history::History;
use crate::supervisor::Supervisor;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

pub const TICK: Duration = Duration::from_secs(2);
/// Events waiting for one page before it is dropped.
pub const QUEUE: usize = 8;
/// Pages served at once (each holds one of the server's connections).
pub const MAX_PAGES: usize = 8;

pub struct Live {
    state: Mutex<State>,
    /// The dashboard's current token.
    token: Arc<RwLock<Option<String>>>,
}

#[derive(Default)]
struct State {
    pages: Vec<Page>,
    sampling: bool,
    history: History,
}

struct Page {
    tx: mpsc::Sender<Vec<u8>>,
    /// The token the page was opened with.
    token: String,
}

/// Whether `current` is still the token a stream was opened with.
pub fn still_current(current: &RwLock<Option<String>>, opened_with: &str) -> bool {
    current
        .read()
        .ok()
        .and_then(|t| t.as_deref().map(|t| t == opened_with))
        .unwrap_or(false)
}

/// One server-sent event.
pub fn event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

/// What the page shows of a process in the list: no env, no paths.
pub fn row(id: u64, pid: u32, e: &crate::pm2_env::Pm2Env, mem: u64, cpu: f64) -> Value {
    let field = |k: &str| e.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "id": id,
        "name": field("name"),
        "namespace": field("namespace"),
        "status": field("status"),
        "pid": if pid > 0 { json!(pid) } else { Value::Null },
        "uptime": field("pm_uptime"),
        "restarts": field("restart_time"),
        "unstable": field("unstable_restarts"),
        "mode": field("exec_mode"),
        "watch": e.get("watch").is_some_and(|w| w.as_bool().unwrap_or(false) || w.is_array()),
        "module": e.get("pmx_module").and_then(Value::as_bool).unwrap_or(false),
        // How many custom actions it registered: the page reloads its details when it changes.
        "actions": e.get("axm_actions").and_then(Value::as_array).map_or(0, Vec::len),
        "cpu": (cpu * 10.0).round() / 10.0,
        "mem": mem,
    })
}

/// The host figures beside the list: cheap reads only.
fn host() -> Value {
    let mem = pm2_proc::memory();
    let load = sysinfo::System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
    json!({
        "hostname": sysinfo::System::host_name().unwrap_or_default(),
        "uptime": sysinfo::System::uptime().unwrap_or(0),
        "loadavg": load,
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "total_mem": mem.total,
        "free_mem": mem.available,
    })
}

impl Live {
    pub fn new(token: Arc<RwLock<Option<String>>>) -> Live {
        Live {
            state: Mutex::default(),
            token,
        }
    }

    /// Adds a page opened with `token`: it gets the list with each app's
    /// recent samples at once, then one `list` event per tick while `token`
    /// stays the dashboard's. `None` when [`MAX_PAGES`] are open.
    pub async fn join(
        self: &Arc<Live>,
        sup: &Supervisor,
        token: &str,
    ) -> Option<mpsc::Receiver<Vec<u8>>> {
        let list = sup.summaries(row).await.unwrap_or_default();
        // Read outside the lock: it reads /proc and asks the system.
        let host = tokio::task::spawn_blocking(host).await.unwrap_or_default();
        let (tx, rx) = mpsc::channel(QUEUE);
        let start_sampler = {
            let mut st = self.state.lock().ok()?;
            st.pages.retain(|p| !p.tx.is_closed());
            if st.pages.len() >= MAX_PAGES {
                return None;
            }
            let rows: Vec<Value> = list
                .into_iter()
                .map(|mut r| {
                    let id = r["id"].as_u64().unwrap_or(u64::MAX);
                    let hist = st.history.get(id).map(|h| h.samples()).unwrap_or_default();
                    r["history"] = json!(hist);
                    r
                })
                .collect();
            let _ = tx.try_send(event(
                "hello",
                &json!({"processes": rows, "host": host, "tick_ms": TICK.as_millis() as u64}),
            ));
            st.pages.push(Page {
                tx,
                token: token.to_string(),
            });
            !std::mem::replace(&mut st.sampling, true)
        };
        if start_sampler {
            let me = self.clone();
            let sup = sup.clone();
            tokio::spawn(async move { me.sample(sup).await });
        }
        Some(rx)
    }

    /// Runs while a page is open; the last page gone, it stops and forgets
    /// the samples, so nothing is held or done while no one looks.
    async fn sample(self: Arc<Live>, sup: Supervisor) {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            if self.stop_if_unwatched() {
                return;
            }
            let Ok(rows) = sup.summaries(row).await else {
                continue;
            };
            let figures: Vec<(u64, f64, u64)> = rows
                .iter()
                .filter_map(|r| {
                    Some((
                        r["id"].as_u64()?,
                        r["cpu"].as_f64().unwrap_or(0.0),
                        r["mem"].as_u64().unwrap_or(0),
                    ))
                })
                .collect();
            let host = tokio::task::spawn_blocking(host).await.unwrap_or_default();
            let frame = event("list", &json!({"processes": rows, "host": host}));
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            st.history.record(&figures);
            // A page whose queue is full is behind: it is dropped, and its
            // browser reconnects for a fresh start. One opened with a
            // replaced token is ended.
            st.pages.retain(|p| {
                still_current(&self.token, &p.token) && p.tx.try_send(frame.clone()).is_ok()
            });
        }
    }

    fn stop_if_unwatched(&self) -> bool {
        let Ok(mut st) = self.state.lock() else {
            return true;
        };
        st.pages
            .retain(|p| !p.tx.is_closed() && still_current(&self.token, &p.token));
        if st.pages.is_empty() {
            st.sampling = false;
            st.history.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_lasts_while_its_token_is_the_current_one() {
        let token = RwLock::new(Some("old".to_string()));
        assert!(still_current(&token, "old"));
        *token.write().unwrap() = Some("new".into());
        assert!(!still_current(&token, "old"));
        *token.write().unwrap() = None;
        assert!(!still_current(&token, "new"));
    }
}
