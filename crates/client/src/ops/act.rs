//! Acting on processes: stop, restart, reload, delete, reset; signals,
//! log files.

use super::env::refreshed_env;
use super::Client;
use crate::error::{Error, Result};
use crate::target;
use futures_util::future::join_all;
use pm2_config::Options;
use serde_json::{json, Value};
use std::path::PathBuf;

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

    /// The RPC method that carries the action out.
    pub fn method(self) -> &'static str {
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
    pub client_env: pm2_config::ClientEnv,
    pub env_name: Option<String>,
    pub cwd: PathBuf,
    /// App options to merge into the process (an ecosystem entry, `pm2 set` values).
    pub overrides: Options,
    /// How many processes are acted on at once (`--parallel`); all at once when unset.
    pub parallel: Option<usize>,
}

impl Client {
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
}
