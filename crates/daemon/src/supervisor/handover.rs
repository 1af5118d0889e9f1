//! The actor's side of an exec of the daemon in place (`crate::handover`):
//! writing the table into the record and execing, and, in the new daemon,
//! adopting the record's children instead of launching them.

use super::{Actor, Supervisor};
use crate::child;
use crate::cluster::Cluster;
use crate::handover::{self, ProcRecord, Record, RunningRecord, TableRecord};
use crate::lifecycle::{Event, Lifecycle, State};
use crate::log_writer::LogSink;
use crate::process::{Proc, Status};
use crate::runtime::Runtime;
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl Supervisor {
    /// Replaces this process by `binary`, handing it `record` with the
    /// table filled in. Returns only when it could not (the reason), with
    /// every app untouched.
    pub async fn exec_in_place(&self, record: Record, binary: PathBuf) -> Result<(), String> {
        self.call(move |a, reply| {
            let _ = reply.send(a.exec_in_place(record, &binary));
        })
        .await
    }

    /// Takes the table of the daemon this one replaced: its children keep
    /// running, now supervised here. Returns how many were adopted.
    pub async fn adopt_table(&self, table: TableRecord) -> Result<usize, String> {
        self.call(move |a, reply| {
            let _ = reply.send(Ok(a.adopt_table(table)));
        })
        .await
    }
}

fn status_of(text: &str) -> Option<Status> {
    Some(match text {
        "online" => Status::Online,
        "stopped" => Status::Stopped,
        "errored" => Status::Errored,
        "waiting restart" => Status::WaitingRestart,
        _ => return None,
    })
}

impl Actor {
    fn exec_in_place(
        &mut self,
        mut record: Record,
        binary: &std::path::Path,
    ) -> Result<(), String> {
        record.table = self.table_record()?;
        let apps = record.table.procs.len();
        self.log.info(&format!(
            "PM2 daemon replacing itself in place by {} ({apps} processes handed over)",
            binary.display()
        ));
        let e = handover::exec(&record, binary);
        let msg = format!("could not exec {}: {e}", binary.display());
        self.log.info(&msg);
        Err(msg)
    }

    /// The table as a record. Refused while a process is between two states
    /// (launching, stopping, reloading) or a cluster worker waits for its
    /// socket: the new daemon could not finish what was started.
    fn table_record(&self) -> Result<TableRecord, String> {
        if let Some(id) = self.reloads.keys().next() {
            return Err(format!(
                "process {id} is being reloaded: try again once it is done"
            ));
        }
        if self.cluster.handles_in_flight() {
            return Err("a cluster worker is being handed its socket: try again".into());
        }
        let mut procs = Vec::with_capacity(self.procs.len());
        for p in self.procs.values() {
            let running = match (p.life.state(), &p.running) {
                (State::Up { generation }, Some(r))
                    if *generation == p.generation && p.status == Status::Online =>
                {
                    let fds = r.fds.ok_or_else(|| {
                        format!(
                            "app {} (id {}) was taken back after a daemon crash, without its IPC channel: it cannot be handed over until it is restarted",
                            p.name(),
                            p.pm_id
                        )
                    })?;
                    Some(RunningRecord {
                        pid: r.pid,
                        fds,
                        worker: p.opts.is_cluster(),
                        uptime_ms: r.started.elapsed().as_millis() as u64,
                    })
                }
                (State::Down { .. }, None)
                    if matches!(
                        p.status,
                        Status::Stopped | Status::Errored | Status::WaitingRestart
                    ) =>
                {
                    None
                }
                _ => {
                    return Err(format!(
                        "app {} (id {}) is {}: try again in a moment",
                        p.name(),
                        p.pm_id,
                        p.status.as_str()
                    ))
                }
            };
            procs.push(ProcRecord {
                pm_id: p.pm_id,
                status: p.status.as_str().to_string(),
                env: p.env.to_map(),
                generation: p.generation,
                running,
            });
        }
        Ok(TableRecord {
            next_id: self.next_id,
            launches: self.launches,
            cluster: self.cluster.record(),
            procs,
        })
    }

    fn adopt_table(&mut self, table: TableRecord) -> usize {
        self.next_id = table.next_id;
        self.launches = table.launches;
        self.cluster = Cluster::restore(table.cluster, handover::take_fd);
        let mut adopted = 0;
        let mut to_start = Vec::new();
        for rec in table.procs {
            let id = rec.pm_id;
            let mut p = Proc::new(id, rec.env);
            p.generation = rec.generation;
            p.status = status_of(&rec.status).unwrap_or(Status::Stopped);
            let waiting = p.status == Status::WaitingRestart;
            self.procs.insert(id, p);
            match rec.running {
                Some(r) => match self.adopt_child(id, rec.generation, &r) {
                    Ok(()) => adopted += 1,
                    Err(e) => {
                        self.log.info(&format!(
                            "app id {id}: its running process (pid {}) could not be adopted ({e}): it is stopped and started again",
                            r.pid
                        ));
                        // SAFETY: kill sends a signal to the app's process group,
                        // our child's (it leads its own session). A pid of 0 or 1
                        // would name our own group, or every process.
                        if let Ok(group @ 2..) = libc::pid_t::try_from(r.pid) {
                            unsafe { libc::kill(-group, libc::SIGKILL) };
                        }
                        self.transition(id, Status::Stopped, None);
                        to_start.push(id);
                    }
                },
                // Its restart delay was running in the old daemon: it
                // restarts now.
                None if waiting => to_start.push(id),
                None => {}
            }
        }
        // The state record on disk is rewritten from the adopted table.
        self.note_change();
        for id in to_start {
            self.step(
                id,
                Event::Start {
                    reply: None,
                    bump: true,
                },
            );
        }
        adopted
    }

    /// Wires a child handed over by the old daemon as if it had just been launched.
    fn adopt_child(&mut self, id: u64, generation: u64, r: &RunningRecord) -> Result<(), String> {
        let take = |fd| handover::take_fd(fd).ok_or(format!("descriptor {fd} is not open"));
        let (stdin, stdout, stderr, ipc) = (
            take(r.fds.stdin)?,
            take(r.fds.stdout)?,
            take(r.fds.stderr)?,
            take(r.fds.ipc)?,
        );
        let ipc = std::os::unix::net::UnixStream::from(ipc);
        ipc.set_nonblocking(true).map_err(|e| e.to_string())?;
        let ipc = tokio::net::UnixStream::from_std(ipc).map_err(|e| e.to_string())?;
        let child = child::adopt(r.pid, stdin, stdout, stderr).map_err(|e| e.to_string())?;
        let rotation = Some(self.log_rotation.clone());
        let bus = self.bus.clone();
        let p = self.procs.get_mut(&id).ok_or("not in the table")?;
        let peer = Runtime::of(p.str("exec_interpreter").unwrap_or("node")).peer();
        let sink =
            LogSink::new(p.log_config(), p.identity(), bus, rotation).map_err(|e| e.to_string())?;
        p.log = Some(sink.clone());
        p.life = Lifecycle::running(generation);
        p.status = Status::Online;
        let started = Instant::now()
            .checked_sub(Duration::from_millis(r.uptime_ms))
            .unwrap_or_else(Instant::now);
        let channel = pm2_wire::ipc::split(ipc, peer);
        self.wire_child(id, generation, child, channel, sink, started);
        if r.worker {
            if let Some(writer) = self.procs[&id].running.as_ref().and_then(|r| r.ipc.clone()) {
                self.add_worker(id, generation, writer);
            }
        }
        self.sync_triggers(id);
        Ok(())
    }
}
