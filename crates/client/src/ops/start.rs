//! Starting apps: each resolved before anything starts, created by the daemon
//! in one step or, existing already, restarted.

use super::{Action, ActionOptions, Client};
use crate::error::{Error, Result};
use crate::target;
use futures_util::future::join_all;
use pm2_config::app_name::is_same_app;
use pm2_config::Options;
use serde_json::{json, Value};
use std::path::PathBuf;

/// How a start resolves user options: the client's context.
#[derive(Default, Clone)]
pub struct StartOptions {
    pub cwd: PathBuf,
    pub client_env: pm2_config::ClientEnv,
    /// `--env <name>`: selects `env_<name>` of each app.
    pub env_name: Option<String>,
    /// Start even when the same script already runs.
    pub force: bool,
    /// Apps that already exist by name are restarted with their new options
    /// (ecosystem files); otherwise starting an existing script is an error.
    pub restart_existing: bool,
    /// `--only a,b`: start only these app names.
    pub only: Vec<String>,
    /// An existing app restarted by the start keeps its stored env (the CLI
    /// without `--update-env`); otherwise the client's env refreshes it.
    pub restart_keeps_env: bool,
}

impl Client {
    /// Starts apps given as user options. Every app is resolved before anything
    /// starts, so a bad option or a missing script starts nothing.
    pub async fn start(&self, apps: Vec<Options>, opts: &StartOptions) -> Result<Vec<Value>> {
        Ok(self
            .start_each(apps, opts)
            .await?
            .into_iter()
            .flat_map(Started::into_procs)
            .collect())
    }

