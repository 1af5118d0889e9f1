//! `prepare`: checking an app's options and creating its processes, a
//! batch at a time so other requests are served in between.

use super::{Actor, Msg, Reply, Request};
use crate::lifecycle::{Event, Refused};
use crate::option_checks;
use crate::proc_info;
use crate::process::{new_pm2_env, package_version, Proc};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Processes a `prepare` creates before letting other requests through.
pub(super) const PREPARE_BATCH: u64 = 64;

/// A `prepare` of several instances, created a batch at a time.
pub struct Preparing {
    app: Map<String, Value>,
    remaining: u64,
    /// Launch each process (false: the app is to stay stopped).
    start: bool,
    created: Vec<u64>,
    /// The app's package.json version, read once for all instances.
    version: Option<Value>,
    /// The instance numbers other processes of the app's name hold, when
    /// the caller knows them (a start of thousands of apps must not scan the
    /// table for each); else the table is scanned.
    used: Option<HashSet<u64>>,
    reply: Created,
}

/// Who waits for a `prepare`, and what it is told of the processes created.
pub(super) enum Created {
    /// Their views, as the process list shows them.
    Views(Reply<Vec<Value>>),
    /// Their ids: the caller builds the views once a burst of prepares is
    /// over, so that the long-lived tables of the apps created meanwhile are
    /// not allocated between short-lived views (which would leave the
    /// daemon's heap fragmented, its freed pages held).
    Ids(Reply<Vec<u64>>),
}

impl Created {
    fn refuse(self, e: String) {
        match self {
            Created::Views(reply) => drop(reply.send(Err(e))),
            Created::Ids(reply) => drop(reply.send(Err(e))),
        }
    }
}

impl Preparing {
    fn new(app: Map<String, Value>, count: u64, reply: Created) -> Preparing {
        let start = app.get("status").and_then(Value::as_str) != Some("stopped")
            && app.get("autostart") != Some(&json!(false));
        Preparing {
            app,
            remaining: count,
            start,
            created: Vec::new(),
            version: None,
            used: None,
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

impl Actor {
    /// Checks a `prepare` and creates its first batch of processes; the rest
    /// follow as [`Request::PrepareMore`] so other requests are served in between.
    pub(super) fn prepare(&mut self, app: Map<String, Value>, reply: Created) {
        self.prepare_known(app, None, reply)
    }

    /// [`Actor::prepare`], given the instance numbers other processes of the
    /// app's name hold (see [`Preparing::used`]).
    pub(super) fn prepare_known(
        &mut self,
        app: Map<String, Value>,
        used: Option<HashSet<u64>>,
        reply: Created,
    ) {
        if self.restarts_blocked {
            return reply.refuse(Refused::ShuttingDown.to_string());
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
            Ok(count) => {
                let mut job = Box::new(Preparing::new(app, count, reply));
                job.used = used;
                self.prepare_batch(job)
            }
            Err(e) => reply.refuse(e),
        }
    }

    /// Creates (and starts, unless the app is to stay stopped) up to
    /// [`PREPARE_BATCH`] processes of a `prepare`, then queues the rest.
    pub(super) fn prepare_batch(&mut self, mut job: Box<Preparing>) {
        if self.restarts_blocked {
            return self.prepare_failed(*job, Refused::ShuttingDown.to_string());
        }
        let name = job
            .app
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let used = match job.used.take() {
            Some(used) => used,
            None => self.used_instance_numbers(&name),
        };
        let mut instances = (0..).filter(move |n| !used.contains(n));
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
                let _ = tx.send(Msg::Request(Request::PrepareMore(job))).await;
            });
            return;
        }
        // Once, when the whole prepare is done (the apps started have
        // changed it already).
        self.note_change();
        match job.reply {
            Created::Views(reply) => {
                let _ = reply.send(Ok(self.views(&job.created)));
            }
            Created::Ids(reply) => {
                let _ = reply.send(Ok(job.created));
            }
        }
    }

    /// Undoes a prepare that failed half-way: nothing is left started.
    pub(super) fn prepare_failed(&mut self, job: Preparing, error: String) {
        for id in &job.created {
            if let Some(p) = self.procs.remove(id) {
                if let Some(r) = &p.running {
                    proc_info::signal_tree(r.pid, nix::sys::signal::Signal::SIGKILL, true);
                }
            }
        }
        self.next_id = self.procs.keys().next_back().map_or(0, |m| m + 1);
        job.reply.refuse(error);
    }

    /// The instance numbers the processes of that name hold.
    fn used_instance_numbers(&self, name: &str) -> HashSet<u64> {
        self.procs
            .values()
            .filter(|p| p.name() == name)
            .filter_map(instance_number)
            .collect()
    }
}

/// The instance number of `p` (`NODE_APP_INSTANCE` or its `instance_var`).
pub(super) fn instance_number(p: &Proc) -> Option<u64> {
    p.num(&crate::pm2_env_vars::instance_var(&p.env))
}
