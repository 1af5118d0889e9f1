//! `prepareUnique`: check-and-create in one step of the actor.
//!
//! A client that lists the processes and then sends `prepare` for the apps it
//! did not see races every other client doing the same: two `resurrect`s (a
//! boot unit and a user), or parallel `start --name x`, each start their own
//! copy. Here the client sends all its apps in one request, and the actor
//! decides against its table and creates the missing apps before it reads the
//! next message, so a second request sees the first one's processes.
//!
//! An app "exists" when a process has its name (`Match::Name`: resurrect,
//! ecosystem apps) or its name and script (`Match::Script`: `start app.js`,
//! where the same script under another name is a new app). Existing apps are
//! not created; the reply lists their processes so the client can restart
//! them (start) or skip them (resurrect). With `refuse_running`, an app that
//! exists and runs refuses the whole request and nothing is created (PM2's
//! "Script already launched").

use super::prepare::{instance_number, Created, PREPARE_BATCH};
use super::{Actor, Job, Msg, Reply, Request as MsgRequest};
use crate::option_checks;
use crate::process::Status;
use pm2_config::app_name::is_same_app;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use tokio::sync::oneshot;

/// What makes a process the same app as one of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Name,
    Script,
}

#[derive(Debug)]
pub struct Request {
    apps: Vec<Map<String, Value>>,
    matching: Match,
    refuse_running: bool,
}

impl Request {
    /// `[apps, {match: "name" | "script", refuseRunning}]`.
    pub fn parse(args: &[Value]) -> Result<Request, String> {
        let apps = match args.first() {
            Some(Value::Array(apps)) => apps
                .iter()
                .map(|a| a.as_object().cloned())
                .collect::<Option<Vec<_>>>(),
            _ => None,
        }
        .ok_or("prepareUnique expects a list of app objects")?;
        let opts = args.get(1).and_then(Value::as_object);
        let matching = match opts.and_then(|o| o.get("match")).and_then(Value::as_str) {
            None | Some("name") => Match::Name,
            Some("script") => Match::Script,
            Some(other) => {
                return Err(format!(
                    "prepareUnique: match {other:?} is not \"name\" or \"script\""
                ))
            }
        };
        let refuse_running = opts
            .and_then(|o| o.get("refuseRunning"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Request {
            apps,
            matching,
            refuse_running,
        })
    }
}

/// A process of the table, as the decision sees it.
pub struct Known<'a> {
    pub id: u64,
    pub name: &'a str,
    pub script: Option<&'a str>,
    /// Stopped, stopping or errored: starting the app again restarts it.
    pub down: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Create,
    /// The app's processes, by pm_id.
    Existing(Vec<u64>),
}

/// Decides each app's step against the table as it is before the request:
/// apps of one request never match each other (the entries of a dump that
/// share a name are the instances of one app).
pub fn plan(known: &[Known], apps: &[Map<String, Value>], matching: Match) -> Vec<Step> {
    // By name first: a start of thousands of apps on a table of thousands
    // must not compare every pair.
    let mut by_name: HashMap<&str, Vec<&Known>> = HashMap::new();
    for k in known {
        by_name.entry(k.name).or_default().push(k);
    }
    apps.iter()
        .map(|app| {
            let name = app.get("name").and_then(Value::as_str).unwrap_or_default();
            let script = app.get("pm_exec_path").and_then(Value::as_str);
            let ids: Vec<u64> = by_name
                .get(name)
                .into_iter()
                .flatten()
                .filter(|k| is_same_app(name, script, k.name, k.script, matching == Match::Name))
                .map(|k| k.id)
                .collect();
            if ids.is_empty() {
                Step::Create
            } else {
                Step::Existing(ids)
            }
        })
        .collect()
}

fn name_of(app: &Map<String, Value>) -> &str {
    app.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// True when an existing app of `steps` has a process that is not down.
pub fn runs(known: &[Known], steps: &[Step]) -> bool {
    steps.iter().any(|s| match s {
        Step::Existing(ids) => known.iter().any(|k| ids.contains(&k.id) && !k.down),
        Step::Create => false,
    })
}

/// `{key: value}`, moving `value` in: `json!` would copy it, and the views
/// of a thousand processes are megabytes.
fn field(key: &str, value: Value) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_string(), value);
    Value::Object(m)
}

/// `{refused, apps}`, moving `apps` in.
fn answer(refused: bool, apps: Vec<Value>) -> Value {
    let mut m = Map::with_capacity(2);
    m.insert("refused".to_string(), Value::Bool(refused));
    m.insert("apps".to_string(), Value::Array(apps));
    Value::Object(m)
}

/// One app's answer, now or once its `prepare` is done (the ids it created).
enum Answer {
    Now(Value),
    Later(oneshot::Receiver<Result<Vec<u64>, String>>),
}

/// Apps a `prepareUnique` creates before letting other messages through:
/// each is a spawn, a few milliseconds on a busy machine.
const SLICE: usize = 4;

