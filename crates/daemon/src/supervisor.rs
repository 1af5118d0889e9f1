//! The supervisor: one task that owns the process table.
//!
//! Everything that changes a process (client requests, child exits, child
//! messages, timers) arrives as a [`Msg`] on one channel and is handled in
//! order, so there are no locks around the table. Every status change goes
//! through [`Actor::transition`], which also publishes the bus event, so the
//! table and the events never disagree. Start, stop, restart and delete are
//! events of each process's lifecycle (`lifecycle.rs`), which holds the
//! callers until the child is up or gone and says what to do; the actor
//! carries that out ([`Actor::step`]). Longer sequences (a zero-downtime
//! reload) are composed by [`Supervisor`], outside.
//!
//! This file holds the actor's state, its messages and the dispatch; each
//! concern adds the actor's methods in a module of its own below (launch,
//! stop, exit and the restart policy, child I/O, timers, listing, ...).

mod adopt;
mod child_io;
mod client;
mod cluster_mode;
mod exit;
mod handover;
mod inbox;
mod launch;
mod launch_files;
mod listing;
mod prepare;
mod reload;
mod requests;
mod restart_policy;
mod state_keeping;
mod stop;
mod timers;
mod triggers;
mod unique;

use crate::app_processes::AppProcesses;
use crate::bus::Bus;
use crate::cgroup::AppCgroups;
use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::daemon_log::DaemonLog;
use crate::lifecycle::{Action, Event, Refused};
use crate::log_rotation::{self, LogRotation};
use crate::process::{Proc, Status, Waiter};
use crate::report_pace::ReportPace;
use crate::settings::Settings;
use crate::trigger::Trigger;
use pm2_config::Paths;
use reload::{ReloadLocks, Reloading};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub use inbox::as_client;
use prepare::Preparing;

/// What [`Supervisor::summaries`] makes of a process: from its id, pid,
/// `pm2_env`, memory and CPU.
pub type Summarize = fn(u64, u32, &crate::pm2_env::Pm2Env, u64, f64) -> Value;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, String>>;

/// How long the actor keeps the thread while messages keep coming.
const TURN: Duration = Duration::from_millis(5);

/// Messages queued to the supervisor before senders wait.
const QUEUE: usize = 1024;

/// What the actor handles, by kind.
enum Msg {
    /// What a client asks (client.rs), or a step of a sequence the actor
    /// started itself.
    Request(Request),
    /// What a child did (launch.rs).
    Child(ChildEvent),
    /// A timer the actor armed, or the worker tick.
    Timer(Timer),
    /// A restart watch or cron asks for (trigger.rs).
    Trigger(Trigger),
}

enum Request {
    /// Work a [`Supervisor`] method hands the actor (see `client.rs`).
    Run(Job),
    /// The same, asked by a call of RPC connection `connection` (inbox.rs).
    Client { connection: u64, job: Job },
    /// The next batch of a `prepare` of many instances.
    PrepareMore(Box<Preparing>),
    /// The next apps of a `prepareUnique` of many apps.
    UniqueMore(Box<unique::Creating>),
    /// A restart started by watch or cron is over.
    AutoRestartDone { id: u64 },
}

/// What a request has the actor do; it answers on a reply it holds.
type Job = Box<dyn FnOnce(&mut Actor) + Send>;

/// `generation` ties each event to one launch.
enum ChildEvent {
    Exited {
        id: u64,
        generation: u64,
        code: Option<i32>,
        signal: Option<i32>,
        /// The program never ran (exec failed): no restart.
        launch_error: Option<String>,
    },
    Message {
        id: u64,
        generation: u64,
        msg: Value,
    },
}

/// `generation` ties each timer to one launch.
enum Timer {
    KillTimeout {
        id: u64,
        generation: u64,
        final_stage: bool,
    },
    RestartDue {
        id: u64,
        generation: u64,
    },
    ReadyTimeout {
        id: u64,
        generation: u64,
    },
    WorkerTick,
    // The old process of a zero-downtime reload (reload.rs).
    RetireTimeout {
        id: u64,
        generation: u64,
        stage: u8,
    },
    /// The state record is due to be written (state_keeping.rs).
    SaveState,
}

