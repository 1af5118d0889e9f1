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
        if !targets(target, process) {
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

/// Whether a bus packet's process is one the target names (as the daemon matched it).
fn targets(target: &str, process: &Value) -> bool {
    let is = |k: &str| match &process[k] {
        Value::String(s) => s == target,
        Value::Number(n) => n.to_string() == target,
        _ => false,
    };
    target == "all" || is("pm_id") || is("name") || is("namespace")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_matched_to_the_target() {
        let p = json!({"pm_id": 3, "name": "api", "namespace": "web"});
        for t in ["3", "api", "web", "all"] {
            assert!(targets(t, &p), "{t}");
        }
        assert!(!targets("4", &p));
        assert!(!targets("other", &p));
        assert_eq!(label(&p), "api:3:web");
    }
}
