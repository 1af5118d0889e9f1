//! Zero-downtime reload of a cluster instance.
//!
//! For one pm_id: launch the replacement while the old process keeps
//! serving, wait until the replacement listens (or sends `ready` with
//! `wait_ready`), at most `listen_timeout`, then retire the old process
//! gracefully: the `'shutdown'` message with `shutdown_with_message` (and for
//! a graceful reload), else `kill_signal`, as PM2 (a Node worker that does
//! not handle it disconnects, lets its connections finish and then ends:
//! lib/container.js); after `kill_timeout` the kill sequence (`kill_signal`
//! again, then SIGKILL). The app's listening
//! socket stays open in the daemon throughout, so no connection is refused.
//!
//! The sequence is composed by [`Supervisor::reload`], outside the actor,
//! from three actor steps (start the replacement, retire the old process,
//! timers); the instances of one app are reloaded one at a time. Anything
//! that is not an online cluster instance is restarted instead, as in PM2.

use super::{unknown, Actor, Reply, Supervisor, Timer};
use crate::app_processes::AppProcesses;
use crate::lifecycle::{Event, State};
use crate::process::{Running, Status};
use nix::sys::signal::Signal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// A reload in progress for one pm_id.
pub(super) struct Reloading {
    /// The launch that replaces the old process.
    new_generation: u64,
    /// Told once the replacement listens; dropped if it dies first.
    ready: Option<oneshot::Sender<()>>,
    old: OldProcess,
}

struct OldProcess {
    generation: u64,
    running: Running,
    retiring: bool,
    exited: bool,
    /// The reload waiting for the old process to be gone.
    waiters: Vec<Reply<()>>,
}

/// How a reload goes on after its first step.
pub enum Started {
    /// Not an online cluster instance: the reload is a restart.
    Restart,
    /// The replacement is launched; the old process retires once `ready`
    /// fires (or is dropped), or after `timeout`.
    Replacing {
        ready: oneshot::Receiver<()>,
        timeout: Duration,
    },
}

/// One lock per app name, so its instances are reloaded one after another.
#[derive(Default)]
pub struct ReloadLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl ReloadLocks {
    /// Whether a reload of `app` runs or waits.
    pub(super) fn busy(&self, app: &str) -> bool {
        let locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
        locks.get(app).is_some_and(|l| Arc::strong_count(l) > 1)
    }

    fn of(&self, app: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(app.to_string()).or_default().clone()
    }
}

impl Supervisor {
    /// Reload: a zero-downtime replacement for an online cluster instance, a
    /// restart otherwise. `graceful` (`softReloadProcessId`) retires the old
    /// process with the `'shutdown'` message.
    pub async fn reload(
        &self,
        id: u64,
        update: Map<String, Value>,
        graceful: bool,
    ) -> Result<Value, String> {
        let name = self.get(id).await?["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let lock = self.reload_locks.of(&name);
        let _turn = lock.lock().await;
        self.query(move |a| a.prepare_restart(id, update)).await?;
        match self.query(move |a| a.reload_start(id)).await? {
            // The options are merged already.
            Started::Restart => return self.restart(id, Map::new()).await,
            Started::Replacing { ready, timeout } => {
                // Listening, dead before listening, or too slow: retire the
                // old process in every case, as PM2 does.
                let _ = tokio::time::timeout(timeout, ready).await;
                self.call(move |a, reply| a.retire(id, graceful, reply))
                    .await?;
            }
        }
        self.get(id).await
    }
}

impl Actor {
    /// First step: launch the replacement of an online cluster instance,
    /// keeping the old process aside.
    pub(super) fn reload_start(&mut self, id: u64) -> Result<Started, String> {
        let listen_timeout = self.settings.listen_timeout;
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        let replaceable = p.opts.is_cluster()
            && p.status == Status::Online
            && matches!(p.life.state(), State::Up { .. })
            && !self.restarts_blocked
            && !self.reloads.contains_key(&id);
        let Some(running) = p.running.take_if(|_| replaceable) else {
            return Ok(Started::Restart);
        };
        let old_generation = p.generation;
        let timeout = p.opts.listen_timeout.unwrap_or(listen_timeout);
        let n = p.num("restart_time").unwrap_or(0);
        p.set("restart_time", json!(n + 1));
        if let Err(e) = self.launch(id) {
            // The old process keeps serving.
            if let Some(p) = self.procs.get_mut(&id) {
                p.running = Some(running);
                p.generation = old_generation;
                p.set("restart_time", json!(n));
            }
            self.transition(id, Status::Online, None);
            return Err(e);
        }
        let (tx, rx) = oneshot::channel();
        let new_generation = self.procs[&id].generation;
        self.step(
            id,
            Event::Replaced {
                generation: new_generation,
            },
        );
        self.reloads.insert(
            id,
            Reloading {
                new_generation,
                ready: Some(tx),
                old: OldProcess {
                    generation: old_generation,
                    running,
                    retiring: false,
                    exited: false,
                    waiters: Vec::new(),
                },
            },
        );
        Ok(Started::Replacing { ready: rx, timeout })
    }