/// A cloneable handle to the supervisor.
#[derive(Clone)]
pub struct Supervisor {
    tx: mpsc::Sender<Msg>,
    reload_locks: Arc<ReloadLocks>,
}

/// The task that owns the process table; RPC handlers reach it through
/// [`Supervisor::query`] and [`Supervisor::call`].
pub(crate) struct Actor {
    procs: BTreeMap<u64, Proc>,
    next_id: u64,
    tx: mpsc::Sender<Msg>,
    bus: Bus,
    log: DaemonLog,
    settings: Settings,
    paths: Paths,
    restarts_blocked: bool,
    /// Where apps get a cgroup each; `None` where the daemon cannot have them.
    cgroups: Option<Arc<AppCgroups>>,
    /// The cluster primary of the cluster-mode instances.
    cluster: Cluster,
    /// Reloads in progress, by pm_id.
    reloads: HashMap<u64, Reloading>,
    reload_locks: Arc<ReloadLocks>,
    /// The apps' watchers and cron jobs.
    triggers: triggers::Triggers,
    /// Launches so far, all apps together: each launch's `generation`.
    launches: u64,
    /// `prepareUnique` requests: the one under way and those waiting.
    uniques: unique::Queue,
    /// Files of new launches, created once the actor is idle.
    launch_files: launch_files::LaunchFiles,
    /// Rotation of the apps' logs by the daemon (`pm2 set pm2:log_rotate true`).
    log_rotation: Arc<LogRotation>,
    /// How often the in-app agents are told to report their metrics.
    pace: ReportPace,
    /// The state record on disk (state_keeping.rs).
    state: state_keeping::StateKeeping,
    /// The memory and CPU figures lists show (listing.rs).
    usage: listing::Usage,
}

