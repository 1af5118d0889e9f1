//! Talking with children: the messages they send (agent data, `ready`,
//! bus messages) and what clients send them (data, signals, stdin lines,
//! action triggers).

use super::{unknown, Actor, Reply};
use crate::agent_data;
use crate::clock::now_ms;
use crate::proc_info;
use crate::process::{Proc, Status};
use crate::report_pace;
use pm2_wire::ipc::is_internal;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// How long `sendLineToStdin` waits for room in an app's stdin pipe.
const STDIN_WRITE_TIMEOUT: Duration = Duration::from_secs(3);

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// `MODULE_DEBUG=true` in a module's environment: the daemon logs every
/// message the module sends (to pm2.log and the `PM2` log lines).
fn module_debug(p: &crate::process::Proc) -> bool {
    p.opts.pmx_module
        && p.env
            .get("env")
            .and_then(|e| e.get("MODULE_DEBUG"))
            .and_then(Value::as_str)
            .is_some_and(|v| v == "true")
}

/// The `process` field of the bus events an app's messages become.
fn process_of(id: u64, p: &Proc) -> Value {
    json!({"pm_id": id, "name": p.name(), "namespace": p.str("namespace").unwrap_or("default")})
}

/// Tells app `p`'s agent how often to report its metrics.
fn tell_pace(p: &Proc, watched: bool) {
    if let Some(ipc) = p.running.as_ref().and_then(|r| r.ipc.clone()) {
        let msg = report_pace::message(watched);
        tokio::spawn(async move { ipc.send_internal(&msg).await });
    }
}

impl Actor {
    /// Someone reads the agents' metrics (the list, an app's details): the
    /// agents report every second while that goes on.
    pub(super) fn metrics_read(&mut self) {
        for (id, generation) in self.pace.read(Instant::now()) {
            let Some(p) = self.procs.get(&id) else {
                continue;
            };
            if p.generation == generation && p.running.is_some() {
                tell_pace(p, true);
                self.pace.told_watched(id, generation);
            }
        }
    }

    pub(super) fn on_message(&mut self, id: u64, generation: u64, mut msg: Value) {
        if let Some(p) = self.procs.get(&id) {
            if module_debug(p) {
                let text = msg.to_string();
                let cut = text.char_indices().nth(2000).map_or(text.len(), |(i, _)| i);
                self.log.info(&format!(
                    "[MODULE_DEBUG] {} sent {}",
                    p.name(),
                    &text[..cut]
                ));
            }
        }
        if is_internal(&msg) {
            return self.on_internal_message(id, generation, &msg);
        }
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        // Every app's agent sends `{type, data}` once a second: its data is
        // moved where it goes (pm2_env or the bus event), never copied.
        if let (Some(Value::String(_)), Some(_)) = (msg.get("type"), msg.get("data")) {
            let data = msg["data"].take();
            let kind = msg["type"].as_str().unwrap_or_default();
            match kind {
                "axm:monitor" => {
                    if let Some(m) = p.env.get_mut("axm_monitor") {
                        agent_data::merge_monitor(m, data);
                    }
                    if report_pace::can_be_paced(&msg) {
                        if let Some(watched) = self.pace.reported(id, generation, Instant::now()) {
                            tell_pace(p, watched);
                        }
                    }
                }
                "axm:action" => {
                    if let Some(a) = p.env.get_mut("axm_actions") {
                        agent_data::add_action(a, data);
                    }
                }
                "axm:option:configuration" => {
                    if let Some(o) = p.env.get_mut("axm_options") {
                        agent_data::merge_options(o, data);
                    }
                }
                "axm:option:setPID" => {
                    if let Some(Value::Object(m)) = p.env.get_mut("axm_options") {
                        m.insert("pid".into(), data);
                    }
                }
                _ => {
                    let mut process = process_of(id, p);
                    process["versioning"] = Value::Null;
                    self.bus.publish(
                        kind,
                        &json!({"at": now_ms(), "data": data, "process": process}),
                    );
                }
            }
            return;
        }
        if let Some(v) = msg.get_mut("node_version") {
            p.set("node_version", v.take());
            return;
        }
        let ready =
            msg.as_str() == Some("ready") && p.status == Status::Launching && p.opts.wait_ready;
        let process = process_of(id, p);
        self.bus.publish(
            "process:msg",
            &json!({"at": now_ms(), "raw": msg, "process": process}),
        );
        if ready {
            self.transition(id, Status::Online, Some("online"));
            self.replacement_ready(id, generation);
        }
    }

