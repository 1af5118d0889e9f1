//! `pm2 logs`: the tail of each log file, then new lines as the bus carries them.

use crate::args::LogsArgs;
use pm2_client::{bus::BusClient, target, Client};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom, Write};

/// The last `n` lines of a file, reading at most its last megabyte.
fn tail(path: &str, n: usize) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(1 << 20)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn prefix(id: &Value, name: &str, raw: bool) -> String {
    if raw {
        String::new()
    } else {
        format!("{}|{:<9}| ", id, name)
    }
}

pub async fn run(client: &Client, args: &LogsArgs) -> Result<(), String> {
    let list = client.list().await.map_err(|e| e.to_string())?;
    let ids = match &args.target {
        Some(t) => target::resolve(&list, t).map_err(|e| e.to_string())?,
        None => list.iter().filter_map(target::pm_id).collect(),
    };
    let streams: Vec<(&str, &str)> = match (args.out, args.err) {
        (true, false) => vec![("pm_out_log_path", "log:out")],
        (false, true) => vec![("pm_err_log_path", "log:err")],
        _ => vec![
            ("pm_err_log_path", "log:err"),
            ("pm_out_log_path", "log:out"),
        ],
    };
    let mut stdout = std::io::stdout().lock();
    for p in list
        .iter()
        .filter(|p| target::pm_id(p).is_some_and(|id| ids.contains(&id)))
    {
        let name = p["name"].as_str().unwrap_or("");
        for (key, _) in &streams {
            let Some(path) = p["pm2_env"][*key].as_str() else {
                continue;
            };
            if !args.raw {
                let _ = writeln!(stdout, "{path} last {} lines:", args.lines);
            }
            for line in tail(path, args.lines) {
                let _ = writeln!(stdout, "{}{line}", prefix(&p["pm_id"], name, args.raw));
            }
        }
    }
    drop(stdout);
    if args.nostream {
        return Ok(());
    }
    let mut bus = BusClient::connect(&client.paths.pub_sock)
        .await
        .map_err(|e| e.to_string())?;
    let events: Vec<&str> = streams.iter().map(|(_, e)| *e).collect();
    while let Some((event, packet)) = bus.next().await {
        if !events.contains(&event.as_str()) {
            continue;
        }
        let proc_ = &packet["process"];
        let id = proc_["pm_id"].as_u64();
        if args.target.is_some() && !id.is_some_and(|i| ids.contains(&i)) {
            continue;
        }
        let name = proc_["name"].as_str().unwrap_or("");
        let data = packet["data"].as_str().unwrap_or("");
        let mut out = std::io::stdout().lock();
        for line in data.lines() {
            if args.json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({"message": line, "type": event, "app_name": name, "process_id": id})
                );
            } else {
                let _ = writeln!(out, "{}{line}", prefix(&proc_["pm_id"], name, args.raw));
            }
        }
    }
    Ok(())
}