fn unknown(id: u64) -> String {
    format!("Process {id} not found")
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut turn = Instant::now();
        let mut inbox = inbox::Inbox::default();
        let mut open = true;
        loop {
            while open && inbox.has_room() {
                match rx.try_recv() {
                    Ok(msg) => inbox.push(msg),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            let msg = match inbox.pop() {
                Some(msg) => msg,
                None if !open => break,
                None if !self.launch_files.is_empty() => {
                    self.create_launch_files();
                    tokio::task::yield_now().await;
                    turn = Instant::now();
                    continue;
                }
                None => match rx.recv().await {
                    Some(msg) => {
                        turn = Instant::now();
                        msg
                    }
                    None => break,
                },
            };
            if self.launch_files.overdue() {
                self.create_launch_files();
            }
            self.handle(msg);
            // A burst of messages (a bulk action's thousand requests) would
            // keep the thread: the other tasks (the RPC connections that
            // answer `ping`, the log pumps) get it back every `TURN`.
            if turn.elapsed() >= TURN {
                tokio::task::yield_now().await;
                turn = Instant::now();
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Request(Request::Run(job) | Request::Client { job, .. }) => job(self),
            Msg::Request(Request::PrepareMore(job)) => self.prepare_batch(job),
            Msg::Request(Request::UniqueMore(job)) => self.unique_slice(job),
            Msg::Request(Request::AutoRestartDone { id }) => self.auto_restart_done(id),
            Msg::Child(ChildEvent::Exited {
                id,
                generation,
                code,
                signal,
                launch_error,
            }) => self.on_exit(id, generation, code, signal, launch_error),
            Msg::Child(ChildEvent::Message {
                id,
                generation,
                msg,
            }) => self.on_message(id, generation, msg),
            Msg::Timer(t) => self.on_timer(t),
            Msg::Trigger(t) => self.on_trigger(t),
        }
    }

    /// A cloneable handle to this supervisor, for sequences it starts itself.
    fn supervisor(&self) -> Supervisor {
        Supervisor {
            tx: self.tx.clone(),
            reload_locks: self.reload_locks.clone(),
        }
    }

    /// The one place a status changes; publishes `process:event` when asked.
    fn transition(&mut self, id: u64, status: Status, event: Option<&str>) {
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        p.status = status;
        p.set("status", json!(status.as_str()));
        if p.name() == log_rotation::MODULE_NAME {
            self.note_rotation_module();
        }
        self.note_change();
        if let Some(event) = event {
            self.emit(id, event, false);
        }
    }

    /// The daemon leaves rotation to the pm2-logrotate module while it is online.
    fn note_rotation_module(&self) {
        let online = self
            .procs
            .values()
            .any(|p| p.name() == log_rotation::MODULE_NAME && p.status == Status::Online);
        self.log_rotation.set_module_online(online);
    }

    pub(crate) fn emit(&self, id: u64, event: &str, manually: bool) {
        let Some(p) = self.procs.get(&id) else { return };
        // PM2's lifecycle lines in pm2.log (and `log:PM2`), so `pm2 logs`
        // shows what happened to an app.
        match (event, manually) {
            ("start", false) => {
                let mode = if p.opts.is_cluster() {
                    "cluster"
                } else {
                    "fork"
                };
                self.log.info(&format!(
                    "App [{}:{id}] starting in -{mode} mode-",
                    p.name()
                ));
                // A launch is only logged: as in PM2, `start` reaches the
                // bus when a client announces the start it asked for
                // (notifyByProcessId), after the app's `online`.
                return;
            }
            ("online", _) => self.log.info(&format!("App [{}:{id}] online", p.name())),
            _ => {}
        }
        self.bus.publish(
            "process:event",
            &json!({"event": event, "manually": manually, "process": p.event_view(), "at": now_ms()}),
        );
    }

    /// Sends `msg` to the supervisor itself after `delay`.
    fn after(&self, delay: Duration, timer: Timer) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Msg::Timer(timer)).await;
        });
    }

    /// Feeds `event` to the lifecycle of `id` and carries out its actions.
    fn step(&mut self, id: u64, event: Event<Waiter>) {
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        for action in p.life.step(event) {
            self.act(id, action);
        }
    }

    /// Carries out one action of a lifecycle transition.
    fn act(&mut self, id: u64, action: Action<Waiter>) {
        match action {
            Action::Reply(reply, outcome) => {
                let answer = match outcome {
                    Ok(()) => self
                        .procs
                        .get(&id)
                        .map(|p| p.describe(0, 0.0))
                        .ok_or_else(|| unknown(id)),
                    Err(Refused::LaunchFailed(e)) => Err(e),
                    Err(why) => Err(format!("Process {id} {why}")),
                };
                let _ = reply.send(answer);
            }
            Action::Launch { bump } => {
                if bump {
                    if let Some(p) = self.procs.get_mut(&id) {
                        let n = p.num("restart_time").unwrap_or(0);
                        p.set("restart_time", json!(n + 1));
                    }
                }
                self.sync_triggers(id);
                let event = match self.launch(id) {
                    Ok(()) => Event::Launched {
                        generation: self.procs.get(&id).map_or(0, |p| p.generation),
                    },
                    Err(error) => Event::LaunchFailed { error },
                };
                self.step(id, event);
            }
            Action::Signal { .. } => self.begin_stop(id),
            Action::KillLeftovers => {
                if let Some(p) = self.procs.get(&id) {
                    AppProcesses::of(p, self.cgroups.as_deref()).kill_leftovers();
                }
            }
            Action::CancelRestart => self.transition(id, Status::Stopped, None),
            // The exit's own policy: applied by `on_exit`, which knows the exit.
            Action::Crashed => {}
            Action::Unkillable => self.transition(id, Status::Errored, None),
            Action::Remove => self.remove(id),
        }
    }

    /// Takes a deleted process out of the table.
    fn remove(&mut self, id: u64) {
        self.end_reload(id, true);
        if let Some(p) = self.procs.remove(&id) {
            if let Some(pid_path) = p.str("pm_pid_path") {
                let _ = std::fs::remove_file(pid_path);
            }
            self.release_sockets_if_unused(p.name());
        }
        if self.procs.is_empty() {
            self.next_id = 0;
        }
        self.note_change();
    }
}
