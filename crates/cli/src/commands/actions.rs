//! `stop`, `restart`, `reload`, `delete` over ids, names, namespaces, `all`,
//! `/regex/` or ecosystem files; `reset`, `scale`, `sendSignal`.

use super::start::{ecosystem_action_options, start_apps};
use super::{connect, ids_text, name_of, show_table, Ctx, Failure, Outcome};
use crate::{app_options, ecosystem, output};
use pm2_client::{target, Action, ActionOptions, Client};
use serde_json::{json, Value};
use std::path::Path;

fn action_options(ctx: &Ctx, update_env: bool) -> ActionOptions {
    let mut overrides = app_options::from_flags(&ctx.flags);
    overrides.shift_remove("name");
    // `--watch` on stop/restart switches watching (see `switch_watch`), it
    // does not set the option.
    overrides.shift_remove("watch");
    ActionOptions {
        update_env,
        client_env: ctx.env.clone(),
        env_name: ctx.flags.env.clone(),
        cwd: ctx.cwd.clone(),
        overrides,
        parallel: ctx.flags.parallel.map(std::num::NonZeroUsize::get),
    }
}

pub async fn act(ctx: &Ctx, action: Action, targets: &[String]) -> Outcome {
    // Config files are read before connecting: a bad file changes nothing.
    let mut configs = Vec::new();
    for t in targets.iter().filter(|t| ecosystem::is_config_file(t)) {
        let path = ctx.cwd.join(t);
        let apps = ecosystem::apps(&ecosystem::load(&path)?)?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ctx.cwd.clone());
        configs.push((t.clone(), apps, base));
    }
    // `-`: the apps of a config piped on stdin, as `start -` reads them.
    if targets.iter().any(|t| t == PIPED) {
        let apps = ecosystem::apps(&ecosystem::load_stdin()?)?;
        configs.push((PIPED.to_string(), apps, ctx.cwd.clone()));
    }
    let client = connect(ctx, true).await?;
    let refreshing = action.refreshes();
    if refreshing && !ctx.flags.update_env && configs.len() < targets.len() {
        let named: Vec<&String> = targets
            .iter()
            .filter(|t| !configs.iter().any(|(name, _, _)| name == *t))
            .collect();
        super::env_hint::print(&client, &named, &action_options(ctx, true)).await;
    }
    for t in targets {
        if let Some((_, apps, base)) = configs.iter().find(|(name, _, _)| name == t) {
            if t == PIPED {
                // As PM2: the running apps of the list, the others left out quietly.
                act_on_config(&client, ctx, action, apps, base, ConfigSource::Piped).await?;
            } else if refreshing {
                // As in PM2, the apps of the file not running yet are started.
                start_apps(&client, ctx, apps.clone(), base, action).await?;
            } else {
                act_on_config(&client, ctx, action, apps, base, ConfigSource::File).await?;
            }
        } else {
            act_on_target(&client, ctx, action, t).await?;
        }
    }
    // PM2 shows no table after a reload.
    if matches!(action, Action::Reload | Action::GracefulReload) {
        return Ok(());
    }
    show_table(&client, ctx).await
}

async fn act_on_target(client: &Client, ctx: &Ctx, action: Action, t: &str) -> Outcome {
    let list = client.list().await?;
    // PM2's web interface is an app of that name; ours is the daemon's.
    if t == super::web::PM2_PROCESS_NAME
        && matches!(action, Action::Stop | Action::Delete)
        && target::resolve(&list, t).is_err()
    {
        return super::web::stop(client, ctx).await;
    }
    let ids = target::resolve(&list, t)?;
    ctx.info(&format!(
        "Applying action {} on app [{t}](ids: {})",
        action.method(),
        ids_text(t, &ids)
    ));
    if ctx.flags.watch.is_some() {
        switch_watch(client, action, &ids).await?;
    }
    let opts = action_options(ctx, ctx.flags.update_env);
    client.act_on_ids(action, &ids, &list, &opts).await?;
    for &id in &ids {
        ctx.info(&format!("[{}]({id}) ✓", name_of(&list, id)));
    }
    if action == Action::Stop {
        warn_paused_crons(&list, &ids);
    }
    Ok(())
}

/// PM2 warns that a stopped app's `cron_restart` is still up (its cron
/// starts it again); here a user's stop pauses the cron until the app is
/// started again, and the warning says so.
fn warn_paused_crons(list: &[Value], ids: &[u64]) {
    for p in list {
        let cron = p["pm2_env"]["cron_restart"].as_str().unwrap_or("");
        let stopped = target::pm_id(p).is_some_and(|id| ids.contains(&id));
        if stopped && !cron.is_empty() && cron != "0" {
            let name = p["name"].as_str().unwrap_or("");
            output::warn(&format!(
                "App {} stopped: its CRON RESTART {cron} is paused until it is started again",
                output::bold(name)
            ));
        }
    }
}

