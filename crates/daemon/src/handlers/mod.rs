//! PM2's RPC methods: argument shapes in, reply arguments out.
//!
//! [`METHODS`] maps each method's name to its handler, one file per group
//! of methods; the `methods` introspection reply is derived from it. A new
//! method is its handler, its line in the table and, if it needs the process
//! table, the `Actor` method the handler runs (`d.supervisor.query`/`call`).

mod args;
mod daemon;
mod duplicate;
mod messages;
mod processes;
mod watch;
mod web;

use crate::supervisor::Supervisor;
use crate::Daemon;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

/// One call as its handler gets it.
pub struct Call<'a> {
    pub daemon: &'a Daemon,
    pub method: &'a str,
    pub args: &'a [Value],
    /// The pid of the client on the other end (SO_PEERCRED), when known.
    pub requester: Option<i32>,
}

impl<'a> Call<'a> {
    fn first(&self) -> Option<&'a Value> {
        self.args.first()
    }

    fn sup(&self) -> &'a Supervisor {
        &self.daemon.supervisor
    }
}

/// A reply's arguments (after the error slot).
pub enum Reply {
    Values(Vec<Value>),
    /// One argument, already serialized into its frame: the process list,
    /// which can be megabytes and is written straight from the process table.
    Json(pm2_wire::rpc::JsonReply),
    /// No reply at all (`killMe`: the client learns from the closed socket).
    Silent,
}

type Answer = Result<Reply, String>;

/// One reply argument.
fn one(v: Value) -> Answer {
    Ok(Reply::Values(vec![v]))
}

/// A reply with no argument after the error slot.
fn none() -> Answer {
    Ok(Reply::Values(vec![]))
}

type Handler = for<'a> fn(Call<'a>) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// A method: its name, the parameter names the `methods` request lists
/// (`None`: ours, not PM2's, so not listed), and its handler.
pub struct Method {
    pub name: &'static str,
    pub params: Option<&'static [&'static str]>,
    handler: Handler,
}

/// `method!("name", [params], handler)` for PM2's methods (listed by
/// `methods`, in PM2's order); `method!("name", ours, handler)` for the
/// daemon's own.
macro_rules! method {
    ($name:literal, [$($param:literal),*], $handler:path) => {
        method!(@ $name, Some(&[$($param),*]), $handler)
    };
    ($name:literal, ours, $handler:path) => {
        method!(@ $name, None, $handler)
    };
    (@ $name:literal, $params:expr, $handler:path) => {
        Method { name: $name, params: $params, handler: |c| Box::pin($handler(c)) }
    };
}

// One line per method, however long.
#[rustfmt::skip]
pub const METHODS: &[Method] = &[
    method!("killMe", [], daemon::kill_me),
    method!("profileCPU", [], daemon::profile),
    method!("profileMEM", [], daemon::profile),
    method!("prepare", ["env", "cb"], processes::prepare),
    method!("getMonitorData", ["env", "cb"], processes::list),
    method!("getSystemData", ["env", "cb"], daemon::system_data),
    method!("startProcessId", ["id", "cb"], processes::start),
    method!("stopProcessId", ["id", "cb"], processes::stop),
    method!("restartProcessId", ["opts", "cb"], processes::restart),
    method!("deleteProcessId", ["id", "cb"], processes::delete),
    method!("sendLineToStdin", ["packet", "cb"], messages::line_to_stdin),
    method!("softReloadProcessId", ["opts", "cb"], processes::soft_reload),
    method!("reloadProcessId", ["opts", "cb"], processes::reload),
    method!("duplicateProcessId", ["id", "cb"], processes::duplicate),
    method!("resetMetaProcessId", ["id", "cb"], processes::reset),
    method!("stopWatch", ["method", "value", "fn"], watch::stop),
    method!("startWatch", ["method", "value", "fn"], watch::start),
    method!("toggleWatch", ["method", "value", "fn"], watch::toggle),
    method!("notifyByProcessId", ["opts", "cb"], messages::notify),
    method!("notifyKillPM2", [], daemon::block_restarts),
    method!("monitor", ["pm_id", "cb"], messages::monitor),
    method!("unmonitor", ["pm_id", "cb"], messages::unmonitor),
    method!("msgProcess", ["cmd", "cb"], messages::msg_process),
    method!("sendDataToProcessId", ["packet", "cb"], messages::send_data),
    method!("sendSignalToProcessId", ["opts", "cb"], messages::signal_id),
    method!("sendSignalToProcessName", ["opts", "cb"], messages::signal_name),
    method!("ping", ["env", "cb"], daemon::ping),
    method!("getVersion", ["env", "cb"], daemon::version),
    method!("getReport", ["arg", "cb"], daemon::report),
    method!("reloadLogs", ["opts", "cb"], daemon::reload_logs),
    method!("prepareUnique", ours, processes::prepare_unique),
    method!("waitBooted", ours, processes::wait_booted),
    method!("listTable", ours, processes::list_table),
    method!("handoverStatus", ours, daemon::handover_status),
    method!("execInPlace", ours, daemon::exec_in_place),
    method!("webStart", ours, web::start),
    method!("webStop", ours, web::stop),
    method!("webNewToken", ours, web::new_token),
];

