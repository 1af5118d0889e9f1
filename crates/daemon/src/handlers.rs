//! PM2's RPC methods: argument shapes in, reply arguments out.

mod duplicate;

use crate::watch::Switch;
use crate::Daemon;
use serde_json::{json, Map, Value};

/// Every method PM2's daemon exposes, with its parameter names, for the
/// `methods` introspection request.
pub const METHODS: &[(&str, &[&str])] = &[
    ("killMe", &["opts", "cb"]),
    ("profileCPU", &["opts", "cb"]),
    ("profileMEM", &["opts", "cb"]),
    ("prepare", &["app", "cb"]),
    ("getMonitorData", &["env", "cb"]),
    ("getSystemData", &["env", "cb"]),
    ("startProcessId", &["id", "cb"]),
    ("stopProcessId", &["id", "cb"]),
    ("restartProcessId", &["opts", "cb"]),
    ("deleteProcessId", &["id", "cb"]),
    ("softReloadProcessId", &["opts", "cb"]),
    ("reloadProcessId", &["opts", "cb"]),
    ("duplicateProcessId", &["id", "cb"]),
    ("resetMetaProcessId", &["id", "cb"]),
    ("sendLineToStdin", &["packet", "cb"]),
    ("stopWatch", &["method", "value", "cb"]),
    ("startWatch", &["method", "value", "cb"]),
    ("toggleWatch", &["method", "value", "cb"]),
    ("notifyByProcessId", &["opts", "cb"]),
    ("notifyKillPM2", &[]),
    ("monitor", &["pm_id", "cb"]),
    ("unmonitor", &["pm_id", "cb"]),
    ("msgProcess", &["cmd", "cb"]),
    ("sendDataToProcessId", &["packet", "cb"]),
    ("sendSignalToProcessId", &["opts", "cb"]),
    ("sendSignalToProcessName", &["opts", "cb"]),
    ("ping", &["cb"]),
    ("getVersion", &["cb"]),
    ("getReport", &["arg", "cb"]),
    ("reloadLogs", &["opts", "cb"]),
];

pub fn methods_reply() -> Value {
    let methods: Map<String, Value> = METHODS
        .iter()
        .map(|(name, params)| (name.to_string(), json!({"name": name, "params": params})))
        .collect();
    json!({ "methods": methods })
}

