//! Read-only commands: `ls`, `jlist`, `prettylist`, `describe`, `env`, `pid`, `id`, `report`.

use super::{connect, print_list, Ctx, Failure, Outcome};
use crate::{js_text, listing, output};
use pm2_client::target;
use serde_json::Value;

pub async fn list(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list_table().await?;
    print_list(list, super::host_snapshot(&client).await, ctx);
    Ok(())
}

/// Prints the daemon's list as it sent it: its JSON is `JSON.stringify`'s
/// (numbers included), so there is nothing to re-encode.
pub async fn jlist(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    // As PM2 writes it: the JSON alone, no newline after it.
    output::raw_bytes(&client.list_json().await?);
    Ok(())
}

pub async fn prettylist(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = Value::Array(client.list().await?);
    output::raw(&js_text::inspect(&list));
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
        output::text(&listing::describe(p, now, &ctx.env));
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
    output::text(&env_text(&p["pm2_env"]));
    Ok(())
}

/// What `pm2 env` prints, in PM2's order: PM2 keeps its own fields in the
/// app's env object around the user's variables (`namespace`, `km_link`,
/// `vizion_running` and the instance variable first; `unique_id`, `version`,
/// `node_version` last) and prints that object's keys last to first.
fn env_text(pm2_env: &Value) -> String {
    let instance_var = pm2_env["instance_var"]
        .as_str()
        .unwrap_or("NODE_APP_INSTANCE");
    let head = ["namespace", "km_link", "vizion_running", instance_var];
    let tail = ["unique_id", "version", "node_version"];
    let mut entries: Vec<(&str, &Value)> = Vec::new();
    for k in head {
        if let Some(v) = pm2_env.get(k) {
            entries.push((k, v));
        }
    }
    if let Some(env) = pm2_env.get("env").and_then(Value::as_object) {
        entries.extend(
            env.iter()
                .filter(|(k, _)| !head.contains(&k.as_str()) && !tail.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        );
    }
    for k in tail {
        if let Some(v) = pm2_env.get(k) {
            entries.push((k, v));
        }
    }
    entries
        .iter()
        .rev()
        .map(|(k, v)| format!("{k}: {}\n", listing::text(v)))
        .collect()
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
    output::text(&format!("{}\n", pids.join("\n")));
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
    output::text(&format!("{}\n", js_text::inspect(&Value::Array(ids))));
    Ok(())
}

/// `pm2 report`: what a bug report needs, in PM2's sections, plus who else
/// can reach this PM2_HOME.
pub async fn report(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let daemon = client
        .call("getReport", vec![])
        .await?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    let rule = "===============================================================================";
    let section = |title: &str| {
        format!(
            "{rule}\n--- {title} {}\n",
            "-".repeat(56usize.saturating_sub(title.len()))
        )
    };
    let field = |k: &str, v: &dyn std::fmt::Display| format!("{k:<21}: {v}\n");
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "{rule}\n--- PM2 report ----------------------------------------------\nDate                 : {}\n",
        pm2_config::date_format::format_ms(listing::now_ms(), "ddd MMM DD YYYY HH:mm:ss [GMT]ZZ")
    ));
    out.push_str(&section("Daemon"));
    out.push_str(&field("pm2d version", &text(&daemon["pm2_version"])));
    out.push_str(&field("implementation", &text(&daemon["daemon"])));
    out.push_str(&field("pid", &text(&daemon["pid"])));
    out.push_str(&field("argv", &text(&daemon["argv"])));
    out.push_str(&field("user", &text(&daemon["user"])));
    out.push_str(&field("uid", &text(&daemon["uid"])));
    out.push_str(&field("gid", &text(&daemon["gid"])));
    out.push_str(&section("CLI"));
    out.push_str(&field("local pm2", &env!("CARGO_PKG_VERSION")));
    out.push_str(&field(
        "argv",
        &std::env::args().collect::<Vec<_>>().join(" "),
    ));
    out.push_str(&field("PM2_HOME", &client.paths.home.display()));
    out.push_str(&section("System info"));
    out.push_str(&field("arch", &std::env::consts::ARCH));
    out.push_str(&field("platform", &std::env::consts::OS));
    for (k, v) in crate::system_info::system_info() {
        out.push_str(&field(k, &v));
    }
    out.push_str(&field(
        "home",
        &ctx.env.get("HOME").map_or("", String::as_str),
    ));
    // The daemon's latest host figures (the same as `pm2 ls`'s host line).
    if let Some(host) = super::host_snapshot(&client).await {
        for (k, m) in host.iter().filter(|(k, _)| {
            matches!(
                k.as_str(),
                "CPU Usage" | "RAM Usage" | "Disk Reads" | "Disk Writes"
            ) || k.starts_with("fs:use:")
        }) {
            let unit = m["unit"].as_str().unwrap_or("");
            out.push_str(&field(
                &k.to_lowercase(),
                &format!("{}{unit}", listing::text(&m["value"])),
            ));
        }
    }
    out.push_str(&section("Security"));
    match daemon["security"].as_array() {
        Some(w) if !w.is_empty() => w
            .iter()
            .for_each(|l| out.push_str(&format!("WARNING: {}\n", text(l)))),
        _ => out.push_str(
            "PM2_HOME, its sockets and logs are open to the owner (and the group) only\n",
        ),
    }
    out.push_str("Anyone who can connect to rpc.sock can read every app's env and run commands as this user.\n");
    out.push_str(&web_exposure(&daemon["web"]));
    out.push_str(&section("PM2 list"));
    output::raw(&out);
    super::print_list(client.list_table().await?, None, ctx);
    let mut tail = section("Daemon logs");
    let log = std::fs::read_to_string(&client.paths.log_file).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    for l in &lines[lines.len().saturating_sub(20)..] {
        tail.push_str(l);
        tail.push('\n');
    }
    tail.push_str(rule);
    tail.push('\n');
    output::raw(&tail);
    Ok(())
}

/// Who reads what through the web interface, for `pm2 report`.
fn web_exposure(web: &Value) -> String {
    let Some(port) = web["port"].as_u64() else {
        return "Web interface: off\n".into();
    };
    let host = web["host"].as_str().unwrap_or("");
    if web["env"] == true {
        format!("Web interface on {host}:{port}: the process list with every app's env, to requests with the token in PM2_HOME/web.token\n")
    } else {
        format!("Web interface on {host}:{port}: the process list and metrics without the apps' env, to anyone who can connect\n")
    }
}
