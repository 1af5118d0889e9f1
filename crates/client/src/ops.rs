//! The operations a user asks for, as sequences of daemon calls.

use crate::error::{Error, Result};
use crate::launcher;
use crate::rpc::RpcClient;
use crate::target;
use futures_util::future::join_all;
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
        let ctx = self.resolve_context(&opts.cwd, &opts.client_env, opts.env_name.as_ref());
        let wanted = |app: &Options| {
            opts.only.is_empty()
                || app
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| opts.only.iter().any(|o| o == n))
        };
        let resolved: Vec<(Options, Options)> = apps
            .into_iter()
            .filter(|a| wanted(a))
            .map(|raw| pm2_config::resolve_app(&raw, &ctx).map(|r| (raw, r)))
            .collect::<Result<_, _>>()?;
        let list = self.list().await?;
        // Decide every app's step first, so a refusal starts nothing.
        let mut steps = Vec::new();
        for (raw, app) in resolved {
            let name = app.get("name").and_then(Value::as_str).unwrap_or_default();
            let same_name: Vec<u64> = list
                .iter()
                .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
                .filter_map(target::pm_id)
                .collect();
            if opts.restart_existing && !same_name.is_empty() {
                steps.push(StartStep::Restart(same_name, raw));
                continue;
            }
            // As in PM2: the same script under the same name is the same app.
            // Stopped (or errored) it is started again; running it is refused
            // unless forced. Under another name it is a new process.
            let exec_path = app.get("pm_exec_path");
            let same_app: Vec<&Value> = list
                .iter()
                .filter(|p| {
                    exec_path.is_some()
                        && p.get("pm2_env").and_then(|e| e.get("pm_exec_path")) == exec_path
                        && p.get("name").and_then(Value::as_str) == Some(name)
                })
                .collect();
            if !same_app.is_empty() && !opts.force {
                let down = |p: &&Value| {
                    let status = p
                        .get("pm2_env")
                        .and_then(|e| e.get("status"))
                        .and_then(Value::as_str);
                    matches!(status, Some("stopped" | "stopping" | "errored"))
                };
                if same_app.iter().all(down) {
                    let ids = same_app.iter().copied().filter_map(target::pm_id).collect();
                    steps.push(StartStep::Restart(ids, raw));
                    continue;
                }
                return Err(Error::AlreadyLaunched);
            }
            steps.push(StartStep::Prepare(app));
        }
        // Pipelined on one connection: the daemon takes the requests in order
        // (so ids follow the file), without a round trip per app, which costs
        // dearly while the apps started just before compete for the CPU.
        let list = &list;
        let calls = steps.into_iter().map(|step| async move {
            match step {
                StartStep::Restart(ids, raw) => {
                    let act = ActionOptions {
                        update_env: true,
                        client_env: opts.client_env.clone(),
                        env_name: opts.env_name.clone(),
                        cwd: opts.cwd.clone(),
                        overrides: raw,
                    };
                    self.act_on_ids(Action::Restart, &ids, list, &act).await
                }
                StartStep::Prepare(app) => {
                    match self.call_one("prepare", vec![Value::Object(app)]).await? {
                        Value::Array(procs) => Ok(procs),
                        other => Ok(vec![other]),
                    }
                }
            }
        });
        let mut out = Vec::new();
        for result in join_all(calls).await {
            out.extend(result?);
        }
        Ok(out)
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
                        pm2_config::updated_env(&stored, &app, ctx)
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
        let results = join_all(calls).await;
        results.into_iter().collect()
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

    /// Starts the apps saved by [`Client::dump`] that are not already running.
    /// Starts every app of the dump that is not running yet. An app that
    /// fails to start is reported and the others still start, as in PM2.
    pub async fn resurrect(&self) -> Result<Resurrected> {
        let apps = pm2_config::dump::read(&self.paths).map_err(Error::Usage)?;
        let list = self.list().await?;
        let mut out = Resurrected::default();
        for app in apps {
            let name = app.get("name").and_then(Value::as_str).map(str::to_string);
            if list
                .iter()
                .any(|p| p.get("name").and_then(Value::as_str) == name.as_deref())
            {
                continue;
            }
            match self.call_one("prepare", vec![app]).await {
                Ok(Value::Array(procs)) => out.started.extend(procs),
                Ok(other) => out.started.push(other),
                Err(Error::Remote(e)) => out.failed.push(ResurrectFailure {
                    name: name.unwrap_or_default(),
                    error: e,
                }),
                Err(e) => return Err(e),
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

/// What `start` does for one app of the list.
enum StartStep {
    /// Restart the running processes of that name with the app's options.
    Restart(Vec<u64>, Options),
    /// Launch the resolved app.
    Prepare(Options),
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