    /// [`Client::start`], saying for each app whether it was launched or,
    /// existing already, restarted.
    ///
    /// The daemon decides which apps exist and creates the others in one step
    /// (`prepareUnique`), so concurrent starts never create an app twice. As
    /// in PM2: with `restart_existing` (ecosystem apps) an app exists by name
    /// and is restarted with its new options; otherwise the same script under
    /// the same name is the same app, restarted when it is down and refused
    /// when it runs, unless forced; under another name it is a new app.
    pub async fn start_each(
        &self,
        apps: Vec<Options>,
        opts: &StartOptions,
    ) -> Result<Vec<Started>> {
        let ctx = self.resolve_context(&opts.cwd, &opts.client_env, opts.env_name.as_ref());
        let wanted = |app: &Options| {
            opts.only.is_empty()
                || app
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| opts.only.iter().any(|o| o == n))
        };
        let (raws, resolved): (Vec<Options>, Vec<Value>) = apps
            .into_iter()
            .filter(|a| wanted(a))
            .map(|raw| pm2_config::resolve_app(&raw, &ctx).map(|r| (raw, Value::Object(r))))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .unzip();
        if opts.force && !opts.restart_existing {
            // Forced: a new copy whatever runs. Pipelined on one connection:
            // the daemon takes the requests in order (so ids follow the file).
            let calls = resolved
                .into_iter()
                .map(|app| async move { self.call_one("prepare", vec![app]).await });
            let mut out = Vec::new();
            for result in join_all(calls).await {
                out.push(Started::Launched(procs_of(result?)));
            }
            self.announce_starts(&out).await?;
            return Ok(out);
        }
        let rule = if opts.restart_existing {
            json!({"match": "name"})
        } else {
            json!({"match": "script", "refuseRunning": true})
        };
        let answers = self.prepare_unique(resolved, rule).await?;
        let mut first_error = None;
        let mut restarts = Vec::new();
        let mut out = Vec::new();
        for (raw, answer) in raws.into_iter().zip(answers) {
            if let Some(created) = answer.get("created") {
                out.push(Some(Started::Launched(procs_of(created.clone()))));
            } else if let Some(Value::Array(existing)) = answer.get("existing") {
                restarts.push((out.len(), existing.clone(), raw));
                out.push(None);
            } else {
                let error = answer
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no answer");
                first_error.get_or_insert_with(|| Error::Remote(error.to_string()));
                out.push(None);
            }
        }
        let calls = restarts
            .into_iter()
            .map(|(slot, existing, raw)| async move {
                let ids: Vec<u64> = existing.iter().filter_map(target::pm_id).collect();
                let act = ActionOptions {
                    update_env: !opts.restart_keeps_env,
                    client_env: opts.client_env.clone(),
                    env_name: opts.env_name.clone(),
                    cwd: opts.cwd.clone(),
                    overrides: raw,
                    parallel: None,
                };
                let done = self
                    .act_on_ids(Action::Restart, &ids, &existing, &act)
                    .await;
                (slot, done)
            });
        for (slot, done) in join_all(calls).await {
            match done {
                Ok(procs) => out[slot] = Some(Started::Restarted(procs)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let out: Vec<Started> = out.into_iter().flatten().collect();
        self.announce_starts(&out).await?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Announces the `start` of the launched processes of `started`;
    /// restarts announce their own.
    async fn announce_starts(&self, started: &[Started]) -> Result<()> {
        let mut ids = Vec::new();
        for s in started {
            if let Started::Launched(procs) = s {
                ids.extend(procs.iter().filter_map(target::pm_id));
            }
        }
        self.announce_ids(ids).await
    }

    /// Announces each of `procs`' `start` on the bus (`manually`), as PM2's
    /// client does after it started, resurrected or scaled up an app.
    pub async fn announce_started(&self, procs: &[Value]) -> Result<()> {
        self.announce_ids(procs.iter().filter_map(target::pm_id).collect())
            .await
    }

    async fn announce_ids(&self, ids: Vec<u64>) -> Result<()> {
        let calls = ids.into_iter().map(|id| {
            self.call(
                "notifyByProcessId",
                vec![json!({"id": id, "action_name": "start", "manually": true})],
            )
        });
        for answer in join_all(calls).await {
            answer?;
        }
        Ok(())
    }

    /// Sends `apps` to `prepareUnique` under `rule`; one answer per app, in
    /// order. Large lists go in several requests, each app's entries together
    /// (the entries of a dump that share a name are one app's instances).
    pub(super) async fn prepare_unique(&self, apps: Vec<Value>, rule: Value) -> Result<Vec<Value>> {
        let count = apps.len();
        let mut answers = vec![Value::Null; count];
        for chunk in chunks_by_name(apps, REQUEST_BUDGET) {
            let (slots, apps): (Vec<usize>, Vec<Value>) = chunk.into_iter().unzip();
            let reply = match self
                .call_one(
                    "prepareUnique",
                    vec![Value::Array(apps.clone()), rule.clone()],
                )
                .await
            {
                Err(Error::Remote(e)) if e == r#"method "prepareUnique" does not exist"# => {
                    json!({"apps": self.prepare_listed(apps, &rule).await?})
                }
                other => other?,
            };
            if reply.get("refused").and_then(Value::as_bool) == Some(true) {
                return Err(Error::AlreadyLaunched);
            }
            let Some(Value::Array(got)) = reply.get("apps") else {
                return Err(Error::Daemon(
                    "prepareUnique: the daemon's answer has no apps".into(),
                ));
            };
            for (slot, answer) in slots.into_iter().zip(got.iter()) {
                answers[slot] = answer.clone();
            }
        }
        Ok(answers)
    }

    /// `prepareUnique`'s answers from a daemon that lacks it (PM2's own, or
    /// one of ours from before, still running after an upgrade): the same
    /// rules, decided from a list first, so concurrent clients race there as
    /// PM2's do.
    async fn prepare_listed(&self, apps: Vec<Value>, rule: &Value) -> Result<Vec<Value>> {
        let list = self.list().await?;
        let by_script = rule["match"] == "script";
        let found: Vec<Vec<Value>> = apps
            .iter()
            .map(|app| {
                list.iter()
                    .filter(|p| {
                        let (Some(name), Some(known)) = (text(app, "name"), text(p, "name")) else {
                            return false;
                        };
                        is_same_app(
                            name,
                            text(app, "pm_exec_path"),
                            known,
                            text(&p["pm2_env"], "pm_exec_path"),
                            !by_script,
                        )
                    })
                    .cloned()
                    .collect()
            })
            .collect();
        let down = |p: &Value| {
            matches!(
                p["pm2_env"]["status"].as_str(),
                Some("stopped" | "stopping" | "errored")
            )
        };
        if rule["refuseRunning"] == true && found.iter().flatten().any(|p| !down(p)) {
            return Err(Error::AlreadyLaunched);
        }
        let calls = apps.into_iter().zip(found).map(|(app, found)| async move {
            if !found.is_empty() {
                return Ok(json!({ "existing": found }));
            }
            match self.call_one("prepare", vec![app]).await {
                Ok(procs) => Ok(json!({ "created": procs })),
                Err(Error::Remote(e)) => Ok(json!({ "error": e })),
                Err(e) => Err(e),
            }
        });
        join_all(calls).await.into_iter().collect()
    }
}

/// What `start` did for one app.
#[derive(Debug)]
pub enum Started {
    /// New processes.
    Launched(Vec<Value>),
    /// The app existed: its processes, restarted with the app's options.
    Restarted(Vec<Value>),
}

impl Started {
    pub fn into_procs(self) -> Vec<Value> {
        match self {
            Started::Launched(p) | Started::Restarted(p) => p,
        }
    }
}

/// The string at `key` of a JSON object.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The processes of a `prepare` answer (a list, or one process).
pub(super) fn procs_of(answer: Value) -> Vec<Value> {
    match answer {
        Value::Array(procs) => procs,
        other => vec![other],
    }
}

/// Bytes of apps one `prepareUnique` request carries, well under the daemon's
/// request limit (16 MB).
const REQUEST_BUDGET: usize = 4 << 20;

/// Splits `apps` into requests of about `budget` bytes, each app numbered by
/// its place in `apps`; the entries that share a name stay in one request
/// (one alone may pass the budget).
fn chunks_by_name(apps: Vec<Value>, budget: usize) -> Vec<Vec<(usize, Value)>> {
    // Each name's (bytes, entries), in the order of first appearance.
    let mut groups: Vec<(usize, Vec<(usize, Value)>)> = Vec::new();
    let mut group_of: std::collections::HashMap<String, usize> = Default::default();
    for (slot, app) in apps.into_iter().enumerate() {
        let name = app
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let bytes = serde_json::to_vec(&app).map_or(0, |b| b.len());
        let g = *group_of.entry(name).or_insert_with(|| {
            groups.push((0, Vec::new()));
            groups.len() - 1
        });
        groups[g].0 += bytes;
        groups[g].1.push((slot, app));
    }
    let mut chunks: Vec<Vec<(usize, Value)>> = Vec::new();
    let mut used = 0;
    for (bytes, entries) in groups {
        if chunks.is_empty() || (used > 0 && used + bytes > budget) {
            chunks.push(Vec::new());
            used = 0;
        }
        used += bytes;
        chunks
            .last_mut()
            .expect("a chunk was pushed")
            .extend(entries);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_the_entries_of_a_name_together_within_the_budget() {
        let app = |name: &str| json!({"name": name, "env": {"X": "x".repeat(40)}});
        let apps = vec![app("a"), app("b"), app("a"), app("c"), app("d")];
        let size = serde_json::to_vec(&app("a")).unwrap().len();
        let chunks = chunks_by_name(apps.clone(), size * 3);
        let slots: Vec<Vec<usize>> = chunks
            .iter()
            .map(|c| c.iter().map(|(slot, _)| *slot).collect())
            .collect();
        assert_eq!(slots, vec![vec![0, 2, 1], vec![3, 4]]);
        assert_eq!(chunks_by_name(apps.clone(), usize::MAX).len(), 1);
        // A name over the budget goes alone, whole.
        let one = chunks_by_name(apps, 1);
        assert_eq!(one.len(), 4);
        assert_eq!(one[0].len(), 2);
        assert!(chunks_by_name(Vec::new(), 1).is_empty());
    }
}
