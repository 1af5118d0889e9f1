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

mod cluster_mode;
mod launch_files;
mod reload;

use crate::agent_data;
use crate::app_processes::AppProcesses;
use crate::bus::Bus;
use crate::cgroup::AppCgroups;
use crate::cluster::Cluster;
use crate::daemon_log::DaemonLog;
use crate::lifecycle::{Action, Event, Refused};
use crate::log_rotation::{self, LogRotation};
use crate::log_writer::{pump, LogSink, Stream};
use crate::now_ms;
use crate::option_checks;
use crate::proc_info;
use crate::process::{new_pm2_env, package_version, Proc, Running, Status, Waiter};
use crate::settings::Settings;
use crate::spawn;
use pm2_config::{safe_fs, Paths};
use pm2_wire::ipc::is_internal;
use reload::{ReloadLocks, Reloading};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

mod triggers;
mod unique;

type Reply<T> = oneshot::Sender<Result<T, String>>;

/// Restart backoff is capped at 15 s, as in PM2.
const MAX_BACKOFF_MS: u64 = 15_000;
/// Messages queued to the supervisor before senders wait.
const QUEUE: usize = 1024;

/// What [`Supervisor::summaries`] makes of a process: from its id, pid,
/// `pm2_env`, memory and CPU.
pub type Summarize = fn(u64, u32, &Map<String, Value>, u64, f64) -> Value;

pub enum Msg {
    Prepare {
        app: Map<String, Value>,
        reply: Reply<Vec<Value>>,
    },
    /// The next batch of a `prepare` of many instances.
    PrepareMore(Box<Preparing>),
    /// Check-and-create: the apps of the request that are not in the table.
    PrepareUnique {
        request: unique::Request,
        reply: Reply<Value>,
    },
    List {
        reply: Reply<Vec<Value>>,
    },
    /// Each process through a summary, without a copy of the table.
    Summaries {
        summarize: Summarize,
        reply: Reply<Vec<Value>>,
    },
    ListJson {
        reply: Reply<String>,
    },
    Get {
        id: u64,
        reply: Reply<Value>,
    },
    // A user's requests on one process: each is an event of its lifecycle
    // (lifecycle.rs), answered with the process once carried out.
    Start {
        id: u64,
        reply: Reply<Value>,
    },
    Stop {
        id: u64,
        reply: Reply<Value>,
    },
    /// Merges `update` into the app's options, then restarts it.
    Restart {
        id: u64,
        update: Map<String, Value>,
        reply: Reply<Value>,
    },
    Delete {
        id: u64,
        reply: Reply<Value>,
    },
    /// A cron run: restarts the app if it runs, starts it if it had exited;
    /// either way it counts in `restart_time`.
    CronRun {
        id: u64,
        reply: Reply<Value>,
    },
    /// Merges the options of a reload (see reload.rs).
    PrepareRestart {
        id: u64,
        update: Map<String, Value>,
        reply: Reply<()>,
    },
    Reset {
        id: u64,
        reply: Reply<()>,
    },
    Notify {
        id: u64,
        event: String,
        manually: bool,
    },
    SendData {
        packet: Value,
        reply: Reply<Value>,
    },
    SendSignal {
        id: u64,
        signal: String,
        reply: Reply<()>,
    },
    SendLine {
        id: u64,
        line: String,
        reply: Reply<()>,
    },
    MsgProcess {
        target: Value,
        msg: Value,
        reply: Reply<Value>,
    },
    ReloadLogs,
    /// The daemon goes down: nothing starts any more.
    BlockRestarts {
        reply: Reply<()>,
    },
    Ids {
        reply: Reply<Vec<u64>>,
    },
    /// How many apps are still booting (see `Proc::is_booting`).
    Booting {
        reply: Reply<usize>,
    },
    // Events from children and timers; `generation` ties them to one launch.
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
    // The steps of a zero-downtime reload (reload.rs).
    ReloadStart {
        id: u64,
        reply: Reply<reload::Started>,
    },
    Retire {
        id: u64,
        graceful: bool,
        reply: Reply<()>,
    },
    RetireTimeout {
        id: u64,
        generation: u64,
        stage: u8,
    },
    // Watch and cron (see `triggers`): restarts the daemon makes by itself.
    /// A watched app's files changed (debounced by watch.rs).
    WatchChange {
        id: u64,
        token: u64,
        path: std::path::PathBuf,
    },
    /// An app's `cron_restart` time came (cron.rs).
    CronDue {
        id: u64,
        token: u64,
    },
    /// A restart started by watch or cron is over.
    AutoRestartDone {
        id: u64,
    },
    /// The user stops or deletes the app: its watcher and cron job go; the
    /// reply waits for a watch or cron restart under way.
    Disarm {
        id: u64,
        reply: Reply<()>,
    },
    /// `startWatch`, `stopWatch`, `toggleWatch`.
    SetWatch {
        ids: Vec<u64>,
        change: crate::watch::Switch,
        reply: Reply<Value>,
    },
    /// `monitor` / `unmonitor`: the `_km_monitored` flag of a process.
    SetMonitored {
        id: u64,
        on: bool,
        reply: Reply<()>,
    },
}

/// How long an exit waits for the app's last output to be logged.
const OUTPUT_DRAIN: Duration = Duration::from_millis(200);