/// A `prepareUnique` under way: its apps' steps were decided at once, their
/// processes are created a slice at a time (see [`Actor::unique_slice`]).
pub struct Creating {
    pending: VecDeque<(Map<String, Value>, Step)>,
    /// By name of the apps to create: the instance numbers processes of
    /// that name hold, kept up to date as the apps are created (a name
    /// missing is scanned for, see `prepare`).
    used: HashMap<String, HashSet<u64>>,
    answers: Vec<Answer>,
    reply: Reply<Value>,
}

/// Processes whose views a step adds to a `prepareUnique`'s reply: each is
/// a copy of the process's `pm2_env`, tens of microseconds.
const VIEW_SLICE: usize = 50;

/// The reply of a `prepareUnique` whose apps all exist, being built.
struct Viewing {
    /// Each app's answer: its view already, or the processes created for it.
    done: VecDeque<Result<Value, Vec<u64>>>,
    apps: Vec<Value>,
    reply: Reply<Value>,
}

/// `prepareUnique` requests waiting for the one under way: each decides
/// against the table once the apps of the previous one are all in it.
#[derive(Default)]
pub struct Queue {
    busy: bool,
    waiting: VecDeque<(Request, Reply<Value>)>,
}

/// Requests that may wait behind the one under way; past that a start is
/// refused rather than queued without bound.
const MAX_WAITING: usize = 256;

impl Actor {
    pub(super) fn prepare_unique(&mut self, req: Request, reply: Reply<Value>) {
        if !self.uniques.busy {
            return self.unique_begin(req, reply);
        }
        if self.uniques.waiting.len() >= MAX_WAITING {
            let _ = reply.send(Err(format!(
                "the daemon has {MAX_WAITING} starts waiting already; try again once they are done"
            )));
            return;
        }
        self.uniques.waiting.push_back((req, reply));
    }

    fn unique_begin(&mut self, req: Request, reply: Reply<Value>) {
        let (steps, refused) = {
            let known: Vec<Known> = self
                .procs
                .values()
                .map(|p| Known {
                    id: p.pm_id,
                    name: p.name(),
                    script: p.str("pm_exec_path"),
                    down: matches!(
                        p.status,
                        Status::Stopped | Status::Stopping | Status::Errored
                    ),
                })
                .collect();
            let steps = plan(&known, &req.apps, req.matching);
            let refused = req.refuse_running && runs(&known, &steps);
            (steps, refused)
        };
        if refused {
            let apps: Vec<Value> = steps
                .iter()
                .map(|s| match s {
                    Step::Existing(ids) => field("existing", Value::Array(self.views(ids))),
                    Step::Create => json!({}),
                })
                .collect();
            let _ = reply.send(Ok(answer(true, apps)));
            return self.unique_next();
        }
        self.uniques.busy = true;
        let mut used: HashMap<String, HashSet<u64>> = req
            .apps
            .iter()
            .zip(&steps)
            .filter(|(_, step)| **step == Step::Create)
            .map(|(app, _)| (name_of(app).to_string(), HashSet::new()))
            .collect();
        for p in self.procs.values() {
            if let (Some(numbers), Some(n)) = (used.get_mut(p.name()), instance_number(p)) {
                numbers.insert(n);
            }
        }
        let answers = Vec::with_capacity(steps.len());
        self.unique_slice(Box::new(Creating {
            pending: req.apps.into_iter().zip(steps).collect(),
            used,
            answers,
            reply,
        }));
    }

