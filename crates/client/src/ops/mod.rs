//! The operations a user asks for, as sequences of daemon calls: starting
//! apps (`start`), acting on processes (`act`), the env a refresh gives
//! (`env`), saving and restoring the list and ending the daemon (`daemon`).

mod act;
mod daemon;
mod env;
mod start;

pub use act::{Action, ActionOptions};
pub use daemon::{ResurrectFailure, Resurrected};
pub use start::{StartOptions, Started};

use crate::error::{Error, Result};
use crate::rpc::RpcClient;
use crate::target;
use pm2_config::{Paths, ResolveContext};
use serde_json::{json, Value};

pub struct Client {
    pub paths: Paths,
    rpc: RpcClient,
    launched: bool,
}

impl Client {
    /// A client over a connection made (see `connect.rs`).
    pub(crate) fn new(paths: Paths, rpc: RpcClient, launched: bool) -> Client {
        Client {
            paths,
            rpc,
            launched,
        }
    }

    /// True when this connection started the daemon.
    pub fn launched_daemon(&self) -> bool {
        self.launched
    }

    /// A raw RPC call: the reply's arguments after the error slot.
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Vec<Value>> {
        self.rpc.call(method, args).await
    }

    pub(crate) async fn call_one(&self, method: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self
            .call(method, args)
            .await?
            .into_iter()
            .next()
            .unwrap_or(Value::Null))
    }

    /// The process list as the daemon's JSON text, unparsed (`pm2 jlist`):
    /// checked as JSON, and cut out of the reply in place.
    pub async fn list_json(&self) -> Result<Vec<u8>> {
        let mut body = self.rpc.call_raw("getMonitorData", vec![json!({})]).await?;
        let span = pm2_wire::rpc::reply_arg_span(&body).map_err(Error::Remote)?;
        let Some(span) = span else {
            return Ok(b"[]".to_vec());
        };
        body.truncate(span.end);
        body.drain(..span.start);
        Ok(body)
    }

    /// The list with only what a table of the processes shows (`pm2 ls`):
    /// a few hundred bytes an app instead of its whole env. The whole list
    /// from a daemon that does not have `listTable`.
    pub async fn list_table(&self) -> Result<Vec<Value>> {
        match self.call_one("listTable", vec![json!({})]).await {
            Ok(Value::Array(list)) => Ok(list),
            Ok(_) => Ok(Vec::new()),
            Err(Error::Remote(e)) if e == "method \"listTable\" does not exist" => {
                self.list().await
            }
            Err(e) => Err(e),
        }
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

    /// How user options resolve for a request made from `cwd`.
    fn resolve_context(
        &self,
        cwd: &std::path::Path,
        client_env: &pm2_config::ClientEnv,
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
}
