//! The operations a user asks for, as sequences of daemon calls.

use crate::error::{Error, Result};
use crate::launcher;
use crate::rpc::RpcClient;
use crate::target;
use futures_util::future::join_all;
use pm2_config::app_name::is_same_app;
use pm2_config::{Options, Paths, ResolveContext};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub struct ConnectOptions {
    /// Start a daemon when none is alive (false: fail instead).
    pub launch: bool,
    /// The daemon binary to start.
    pub daemon_bin: PathBuf,
    /// The environment a new daemon gets (normally the client's own).
    pub env: BTreeMap<String, String>,
}

/// How a start resolves user options: the client's context.
#[derive(Default, Clone)]
pub struct StartOptions {
    pub cwd: PathBuf,
    pub client_env: BTreeMap<String, String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stop,
    Restart,
    Reload,
    /// A reload whose old processes are told `'shutdown'` (`softReloadProcessId`).
    GracefulReload,
    Delete,
    Reset,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "stop" => Action::Stop,
            "restart" => Action::Restart,
            "reload" => Action::Reload,
            "gracefulReload" => Action::GracefulReload,
            "delete" | "del" => Action::Delete,
            "reset" => Action::Reset,
            _ => return None,
        })
    }

    fn method(self) -> &'static str {
        match self {
            Action::Stop => "stopProcessId",
            Action::Restart => "restartProcessId",
            Action::Reload => "reloadProcessId",
            Action::GracefulReload => "softReloadProcessId",
            Action::Delete => "deleteProcessId",
            Action::Reset => "resetMetaProcessId",
        }
    }

    /// Restarts and reloads: they merge the app's new env and options.
    pub fn refreshes(self) -> bool {
        matches!(
            self,
            Action::Restart | Action::Reload | Action::GracefulReload
        )
    }

    /// The `process:event` name PM2 clients announce after the action.
    fn notification(self) -> Option<&'static str> {
        match self {
            Action::Stop => Some("stop"),
            Action::Restart => Some("restart"),
            Action::Reload => Some("reload"),
            Action::GracefulReload => Some("graceful reload"),
            Action::Delete => Some("delete"),
            Action::Reset => None,
        }
    }
}

#[derive(Default, Clone)]
pub struct ActionOptions {
    /// Refresh the stored env from the client's (`--update-env`).
    pub update_env: bool,
    pub client_env: BTreeMap<String, String>,
    pub env_name: Option<String>,
    pub cwd: PathBuf,
    /// App options to merge into the process (an ecosystem entry, `pm2 set` values).
    pub overrides: Options,
    /// How many processes are acted on at once (`--parallel`); all at once when unset.
    pub parallel: Option<usize>,
}

/// What `resurrect` did: the processes started, and the apps that failed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Resurrected {
    pub started: Vec<Value>,
    pub failed: Vec<ResurrectFailure>,
}

#[derive(Debug, serde::Serialize)]
pub struct ResurrectFailure {
    pub name: String,
    pub error: String,
}

pub struct Client {
    pub paths: Paths,
    rpc: RpcClient,
    launched: bool,
}

impl Client {
    /// Connects to the daemon of `paths`, starting one if allowed and needed.
    pub async fn connect(paths: Paths, opts: &ConnectOptions) -> Result<Client> {
        paths.init_file_structure()?;
        let (rpc, launched) = match RpcClient::connect(&paths.rpc_sock).await {
            Ok(rpc) => (rpc, false),
            Err(e) if !opts.launch => return Err(e.into()),
            Err(_) => {
                launcher::launch_daemon(&paths, &opts.daemon_bin, &opts.env).await?;
                (RpcClient::connect(&paths.rpc_sock).await?, true)
            }
        };
        let client = Client {
            paths,
            rpc,
            launched,
        };
        if launched {
            // A new daemon runs the installed modules again, as PM2's does.
            crate::modules::launch_all(&client, &opts.env).await;
        }
        Ok(client)
    }

