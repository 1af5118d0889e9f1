//! The handle other tasks use to ask the actor: `call`, `query` and `tell`
//! run an `Actor` method between its other messages (what RPC handlers
//! use), and the requests several tasks share (start, stop, restart, list).

use super::prepare;
use super::reload::ReloadLocks;
use super::state_keeping::StateKeeping;
use super::{
    triggers, unique, Actor, Job, Msg, Reply, Request, Summarize, Supervisor, Timer, QUEUE,
};
use crate::bus::Bus;
use crate::cgroup::AppCgroups;
use crate::cluster::Cluster;
use crate::daemon_log::DaemonLog;
use crate::log_rotation::LogRotation;
use crate::settings::Settings;
use crate::trigger::Trigger;
use pm2_config::Paths;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// `job` as a request of the RPC connection the current task serves, if any.
fn client_request(job: Job) -> Msg {
    Msg::Request(match super::inbox::current_client() {
        Some(connection) => Request::Client { connection, job },
        None => Request::Run(job),
    })
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
        let state = StateKeeping::start(paths.home.clone(), !settings.in_process);
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
            triggers: triggers::Triggers::new(forward_triggers(&tx), log_for_triggers, home),
            launches: 0,
            uniques: Default::default(),
            launch_files: Default::default(),
            usage: Default::default(),
            log_rotation,
            pace: Default::default(),
            state,
        };
        tokio::spawn(actor.run(rx));
        let ticker = tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(worker_interval);
            every.tick().await;
            loop {
                every.tick().await;
                if ticker.send(Msg::Timer(Timer::WorkerTick)).await.is_err() {
                    break;
                }
            }
        });
        Supervisor { tx, reload_locks }
    }

    /// Has the actor run `work`, between its other messages; `work` answers
    /// on the reply it is given, at once or once what it started is over.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Actor, Reply<T>) + Send + 'static,
    ) -> Result<T, String> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |actor| work(actor, reply));
        self.tx
            .send(client_request(job))
            .await
            .map_err(|_| "supervisor stopped".to_string())?;
        rx.await.map_err(|_| "supervisor stopped".to_string())?
    }

    /// Has the actor run `work` and answers with what it returns.
    pub(crate) async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Actor) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        self.call(move |actor, reply| {
            let _ = reply.send(work(actor));
        })
        .await
    }

    /// Has the actor run `work` once it has a usage sample of its
    /// processes at most a second old (see `listing`).
    async fn sampled<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Actor) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        self.call(move |actor, reply| {
            actor.when_sampled(Box::new(move |a| {
                let _ = reply.send(work(a));
            }))
        })
        .await
    }

    /// Has the actor run `work` without waiting, when its queue has room.
    pub(crate) fn tell(&self, work: impl FnOnce(&mut Actor) + Send + 'static) {
        let _ = self.tx.try_send(client_request(Box::new(work)));
    }

    pub async fn prepare(&self, app: Map<String, Value>) -> Result<Vec<Value>, String> {
        self.call(move |a, reply| a.prepare(app, prepare::Created::Views(reply)))
            .await
    }

    /// `prepareUnique` (see `unique`): creates the apps of `args` that do not
    /// exist yet, in one step of the actor.
    pub async fn prepare_unique(&self, args: &[Value]) -> Result<Value, String> {
        let request = unique::Request::parse(args)?;
        self.call(move |a, reply| a.prepare_unique(request, reply))
            .await
    }

    pub async fn list(&self) -> Result<Vec<Value>, String> {
        self.sampled(|a| {
            a.metrics_read();
            Ok(a.list())
        })
        .await
    }

    /// A few fields of every process, with its memory and CPU read now, as
    /// `summarize` picks them: what a live view needs every few seconds,
    /// without copying every env.
    pub async fn summaries(&self, summarize: Summarize) -> Result<Vec<Value>, String> {
        self.sampled(move |a| Ok(a.summaries(summarize))).await
    }

    /// The list as JSON text, serialized straight from the table: what
    /// `getMonitorData` replies, without a copy of every env.
    pub async fn list_json(&self) -> Result<String, String> {
        self.sampled(|a| {
            a.metrics_read();
            Ok(a.list_json())
        })
        .await
    }

    /// `listTable`'s reply, read as the full list is (a table of the
    /// processes is a reading of their figures).
    pub async fn table_reply(&self) -> Result<pm2_wire::rpc::JsonReply, String> {
        self.sampled(|a| {
            a.metrics_read();
            Ok(a.table_reply())
        })
        .await
    }

    /// `getMonitorData`'s reply, the list written straight into its frame.
    pub async fn list_reply(&self) -> Result<pm2_wire::rpc::JsonReply, String> {
        self.sampled(|a| {
            a.metrics_read();
            Ok(a.list_reply())
        })
        .await
    }

    pub async fn get(&self, id: u64) -> Result<Value, String> {
        self.query(move |a| {
            a.metrics_read();
            a.describe(id)
        })
        .await
    }

    pub async fn ids(&self) -> Result<Vec<u64>, String> {
        self.query(|a| Ok(a.procs.keys().copied().collect())).await
    }

    /// Starts a stopped process (no-op when it runs); answers once it runs.
    pub async fn start_process(&self, id: u64) -> Result<Value, String> {
        self.call(move |a, reply| a.start(id, reply)).await
    }

    /// Stops a process (and its watcher and cron job) and returns once it
    /// is down. Final: a restart waiting for the same exit is cancelled.
    pub async fn stop(&self, id: u64) -> Result<Value, String> {
        self.call(move |a, reply| a.on_disarm(id, reply)).await?;
        self.call(move |a, reply| a.stop(id, reply)).await
    }

    /// Restart: merge the new env/options, stop, start; answers once the new
    /// child runs. Restarts that overlap are one restart; `restart_time`
    /// goes up only when the process was running.
    pub async fn restart(&self, id: u64, update: Map<String, Value>) -> Result<Value, String> {
        self.call(move |a, reply| a.restart(id, update, reply))
            .await
    }

    /// Stops the process and removes it; answers with it as it was last.
    pub async fn delete(&self, id: u64) -> Result<Value, String> {
        self.call(move |a, reply| a.on_disarm(id, reply)).await?;
        self.call(move |a, reply| a.delete(id, reply)).await
    }

    pub async fn msg_process(&self, target: Value, msg: Value) -> Result<Value, String> {
        self.query(move |a| a.msg_process(&target, msg)).await
    }

    pub fn reload_logs(&self) {
        self.tell(|a| a.reload_logs());
    }

    /// From now on nothing starts or restarts: the daemon is going down.
    pub async fn block_restarts(&self) {
        let _ = self
            .query(|a| {
                a.block_restarts();
                Ok(())
            })
            .await;
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

/// The channel watch and cron send their [`Trigger`]s on, and the task that
/// hands them to the actor.
fn forward_triggers(actor: &mpsc::Sender<Msg>) -> mpsc::Sender<Trigger> {
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let actor = actor.clone();
    tokio::spawn(async move {
        while let Some(trigger) = rx.recv().await {
            if actor.send(Msg::Trigger(trigger)).await.is_err() {
                break;
            }
        }
    });
    tx
}