/// `pm2 restart --watch` toggles watching (PM2's `toggleWatch`); every stop
/// turns it off already (see [`Client::act_on_ids`]), `--watch` or not.
async fn switch_watch(client: &Client, action: Action, ids: &[u64]) -> Outcome {
    if action != Action::Restart {
        return Ok(());
    }
    for &id in ids {
        client
            .call(
                "toggleWatch",
                vec![json!("restartProcessId"), json!({"id": id})],
            )
            .await?;
    }
    Ok(())
}

/// The target naming a config read from stdin.
const PIPED: &str = "-";

/// Where the apps a command acts on by name were read from: PM2 treats the
/// apps not running differently for each.
#[derive(Clone, Copy, PartialEq)]
enum ConfigSource {
    /// Read from stdin: no line for the apps not running, no failure when
    /// none is, and `--only` not applied.
    Piped,
    /// An ecosystem file: a warning for each app not running, and a failure
    /// when none is.
    File,
}

/// Each app of a config, by name, with the config's options; restarts and
/// reloads always refresh the env.
async fn act_on_config(
    client: &Client,
    ctx: &Ctx,
    action: Action,
    apps: &[pm2_config::Options],
    base: &Path,
    source: ConfigSource,
) -> Outcome {
    let only = match source {
        ConfigSource::Piped => Vec::new(),
        ConfigSource::File => app_options::only(&ctx.flags),
    };
    let list = client.list().await?;
    let mut acted = false;
    for app in apps {
        let Some(name) = ecosystem::app_name(app) else {
            continue;
        };
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let ids = ids_named(&list, &name);
        if ids.is_empty() {
            if source == ConfigSource::File {
                output::warn(&format!("App {name} not running"));
            }
            continue;
        }
        let opts = ecosystem_action_options(ctx, base, app.clone());
        client.act_on_ids(action, &ids, &list, &opts).await?;
        for id in ids {
            ctx.info(&format!("[{name}]({id}) ✓"));
        }
        acted = true;
    }
    if acted || source == ConfigSource::Piped {
        Ok(())
    } else {
        Err(Failure::Warn("No process found".into()))
    }
}

fn ids_named(list: &[Value], name: &str) -> Vec<u64> {
    list.iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(target::pm_id)
        .collect()
}

pub async fn reset(ctx: &Ctx, t: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let ids = match target::resolve(&list, t) {
        Ok(ids) => ids,
        Err(pm2_client::Error::NotFound(_)) => {
            return Err(Failure::Plain("Unknown process name".into()))
        }
        Err(e) => return Err(e.into()),
    };
    client
        .act_on_ids(Action::Reset, &ids, &list, &ActionOptions::default())
        .await?;
    for id in ids {
        ctx.info(&format!("Resetting meta for process id {id}"));
    }
    show_table(&client, ctx).await
}

/// The instance count `pm2 scale app <n|+n|-n>` asks for.
pub fn scale_target(current: usize, count: &str) -> Result<usize, String> {
    let bad = || format!("Invalid number of instances: {count}");
    if let Some(n) = count.strip_prefix('+') {
        Ok(current + n.parse::<usize>().map_err(|_| bad())?)
    } else if let Some(n) = count.strip_prefix('-') {
        Ok(current.saturating_sub(n.parse::<usize>().map_err(|_| bad())?))
    } else {
        count.parse().map_err(|_| bad())
    }
}

pub async fn scale(ctx: &Ctx, name: &str, count: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let mut ids: Vec<u64> = list
        .iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(target::pm_id)
        .collect();
    ids.sort_unstable();
    if ids.is_empty() {
        return Err(Failure::Error(format!("Application {name} not found")));
    }
    let wanted = scale_target(ids.len(), count)?;
    if wanted > ids.len() {
        ctx.info("Scaling up application");
        for _ in ids.len()..wanted {
            client.duplicate(ids[0]).await?;
        }
    } else if wanted < ids.len() {
        // The oldest instances go, as in PM2: the newest ones stay.
        for &id in &ids[..ids.len() - wanted] {
            ctx.info(&format!(
                "Applying action deleteProcessId on app [{id}](ids: {})",
                ids_text(name, &[id])
            ));
            client
                .act_on_ids(Action::Delete, &[id], &list, &ActionOptions::default())
                .await?;
            ctx.info(&format!("[{name}]({id}) ✓"));
        }
    } else {
        ctx.info(&format!(
            "Application {name} already has {wanted} instance(s)"
        ));
    }
    show_table(&client, ctx).await
}