/// Waits for every task of `tasks`.
async fn all_done<const N: usize>(tasks: [tokio::task::JoinHandle<()>; N]) {
    for t in tasks {
        let _ = t.await;
    }
}

/// How long `sendLineToStdin` waits for room in an app's stdin pipe.
const STDIN_WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// Processes a `prepare` creates before letting other requests through.
const PREPARE_BATCH: u64 = 64;

/// A `prepare` of several instances, created a batch at a time.
pub struct Preparing {
    app: Map<String, Value>,
    remaining: u64,
    /// Launch each process (false: the app is to stay stopped).
    start: bool,
    created: Vec<u64>,
    /// The app's package.json version, read once for all instances.
    version: Option<Value>,
    reply: Reply<Vec<Value>>,
}

impl Preparing {
    fn new(app: Map<String, Value>, count: u64, reply: Reply<Vec<Value>>) -> Preparing {
        let start = app.get("status").and_then(Value::as_str) != Some("stopped")
            && app.get("autostart") != Some(&json!(false));
        Preparing {
            app,
            remaining: count,
            start,
            created: Vec::new(),
            version: None,
            reply,
        }
    }

    fn version(&mut self, env: &Map<String, Value>) -> Value {
        self.version
            .get_or_insert_with(|| {
                let cwd = env.get("pm_cwd").and_then(Value::as_str).unwrap_or("/");
                package_version(std::path::Path::new(cwd))
            })
            .clone()
    }
}

/// A cloneable handle to the supervisor.
#[derive(Clone)]
pub struct Supervisor {
    tx: mpsc::Sender<Msg>,
    reload_locks: Arc<ReloadLocks>,
}

impl Supervisor {
    pub fn start(
        paths: Paths,
        settings: Settings,
        bus: Bus,
        log: DaemonLog,
        cgroups: Option<Arc<AppCgroups>>,
    ) -> Supervisor {
        let (tx, rx) = mpsc::channel(QUEUE);
        let worker_interval = settings.worker_interval;
        let reload_locks = Arc::new(ReloadLocks::default());
        let (log_for_triggers, home) = (log.clone(), paths.home.clone());
        let log_rotation = LogRotation::start(
            paths.module_conf.clone(),
            paths.log_file.clone(),
            log.clone(),
        );
        let actor = Actor {
            procs: BTreeMap::new(),
            next_id: 0,
            tx: tx.clone(),
            bus,
            log,
            settings,
            paths,
            restarts_blocked: false,
            cgroups,
            cluster: Cluster::default(),
            reloads: HashMap::new(),
            reload_locks: reload_locks.clone(),
            triggers: triggers::Triggers::new(tx.clone(), log_for_triggers, home),
            launches: 0,
            launch_files: Default::default(),
            log_rotation,
        };
        tokio::spawn(actor.run(rx));
        let ticker = tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(worker_interval);
            every.tick().await;
            loop {
                every.tick().await;
                if ticker.send(Msg::WorkerTick).await.is_err() {
                    break;
                }
            }
        });
        Supervisor { tx, reload_locks }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Msg) -> Result<T, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| "supervisor stopped".to_string())?;
        rx.await.map_err(|_| "supervisor stopped".to_string())?
    }

    fn tell(&self, msg: Msg) {
        let _ = self.tx.try_send(msg);
    }

    pub async fn prepare(&self, app: Map<String, Value>) -> Result<Vec<Value>, String> {
        self.ask(|reply| Msg::Prepare { app, reply }).await
    }

    /// `prepareUnique` (see `unique`): creates the apps of `args` that do not
    /// exist yet, in one step of the actor.
    pub async fn prepare_unique(&self, args: &[Value]) -> Result<Value, String> {
        let request = unique::Request::parse(args)?;
        self.ask(|reply| Msg::PrepareUnique { request, reply })
            .await
    }

    pub async fn list(&self) -> Result<Vec<Value>, String> {
        self.ask(|reply| Msg::List { reply }).await
    }

    /// A few fields of every process, with its memory and CPU read now, as
    /// `summarize` picks them: what a live view needs every few seconds,
    /// without copying every env.
    pub async fn summaries(&self, summarize: Summarize) -> Result<Vec<Value>, String> {
        self.ask(|reply| Msg::Summaries { summarize, reply }).await
    }

    /// The list as JSON text, serialized straight from the table: what
    /// `getMonitorData` replies, without a copy of every env.
    pub async fn list_json(&self) -> Result<String, String> {
        self.ask(|reply| Msg::ListJson { reply }).await
    }

    pub async fn get(&self, id: u64) -> Result<Value, String> {
        self.ask(|reply| Msg::Get { id, reply }).await
    }

    pub async fn ids(&self) -> Result<Vec<u64>, String> {
        self.ask(|reply| Msg::Ids { reply }).await
    }

    /// Waits until no app is booting, for at most `limit`. A count is a few
    /// microseconds of the actor's time where a list is the whole table.
    pub async fn wait_booted(&self, limit: Duration) -> Result<(), String> {
        const EVERY: Duration = Duration::from_millis(10);
        let deadline = Instant::now() + limit;
        while self.ask(|reply| Msg::Booting { reply }).await? > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(EVERY.min(left)).await;
        }
        Ok(())
    }

    /// Starts a stopped process (no-op when it runs); answers once it runs.
    pub async fn start_process(&self, id: u64) -> Result<Value, String> {
        self.ask(|reply| Msg::Start { id, reply }).await
    }

    /// Stops a process (and its watcher and cron job) and returns once it
    /// is down. Final: a restart waiting for the same exit is cancelled.
    pub async fn stop(&self, id: u64) -> Result<Value, String> {
        self.ask(|reply| Msg::Disarm { id, reply }).await?;
        self.ask(|reply| Msg::Stop { id, reply }).await
    }

    /// Restart: merge the new env/options, stop, start; answers once the new
    /// child runs. Restarts that overlap are one restart; `restart_time`
    /// goes up only when the process was running.
    pub async fn restart(&self, id: u64, update: Map<String, Value>) -> Result<Value, String> {
        self.ask(|reply| Msg::Restart { id, update, reply }).await
    }

    /// Stops the process and removes it; answers with it as it was last.
    pub async fn delete(&self, id: u64) -> Result<Value, String> {
        self.ask(|reply| Msg::Disarm { id, reply }).await?;
        self.ask(|reply| Msg::Delete { id, reply }).await
    }

    /// Turns watching on, off or over for these processes.
    pub async fn set_watch(
        &self,
        ids: Vec<u64>,
        change: crate::watch::Switch,
    ) -> Result<Value, String> {
        self.ask(|reply| Msg::SetWatch { ids, change, reply }).await
    }

    pub async fn set_monitored(&self, id: u64, on: bool) -> Result<(), String> {
        self.ask(|reply| Msg::SetMonitored { id, on, reply }).await
    }

    pub async fn reset(&self, id: u64) -> Result<Value, String> {
        self.ask(|reply| Msg::Reset { id, reply }).await?;
        self.get(id).await
    }

    pub fn notify(&self, id: u64, event: String, manually: bool) {
        self.tell(Msg::Notify {
            id,
            event,
            manually,
        });
    }

    pub async fn send_data(&self, packet: Value) -> Result<Value, String> {
        self.ask(|reply| Msg::SendData { packet, reply }).await
    }

    pub async fn send_signal(&self, id: u64, signal: String) -> Result<(), String> {
        self.ask(|reply| Msg::SendSignal { id, signal, reply })
            .await
    }

    pub async fn send_line(&self, id: u64, line: String) -> Result<(), String> {
        self.ask(|reply| Msg::SendLine { id, line, reply }).await
    }

    pub async fn msg_process(&self, target: Value, msg: Value) -> Result<Value, String> {
        self.ask(|reply| Msg::MsgProcess { target, msg, reply })
            .await
    }

    pub fn reload_logs(&self) {
        self.tell(Msg::ReloadLogs);
    }

    /// From now on nothing starts or restarts: the daemon is going down.
    pub async fn block_restarts(&self) {
        let _ = self.ask(|reply| Msg::BlockRestarts { reply }).await;
    }

    /// Stops every process concurrently and waits for all to be down.
    pub async fn stop_all(&self) {
        let Ok(ids) = self.ids().await else { return };
        let stops = ids.into_iter().map(|id| {
            let me = self.clone();
            tokio::spawn(async move { me.stop(id).await })
        });
        for s in stops.collect::<Vec<_>>() {
            let _ = s.await;
        }
    }
}

