//! `pm2 attach <pm_id> [separator]`: the app's output (both streams, as
//! written) on this terminal, and each line typed here sent to the app's
//! stdin. Ctrl-C or the end of stdin detaches; the app keeps running.

use super::{connect, Ctx, Failure, Outcome};
use crate::output;
use pm2_client::{bus::BusClient, target, Client};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Lines read ahead of the daemon's replies (typing outruns nothing).
const PENDING_LINES: usize = 64;

pub async fn attach(ctx: &Ctx, id: &str, separator: Option<&str>) -> Outcome {
    let Ok(id) = id.parse::<u64>() else {
        return Err(Failure::Plain(
            "pm_id must be a process number (not a process name)".into(),
        ));
    };
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    if !list.iter().any(|p| target::pm_id(p) == Some(id)) {
        return Err(Failure::Error(format!("Process with ID <{id}> unknown.")));
    }
    let mut bus = BusClient::connect(&client.paths.pub_sock)
        .await
        .map_err(|e| Failure::Error(format!("Cannot connect to the PM2 bus: {e}")))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| Failure::Error(e.to_string()))?;
    let separator = separator.unwrap_or("\n");
    let mut lines = stdin_lines();
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            event = bus.next() => match event {
                Some((event, packet)) => {
                    if let Some(data) = output_of(id, &event, &packet) {
                        output::raw(data);
                    }
                }
                None => return Err(Failure::Error("The PM2 daemon closed its bus".into())),
            },
            line = lines.recv() => match line {
                Some(line) => send_line(&client, id, format!("{line}{separator}")).await,
                None => return Ok(()),
            },
        }
    }
}

/// What process `id` wrote, from a bus event (`log:out` or `log:err`).
fn output_of<'a>(id: u64, event: &str, packet: &'a Value) -> Option<&'a str> {
    if event != "log:out" && event != "log:err" {
        return None;
    }
    if target::pm_id(&packet["process"]) != Some(id) {
        return None;
    }
    packet["data"].as_str()
}

/// The daemon's refusal (app stopped, stdin not read) is shown and the next
/// line still goes, as in PM2.
async fn send_line(client: &Client, id: u64, line: String) {
    if let Err(e) = client
        .call("sendLineToStdin", vec![json!({"pm_id": id, "line": line})])
        .await
    {
        output::error(&e.to_string());
    }
}

/// This process's stdin, line by line, read on a thread of its own: a
/// blocking read there cannot hold the runtime (nor its shutdown) up.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(PENDING_LINES);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_attached_process_output_is_shown() {
        let packet = json!({"process": {"pm_id": 2, "name": "a"}, "data": "hi\n", "at": 1});
        assert_eq!(output_of(2, "log:out", &packet), Some("hi\n"));
        assert_eq!(output_of(2, "log:err", &packet), Some("hi\n"));
        assert_eq!(output_of(3, "log:out", &packet), None);
        assert_eq!(output_of(2, "process:event", &packet), None);
    }
}