    /// The replacement of a reload listens (or sent `ready`).
    pub(super) fn replacement_ready(&mut self, id: u64, generation: u64) {
        if let Some(r) = self.reloads.get_mut(&id) {
            if r.new_generation == generation {
                if let Some(tx) = r.ready.take() {
                    let _ = tx.send(());
                }
            }
        }
    }

    /// The replacement died before it listened: the reload goes on at once.
    pub(super) fn replacement_exited(&mut self, id: u64, generation: u64) {
        if let Some(r) = self.reloads.get_mut(&id) {
            if r.new_generation == generation {
                r.ready = None;
            }
        }
    }

    /// Second step: ask the old process to finish, then time its exit.
    pub(super) fn retire(&mut self, id: u64, graceful: bool, reply: Reply<()>) {
        let kill_use_message = self.settings.kill_use_message;
        let Some(r) = self.reloads.get_mut(&id) else {
            let _ = reply.send(Ok(()));
            return;
        };
        if r.old.exited {
            self.reloads.remove(&id);
            let _ = reply.send(Ok(()));
            return;
        }
        r.old.waiters.push(reply);
        if r.old.retiring {
            return;
        }
        r.old.retiring = true;
        let generation = r.old.generation;
        let Some(p) = self.procs.get(&id) else { return };
        let by_message = graceful || kill_use_message || p.opts.shutdown_with_message;
        let ipc = r.old.running.ipc.clone();
        let timeout = self.kill_timeout_of(id);
        match ipc {
            Some(ipc) if by_message => {
                tokio::spawn(async move { ipc.send(&json!("shutdown")).await });
            }
            // `kill_signal` first, as PM2: the app's own handler runs while
            // its channel is up; a worker that does not handle it drains
            // and closes (the container's default, lib/container.js).
            _ => self.signal_old_process(id, None),
        }
        self.after(
            timeout,
            Timer::RetireTimeout {
                id,
                generation,
                stage: 1,
            },
        );
    }

    /// The old process outlived `kill_timeout`: stage 1 sends `kill_signal`,
    /// stage 2 SIGKILL, stage 3 gives up on it.
    pub(super) fn retire_timeout(&mut self, id: u64, generation: u64, stage: u8) {
        let live = self
            .reloads
            .get(&id)
            .is_some_and(|r| r.old.generation == generation && !r.old.exited);
        if !live {
            return;
        }
        match stage {
            1 => self.signal_old_process(id, None),
            2 => self.signal_old_process(id, Some(Signal::SIGKILL)),
            _ => {
                if let Some(r) = self.reloads.remove(&id) {
                    for w in r.old.waiters {
                        let _ = w.send(Err(format!(
                            "the old process of {id} (pid {}) could not be killed",
                            r.old.running.pid
                        )));
                    }
                }
                return;
            }
        }
        let timeout = self.kill_timeout_of(id);
        self.after(
            timeout,
            Timer::RetireTimeout {
                id,
                generation,
                stage: stage + 1,
            },
        );
    }

    /// Sends `signal` (the app's `kill_signal` when `None`) to the old
    /// process of a reload and its own processes.
    fn signal_old_process(&mut self, id: u64, signal: Option<Signal>) {
        let (Some(r), Some(p)) = (self.reloads.get(&id), self.procs.get(&id)) else {
            return;
        };
        let signal = signal.unwrap_or_else(|| self.kill_signal_of(p));
        AppProcesses::of_launch(
            p,
            r.old.running.pid,
            r.old.generation,
            self.cgroups.as_deref(),
        )
        .signal(signal);
    }

    /// An exit of a launch that is not the current one: when it is the old
    /// process of a reload, its leftovers go and the reload is told.
    pub(super) fn old_process_exited(&mut self, id: u64, generation: u64) {
        let Some(r) = self.reloads.get_mut(&id) else {
            return;
        };
        if r.old.generation != generation {
            return;
        }
        r.old.exited = true;
        if let Some(p) = self.procs.get(&id) {
            AppProcesses::of_launch(p, r.old.running.pid, generation, self.cgroups.as_deref())
                .kill_leftovers();
        }
        if r.old.retiring {
            if let Some(r) = self.reloads.remove(&id) {
                for w in r.old.waiters {
                    let _ = w.send(Ok(()));
                }
            }
        }
    }

    /// A stop during a reload takes the old process too; a delete forgets
    /// the reload (`forget`).
    pub(super) fn end_reload(&mut self, id: u64, forget: bool) {
        let live = self.reloads.get(&id).is_some_and(|r| !r.old.exited);
        if live {
            let signal = forget.then_some(Signal::SIGKILL);
            self.signal_old_process(id, signal);
        }
        if forget {
            if let Some(r) = self.reloads.remove(&id) {
                for w in r.old.waiters {
                    let _ = w.send(Err(format!("process {id} was deleted during its reload")));
                }
            }
        }
    }
}