struct Actor {
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
    /// Files of new launches, created once the actor is idle.
    launch_files: launch_files::LaunchFiles,
    /// Rotation of the apps' logs by the daemon (`pm2 set pm2:log_rotate true`).
    log_rotation: Arc<LogRotation>,
}

fn unknown(id: u64) -> String {
    format!("Process {id} not found")
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.create_launch_files();
                    match rx.recv().await {
                        Some(msg) => msg,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            if self.launch_files.overdue() {
                self.create_launch_files();
            }
            self.handle(msg);
        }
    }

    /// The log files of the launches noted, and the pid files of those that
    /// still run (see `launch_files`).
    fn create_launch_files(&mut self) {
        for (id, generation) in self.launch_files.take() {
            let Some(p) = self.procs.get(&id).filter(|p| p.generation == generation) else {
                continue;
            };
            let mut failed = Vec::new();
            if let Some(Err(e)) = p.log.as_ref().map(|sink| sink.open_files()) {
                failed.push(e.to_string());
            }
            if let (Some(r), Some(path)) = (&p.running, p.str("pm_pid_path")) {
                if let Err(e) =
                    safe_fs::write_file(path.as_ref(), r.pid.to_string().as_bytes(), 0o644)
                {
                    failed.push(format!("cannot write the pid file: {e}"));
                }
            }
            for e in failed {
                self.log.info(&format!("app {} id {id}: {e}", p.name()));
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Prepare { app, reply } => self.prepare(app, reply),
            Msg::PrepareMore(job) => self.prepare_batch(job),
            Msg::PrepareUnique { request, reply } => self.prepare_unique(request, reply),
            Msg::List { reply } => {
                let _ = reply.send(Ok(self.list()));
            }
            Msg::ListJson { reply } => {
                let _ = reply.send(Ok(self.list_json()));
            }
            Msg::Summaries { summarize, reply } => {
                let _ = reply.send(Ok(self.summaries(summarize)));
            }
            Msg::Get { id, reply } => {
                let r = self
                    .procs
                    .get(&id)
                    .map(|p| p.describe(0, 0.0))
                    .ok_or_else(|| unknown(id));
                let _ = reply.send(r);
            }
            Msg::Ids { reply } => {
                let _ = reply.send(Ok(self.procs.keys().copied().collect()));
            }
            Msg::Booting { reply } => {
                let _ = reply.send(Ok(self.procs.values().filter(|p| p.is_booting()).count()));
            }
            Msg::Start { id, reply } => self.request(id, reply, |reply| Event::Start {
                reply: Some(reply),
                bump: false,
            }),
            Msg::Stop { id, reply } => self.stop(id, reply),
            Msg::Restart { id, update, reply } => match self.prepare_restart(id, update) {
                Ok(()) => self.request(id, reply, |reply| Event::Restart { reply }),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Msg::Delete { id, reply } => self.request(id, reply, |reply| Event::Delete { reply }),
            Msg::CronRun { id, reply } => self.cron_run(id, reply),
            Msg::PrepareRestart { id, update, reply } => {
                let _ = reply.send(self.prepare_restart(id, update));
            }
            Msg::Reset { id, reply } => {
                let r = match self.procs.get_mut(&id) {
                    Some(p) => {
                        p.set("restart_time", json!(0));
                        p.set("unstable_restarts", json!(0));
                        Ok(())
                    }
                    None => Err(unknown(id)),
                };
                let _ = reply.send(r);
            }
            Msg::SetMonitored { id, on, reply } => {
                let r = match self.procs.get_mut(&id) {
                    Some(p) => {
                        p.set("_km_monitored", json!(on));
                        Ok(())
                    }
                    None => Err(unknown(id)),
                };
                let _ = reply.send(r);
            }
            Msg::Notify {
                id,
                event,
                manually,
            } => self.emit(id, &event, manually),
            Msg::SendData { packet, reply } => {
                let _ = reply.send(self.send_data(packet));
            }
            Msg::SendSignal { id, signal, reply } => {
                let _ = reply.send(self.send_signal(id, &signal));
            }
            Msg::SendLine { id, line, reply } => self.send_line(id, line, reply),
            Msg::MsgProcess { target, msg, reply } => {
                let _ = reply.send(self.msg_process(&target, msg));
            }
            Msg::ReloadLogs => {
                self.log.reopen();
                for p in self.procs.values() {
                    if let Some(Err(e)) = p.log.as_ref().map(|l| l.reopen()) {
                        self.log
                            .info(&format!("app {} id {}: {e}", p.name(), p.pm_id));
                    }
                }
                self.log.info("Reloading logs...");
            }
            Msg::BlockRestarts { reply } => {
                self.restarts_blocked = true;
                let ids: Vec<u64> = self.procs.keys().copied().collect();
                for id in ids {
                    self.step(id, Event::Shutdown);
                }
                let _ = reply.send(Ok(()));
            }
            Msg::Exited {
                id,
                generation,
                code,
                signal,
                launch_error,
            } => self.on_exit(id, generation, code, signal, launch_error),
            Msg::Message {
                id,
                generation,
                msg,
            } => self.on_message(id, generation, msg),
            Msg::KillTimeout {
                id,
                generation,
                final_stage,
            } => self.on_kill_timeout(id, generation, final_stage),
            Msg::RestartDue { id, generation } => {
                self.step(id, Event::RestartDue { token: generation });
            }
            Msg::ReadyTimeout { id, generation } => {
                let waiting = self
                    .procs
                    .get(&id)
                    .is_some_and(|p| p.generation == generation && p.status == Status::Launching);
                if waiting {
                    self.transition(id, Status::Online, Some("online"));
                }
            }
            Msg::WorkerTick => self.worker_tick(),
            Msg::ReloadStart { id, reply } => {
                let _ = reply.send(self.reload_start(id));
            }
            Msg::Retire {
                id,
                graceful,
                reply,
            } => self.retire(id, graceful, reply),
            Msg::RetireTimeout {
                id,
                generation,
                stage,
            } => self.retire_timeout(id, generation, stage),
            m @ (Msg::WatchChange { .. }
            | Msg::CronDue { .. }
            | Msg::AutoRestartDone { .. }
            | Msg::Disarm { .. }
            | Msg::SetWatch { .. }) => self.on_trigger(m),
        }
    }

    /// A cloneable handle to this supervisor, for sequences it starts itself.
    fn supervisor(&self) -> Supervisor {
        Supervisor {
            tx: self.tx.clone(),
            reload_locks: self.reload_locks.clone(),
        }
    }

    /// The signal that stops process `p`: its `kill_signal`, else the daemon's.
    fn kill_signal_of(&self, p: &Proc) -> nix::sys::signal::Signal {
        p.str("kill_signal")
            .and_then(proc_info::parse_signal)
            .or_else(|| proc_info::parse_signal(&self.settings.kill_signal))
            .unwrap_or(nix::sys::signal::Signal::SIGINT)
    }

    fn kill_timeout_of(&self, id: u64) -> Duration {
        self.procs
            .get(&id)
            .and_then(|p| p.num("kill_timeout"))
            .map(Duration::from_millis)
            .unwrap_or(self.settings.kill_timeout)
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

    fn emit(&self, id: u64, event: &str, manually: bool) {
        let Some(p) = self.procs.get(&id) else { return };
        // PM2's lifecycle lines in pm2.log (and `log:PM2`), so `pm2 logs`
        // shows what happened to an app.
        match event {
            "start" => {
                let mode = if p.str("exec_mode") == Some("cluster_mode") {
                    "cluster"
                } else {
                    "fork"
                };
                self.log.info(&format!(
                    "App [{}:{id}] starting in -{mode} mode-",
                    p.name()
                ));
            }
            "online" => self.log.info(&format!("App [{}:{id}] online", p.name())),
            _ => {}
        }
        self.bus.publish(
            "process:event",
            &json!({"event": event, "manually": manually, "process": p.event_view(), "at": now_ms()}),
        );
    }

    /// Sends `msg` to the supervisor itself after `delay`.
    fn after(&self, delay: Duration, msg: Msg) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(msg).await;
        });
    }

    fn list(&mut self) -> Vec<Value> {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        ids.into_iter()
            .map(|id| {
                let (mem, cpu) = self.monit(id);
                self.procs[&id].describe(mem, cpu)
            })
            .collect()
    }

    fn summaries(&mut self, summarize: Summarize) -> Vec<Value> {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        ids.into_iter()
            .map(|id| {
                let (mem, cpu) = self.monit(id);
                let p = &self.procs[&id];
                summarize(id, p.pid(), &p.env, mem, cpu)
            })
            .collect()
    }

    fn list_json(&mut self) -> String {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        let monit: Vec<(u64, f64)> = ids.iter().map(|&id| self.monit(id)).collect();
        let entries: Vec<_> = ids
            .iter()
            .zip(monit)
            .map(|(id, (mem, cpu))| self.procs[id].described(mem, cpu))
            .collect();
        serde_json::to_string(&entries).expect("serializing the list cannot fail")
    }

    /// Memory and CPU of a running process, read now; zeros otherwise.
    fn monit(&mut self, id: u64) -> (u64, f64) {
        let Some(p) = self.procs.get_mut(&id) else {
            return (0, 0.0);
        };
        match (&p.running, p.status) {
            (Some(r), Status::Online) => {
                let pid = monitored_pid(&p.env).unwrap_or(r.pid);
                match proc_info::stat(pid) {
                    Some(st) => {
                        let (cpu, sample) =
                            proc_info::cpu_percent(pid, st.cpu_ns, p.cpu, r.started);
                        p.cpu = Some(sample);
                        (st.rss, cpu)
                    }
                    None => (0, 0.0),
                }
            }
            _ => (0, 0.0),
        }
    }

    /// Checks a `prepare` and creates its first batch of processes; the rest
    /// follow as [`Msg::PrepareMore`] so other requests are served in between.
    fn prepare(&mut self, app: Map<String, Value>, reply: Reply<Vec<Value>>) {
        if self.restarts_blocked {
            let _ = reply.send(Err(Refused::ShuttingDown.to_string()));
            return;
        }
        let checked = (|| {
            if let Some(script) = app.get("pm_exec_path").and_then(Value::as_str) {
                let p = std::path::Path::new(script);
                if p.is_absolute() && !p.exists() {
                    return Err(format!("Script not found: {script}"));
                }
            }
            option_checks::check(&app)?;
            option_checks::instance_count(&app)
        })();
        match checked {
            Ok(count) => self.prepare_batch(Box::new(Preparing::new(app, count, reply))),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Creates (and starts, unless the app is to stay stopped) up to
    /// [`PREPARE_BATCH`] processes of a `prepare`, then queues the rest.
    fn prepare_batch(&mut self, mut job: Box<Preparing>) {
        if self.restarts_blocked {
            return self.prepare_failed(*job, Refused::ShuttingDown.to_string());
        }
        let name = job
            .app
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut instances = self.free_instance_numbers(&name);
        let batch = job.remaining.min(PREPARE_BATCH);
        for _ in 0..batch {
            let id = self.next_id;
            let instance = instances.next().unwrap_or(0);
            let created = new_pm2_env(&job.app, id, instance, &self.paths).map(|mut env| {
                if env.get("version").is_none_or(Value::is_null) {
                    let version = job.version(&env);
                    env.insert("version".into(), version);
                }
                env
            });
            let env = match created {
                Ok(env) => env,
                Err(e) => return self.prepare_failed(*job, e),
            };
            self.next_id += 1;
            self.procs.insert(id, Proc::new(id, env));
            job.created.push(id);
            if job.start {
                // A launch that fails leaves the process errored with the
                // reason in its error log and pm2.log, as an exec failure does.
                self.step(
                    id,
                    Event::Start {
                        reply: None,
                        bump: false,
                    },
                );
            }
        }
        job.remaining -= batch;
        if job.remaining > 0 {
            // Behind whatever other clients asked for meanwhile.
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Msg::PrepareMore(job)).await;
            });
            return;
        }
        let out = job
            .created
            .iter()
            .filter_map(|id| self.procs.get(id))
            .map(|p| p.describe(0, 0.0))
            .collect();
        let _ = job.reply.send(Ok(out));
    }

    /// Undoes a prepare that failed half-way: nothing is left started.
    fn prepare_failed(&mut self, job: Preparing, error: String) {
        for id in &job.created {
            if let Some(p) = self.procs.remove(id) {
                if let Some(r) = &p.running {
                    proc_info::signal_tree(r.pid, nix::sys::signal::Signal::SIGKILL, true);
                }
            }
        }
        self.next_id = self.procs.keys().next_back().map_or(0, |m| m + 1);
        let _ = job.reply.send(Err(error));
    }

    /// The instance numbers not used by another process of that name, lowest first.
    fn free_instance_numbers(&self, name: &str) -> impl Iterator<Item = u64> {
        let used: std::collections::HashSet<u64> = self
            .procs
            .values()
            .filter(|p| p.name() == name)
            .filter_map(|p| p.num(&crate::pm2_env_vars::instance_var(&p.env)))
            .collect();
        (0..).filter(move |n| !used.contains(n))
    }

    /// Feeds a user's request on `id` to its lifecycle; an unknown id is
    /// answered at once.
    fn request(&mut self, id: u64, reply: Waiter, event: impl FnOnce(Waiter) -> Event<Waiter>) {
        if self.procs.contains_key(&id) {
            self.step(id, event(reply));
        } else {
            let _ = reply.send(Err(unknown(id)));
        }
    }

    fn cron_run(&mut self, id: u64, reply: Waiter) {
        let down = self
            .procs
            .get(&id)
            .is_some_and(|p| matches!(p.life.state(), crate::lifecycle::State::Down { .. }));
        if down {
            self.request(id, reply, |reply| Event::Start {
                reply: Some(reply),
                bump: true,
            });
        } else {
            self.request(id, reply, |reply| Event::Restart { reply });
        }
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
    }

    /// Spawns the child of `id` and wires its pipes, IPC channel and exit.
    fn launch(&mut self, id: u64) -> Result<(), String> {
        let bus = self.bus.clone();
        let tx = self.tx.clone();
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
        let child = spawned.child;
        let pid = child.pid;
        let output = [
            pump(child.stdout, sink.clone(), Stream::Out),
            pump(child.stderr, sink, Stream::Err),
        ];
        let (mut reader, writer) = spawned.ipc;
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
                    .send(Msg::Message {
                        id,
                        generation,
                        msg,
                    })
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
            // What the app wrote before it ended is logged (and on the bus)
            // before its exit is: the pipes close with it, unless a child it
            // left holds them, so the wait is bounded.
            let _ = tokio::time::timeout(OUTPUT_DRAIN, all_done(output)).await;
            let _ = tx
                .send(Msg::Exited {
                    id,
                    generation,
                    code: exit.code,
                    signal: exit.signal,
                    launch_error: exit.launch_error,
                })
                .await;
        });
        self.launch_files.note(id, generation);
        p.running = Some(Running {
            pid,
            ipc: Some(writer.clone()),
            stdin: Some(std::sync::Arc::new(tokio::sync::Mutex::new(stdin))),
            started: Instant::now(),
        });
        if worker_id.is_some() {
            self.add_worker(id, generation, writer);
        }
        let Some(p) = self.procs.get_mut(&id) else {
            return Err(unknown(id));
        };
        let wait_ready = p.flag("wait_ready", false);
        let listen_timeout = p
            .num("listen_timeout")
            .map(Duration::from_millis)
            .unwrap_or(self.settings.listen_timeout);
        self.transition(id, Status::Launching, Some("start"));
        if wait_ready {
            self.after(listen_timeout, Msg::ReadyTimeout { id, generation });
        } else {
            self.transition(id, Status::Online, Some("online"));
        }
        Ok(())
    }

    /// An app whose program could not be started (before the fork or at
    /// exec): the reason goes to its error log and pm2.log, and it ends errored.
    fn launch_failed(&mut self, id: u64, error: &str) -> String {
        let msg = match self.procs.get(&id) {
            Some(p) => format!("Error: {error} (app {} id {id})", p.name()),
            None => return error.to_string(),
        };
        if let Some(sink) = &self.procs[&id].log {
            sink.write(Stream::Err, format!("{msg}\n").as_bytes());
        }
        self.log.info(&msg);
        self.transition(id, Status::Errored, None);
        msg
    }

    fn stop(&mut self, id: u64, reply: Waiter) {
        // As the daemon goes down, the old process of a reload goes at once:
        // its retirement timers would not outlive the daemon.
        self.end_reload(id, self.restarts_blocked);
        self.request(id, reply, |reply| Event::Stop { reply });
        self.release_sockets_of(id);
    }

    /// Asks the child of `id` to end (its `kill_signal`, or the `shutdown`
    /// message) and arms the kill timeout.
    fn begin_stop(&mut self, id: u64) {
        let kill_signal = self.settings.kill_signal.clone();
        let use_message = self.settings.kill_use_message;
        let default_timeout = self.settings.kill_timeout;
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let Some(r) = &p.running else {
            return;
        };
        let generation = p.generation;
        let by_message = (p.flag("shutdown_with_message", false) || use_message) && r.ipc.is_some();
        if by_message {
            if let Some(ipc) = r.ipc.clone() {
                tokio::spawn(async move { ipc.send(&json!("shutdown")).await });
            }
        } else {
            let signal = p
                .str("kill_signal")
                .and_then(proc_info::parse_signal)
                .or_else(|| proc_info::parse_signal(&kill_signal))
                .unwrap_or(nix::sys::signal::Signal::SIGINT);
            AppProcesses::of(p, self.cgroups.as_deref()).signal(signal);
        }
        let timeout = p
            .num("kill_timeout")
            .map(Duration::from_millis)
            .unwrap_or(default_timeout);
        self.log.info(&format!("Stopping app:{} id:{id}", p.name()));
        self.transition(id, Status::Stopping, None);
        self.after(
            timeout,
            Msg::KillTimeout {
                id,
                generation,
                final_stage: false,
            },
        );
    }

    fn on_kill_timeout(&mut self, id: u64, generation: u64, final_stage: bool) {
        let timeout = self.settings.kill_timeout;
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        if p.running.is_none() {
            return;
        }
        if !final_stage {
            AppProcesses::of(p, self.cgroups.as_deref()).signal(nix::sys::signal::Signal::SIGKILL);
            self.after(
                timeout,
                Msg::KillTimeout {
                    id,
                    generation,
                    final_stage: true,
                },
            );
            return;
        }
        // Survived SIGKILL (uninterruptible sleep): give up on it, as PM2 does.
        self.step(id, Event::KillFailed { generation });
    }

    fn prepare_restart(&mut self, id: u64, mut update: Map<String, Value>) -> Result<(), String> {
        option_checks::convert_units(&mut update);
        option_checks::check(&update)?;
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        for (k, v) in update {
            if k == "env" {
                if let Value::Object(new_env) = v {
                    let mut env = p
                        .env
                        .get("env")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    env.extend(new_env);
                    p.set("env", Value::Object(env));
                }
            } else if v == json!("null") {
                p.env.remove(&k);
            } else {
                p.set(&k, v);
            }
        }
        p.set("created_at", json!(now_ms()));
        p.set("unstable_restarts", json!(0));
        p.set("prev_restart_delay", json!(0));
        Ok(())
    }

    fn on_exit(
        &mut self,
        id: u64,
        generation: u64,
        code: Option<i32>,
        signal: Option<i32>,
        launch_error: Option<String>,
    ) {
        let restarts_blocked = self.restarts_blocked;
        self.cluster.remove_worker(id, generation);
        if self
            .procs
            .get(&id)
            .is_none_or(|p| p.generation != generation)
        {
            self.old_process_exited(id, generation);
            return;
        }
        self.replacement_exited(id, generation);
        if let Some(e) = launch_error {
            self.launch_failed(id, &e);
        }
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let app = AppProcesses::of(p, self.cgroups.as_deref());
        if p.status == Status::Stopping {
            app.kill_leftovers();
        } else {
            app.tidy();
        }
        p.running = None;
        if let Some(pid_path) = p.str("pm_pid_path") {
            let _ = std::fs::remove_file(pid_path);
        }
        p.set("axm_actions", json!([]));
        p.set("axm_monitor", json!({}));
        // Killed by a signal (a stop's SIGINT included): PM2 records 0.
        let exit_code = code.map(i64::from).unwrap_or(0);
        p.set("exit_code", json!(exit_code));
        let deliberate_status = matches!(
            p.status,
            Status::Stopping | Status::Stopped | Status::Errored
        );
        let stop_codes = match p.env.get("stop_exit_codes") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
            Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
            _ => Vec::new(),
        };
        let no_restart = deliberate_status
            || !p.flag("autorestart", true)
            || code.is_some_and(|c| stop_codes.contains(&i64::from(c)))
            || restarts_blocked;
        let was_errored = p.status == Status::Errored;
        let signal_name = signal
            .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
            .map_or("SIGINT", |s| s.as_str());
        let name = p.name().to_string();
        self.log.info(&format!(
            "App [{name}:{id}] exited with code [{exit_code}] via signal [{signal_name}]"
        ));
        if !was_errored {
            self.transition(id, Status::Stopped, None);
        }
        self.emit(id, "exit", false);
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        for action in p.life.step(Event::Exited { generation }) {
            match action {
                Action::Crashed if !no_restart => self.schedule_restart(id),
                action => self.act(id, action),
            }
        }
        self.release_sockets_of(id);
    }

    /// Autorestart after a crash: unstable-restart accounting, then a
    /// delayed or immediate relaunch.
    fn schedule_restart(&mut self, id: u64) {
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let now = now_ms();
        let min_uptime = p.num("min_uptime").unwrap_or(1000);
        let max_restarts = p.num("max_restarts").unwrap_or(16);
        let created_at = p.num("created_at").unwrap_or(now);
        let uptime_start = p.num("pm_uptime").unwrap_or(now);
        let mut unstable = p.num("unstable_restarts").unwrap_or(0);
        if now.saturating_sub(created_at) < min_uptime.saturating_mul(max_restarts)
            && now.saturating_sub(uptime_start) < min_uptime
        {
            unstable += 1;
            p.set("unstable_restarts", json!(unstable));
        }
        if unstable >= max_restarts {
            p.set("unstable_restarts", json!(0));
            p.set("restart_time", json!(p.num("restart_time").unwrap_or(0)));
            let name = p.name().to_string();
            self.transition(id, Status::Errored, None);
            self.emit(id, "restart overlimit", false);
            self.log.info(&format!("Script {name} had too many unstable restarts ({max_restarts}). Stopped. \"errored\""));
            return;
        }
        let delay = if let Some(base) = p.num("exp_backoff_restart_delay").filter(|d| *d > 0) {
            let prev = p.num("prev_restart_delay").unwrap_or(0);
            let next = if prev == 0 {
                base
            } else {
                ((prev as f64) * 1.5) as u64
            }
            .min(MAX_BACKOFF_MS);
            p.set("prev_restart_delay", json!(next));
            next
        } else {
            p.num("restart_delay").unwrap_or(0)
        };
        if delay > 0 {
            let generation = p.generation;
            self.transition(id, Status::WaitingRestart, None);
            self.step(id, Event::RestartScheduled { token: generation });
            self.after(
                Duration::from_millis(delay),
                Msg::RestartDue { id, generation },
            );
        } else {
            self.step(
                id,
                Event::Start {
                    reply: None,
                    bump: true,
                },
            );
        }
    }

    fn on_message(&mut self, id: u64, generation: u64, msg: Value) {
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
        let process = json!({"pm_id": id, "name": p.name(), "namespace": p.str("namespace").unwrap_or("default")});
        if let (Some(kind), Some(data)) = (msg.get("type").and_then(Value::as_str), msg.get("data"))
        {
            match kind {
                "axm:monitor" => {
                    if let Some(m) = p.env.get_mut("axm_monitor") {
                        agent_data::merge_monitor(m, data);
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
                        m.insert("pid".into(), data.clone());
                    }
                }
                _ => {
                    let mut process = process;
                    process["versioning"] = Value::Null;
                    self.bus.publish(
                        kind,
                        &json!({"at": now_ms(), "data": data, "process": process}),
                    );
                }
            }
            return;
        }
        if let Some(v) = msg.get("node_version") {
            p.set("node_version", v.clone());
            return;
        }
        let ready =
            msg == json!("ready") && p.status == Status::Launching && p.flag("wait_ready", false);
        self.bus.publish(
            "process:msg",
            &json!({"at": now_ms(), "raw": msg, "process": process}),
        );
        if ready {
            self.transition(id, Status::Online, Some("online"));
            self.replacement_ready(id, generation);
        }
    }

    fn send_data(&mut self, packet: Value) -> Result<Value, String> {
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

    fn send_signal(&mut self, id: u64, signal: &str) -> Result<(), String> {
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

    fn send_line(&mut self, id: u64, line: String, reply: Reply<()>) {
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
    fn msg_process(&mut self, target: &Value, msg: Value) -> Result<Value, String> {
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

    fn worker_tick(&mut self) {
        let reset_after = self.settings.backoff_reset.as_millis() as u64;
        let now = now_ms();
        let mut over_memory = Vec::new();
        for p in self.procs.values_mut() {
            // An app being reloaded (for its memory too, maybe) is checked
            // at the next tick: reloads never pile up behind a slow one.
            if p.status != Status::Online || self.reload_locks.busy(p.name()) {
                continue;
            }
            let delayed = p.num("prev_restart_delay").is_some_and(|d| d > 0);
            if delayed && now.saturating_sub(p.num("pm_uptime").unwrap_or(now)) > reset_after {
                p.set("prev_restart_delay", json!(0));
                self.log.info(&format!(
                    "[PM2][WORKER] Reset the restart delay, as app {} has been up for more than {reset_after}ms",
                    p.name()
                ));
            }
            if let (Some(limit), Some(r)) =
                (p.num("max_memory_restart").filter(|l| *l > 0), &p.running)
            {
                if proc_info::rss_bytes(r.pid).unwrap_or(0) > limit {
                    over_memory.push(p.pm_id);
                }
            }
        }
        for id in over_memory {
            let name = self
                .procs
                .get(&id)
                .map(|p| p.name().to_string())
                .unwrap_or_default();
            self.log.info(&format!("[PM2][WORKER] Process {id} ({name}) restarted because it exceeds --max-memory-restart value"));
            // A zero-downtime reload in cluster mode, a restart in fork mode.
            let sup = self.supervisor();
            tokio::spawn(async move { sup.reload(id, Map::new(), false).await });
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// The pid a module asked to be measured instead of its own (`pid` in
/// `axm_options`, as `pmx.resolvePidPaths` and `axm:option:setPID` set it).
fn monitored_pid(env: &Map<String, Value>) -> Option<u32> {
    let pid = env.get("axm_options")?.get("pid")?;
    let pid = pid.as_u64().or_else(|| pid.as_str()?.trim().parse().ok())?;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

/// `MODULE_DEBUG=true` in a module's environment: the daemon logs every
/// message the module sends (to pm2.log and the `PM2` log lines).
fn module_debug(p: &crate::process::Proc) -> bool {
    p.flag("pmx_module", false)
        && p.env
            .get("env")
            .and_then(|e| e.get("MODULE_DEBUG"))
            .and_then(Value::as_str)
            .is_some_and(|v| v == "true")
}
