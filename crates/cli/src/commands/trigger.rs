//! `pm2 trigger <id|name|namespace|all> <action> [param]`: runs an action an
//! app registered (`axm_actions`) and prints each process's reply, as PM2 does.

use super::{connect, Ctx, Failure, Outcome};
use crate::output;
use pm2_client::bus::BusClient;
use serde_json::{json, Value};

const NONE_RECEIVED: &str = "Not any process has received a command (offline or unexistent)";

pub async fn trigger(ctx: &Ctx, target: &str, action: &str, param: Option<String>) -> Outcome {
    let client = connect(ctx, true).await?;
    // Subscribed before the call, so no reply can come before we listen.
    let mut bus = BusClient::connect(&client.paths.pub_sock)
        .await
        .map_err(|e| Failure::Error(format!("Cannot connect to the PM2 bus: {e}")))?;
    let mut msg = json!({ "msg": action });
    match target.parse::<u64>() {
        Ok(id) => msg["id"] = json!(id),
        Err(_) => msg["name"] = json!(target),
    }
    if let Some(p) = param {
        msg["opts"] = json!(p);
    }
    // The processes the daemon can pick, by its rule: their replies are the ones awaited.
    let candidates: Vec<u64> = client
        .list()
        .await?
        .iter()
        .filter(|p| targets(target, p))
        .filter_map(pm2_client::target::pm_id)
        .collect();
    let reply = client
        .call("msgProcess", vec![msg])
        .await
        .map_err(|e| Failure::Plain(e.to_string()))?;
    let expected = reply
        .first()
        .and_then(|r| r.get("process_count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if expected == 0 {
        return Err(Failure::Plain(NONE_RECEIVED.into()));
    }
    output::line(&output::bold(&format!(
        "{expected} processes have received command {action}"
    )));
    let mut seen = 0;
    while seen < expected {
        let Some((event, packet)) = bus.next().await else {
            return Err(Failure::Error(
                "The PM2 daemon closed its bus before every process replied".into(),
            ));
        };
        let process = &packet["process"];
        let id = process["pm_id"].as_u64();
        if !id.is_some_and(|id| candidates.contains(&id)) {
            continue;
        }
        match event.as_str() {
            "axm:reply" if packet["data"]["action_name"] == action => {
                output::line(&format!(
                    "[{}]={}",
                    label(process),
                    packet["data"]["return"]
                ));
            }
            // A process that dies before replying would otherwise be waited for forever.
            "process:event" if packet["event"] == "exit" => {
                output::err_line(&format!("[{}] exited before replying", label(process)));
            }
            _ => continue,
        }
        seen += 1;
    }
    Ok(())
}

/// `name:pm_id:namespace`, as PM2 prints each reply.
fn label(process: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    format!(
        "{}:{}:{}",
        text(&process["name"]),
        text(&process["pm_id"]),
        text(&process["namespace"])
    )
}

/// Whether the daemon's `msgProcess` may pick this process of the list for
/// `target`: its id, `all`, its name, its namespace or its script's file name.
fn targets(target: &str, p: &Value) -> bool {
    let env = &p["pm2_env"];
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let script = env["pm_exec_path"].as_str().and_then(|s| {
        std::path::Path::new(s)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
    });
    target == "all"
        || text(&p["pm_id"]).as_deref() == Some(target)
        || text(&p["name"]).as_deref() == Some(target)
        || text(&env["namespace"]).as_deref() == Some(target)
        || script.as_deref() == Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_picks_processes_as_the_daemon_does() {
        let p = json!({"pm_id": 3, "name": "api",
            "pm2_env": {"namespace": "web", "pm_exec_path": "/srv/app/server.js"}});
        for t in ["3", "api", "web", "all", "server.js"] {
            assert!(targets(t, &p), "{t}");
        }
        assert!(!targets("4", &p));
        assert!(!targets("other", &p));
        let reply = json!({"pm_id": 3, "name": "api", "namespace": "web"});
        assert_eq!(label(&reply), "api:3:web");
    }
}
