//! What the dashboard's buttons do: the daemon's own operations on one
//! process, answered with what happened or the daemon's error, as the CLI
//! would print it.

use crate::bus::Bus;
use crate::supervisor::Supervisor;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// How long a custom action's reply is awaited.
const REPLY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
pub struct Asked {
    pub action: String,
    pub id: u64,
    /// A custom action's name (`trigger`), or its parameter.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}

/// A short account of the process after the action, for the page to show.
fn outcome(action: &str, p: &Value) -> Value {
    json!({
        "action": action,
        "id": p["pm_id"],
        "name": p["name"],
        "status": p["pm2_env"]["status"],
        "pid": p["pid"],
    })
}

pub async fn run(sup: &Supervisor, bus: &Bus, asked: Asked) -> Result<Value, String> {
    let id = asked.id;
    let done = match asked.action.as_str() {
        "restart" => sup.restart(id, Map::new()).await?,
        "reload" => sup.reload(id, Map::new(), false).await?,
        "stop" => sup.stop(id).await?,
        "start" => sup.start_process(id).await?,
        "delete" => sup.delete(id).await?,
        "flush" => return flush(sup, id).await,
        "trigger" => return trigger(sup, bus, id, asked.name, asked.param).await,
        other => {
            return Err(format!(
                "unknown action \"{other}\": the dashboard does restart, reload, stop, start, delete, flush and trigger"
            ))
        }
    };
    Ok(outcome(&asked.action, &done))
}

/// Empties the app's log files, as `pm2 flush <id>` does.
async fn flush(sup: &Supervisor, id: u64) -> Result<Value, String> {
    let p = sup.get(id).await?;
    let paths: Vec<String> = ["pm_out_log_path", "pm_err_log_path", "pm_log_path"]
        .iter()
        .filter_map(|k| p["pm2_env"][k].as_str())
        .filter(|path| *path != "/dev/null")
        .map(str::to_string)
        .collect();
    let flushed = tokio::task::spawn_blocking(move || {
        let mut flushed = Vec::new();
        for path in paths {
            if std::path::Path::new(&path).exists() {
                std::fs::File::create(&path).map_err(|e| format!("cannot flush {path}: {e}"))?;
                flushed.push(path);
            }
        }
        Ok::<_, String>(flushed)
    })
    .await
    .map_err(|e| e.to_string())??;
    let mut r = outcome("flush", &p);
    r["flushed"] = json!(flushed);
    Ok(r)
}

/// Runs the app's custom action `name` with `param`, as `pm2 trigger`, and
/// waits for its reply.
async fn trigger(
    sup: &Supervisor,
    bus: &Bus,
    id: u64,
    name: Option<String>,
    param: Option<String>,
) -> Result<Value, String> {
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("trigger needs the action's name")?;
    // Listening before asking, so no reply comes before we listen.
    let mut replies = bus.listen(
        16,
        Box::new(move |event, payload| {
            (event == "axm:reply" || event == "process:event")
                && payload["process"]["pm_id"].as_u64() == Some(id)
        }),
    );
    let mut cmd = json!({"id": id, "msg": name});
    if let Some(p) = &param {
        cmd["opts"] = json!(p);
    }
    let msg = if param.is_some() {
        cmd.clone()
    } else {
        json!(name)
    };
    sup.msg_process(cmd, msg).await?;
    let wait = async {
        while let Some((event, packet)) = replies.events.recv().await {
            if event == "axm:reply" && packet["data"]["action_name"] == name.as_str() {
                return Ok(packet["data"]["return"].clone());
            }
            if event == "process:event" && packet["event"] == "exit" {
                return Err(format!("process {id} exited before replying to {name}"));
            }
        }
        Err("the daemon's bus closed".to_string())
    };
    let answer = tokio::time::timeout(REPLY_WAIT, wait)
        .await
        .map_err(|_| format!("process {id} did not reply to {name} within 10 s"))??;
    Ok(json!({"action": "trigger", "id": id, "name": name, "return": answer}))
}