    /// True when this connection started the daemon.
    pub fn launched_daemon(&self) -> bool {
        self.launched
    }

    /// A raw RPC call: the reply's arguments after the error slot.
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Vec<Value>> {
        self.rpc.call(method, args).await
    }

    async fn call_one(&self, method: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self
            .call(method, args)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Value::Null))
    }

    /// The process list as the daemon's JSON text, unparsed (`pm2 jlist`).
    pub async fn list_json(&self) -> Result<String> {
        let body = self.rpc.call_raw("getMonitorData", vec![json!({})]).await?;
        let args = pm2_wire::rpc::reply_args_raw(&body).map_err(Error::Remote)?;
        Ok(args.first().map_or("[]", |a| a.get()).to_string())
    }

    pub async fn list(&self) -> Result<Vec<Value>> {
        match self.call_one("getMonitorData", vec![json!({})]).await? {
            Value::Array(list) => Ok(list),
            _ => Ok(Vec::new()),
        }
    }

    pub async fn ids(&self, target: &str) -> Result<Vec<u64>> {
        target::resolve(&self.list().await?, target)
    }

    pub async fn describe(&self, target: &str) -> Result<Vec<Value>> {
        let list = self.list().await?;
        let ids = target::resolve(&list, target)?;
        Ok(list
            .into_iter()
            .filter(|p| target::pm_id(p).is_some_and(|id| ids.contains(&id)))
            .collect())
    }

    pub async fn ping(&self) -> Result<Value> {
        self.call_one("ping", vec![json!({})]).await
    }

    pub async fn version(&self) -> Result<String> {
        Ok(match self.call_one("getVersion", vec![json!({})]).await? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    fn resolve_context(
        &self,
        cwd: &std::path::Path,
        client_env: &BTreeMap<String, String>,
        env_name: Option<&String>,
    ) -> ResolveContext {
        let module_conf = std::fs::read(&self.paths.module_conf)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| json!({}));
        ResolveContext {
            cwd: cwd.to_path_buf(),
            paths: self.paths.clone(),
            client_env: client_env.clone(),
            env_name: env_name.cloned(),
            module_conf,
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }

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
        match first_error {
            Some(e) => Err(e),
            None => Ok(out.into_iter().flatten().collect()),
        }
    }

    /// Sends `apps` to `prepareUnique` under `rule`; one answer per app, in
    /// order. Large lists go in several requests, each app's entries together
    /// (the entries of a dump that share a name are one app's instances).
    async fn prepare_unique(&self, apps: Vec<Value>, rule: Value) -> Result<Vec<Value>> {
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

    /// Applies `action` to every process `target` names.
    pub async fn act(
        &self,
        action: Action,
        target: &str,
        opts: &ActionOptions,
    ) -> Result<Vec<Value>> {
        let list = self.list().await?;
        let ids = target::resolve_in(&list, target, &opts.cwd)?;
        self.act_on_ids(action, &ids, &list, opts).await
    }

    /// Applies `action` to `ids`, resolved beforehand from `list` (which also
    /// supplies each process's stored env for restarts).
    pub async fn act_on_ids(
        &self,
        action: Action,
        ids: &[u64],
        list: &[Value],
        opts: &ActionOptions,
    ) -> Result<Vec<Value>> {
        let ctx = action
            .refreshes()
            .then(|| self.resolve_context(&opts.cwd, &opts.client_env, opts.env_name.as_ref()));
        let calls = ids.iter().map(|&id| {
            let args = match (action, &ctx) {
                (Action::Restart | Action::Reload | Action::GracefulReload, Some(ctx)) => {
                    let stored = list
                        .iter()
                        .find(|p| target::pm_id(p) == Some(id))
                        .and_then(|p| p.get("pm2_env")?.get("env")?.as_object().cloned())
                        .unwrap_or_default();
                    let env = if opts.update_env {
                        refreshed_env(id, &stored, list, opts, ctx)
                    } else {
                        Options::new()
                    };
                    let mut packet = json!({"id": id, "env": env});
                    for (k, v) in pm2_config::restart_options(&opts.overrides) {
                        if !k.starts_with("env")
                            && !matches!(k.as_str(), "script" | "name" | pm2_config::DEPLOY_ENV)
                        {
                            packet[k] = v;
                        }
                    }
                    vec![packet]
                }
                _ => vec![json!(id)],
            };
            async move {
                if action == Action::Stop {
                    // As PM2's client: a stop turns watching off, so a later
                    // restart does not watch again.
                    self.call("stopWatch", vec![json!("stopProcessId"), json!(id)])
                        .await?;
                }
                let res = self.call_one(action.method(), args).await?;
                if let Some(event) = action.notification() {
                    self.call(
                        "notifyByProcessId",
                        vec![json!({"id": id, "action_name": event, "manually": true})],
                    )
                    .await?;
                }
                Ok::<Value, Error>(res)
            }
        });
        let results: Vec<Result<Value>> = match opts.parallel {
            Some(n) => {
                use futures_util::stream::{self, StreamExt};
                // Collected first: a stream over the lazy map would not be Send.
                let calls: Vec<_> = calls.collect();
                stream::iter(calls).buffered(n).collect().await
            }
            None => join_all(calls).await,
        };
        results.into_iter().collect()
    }

    /// The names of the env variables of `ids` that a refresh with
    /// `--update-env` would add or change (what a refresh without it keeps
    /// as it was), sorted and each once.
    pub fn env_changes(
        &self,
        ids: &[u64],
        list: &[Value],
        opts: &ActionOptions,
    ) -> std::collections::BTreeSet<String> {
        let ctx = self.resolve_context(&opts.cwd, &opts.client_env, opts.env_name.as_ref());
        let mut names = std::collections::BTreeSet::new();
        for &id in ids {
            let stored = list
                .iter()
                .find(|p| target::pm_id(p) == Some(id))
                .and_then(|p| p.get("pm2_env")?.get("env")?.as_object().cloned())
                .unwrap_or_default();
            let fresh = refreshed_env(id, &stored, list, opts, &ctx);
            // What the app's process sees is text: `3000` and `"3000"` are one value.
            let as_env = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            names.extend(
                fresh
                    .into_iter()
                    .filter(|(k, v)| stored.get(k).map(as_env) != Some(as_env(v)))
                    .map(|(k, _)| k),
            );
        }
        names
    }

    /// Truncates the log files of `target` (all when `None`) and `pm2.log`.
    pub async fn flush(&self, target: Option<&str>) -> Result<()> {
        let list = self.list().await?;
        let ids = match target {
            Some(t) => target::resolve(&list, t)?,
            None => list.iter().filter_map(target::pm_id).collect(),
        };
        for p in list
            .iter()
            .filter(|p| target::pm_id(p).is_some_and(|id| ids.contains(&id)))
        {
            for key in ["pm_out_log_path", "pm_err_log_path", "pm_log_path"] {
                if let Some(path) = p["pm2_env"].get(key).and_then(Value::as_str) {
                    if path != "/dev/null" && std::path::Path::new(path).exists() {
                        std::fs::File::create(path)?;
                    }
                }
            }
        }
        if target.is_none() && self.paths.log_file.exists() {
            std::fs::File::create(&self.paths.log_file)?;
        }
        Ok(())
    }

    pub async fn reload_logs(&self) -> Result<()> {
        self.call("reloadLogs", vec![json!({})]).await.map(drop)
    }

    /// Saves the process list (modules excluded) to `dump.pm2`, keeping the
    /// previous one as `dump.pm2.bak`. Returns how many apps were saved.
    pub async fn dump(&self, force: bool) -> Result<usize> {
        let entries = pm2_config::dump::entries_from_list(&self.list().await?);
        if entries.is_empty() && !force {
            return Err(Error::Usage(
                "Nothing to save: no process running. Use --force to save an empty list".into(),
            ));
        }
        pm2_config::dump::write(&self.paths, &entries)?;
        Ok(entries.len())
    }

    /// Starts every app of the dump that is not in the process list, as PM2
    /// does (an app whose name is there already is left as it is). The
    /// daemon checks and creates in one step, so concurrent resurrects never
    /// start an app twice. An app that fails to start is reported and the
    /// others still start, as in PM2.
    pub async fn resurrect(&self) -> Result<Resurrected> {
        let apps = pm2_config::dump::read(&self.paths).map_err(Error::Usage)?;
        let names: Vec<String> = apps
            .iter()
            .map(|a| {
                a.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let answers = self.prepare_unique(apps, json!({"match": "name"})).await?;
        let mut out = Resurrected::default();
        for (name, answer) in names.into_iter().zip(answers) {
            if let Some(created) = answer.get("created") {
                out.started.extend(procs_of(created.clone()));
            } else if let Some(error) = answer.get("error") {
                let error = error
                    .as_str()
                    .map_or_else(|| error.to_string(), str::to_string);
                out.failed.push(ResurrectFailure { name, error });
            }
        }
        Ok(out)
    }

    /// Stops every process, modules included, then the daemon itself.
    pub async fn kill_daemon(&self) -> Result<()> {
        self.rpc.notify("notifyKillPM2", vec![json!({})]).await?;
        let list = self.list().await?;
        let deletes = list
            .iter()
            .filter_map(target::pm_id)
            .map(|id| self.call("deleteProcessId", vec![json!(id)]));
        for r in join_all(deletes).await {
            r?;
        }
        let daemon_pid = std::fs::read_to_string(&self.paths.pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            // A daemon inside this very process (`connect(true)`) ends with it.
            .filter(|&pid| pid as u32 != std::process::id());
        // No pid: this client waits for the socket to close instead of a SIGQUIT.
        let _ = self.rpc.notify("killMe", vec![json!({})]).await;
        let gone = async {
            self.rpc.closed().await;
            // The socket closes a moment before the process ends; callers
            // (`pm2 kill && …`) expect the daemon to be gone.
            while let Some(pid) = daemon_pid {
                if !process_running(pid) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), gone).await;
        Ok(())
    }

    pub async fn send_signal(&self, signal: &str, target: &str) -> Result<()> {
        for id in self.ids(target).await? {
            self.call(
                "sendSignalToProcessId",
                vec![json!({"process_id": id, "signal": signal})],
            )
            .await?;
        }
        Ok(())
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

/// The processes of a `prepare` answer (a list, or one process).
/// The string at `key` of a JSON object.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn procs_of(answer: Value) -> Vec<Value> {
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

/// True while `pid` exists and has not exited: an exited daemon stays a
/// zombie until its parent (init, after the launcher's double fork) reaps
/// it, which can take long or, under a PID 1 that never reaps, forever.
fn process_running(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    // Unreadable (another user's process on a locked-down host): it exists.
    pm2_proc::stat(pid as u32).is_none_or(|st| !st.exited)
}

/// The env process `id` gets from a refresh with `--update-env`: its stored
/// env, then the caller's and the app's options over it.
fn refreshed_env(
    id: u64,
    stored: &Options,
    list: &[Value],
    opts: &ActionOptions,
    ctx: &ResolveContext,
) -> Options {
    // The app's name selects its module config (`pm2 set app:key`).
    let mut app = opts.overrides.clone();
    if !app.contains_key("name") {
        if let Some(name) = list
            .iter()
            .find(|p| target::pm_id(p) == Some(id))
            .and_then(|p| p.get("name"))
        {
            app.insert("name".into(), name.clone());
        }
    }
    pm2_config::updated_env(stored, &app, ctx)
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