/// What the `methods` request answers: PM2's methods with their parameters.
pub fn methods_reply() -> Value {
    let methods: Map<String, Value> = METHODS
        .iter()
        .filter_map(|m| Some((m.name, m.params?)))
        .map(|(name, params)| (name.to_string(), json!({"name": name, "params": params})))
        .collect();
    json!({ "methods": methods })
}

pub async fn dispatch(call: Call<'_>) -> Answer {
    match METHODS.iter().find(|m| m.name == call.method) {
        Some(m) => (m.handler)(call).await,
        None => Err(format!("method \"{}\" does not exist", call.method)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_in_the_table_once() {
        let mut names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a name registered twice");
    }

    #[test]
    fn the_methods_reply_is_pm2_s_own() {
        // What PM2 7.0.4's daemon answers to `{"type":"methods"}`.
        let pm2 = r#"{"methods":{"killMe":{"name":"killMe","params":[]},"profileCPU":{"name":"profileCPU","params":[]},"profileMEM":{"name":"profileMEM","params":[]},"prepare":{"name":"prepare","params":["env","cb"]},"getMonitorData":{"name":"getMonitorData","params":["env","cb"]},"getSystemData":{"name":"getSystemData","params":["env","cb"]},"startProcessId":{"name":"startProcessId","params":["id","cb"]},"stopProcessId":{"name":"stopProcessId","params":["id","cb"]},"restartProcessId":{"name":"restartProcessId","params":["opts","cb"]},"deleteProcessId":{"name":"deleteProcessId","params":["id","cb"]},"sendLineToStdin":{"name":"sendLineToStdin","params":["packet","cb"]},"softReloadProcessId":{"name":"softReloadProcessId","params":["opts","cb"]},"reloadProcessId":{"name":"reloadProcessId","params":["opts","cb"]},"duplicateProcessId":{"name":"duplicateProcessId","params":["id","cb"]},"resetMetaProcessId":{"name":"resetMetaProcessId","params":["id","cb"]},"stopWatch":{"name":"stopWatch","params":["method","value","fn"]},"startWatch":{"name":"startWatch","params":["method","value","fn"]},"toggleWatch":{"name":"toggleWatch","params":["method","value","fn"]},"notifyByProcessId":{"name":"notifyByProcessId","params":["opts","cb"]},"notifyKillPM2":{"name":"notifyKillPM2","params":[]},"monitor":{"name":"monitor","params":["pm_id","cb"]},"unmonitor":{"name":"unmonitor","params":["pm_id","cb"]},"msgProcess":{"name":"msgProcess","params":["cmd","cb"]},"sendDataToProcessId":{"name":"sendDataToProcessId","params":["packet","cb"]},"sendSignalToProcessId":{"name":"sendSignalToProcessId","params":["opts","cb"]},"sendSignalToProcessName":{"name":"sendSignalToProcessName","params":["opts","cb"]},"ping":{"name":"ping","params":["env","cb"]},"getVersion":{"name":"getVersion","params":["env","cb"]},"getReport":{"name":"getReport","params":["arg","cb"]},"reloadLogs":{"name":"reloadLogs","params":["opts","cb"]}}}"#;
        assert_eq!(methods_reply().to_string(), pm2);
    }
}