    /// Creates the next [`SLICE`] apps of a `prepareUnique`, then queues the
    /// rest behind whatever other clients asked meanwhile.
    pub(super) fn unique_slice(&mut self, mut job: Box<Creating>) {
        for _ in 0..SLICE {
            let Some((app, step)) = job.pending.pop_front() else {
                break;
            };
            job.answers.push(match step {
                Step::Existing(ids) => {
                    Answer::Now(field("existing", Value::Array(self.views(&ids))))
                }
                Step::Create => {
                    let (tx, rx) = oneshot::channel();
                    self.create(&mut job.used, app, tx);
                    Answer::Later(rx)
                }
            });
        }
        if !job.pending.is_empty() {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(Msg::Request(MsgRequest::UniqueMore(job))).await;
            });
            return;
        }
        let Creating { answers, reply, .. } = *job;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut done = Vec::with_capacity(answers.len());
            for answer in answers {
                done.push(match answer {
                    Answer::Now(v) => Ok(v),
                    Answer::Later(rx) => match rx.await {
                        Ok(Ok(ids)) => Err(ids),
                        Ok(Err(e)) => Ok(json!({ "error": e })),
                        Err(_) => Ok(json!({"error": "supervisor stopped"})),
                    },
                });
            }
            // The views of the created processes, built once all exist (see
            // `Created::Ids`), a slice of processes per step.
            let viewing = Box::new(Viewing {
                done: done.into(),
                apps: Vec::new(),
                reply,
            });
            let job: Job = Box::new(move |a: &mut Actor| a.unique_views(viewing));
            let _ = tx.send(Msg::Request(MsgRequest::Run(job))).await;
        });
        self.uniques.busy = false;
        self.unique_next();
    }

    /// Creates the app's first batch of processes now, inside this step,
    /// with the instance numbers of its name known; notes those it took.
    fn create(
        &mut self,
        used: &mut HashMap<String, HashSet<u64>>,
        app: Map<String, Value>,
        reply: Reply<Vec<u64>>,
    ) {
        let name = name_of(&app).to_string();
        let one_batch = option_checks::instance_count(&app).is_ok_and(|n| n <= PREPARE_BATCH);
        let Some(numbers) = used.get(&name).filter(|_| one_batch) else {
            // Created over several steps: later apps of that name scan.
            used.remove(&name);
            return self.prepare(app, Created::Ids(reply));
        };
        let first = self.next_id;
        self.prepare_known(app, Some(numbers.clone()), Created::Ids(reply));
        let taken: Vec<u64> = (first..self.next_id)
            .filter_map(|id| self.procs.get(&id).and_then(instance_number))
            .collect();
        if let Some(numbers) = used.get_mut(&name) {
            numbers.extend(taken);
        }
    }

    /// Builds the views of the next [`VIEW_SLICE`] processes of a finished
    /// `prepareUnique`'s reply; sends the reply once all are built.
    fn unique_views(&mut self, mut job: Box<Viewing>) {
        let mut budget = VIEW_SLICE;
        while budget > 0 {
            let Some(done) = job.done.pop_front() else {
                break;
            };
            job.apps.push(done.unwrap_or_else(|ids| {
                budget = budget.saturating_sub(ids.len().max(1));
                field("created", Value::Array(self.views(&ids)))
            }));
        }
        if job.done.is_empty() {
            let Viewing { apps, reply, .. } = *job;
            let _ = reply.send(Ok(answer(false, apps)));
            return;
        }
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let job: Job = Box::new(move |a: &mut Actor| a.unique_views(job));
            let _ = tx.send(Msg::Request(MsgRequest::Run(job))).await;
        });
    }

    /// Starts the next `prepareUnique` waiting, if any.
    fn unique_next(&mut self) {
        if let Some((req, reply)) = self.uniques.waiting.pop_front() {
            self.unique_begin(req, reply);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, script: &str) -> Map<String, Value> {
        json!({"name": name, "pm_exec_path": script})
            .as_object()
            .unwrap()
            .clone()
    }

    fn known<'a>(id: u64, name: &'a str, script: &'a str, down: bool) -> Known<'a> {
        Known {
            id,
            name,
            script: Some(script),
            down,
        }
    }

    #[test]
    fn by_name_an_app_exists_whatever_its_script() {
        let table = [known(0, "a", "/x.js", false), known(1, "a", "/y.js", true)];
        let steps = plan(&table, &[app("a", "/z.js"), app("b", "/x.js")], Match::Name);
        assert_eq!(steps, vec![Step::Existing(vec![0, 1]), Step::Create]);
    }

    #[test]
    fn by_script_the_same_script_under_another_name_is_a_new_app() {
        let table = [known(0, "a", "/x.js", false), known(1, "a", "/y.js", true)];
        let apps = [app("a", "/y.js"), app("b", "/x.js"), app("a", "/z.js")];
        let steps = plan(&table, &apps, Match::Script);
        assert_eq!(
            steps,
            vec![Step::Existing(vec![1]), Step::Create, Step::Create]
        );
        assert!(!runs(&table, &steps), "only the stopped one matched");
        let steps = plan(&table, &[app("a", "/x.js")], Match::Script);
        assert!(runs(&table, &steps));
    }

    #[test]
    fn apps_of_one_request_do_not_match_each_other() {
        // A dump holds one entry per instance of a cluster app.
        let apps = [app("api", "/a.js"), app("api", "/a.js")];
        assert_eq!(
            plan(&[], &apps, Match::Name),
            vec![Step::Create, Step::Create]
        );
    }

    #[test]
    fn parses_the_request_and_refuses_bad_shapes() {
        let req = Request::parse(&[
            json!([{"name": "a"}]),
            json!({"match": "script", "refuseRunning": true}),
        ])
        .unwrap();
        assert_eq!(req.matching, Match::Script);
        assert!(req.refuse_running && req.apps.len() == 1);
        let req = Request::parse(&[json!([])]).unwrap();
        assert_eq!(req.matching, Match::Name);
        assert!(!req.refuse_running);
        assert!(Request::parse(&[json!({"name": "a"})]).is_err());
        assert!(Request::parse(&[json!([1])]).is_err());
        let err = Request::parse(&[json!([]), json!({"match": "pid"})]).unwrap_err();
        assert!(err.contains("\"pid\""), "{err}");
    }
}
