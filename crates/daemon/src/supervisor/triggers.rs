//! The supervisor's side of watch and cron: the messages from `watch.rs` and
//! `cron.rs` become restarts through [`Supervisor::restart`], one at a time
//! per app (a file change seen meanwhile restarts the app once more after
//! it). A user's stop or delete disarms both; when a watch or cron restart
//! is under way it waits for it first, so that restart cannot bring a
//! stopped app back.

use super::{Actor, Msg, Reply, Request};
use crate::cron::CronJobs;
use crate::daemon_log::DaemonLog;
use crate::process::Status;
use crate::trigger::Trigger;
use crate::watch::{self, Switch, Watchers};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::sync::mpsc;

pub(super) struct Triggers {
    watchers: Watchers,
    crons: CronJobs,
    /// Apps with a watch or cron restart under way, and the stops waiting
    /// for it.
    in_flight: HashMap<u64, Vec<Reply<()>>>,
    /// A change seen while such a restart was under way: it restarts the app
    /// again once that one is over.
    deferred: HashMap<u64, (watch::RestartAck, PathBuf)>,
}

/// What asked for a restart the daemon makes by itself.
#[derive(Clone, Copy)]
enum Cause {
    Watch,
    Cron,
}

impl Triggers {
    pub(super) fn new(tx: mpsc::Sender<Trigger>, log: DaemonLog, home: PathBuf) -> Triggers {
        Triggers {
            watchers: Watchers::new(tx.clone(), log.clone(), home),
            crons: CronJobs::new(tx, log),
            in_flight: HashMap::new(),
            deferred: HashMap::new(),
        }
    }
}

impl Actor {
    /// Arms (or re-arms, or cancels) the watcher and cron job of `id` to
    /// match its options; called as the app is started.
    pub(super) fn sync_triggers(&mut self, id: u64) {
        let Some(p) = self.procs.get(&id) else {
            return;
        };
        self.triggers.watchers.sync(id, p.name(), &p.env, &p.opts);
        let cron = p.opts.cron_restart.as_deref();
        self.triggers.crons.sync(id, p.name(), cron);
    }

    fn disarm(&mut self, id: u64) {
        let name = self
            .procs
            .get(&id)
            .map(|p| p.name().to_string())
            .unwrap_or_default();
        self.triggers.watchers.stop(id, &name);
        self.triggers.crons.cancel(id, &name);
    }

    /// Whether the daemon may restart `id` by itself now.
    fn may_auto_restart(&self, id: u64) -> bool {
        !self.restarts_blocked
            && !self.triggers.in_flight.contains_key(&id)
            && self
                .procs
                .get(&id)
                .is_some_and(|p| !matches!(p.status, Status::Stopped | Status::Stopping))
    }

    /// Whether a cron time may restart `id` now: unlike a file change, it
    /// also starts an app that exited or errored (a scheduled job that did
    /// its work and exited). A user's stop or delete cancels the job itself,
    /// so no stopped-by-user app gets here.
    fn may_cron_restart(&self, id: u64) -> bool {
        !self.restarts_blocked
            && !self.triggers.in_flight.contains_key(&id)
            && self
                .procs
                .get(&id)
                .is_some_and(|p| p.status != Status::Stopping)
    }

    pub(super) fn on_trigger(&mut self, trigger: Trigger) {
        match trigger {
            Trigger::WatchChange { id, token, path } => {
                let Some(ack) = self.triggers.watchers.ack(id, token) else {
                    return;
                };
                if self.triggers.in_flight.contains_key(&id) {
                    if let Some((older, _)) = self.triggers.deferred.insert(id, (ack, path)) {
                        older.done();
                    }
                    return;
                }
                self.watch_restart(id, ack, &path);
            }
            Trigger::CronDue { id, token } => {
                let Some(pattern) = self.triggers.crons.current(id, token) else {
                    return;
                };
                if !self.may_cron_restart(id) {
                    return;
                }
                self.log.info(&format!(
                    "[PM2][WORKER] cron_restart \"{pattern}\": restarting app {} (id {id})",
                    self.procs[&id].name()
                ));
                self.auto_restart(id, None, Cause::Cron);
            }
        }
    }

