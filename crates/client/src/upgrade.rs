//! `pm2 update` without restarting the apps: the running daemon, when it is
//! this package's, is asked to exec the installed daemon binary in its own
//! process, handing over its apps (see the daemon's `handover` module).

use crate::connect::ConnectOptions;
use crate::error::{Error, Result};
use crate::ops::Client;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How an update in place went.
#[derive(Debug, Clone, PartialEq)]
pub enum InPlace {
    /// The daemon is not this package's (PM2's Node daemon): the
    /// save, kill and resurrect path applies.
    NotOurs,
    /// The daemon cannot be replaced in place here or now (it refused, with
    /// every app untouched), and why.
    Unsupported(String),
    /// The daemon already ran the installed binary (same contents): it was
    /// exec'd again in place all the same, as `pm2 update` restarts PM2's
    /// daemon, so settings read at start (`pm2 set pm2:sysmonit`, ...) apply;
    /// no app restarted.
    UpToDate { exe: String },
    /// The same process now runs the installed binary; no app restarted.
    Replaced {
        pid: u64,
        from_exe: String,
        from_version: String,
        exe: String,
        version: String,
        message: String,
    },
    /// The new daemon could not use what the old one handed over: it
    /// stopped the apps, which are to be resurrected from the saved list.
    FellBack(String),
}

/// How long the daemon may refuse because an app is between two states.
const BUSY_PATIENCE: Duration = Duration::from_secs(10);
/// How long the new daemon may take to answer.
const EXEC_PATIENCE: Duration = Duration::from_secs(20);

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Whether two files have the same bytes (sizes first: a binary is tens of MB).
fn same_contents(a: &Path, b: &Path) -> bool {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    if size(a).is_none() || size(a) != size(b) {
        return false;
    }
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

async fn status(client: &Client) -> Result<Value> {
    Ok(client
        .call("handoverStatus", vec![])
        .await?
        .into_iter()
        .next()
        .unwrap_or(Value::Null))
}

/// Asks the daemon `client` is connected to to exec `opts.daemon_bin` in
/// place, and waits for the new daemon to answer. `client` is closed by the
/// exec: use a new connection afterwards.
pub async fn update_in_place(client: &Client, opts: &ConnectOptions) -> Result<InPlace> {
    let before = match status(client).await {
        Ok(s) if s.get("daemon").and_then(Value::as_str) == Some("rust") => s,
        // PM2's own daemon has no such method.
        Ok(_) | Err(Error::Remote(_)) => return Ok(InPlace::NotOurs),
        Err(e) => return Err(e),
    };
    if before.get("in_place") != Some(&json!(true)) {
        let why = if cfg!(target_os = "linux") {
            "the daemon runs inside a Node process (connect(true))"
        } else {
            "an update in place needs Linux (pidfds, memfd)"
        };
        return Ok(InPlace::Unsupported(why.into()));
    }
    let pid = before.get("pid").and_then(Value::as_u64).unwrap_or(0);
    // The running binary through /proc: the file it was started from may
    // have been replaced or removed since.
    let running = format!("/proc/{pid}/exe");
    let same_binary = same_contents(Path::new(&running), &opts.daemon_bin);
    let count = before
        .get("in_place_updates")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let binary = opts.daemon_bin.display().to_string();
    let busy_until = Instant::now() + BUSY_PATIENCE;
    loop {
        match client
            .call("execInPlace", vec![json!({ "binary": binary })])
            .await
        {
            // A daemon that answers did not exec.
            Ok(_) => {
                return Err(Error::Daemon(
                    "the daemon answered but was not replaced".into(),
                ))
            }
            Err(Error::Remote(msg)) if msg.contains("try again") && Instant::now() < busy_until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // Refused, nothing changed: the other path still updates.
            Err(Error::Remote(msg)) => return Ok(InPlace::Unsupported(msg)),
            // The exec closed the connection.
            Err(Error::Disconnected | Error::Io(_)) => break,
            Err(e) => return Err(e),
        }
    }
    let deadline = Instant::now() + EXEC_PATIENCE;
    let no_launch = ConnectOptions {
        launch: false,
        daemon_bin: opts.daemon_bin.clone(),
        env: opts.env.clone(),
    };
    let after = loop {
        let answer = match Client::connect(client.paths.clone(), &no_launch).await {
            Ok(c) => status(&c).await.ok(),
            Err(_) => None,
        };
        if let Some(s) = answer {
            let n = s
                .get("in_place_updates")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let replaced = s.get("replaced").filter(|r| !r.is_null());
            if n > count || replaced.is_some_and(|r| r.get("in_place") == Some(&json!(false))) {
                break s;
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Daemon(format!(
                "the daemon did not answer within {} s of its exec in place",
                EXEC_PATIENCE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let replaced = after.get("replaced").cloned().unwrap_or(Value::Null);
    if replaced.get("in_place") != Some(&json!(true)) {
        return Ok(InPlace::FellBack(text(&replaced, "message")));
    }
    if same_binary {
        return Ok(InPlace::UpToDate {
            exe: text(&after, "exe"),
        });
    }
    Ok(InPlace::Replaced {
        pid: after.get("pid").and_then(Value::as_u64).unwrap_or(0),
        from_exe: text(&replaced, "from_exe"),
        from_version: text(&replaced, "from_version"),
        exe: text(&after, "exe"),
        version: text(&after, "version"),
        message: text(&replaced, "message"),
    })
}