/// A process id given as a number, a numeric string, or `{id}`.
fn id_arg(v: Option<&Value>) -> Result<u64, String> {
    let v = v.ok_or("missing process id")?;
    let inner = match v {
        Value::Object(o) => o.get("id").unwrap_or(&Value::Null),
        other => other,
    };
    inner
        .as_u64()
        .or_else(|| inner.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("{} : id unknown", display(inner)))
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn object_arg(v: Option<&Value>, method: &str) -> Result<Map<String, Value>, String> {
    match v {
        Some(Value::Object(o)) => Ok(o.clone()),
        _ => Err(format!("{method} expects an object argument")),
    }
}

/// The options a restart or reload carries besides the id.
fn restart_update(opts: Map<String, Value>) -> Map<String, Value> {
    opts.into_iter().filter(|(k, _)| k != "id").collect()
}

/// Checks a `killMe` request and returns the pid to notify with SIGQUIT once
/// the daemon is down, as PM2's daemon notifies the client that asked.
///
/// The pid is checked as a number before anything else: a value such as
/// 4294967295 must never become `kill(-1, …)`. Only the pid of the process on
/// the other end of this very connection (`requester`, from SO_PEERCRED) may
/// be signalled; any other pid refuses the whole request.
pub fn kill_request(args: &[Value], requester: Option<i32>) -> Result<Option<i32>, String> {
    let Some(raw) = args
        .first()
        .and_then(|o| o.get("pid"))
        .filter(|p| !p.is_null())
    else {
        return Ok(None);
    };
    let pid = match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .and_then(|n| i32::try_from(n).ok())
    .filter(|&n| n > 0)
    .ok_or_else(|| format!("killMe refused: pid {} is not a process id", display(raw)))?;
    if pid == std::process::id() as i32 {
        return Ok(None);
    }
    if Some(pid) != requester {
        return Err(format!(
            "killMe refused: pid {pid} is not the requesting process; a client may only ask to be notified itself"
        ));
    }
    Ok(Some(pid))
}

/// The processes a `stopWatch`/`startWatch`/`toggleWatch` call names, as
/// PM2's client sends them: `(method, value)` where the method is the action
/// under way (`stopProcessId` with an id, `restartProcessId` with `{id}`,
/// `…ProcessName` with a name, `stopAll`/`deleteAll` for every process).
async fn watch_targets(d: &Daemon, args: &[Value]) -> Result<Vec<u64>, String> {
    let method = args.first().and_then(Value::as_str).unwrap_or_default();
    let value = args.get(1);
    if method == "stopAll" || method == "deleteAll" {
        return d.supervisor.ids().await;
    }
    if method.contains("ProcessName") {
        let name = value.map(display).unwrap_or_default();
        let list = d.supervisor.list().await?;
        return Ok(list
            .iter()
            .filter(|p| p["name"].as_str() == Some(name.as_str()))
            .filter_map(|p| p["pm_id"].as_u64())
            .collect());
    }
    Ok(id_arg(value).map(|id| vec![id]).unwrap_or_default())
}

/// What `getReport` tells about the daemon, for `pm2 report`.
async fn report(d: &Daemon) -> Result<Value, String> {
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(json!({
        "pm2_version": crate::VERSION,
        "node_version": "N/A",
        "daemon": "rust",
        "pid": std::process::id(),
        "pm2_home": d.paths.home,
        "user": user,
        "uid": uid.as_raw(),
        "gid": nix::unistd::getgid().as_raw(),
        "argv": std::env::args().collect::<Vec<_>>(),
        "processes": d.supervisor.ids().await?.len(),
        "security": crate::exposure::warnings(&d.paths),
        "web": d.web.current(),
    }))
}

/// A reply's arguments (after the error slot).
pub enum Reply {
    Values(Vec<Value>),
    /// One argument, already serialized: the process list, which can be
    /// megabytes and is written straight from the process table.
    Json(String),
}

pub async fn dispatch(d: &Daemon, method: &str, args: &[Value]) -> Result<Reply, String> {
    let sup = &d.supervisor;
    let first = args.first();
    let one = |v: Value| Ok(Reply::Values(vec![v]));
    let none = || Ok(Reply::Values(vec![]));
    match method {
        "ping" => one(json!({"msg": "pong"})),
        "getVersion" => one(json!(crate::VERSION)),
        "handoverStatus" => one(d.handover_status()),
        "execInPlace" => {
            let binary = first
                .and_then(|a| a.get("binary"))
                .and_then(Value::as_str)
                .ok_or("execInPlace expects {binary}")?;
            d.exec_in_place(binary.into()).await?;
            none()
        }
        "getMonitorData" => Ok(Reply::Json(sup.list_json().await?)),
        "getSystemData" => one(Value::Object(d.host.snapshot())),
        "getReport" => one(report(d).await?),
        "prepare" => {
            let app = object_arg(first, "prepare")?;
            one(Value::Array(sup.prepare(app).await?))
        }
        // Ours: check-and-create, so concurrent starts and resurrects never
        // create an app twice (PM2's own clients send `prepare`).
        "prepareUnique" => one(sup.prepare_unique(args).await?),
        "startProcessId" => one(sup.start_process(id_arg(first)?).await?),
        "stopProcessId" => one(sup.stop(id_arg(first)?).await?),
        "restartProcessId" | "reloadProcessId" | "softReloadProcessId" => {
            let id = id_arg(first)?;
            let update = match first {
                Some(Value::Object(o)) => restart_update(o.clone()),
                _ => Map::new(),
            };
            match method {
                "restartProcessId" => one(sup.restart(id, update).await?),
                graceful => one(sup
                    .reload(id, update, graceful == "softReloadProcessId")
                    .await?),
            }
        }
        "deleteProcessId" => one(sup.delete(id_arg(first)?).await?),
        "resetMetaProcessId" => one(sup.reset(id_arg(first)?).await?),
        "duplicateProcessId" => {
            let source = sup.get(id_arg(first)?).await?;
            let env = duplicate::app_of(source["pm2_env"].as_object().cloned().unwrap_or_default());
            one(Value::Array(sup.prepare(env).await?))
        }
        "sendLineToStdin" => {
            let packet = object_arg(first, method)?;
            let id = id_arg(packet.get("pm_id"))?;
            let line = packet.get("line").map(display).unwrap_or_default();
            sup.send_line(id, line).await?;
            one(json!({"success": true}))
        }
        "stopWatch" | "startWatch" | "toggleWatch" => {
            let change = match method {
                "stopWatch" => Switch::Off,
                "startWatch" => Switch::On,
                _ => Switch::Toggle,
            };
            one(sup.set_watch(watch_targets(d, args).await?, change).await?)
        }
        "notifyByProcessId" => {
            let opts = object_arg(first, method)?;
            if let Ok(id) = id_arg(opts.get("id")) {
                let event = opts.get("action_name").map(display).unwrap_or_default();
                let manually = opts
                    .get("manually")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                sup.notify(id, event, manually);
            }
            none()
        }
        "monitor" | "unmonitor" => {
            let id = id_arg(first)?;
            sup.set_monitored(id, method == "monitor").await?;
            one(json!({"success": true, "pm_id": id}))
        }
        "msgProcess" => {
            let cmd = object_arg(first, method)?;
            let msg = match (cmd.get("opts"), cmd.get("uuid")) {
                (None, None) => cmd.get("msg").cloned().unwrap_or(Value::Null),
                _ => Value::Object(cmd.clone()),
            };
            one(sup.msg_process(Value::Object(cmd), msg).await?)
        }
        "sendDataToProcessId" => one(sup.send_data(first.cloned().unwrap_or(Value::Null)).await?),
        "sendSignalToProcessId" => {
            let opts = object_arg(first, method)?;
            let id = id_arg(opts.get("process_id"))?;
            let signal = opts.get("signal").map(display).unwrap_or_default();
            sup.send_signal(id, signal).await?;
            one(sup.get(id).await?)
        }
        "sendSignalToProcessName" => {
            let opts = object_arg(first, method)?;
            let name = opts.get("process_name").map(display).unwrap_or_default();
            let signal = opts.get("signal").map(display).unwrap_or_default();
            let list = sup.list().await?;
            let ids: Vec<u64> = list
                .iter()
                .filter(|p| p["name"].as_str() == Some(name.as_str()))
                .filter_map(|p| p["pm_id"].as_u64())
                .collect();
            if ids.is_empty() {
                return Err(format!("Process name {name} not found"));
            }
            for id in &ids {
                sup.send_signal(*id, signal.clone()).await?;
            }
            one(json!({"success": true}))
        }
        "reloadLogs" => {
            sup.reload_logs();
            one(json!({"success": true}))
        }
        "notifyKillPM2" => {
            sup.block_restarts().await;
            none()
        }
        // Ours, not PM2's: `pm2 web` and `pm2 web stop`.
        "webStart" => {
            let config = crate::web::WebConfig::from_request(first)?;
            let new_token = first.is_some_and(|v| v["newToken"] == true);
            one(json!(crate::web::start(d, config, new_token).await?))
        }
        "webStop" => one(json!({"stopped": crate::web::stop(d)})),
        "webNewToken" => one(crate::web::new_token(d).await?),
        // Ours: answers once the Node apps just started have booted, or after
        // the given milliseconds (at most 10 s); the CLI's table waits on it.
        "waitBooted" => {
            let ms = first.and_then(Value::as_u64).unwrap_or(1000).min(10_000);
            sup.wait_booted(std::time::Duration::from_millis(ms))
                .await?;
            none()
        }
        "profileCPU" | "profileMEM" => Err(format!(
            "{method} is not available: the daemon is not a Node process"
        )),
        other => Err(format!("method \"{other}\" does not exist")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_request_notifies_only_the_requester_and_checks_numbers_first() {
        let me = std::process::id() as i32;
        assert_eq!(kill_request(&[json!({})], Some(42)), Ok(None));
        assert_eq!(kill_request(&[], None), Ok(None));
        assert_eq!(kill_request(&[json!({"pid": 42})], Some(42)), Ok(Some(42)));
        assert_eq!(
            kill_request(&[json!({"pid": "42"})], Some(42)),
            Ok(Some(42))
        );
        assert_eq!(kill_request(&[json!({"pid": me})], Some(42)), Ok(None));
        for bad in [
            json!(4294967295u64),
            json!(-1),
            json!(0),
            json!(1.5),
            json!("x"),
            json!(-4294967295i64),
        ] {
            let err = kill_request(&[json!({ "pid": bad })], Some(42)).unwrap_err();
            assert!(err.contains("is not a process id"), "{bad}: {err}");
        }
        let err = kill_request(&[json!({"pid": 1})], Some(42)).unwrap_err();
        assert!(err.contains("not the requesting process"), "{err}");
        assert!(kill_request(&[json!({"pid": 42})], None).is_err());
    }
}