    /// A restart started by watch or cron is over: the stops waiting for it
    /// go on, or a change seen meanwhile restarts the app again.
    pub(super) fn auto_restart_done(&mut self, id: u64) {
        let waiters = self.triggers.in_flight.remove(&id).unwrap_or_default();
        let deferred = self.triggers.deferred.remove(&id);
        if !waiters.is_empty() {
            self.disarm(id);
            for w in waiters {
                let _ = w.send(Ok(()));
            }
            if let Some((ack, _)) = deferred {
                ack.done();
            }
        } else if let Some((ack, path)) = deferred {
            self.watch_restart(id, ack, &path);
        }
    }

    /// A user's stop or delete: disarms now, or once the watch or cron
    /// restart under way is over.
    pub(super) fn on_disarm(&mut self, id: u64, reply: Reply<()>) {
        match self.triggers.in_flight.get_mut(&id) {
            Some(waiters) => waiters.push(reply),
            None => {
                self.disarm(id);
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// A watched app's files changed: restart it (unless it is stopped, or
    /// the daemon is going down), saying so in pm2.log and on the bus.
    fn watch_restart(&mut self, id: u64, ack: watch::RestartAck, path: &std::path::Path) {
        if !self.may_auto_restart(id) {
            ack.done();
            return;
        }
        let p = &self.procs[&id];
        self.log.info(&format!(
            "Change detected on path {} for app {} - restarting",
            watch::shown_path(path, p.str("pm_cwd")),
            p.name()
        ));
        self.auto_restart(id, Some(ack), Cause::Watch);
    }

    /// Restarts `id` as a user's restart would, then tells the watcher. A
    /// cron time counts as a restart even when the job had exited, as in
    /// PM2 (each run of a scheduled job adds one to `restart_time`).
    fn auto_restart(&mut self, id: u64, ack: Option<watch::RestartAck>, cause: Cause) {
        self.triggers.in_flight.insert(id, Vec::new());
        let sup = self.supervisor();
        let log = self.log.clone();
        tokio::spawn(async move {
            let done = match cause {
                Cause::Watch => sup.restart(id, Map::new()).await.map(drop),
                Cause::Cron => sup.rerun(id).await,
            };
            if let Err(e) = done {
                log.info(&format!("restart of process {id} failed: {e}"));
            }
            let _ = sup
                .tx
                .send(Msg::Request(Request::AutoRestartDone { id }))
                .await;
            if let Some(ack) = ack {
                ack.done();
            }
        });
    }

    /// PM2's `startWatch` / `stopWatch` / `toggleWatch`: sets `watch` and
    /// starts or stops the watcher (a stopped app gets one when started).
    pub(crate) fn set_watch(&mut self, ids: &[u64], change: Switch) -> Value {
        let mut reply = json!({"success": true});
        for &id in ids {
            let Some(p) = self.procs.get_mut(&id) else {
                continue;
            };
            let on = p.opts.watch;
            let want = match change {
                Switch::On => true,
                Switch::Off => false,
                Switch::Toggle => !on,
            };
            if change == Switch::On && on && self.triggers.watchers.is_watching(id) {
                reply["notrestarted"] = json!(true);
                continue;
            }
            if want != on {
                p.set("watch", json!(want));
                p.refresh_options();
            }
            let stopped = matches!(p.status, Status::Stopped | Status::Stopping);
            if want && !stopped {
                self.triggers.watchers.sync(id, p.name(), &p.env, &p.opts);
            } else if !want {
                let name = p.name().to_string();
                self.triggers.watchers.stop(id, &name);
            }
        }
        reply
    }
}

impl super::Supervisor {
    /// A cron run: restarts `id` whether it runs or had exited, counting it
    /// in `restart_time` either way.
    async fn rerun(&self, id: u64) -> Result<(), String> {
        self.query(move |a| a.prepare_restart(id, Map::new()))
            .await?;
        self.call(move |a, reply| a.cron_run(id, reply))
            .await
            .map(|_| ())
    }
}
