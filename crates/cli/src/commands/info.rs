//! Read-only commands: `ls`, `jlist`, `prettylist`, `describe`, `env`, `pid`, `id`.

use super::{connect, print_list, Ctx, Failure, Outcome};
use crate::{js_text, listing, output};
use pm2_client::target;
use serde_json::Value;

pub async fn list(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    print_list(client.list().await?, ctx);
    Ok(())
}

/// Prints the daemon's list as it sent it: its JSON is `JSON.stringify`'s
/// (numbers included), so there is nothing to re-encode.
pub async fn jlist(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let mut text = client.list_json().await?;
    text.push('\n');
    output::raw(&text);
    Ok(())
}

pub async fn prettylist(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = Value::Array(client.list().await?);
    output::raw(&format!("{}\n", js_text::inspect(&list)));
    Ok(())
}

/// The processes `t` names for `describe`/`env`: an id, or a name.
fn matching<'a>(list: &'a [Value], t: &str) -> Vec<&'a Value> {
    let by_id = t.parse::<u64>().ok();
    list.iter()
        .filter(|p| match by_id {
            Some(id) => target::pm_id(p) == Some(id),
            None => p.get("name").and_then(Value::as_str) == Some(t),
        })
        .collect()
}

pub async fn describe(ctx: &Ctx, t: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let found = matching(&list, t);
    if found.is_empty() {
        return Err(Failure::Warn(format!("{t} doesn't exist")));
    }
    let now = listing::now_ms();
    for p in found {
        output::raw(&listing::describe(p, now, &ctx.env));
    }
    Ok(())
}

/// `pm2 env <id>`: the process's environment, `key: value` per line.
pub async fn env(ctx: &Ctx, t: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let found = matching(&list, t);
    let Some(p) = found.first() else {
        return Err(Failure::Error(format!("Modules with id {t} not found")));
    };
    let mut out = String::new();
    if let Some(env) = p
        .get("pm2_env")
        .and_then(|e| e.get("env"))
        .and_then(Value::as_object)
    {
        for (k, v) in env {
            out.push_str(&format!("{k}: {}\n", listing::text(v)));
        }
    }
    output::raw(&out);
    Ok(())
}

/// `pm2 pid [name]`: the pids (0 for a stopped process), one per line.
pub async fn pid(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let pids: Vec<String> = list
        .iter()
        .filter(|p| name.is_none_or(|n| p.get("name").and_then(Value::as_str) == Some(n)))
        .map(|p| listing::text(p.get("pid").unwrap_or(&Value::from(0))))
        .collect();
    output::raw(&format!("{}\n", pids.join("\n")));
    Ok(())
}

/// `pm2 id <name>`: the ids of an app, as PM2 prints an array (`[ 0, 1 ]`).
pub async fn id(ctx: &Ctx, name: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let ids: Vec<Value> = list
        .iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(|p| p.get("pm_id").cloned())
        .collect();
    output::raw(&format!("{}\n", js_text::inspect(&Value::Array(ids))));
    Ok(())
}