    pub(crate) fn send_data(&mut self, packet: Value) -> Result<Value, String> {
        let missing = packet.get("id").is_none_or(Value::is_null)
            || packet.get("data").is_none()
            || !packet.get("topic").is_some_and(truthy);
        if missing {
            return Err("ID, DATA or TOPIC field is missing".into());
        }
        let raw_id = &packet["id"];
        let id = raw_id
            .as_u64()
            .or_else(|| raw_id.as_str().and_then(|s| s.parse().ok()));
        let shown = match raw_id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let p = id
            .and_then(|id| self.procs.get(&id))
            .ok_or_else(|| format!("Process with ID {shown} unknown."))?;
        let ipc = match (&p.running, p.status.is_running()) {
            (Some(r), true) => r.ipc.clone(),
            _ => None,
        }
        .ok_or_else(|| format!("Process with ID {shown} offline."))?;
        let out = packet.clone();
        tokio::spawn(async move { ipc.send(&out).await });
        Ok(json!({"success": true, "data": packet}))
    }

    pub(crate) fn send_signal(&mut self, id: u64, signal: &str) -> Result<(), String> {
        let p = self.procs.get(&id).ok_or_else(|| unknown(id))?;
        let sig =
            proc_info::parse_signal(signal).ok_or_else(|| format!("Unknown signal {signal}"))?;
        let pid = p
            .running
            .as_ref()
            .map(|r| r.pid)
            .ok_or_else(|| format!("Process {id} is not running"))?;
        proc_info::signal(pid, sig).map_err(|e| e.to_string())
    }

    pub(crate) fn send_line(&mut self, id: u64, line: String, reply: Reply<()>) {
        let stdin = match self.procs.get(&id) {
            None => Err(unknown(id)),
            Some(p) => p
                .running
                .as_ref()
                .and_then(|r| r.stdin.clone())
                .ok_or_else(|| format!("Process {id} is not running")),
        };
        match stdin {
            Err(e) => {
                let _ = reply.send(Err(e));
            }
            Ok(stdin) => {
                // An app that never reads its stdin fills the pipe: give up
                // after a while, so the caller gets an answer and the next
                // line a chance.
                tokio::spawn(async move {
                    let write = async {
                        let mut stdin = stdin.lock().await;
                        // As PM2 does, the line goes as given: its sender
                        // ends it (`pm2 attach`'s separator, the API's newline).
                        stdin.write_all(line.as_bytes()).await
                    };
                    let r = match tokio::time::timeout(STDIN_WRITE_TIMEOUT, write).await {
                        Ok(written) => written.map_err(|e| e.to_string()),
                        Err(_) => Err(format!(
                            "Process {id} does not read its stdin: the line was not sent within {} s",
                            STDIN_WRITE_TIMEOUT.as_secs()
                        )),
                    };
                    let _ = reply.send(r);
                });
            }
        }
    }

    /// Sends an action trigger to the processes `target` names that
    /// registered that action (`axm_actions`), as `pm2 trigger` expects.
    pub(super) fn msg_process(&mut self, target: &Value, msg: Value) -> Result<Value, String> {
        let action = match &msg {
            Value::String(s) => s.clone(),
            other => other
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        let has_action = |p: &Proc| {
            p.env
                .get("axm_actions")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter().any(|x| {
                        x.get("action_name").and_then(Value::as_str) == Some(action.as_str())
                    })
                })
        };
        let by_id = target
            .get("id")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        let by_name = target.get("name").and_then(Value::as_str);
        if let Some(id) = by_id {
            let p = self
                .procs
                .get(&id)
                .ok_or_else(|| format!("{id} id unknown"))?;
            if !has_action(p) {
                return Err(format!("Action doesn't exist {action} for {}", p.name()));
            }
        }
        let mut count = 0;
        for p in self.procs.values() {
            let hit = match (by_id, by_name) {
                (Some(id), _) => p.pm_id == id,
                (None, Some("all")) => true,
                (None, Some(n)) => {
                    let script = std::path::Path::new(p.str("pm_exec_path").unwrap_or(""));
                    p.name() == n
                        || p.str("namespace") == Some(n)
                        || script.file_name().is_some_and(|f| f == n)
                }
                _ => false,
            };
            if !hit || !p.status.is_running() || !has_action(p) {
                continue;
            }
            if let Some(ipc) = p.running.as_ref().and_then(|r| r.ipc.clone()) {
                let m = msg.clone();
                tokio::spawn(async move { ipc.send(&m).await });
                count += 1;
            }
        }
        Ok(json!({"process_count": count, "success": true}))
    }
}
