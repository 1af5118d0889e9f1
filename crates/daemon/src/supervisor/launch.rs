//! Launching a process: its log sink, the spawn, and the tasks that pump
//! its output, relay its IPC messages and report its exit.

use super::{unknown, Actor, ChildEvent, Msg, Timer};
use crate::child::{Child, Exit};
use crate::clock::now_ms;
use crate::log_writer::{pump, LogSink, Stream};
use crate::process::{ChildFds, Running, Status};
use crate::spawn;
use pm2_wire::ipc::{IpcReader, IpcWriter};
use serde_json::{json, Value};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long an exit waits for the app's last output to be logged.
const OUTPUT_DRAIN: Duration = Duration::from_millis(200);

/// Reports the exit of launch `generation` of `id` to the supervisor, once
/// what the app wrote before it ended is logged (and on the bus): the pipes
/// close with it, unless a child it left holds them, so the wait is bounded.
pub(super) async fn report_exit(
    tx: mpsc::Sender<Msg>,
    id: u64,
    generation: u64,
    exit: Exit,
    output: impl IntoIterator<Item = tokio::task::JoinHandle<()>>,
) {
    let drained = async {
        for task in output {
            let _ = task.await;
        }
    };
    let _ = tokio::time::timeout(OUTPUT_DRAIN, drained).await;
    let _ = tx
        .send(Msg::Child(ChildEvent::Exited {
            id,
            generation,
            code: exit.code,
            signal: exit.signal,
            launch_error: exit.launch_error,
        }))
        .await;
}

impl Actor {
    /// Spawns the child of `id` and wires its pipes, IPC channel and exit.
    pub(super) fn launch(&mut self, id: u64) -> Result<(), String> {
        let bus = self.bus.clone();
        // Numbered across the daemon, not per process: a pm_id used again
        // after a delete must not match the timers (kill timeout, restart
        // delay) or the cgroups its former owner left behind.
        self.launches += 1;
        let launch_no = self.launches;
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        p.generation = launch_no;
        let generation = p.generation;
        p.flatten_env();
        p.set("pm_uptime", json!(now_ms()));
        p.cpu = None;
        p.log = None;
        let rotation = Some(self.log_rotation.clone());
        let sink = match LogSink::new(p.log_config(), p.identity(), bus, rotation) {
            Ok(sink) => sink,
            Err(e) => return Err(self.launch_failed(id, &e.to_string())),
        };
        p.log = Some(sink.clone());
        let cgroup = self
            .cgroups
            .as_ref()
            .and_then(|c| c.launch_dir(id, generation).ok());
        let worker_id = self.worker_id_for(id);
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        let spawned = match spawn::spawn(&p.env, &self.settings, cgroup, worker_id) {
            Ok(s) => s,
            Err(e) => return Err(self.launch_failed(id, &e.to_string())),
        };
        self.launch_files.note(id, generation);
        let started = Instant::now();
        self.wire_child(id, generation, spawned.child, spawned.ipc, sink, started);
        if worker_id.is_some() {
            if let Some(writer) = self
                .procs
                .get(&id)
                .and_then(|p| p.running.as_ref()?.ipc.clone())
            {
                self.add_worker(id, generation, writer);
            }
        }
        let Some(p) = self.procs.get_mut(&id) else {
            return Err(unknown(id));
        };
        let wait_ready = p.opts.wait_ready;
        let listen_timeout = p
            .opts
            .listen_timeout
            .unwrap_or(self.settings.listen_timeout);
        self.transition(id, Status::Launching, Some("start"));
        if wait_ready {
            self.after(listen_timeout, Timer::ReadyTimeout { id, generation });
        } else {
            self.transition(id, Status::Online, Some("online"));
        }
        Ok(())
    }

    /// Pumps the output of the child of launch `generation` into `sink`,
    /// relays its IPC messages, reports its exit, and records it as the
    /// process's running child. Used for a new child and for one handed
    /// over by the daemon this one replaced in place.
    pub(super) fn wire_child(
        &mut self,
        id: u64,
        generation: u64,
        child: Child,
        ipc: (IpcReader, IpcWriter),
        sink: Arc<LogSink>,
        started: Instant,
    ) {
        let tx = self.tx.clone();
        let pid = child.pid;
        let fds = ChildFds {
            stdin: child.stdin.as_raw_fd(),
            stdout: child.stdout.as_raw_fd(),
            stderr: child.stderr.as_raw_fd(),
            ipc: ipc.1.as_raw_fd(),
        };
        let output = [
            pump(child.stdout, sink.clone(), Stream::Out),
            pump(child.stderr, sink, Stream::Err),
        ];
        let (mut reader, writer) = ipc;
        let msg_tx = tx.clone();
        let acks = writer.clone();
        tokio::spawn(async move {
            while let Ok(Some(m)) = reader.next().await {
                let msg = match m.value.get("cmd").and_then(Value::as_str) {
                    // A handle sent by the app (`process.send(msg, socket)`):
                    // nothing here takes it, so its descriptor is closed as `m`
                    // goes; the ACK lets the app's later messages through
                    // (Node queues them until then); the message itself is
                    // delivered like any other.
                    Some("NODE_HANDLE") => {
                        let _ = acks.send_internal(&json!({"cmd": "NODE_HANDLE_ACK"})).await;
                        m.value.get("msg").cloned().unwrap_or(Value::Null)
                    }
                    _ => m.value,
                };
                if msg_tx
                    .send(Msg::Child(ChildEvent::Message {
                        id,
                        generation,
                        msg,
                    }))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let stdin = child.stdin;
        let exit = child.exit;
        tokio::spawn(async move {
            let exit = exit.wait().await;
            report_exit(tx, id, generation, exit, output).await;
        });
        if let Some(p) = self.procs.get_mut(&id) {
            p.running = Some(Running {
                pid,
                ipc: Some(writer),
                stdin: Some(Arc::new(tokio::sync::Mutex::new(stdin))),
                started,
                fds: Some(fds),
            });
        }
    }

    /// An app whose program could not be started (before the fork or at
    /// exec): the reason goes to its error log and pm2.log, and it ends errored.
    pub(super) fn launch_failed(&mut self, id: u64, error: &str) -> String {
        let error = crate::fd_limit::explain(error, crate::fd_limit::current());
        let msg = match self.procs.get(&id) {
            Some(p) => format!("Error: {error} (app {} id {id})", p.name()),
            None => return error,
        };
        if let Some(sink) = &self.procs[&id].log {
            sink.write(Stream::Err, format!("{msg}\n").as_bytes());
        }
        self.log.info(&msg);
        self.transition(id, Status::Errored, None);
        msg
    }
}