pub async fn send_signal(ctx: &Ctx, signal: &str, t: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let kind = if t.parse::<u64>().is_ok() {
        "id"
    } else {
        "name"
    };
    ctx.info(&format!("Sending signal to process {kind} {t}"));
    client.send_signal(signal, t).await?;
    output::line(&format!(
        "successfully sent signal {signal} to process {kind} {t}"
    ));
    show_table(&client, ctx).await
}

/// `pm2 monitor|unmonitor <all|id|name>`: sets or clears the process's
/// `_km_monitored` flag, as PM2 does (no cloud involved). As in PM2, a name
/// that matches nothing changes nothing; `pm2 monitor` alone is PM2's paid
/// service.
pub async fn monitor_state(ctx: &Ctx, on: bool, t: Option<&str>) -> Outcome {
    let Some(t) = t else {
        return Err(Failure::Error(if on {
            "`pm2 monitor` without a process is PM2's paid cloud service, which this pm2 does not implement".into()
        } else {
            "Please specify an <app_name|pm_id>".into()
        }));
    };
    let method = if on { "monitor" } else { "unmonitor" };
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let leading_digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let ids: Vec<u64> = if t == "all" {
        list.iter().filter_map(target::pm_id).collect()
    } else if let Ok(id) = leading_digits.parse::<u64>() {
        vec![id]
    } else {
        ids_named(&list, t)
    };
    for id in ids {
        // An unknown id changes nothing, as in PM2.
        let _ = client.call(method, vec![json!(id)]).await;
    }
    show_table(&client, ctx).await
}

/// `pm2 inspect <app>`: opens Node's inspector in each online node process
/// of the app. Node opens it on SIGUSR1 (on 127.0.0.1:9229, or the
/// `--inspect-port` of the app's node_args), with no agent inside the app;
/// it stays open until the process ends (a restart closes it).
pub async fn inspect(ctx: &Ctx, t: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let ids = pm2_client::target::resolve_in(&list, t, &ctx.cwd)?;
    let node_procs: Vec<&serde_json::Value> = list
        .iter()
        .filter(|p| pm2_client::target::pm_id(p).is_some_and(|id| ids.contains(&id)))
        .filter(|p| {
            let env = &p["pm2_env"];
            env["status"] == "online"
                && env["exec_interpreter"]
                    .as_str()
                    .is_some_and(|i| i.ends_with("node") || i.ends_with("nodejs"))
        })
        .collect();
    if node_procs.is_empty() {
        return Err(Failure::Error(format!(
            "Unable to activate inspect mode on {t}: no online Node.js process"
        )));
    }
    for p in node_procs {
        let id = pm2_client::target::pm_id(p).unwrap_or_default();
        let err_log = p["pm2_env"]["pm_err_log_path"]
            .as_str()
            .map(std::path::PathBuf::from);
        let seen = err_log
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .map_or(0, |m| m.len());
        client
            .call(
                "sendSignalToProcessId",
                vec![serde_json::json!({"process_id": id, "signal": "SIGUSR1"})],
            )
            .await?;
        output::line(&format!(
            "Inspect enabled on {} (pid {}) => go to chrome : chrome://inspect !!!",
            p["name"].as_str().unwrap_or(t),
            p["pid"]
        ));
        // Node announces the address on the app's stderr.
        if let Some(file) = err_log {
            if let Some(url) = inspector_url(&file, seen).await {
                output::line(&format!("Debugger listening on {url}"));
            }
        }
    }
    Ok(())
}

/// The `ws://` address Node writes to `file` after offset `from`, awaited up
/// to 5 s: a busy machine can take seconds to run the app's signal handler
/// and bring its stderr to the log (an inspector already open writes nothing new).
async fn inspector_url(file: &std::path::Path, from: u64) -> Option<String> {
    for _ in 0..200 {
        if let Ok(bytes) = std::fs::read(file) {
            let fresh = String::from_utf8_lossy(bytes.get(from as usize..).unwrap_or_default())
                .into_owned();
            if let Some(i) = fresh.find("ws://") {
                return fresh[i..].split_whitespace().next().map(str::to_string);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_counts() {
        assert_eq!(scale_target(2, "4"), Ok(4));
        assert_eq!(scale_target(2, "+3"), Ok(5));
        assert_eq!(scale_target(2, "-1"), Ok(1));
        assert!(scale_target(2, "x").is_err());
    }
}
