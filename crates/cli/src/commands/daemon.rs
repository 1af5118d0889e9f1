//! The daemon and what it keeps: `ping`, `kill`, `update`, `save`, `resurrect`,
//! `cleardump`, `flush`, `reloadLogs`.

use super::{connect, ids_text, name_of, show_table, Ctx, Outcome};
use crate::{js_text, output};
use pm2_client::upgrade::{self, InPlace};
use pm2_client::{target, Client};
use serde_json::Value;

pub async fn ping(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let pong = client.ping().await?;
    output::line(&js_text::inspect(&pong));
    Ok(())
}

/// Deletes every process, then stops the daemon, saying so as PM2 does.
async fn stop_daemon(client: &Client, ctx: &Ctx) -> Outcome {
    let list = client.list().await?;
    let ids: Vec<u64> = list.iter().filter_map(target::pm_id).collect();
    if !ids.is_empty() {
        ctx.info(&format!(
            "Applying action deleteProcessId on app [all](ids: {})",
            ids_text("all", &ids)
        ));
    }
    client.kill_daemon().await?;
    for &id in &ids {
        ctx.info(&format!("[{}]({id}) ✓", name_of(&list, id)));
    }
    ctx.info("[v] All Applications Stopped");
    ctx.info("[v] PM2 Daemon Stopped");
    Ok(())
}

pub async fn kill(ctx: &Ctx) -> Outcome {
    match connect(ctx, false).await {
        Ok(client) => stop_daemon(&client, ctx).await,
        // No daemon: nothing to stop.
        Err(_) => {
            ctx.info("[v] PM2 Daemon Stopped");
            Ok(())
        }
    }
}

/// Saves the list, then has the daemon exec the installed daemon binary in
/// its own process (no app restarts) when it is this package's daemon on
/// Linux; otherwise (PM2's Node daemon, macOS, or a new daemon that could not
/// take the old one's table) stops the daemon, starts a new one (with this
/// CLI's environment: how new `PM2_*` settings reach it) and resurrects.
pub async fn update(ctx: &Ctx) -> Outcome {
    output::line("Be sure to have the latest version by doing `npm install pm2@latest -g` before doing this procedure.");
    let client = connect(ctx, true).await?;
    // An empty list leaves the saved one alone (PM2's dump without --force).
    if !client.list().await?.iter().all(target::is_module) {
        client.dump(true).await?;
    }
    let opts = super::connect_options(ctx, true);
    match upgrade::update_in_place(&client, &opts).await? {
        InPlace::Replaced {
            pid,
            from_exe,
            from_version,
            exe,
            version,
            message,
        } => {
            ctx.info(&format!(
                "PM2 daemon (pid {pid}) {message}: {from_exe} v{from_version} -> {exe} v{version}"
            ));
            return updated(ctx).await;
        }
        InPlace::UpToDate { exe } => {
            ctx.info(&format!(
                "The PM2 daemon already ran the installed binary ({exe}): restarted it in place, settings read again, no app restarted"
            ));
            return updated(ctx).await;
        }
        InPlace::FellBack(why) => {
            ctx.info(&format!("Update in place failed ({why})"));
            ctx.info("Falling back to save, kill and resurrect: every app restarts");
            let client = connect(ctx, true).await?;
            restore(&client, ctx).await?;
            return updated(ctx).await;
        }
        InPlace::Unsupported(why) => ctx.info(&format!(
            "No update in place ({why}): saving, killing and resurrecting, every app restarts"
        )),
        InPlace::NotOurs => {}
    }
    stop_daemon(&client, ctx).await?;
    drop(client);
    let client = connect(ctx, true).await?;
    restore(&client, ctx).await?;
    output::line(&output::blue(&output::bold(">>>>>>>>>> PM2 updated")));
    show_table(&client, ctx).await
}

async fn updated(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    output::line(&output::blue(&output::bold(">>>>>>>>>> PM2 updated")));
    show_table(&client, ctx).await
}

async fn restore(client: &Client, ctx: &Ctx) -> Outcome {
    ctx.info(&format!(
        "Restoring processes located in {}",
        client.paths.dump_file.display()
    ));
    let done = match client.resurrect().await {
        Ok(done) => done,
        // No dump (or an unreadable one) is reported, not a failure, as in PM2.
        Err(pm2_client::Error::Usage(msg)) => {
            output::error(&msg);
            output::error("No processes saved; DUMP file doesn't exist");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    for p in &done.started {
        let env = p.get("pm2_env").unwrap_or(p);
        let path = env
            .get("pm_exec_path")
            .and_then(Value::as_str)
            .unwrap_or("");
        ctx.info(&format!("Process {path} restored"));
    }
    // Each failure is reported; the other apps are started all the same.
    for f in &done.failed {
        output::error(&format!(
            "App {} could not be restored: {}",
            f.name, f.error
        ));
    }
    Ok(())
}

pub async fn save(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    ctx.info("Saving current process list...");
    let list = client.list().await?;
    if !ctx.flags.force && list.iter().all(target::is_module) {
        output::warn("PM2 is not managing any process, skipping save...");
        output::warn("To force saving use: pm2 save --force");
        return Ok(());
    }
    client.dump(true).await?;
    ctx.info(&format!(
        "Successfully saved in {}",
        client.paths.dump_file.display()
    ));
    Ok(())
}

pub async fn resurrect(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    ctx.info("Resurrecting");
    restore(&client, ctx).await?;
    show_table(&client, ctx).await
}

pub async fn cleardump(ctx: &Ctx) -> Outcome {
    let paths = pm2_client::Paths::from_env();
    paths.init_file_structure().map_err(|e| e.to_string())?;
    pm2_config::write_atomic(&paths.dump_file, b"[]").map_err(|e| e.to_string())?;
    ctx.info(&format!(
        "Successfully created {}",
        paths.dump_file.display()
    ));
    Ok(())
}

pub async fn flush(ctx: &Ctx, targets: &[String]) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let print_files = |p: &Value| {
        ctx.info("Flushing:");
        for key in ["pm_out_log_path", "pm_err_log_path", "pm_log_path"] {
            if let Some(path) = p["pm2_env"].get(key).and_then(Value::as_str) {
                ctx.info(path);
            }
        }
    };
    if targets.is_empty() {
        ctx.info(&format!("Flushing {}", client.paths.log_file.display()));
        list.iter().for_each(print_files);
        client.flush(None).await?;
    } else {
        for t in targets {
            // An unknown target flushes nothing, quietly (as PM2).
            let Ok(ids) = target::resolve(&list, t) else {
                continue;
            };
            list.iter()
                .filter(|p| target::pm_id(p).is_some_and(|id| ids.contains(&id)))
                .for_each(print_files);
            client.flush(Some(t)).await?;
        }
    }
    ctx.info("Logs flushed");
    Ok(())
}

pub async fn reload_logs(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    output::line("Reloading all logs...");
    client.reload_logs().await?;
    output::line("All logs reloaded");
    Ok(())
}
