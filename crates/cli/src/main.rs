//! `pm2`: PM2's command line over the shared Rust client. No Node start-up,
//! except `node` itself evaluating a JavaScript ecosystem file.

mod args;
mod display;
mod ecosystem;
mod inspect;
mod logs;

use args::{ActionArgs, Cli, Command, StartArgs};
use clap::Parser;
use display::Style;
use pm2_client::{
    launcher, target, Action, ActionOptions, Client, ConnectOptions, Paths, StartOptions,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Ctx {
    style: Style,
    silent: bool,
    mini: bool,
}

impl Ctx {
    fn info(&self, msg: &str) {
        if !self.silent {
            println!("[PM2] {msg}");
        }
    }
}

fn client_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

async fn connect(ctx: &Ctx, launch: bool) -> Result<Client, String> {
    let paths = Paths::from_env();
    let exe = std::env::current_exe().unwrap_or_default();
    let opts = ConnectOptions {
        launch,
        daemon_bin: launcher::daemon_binary(&exe),
        env: client_env(),
    };
    let client = Client::connect(paths.clone(), &opts)
        .await
        .map_err(|e| e.to_string())?;
    if client.launched_daemon() {
        ctx.info(&format!(
            "Spawning PM2 daemon with pm2_home={}",
            paths.home.display()
        ));
        ctx.info("PM2 Successfully daemonized");
    } else if let Ok(v) = client.version().await {
        if v != pm2_client::VERSION {
            eprintln!("[PM2] In-memory PM2 is out-of-date, do:\n[PM2] $ pm2 update\n[PM2] In memory PM2 version: {v}\n[PM2] Local PM2 version: {}", pm2_client::VERSION);
        }
    }
    Ok(client)
}

async fn show_table(client: &Client, ctx: &Ctx) -> Result<(), String> {
    if !ctx.silent {
        let list = client.list().await.map_err(|e| e.to_string())?;
        print!("{}", display::process_table(&list, &ctx.style, ctx.mini));
    }
    Ok(())
}

fn ids_text(procs: &[Value]) -> String {
    let ids: Vec<String> = procs
        .iter()
        .filter_map(|p| p["pm_id"].as_u64())
        .map(|i| i.to_string())
        .collect();
    format!("[ {} ]", ids.join(", "))
}

async fn start(
    client: &Client,
    ctx: &Ctx,
    a: &StartArgs,
    restart_existing: bool,
) -> Result<(), String> {
    let targets = if a.targets.is_empty() {
        vec!["ecosystem.config.js".to_string()]
    } else {
        a.targets.clone()
    };
    let flags = a.options();
    for t in &targets {
        let as_path = cwd().join(t);
        if ecosystem::is_config_file(t) {
            let mut apps = ecosystem::load(&as_path)?;
            for app in &mut apps {
                for (k, v) in &flags {
                    if k != "name" {
                        app.insert(k.clone(), v.clone());
                    }
                }
            }
            let opts = StartOptions {
                cwd: as_path.parent().map(Path::to_path_buf).unwrap_or_else(cwd),
                client_env: client_env(),
                env_name: a.env.clone(),
                force: a.force,
                restart_existing: true,
                only: a.only(),
            };
            let procs = client.start(apps, &opts).await.map_err(|e| e.to_string())?;
            ctx.info(&format!(
                "App(s) of {t} launched or restarted (ids: {})",
                ids_text(&procs)
            ));
            continue;
        }
        let is_script = as_path.exists()
            || t.contains(' ')
            || a.interpreter.as_deref() == Some("none")
            || a.execute_command;
        if !is_script {
            if let Ok(ids) = client.ids(t).await {
                ctx.info(&format!(
                    "Applying action restartProcessId on app [{t}](ids: {ids:?})"
                ));
                act(
                    client,
                    Action::Restart,
                    t,
                    &ActionArgs {
                        update_env: a.update_env,
                        env: a.env.clone(),
                        ..Default::default()
                    },
                )
                .await?;
                continue;
            }
        }
        let mut app = flags.clone();
        app.insert("script".into(), Value::String(t.clone()));
        app.remove("force");
        let opts = StartOptions {
            cwd: cwd(),
            client_env: client_env(),
            env_name: a.env.clone(),
            force: a.force,
            restart_existing,
            only: Vec::new(),
        };
        let procs = client
            .start(vec![app], &opts)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(p) = procs.first() {
            let mode = p["pm2_env"]["exec_mode"].as_str().unwrap_or("fork_mode");
            let path = p["pm2_env"]["pm_exec_path"].as_str().unwrap_or(t);
            ctx.info(&format!(
                "Starting {path} in {mode} ({} instance{})",
                procs.len(),
                if procs.len() > 1 { "s" } else { "" }
            ));
        }
        ctx.info("Done.");
    }
    show_table(client, ctx).await
}

async fn act(
    client: &Client,
    action: Action,
    t: &str,
    a: &ActionArgs,
) -> Result<Vec<Value>, String> {
    let opts = ActionOptions {
        update_env: a.update_env,
        client_env: client_env(),
        env_name: a.env.clone(),
        cwd: cwd(),
        overrides: Default::default(),
    };
    client
        .act(action, t, &opts)
        .await
        .map_err(|e| e.to_string())
}

async fn action(client: &Client, ctx: &Ctx, action: Action, a: &ActionArgs) -> Result<(), String> {
    let method = match action {
        Action::Stop => "stopProcessId",
        Action::Restart => "restartProcessId",
        Action::Reload => "reloadProcessId",
        Action::Delete => "deleteProcessId",
        Action::Reset => "resetMetaProcessId",
    };
    for t in &a.targets {
        if ecosystem::is_config_file(t) {
            let path = cwd().join(t);
            let only = args::split_list(a.only.as_deref());
            for app in ecosystem::load(&path)? {
                let Some(name) = app.get("name").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                if !only.is_empty() && !only.contains(&name) {
                    continue;
                }
                let opts = ActionOptions {
                    update_env: true,
                    client_env: client_env(),
                    env_name: a.env.clone(),
                    cwd: path.parent().map(Path::to_path_buf).unwrap_or_else(cwd),
                    overrides: app.clone(),
                };
                let procs = client
                    .act(action, &name, &opts)
                    .await
                    .map_err(|e| e.to_string())?;
                ctx.info(&format!(
                    "Applying action {method} on app [{name}](ids: {})",
                    ids_text(&procs)
                ));
            }
            continue;
        }
        let procs = act(client, action, t, a).await?;
        ctx.info(&format!(
            "Applying action {method} on app [{t}](ids: {})",
            ids_text(&procs)
        ));
        for p in &procs {
            ctx.info(&format!(
                "[{}]({}) ✓",
                p["name"].as_str().unwrap_or(""),
                p["pm_id"]
            ));
        }
    }
    if matches!(action, Action::Restart | Action::Reload) && !a.update_env && !ctx.silent {
        println!("[PM2] Use --update-env to update environment variables");
    }
    show_table(client, ctx).await
}

async fn run(cli: Cli, ctx: &Ctx) -> Result<(), String> {
    let Some(command) = cli.command else {
        println!("usage: pm2 [options] <command>\n\npm2 -h, --help             all available commands and options\npm2 start app.js           start an app\npm2 ls                     list apps");
        return Ok(());
    };
    match command {
        Command::Unknown(words) => Err(format!(
            "Command not found: {}",
            words.first().map(String::as_str).unwrap_or("")
        )),
        Command::Kill => {
            let Ok(client) = connect(ctx, false).await else {
                ctx.info("PM2 Daemon Stopped");
                return Ok(());
            };
            client.kill_daemon().await.map_err(|e| e.to_string())?;
            ctx.info("[v] All Applications Stopped");
            ctx.info("[v] PM2 Daemon Stopped");
            Ok(())
        }
        command => {
            let client = connect(ctx, true).await?;
            let c = &client;
            match command {
                Command::Start(a) => start(c, ctx, &a, false).await,
                Command::StartOrRestart(a) => start(c, ctx, &a, true).await,
                Command::Stop(a) => action(c, ctx, Action::Stop, &a).await,
                Command::Restart(a) => action(c, ctx, Action::Restart, &a).await,
                Command::Reload(a) => action(c, ctx, Action::Reload, &a).await,
                Command::Delete(a) => action(c, ctx, Action::Delete, &a).await,
                Command::Reset { target } => {
                    let procs = act(c, Action::Reset, &target, &ActionArgs::default()).await?;
                    ctx.info(&format!(
                        "Resetting meta for process id {}",
                        ids_text(&procs)
                    ));
                    show_table(c, ctx).await
                }
                Command::List { sort } => {
                    let mut list = c.list().await.map_err(|e| e.to_string())?;
                    if let Some(sort) = sort {
                        let (field, desc) = sort
                            .split_once(':')
                            .map(|(f, d)| (f.to_string(), d == "desc"))
                            .unwrap_or((sort, false));
                        let key = |p: &Value| match field.as_str() {
                            "name" => p["name"].to_string(),
                            "cpu" => format!("{:020.3}", p["monit"]["cpu"].as_f64().unwrap_or(0.0)),
                            "memory" => {
                                format!("{:020}", p["monit"]["memory"].as_u64().unwrap_or(0))
                            }
                            _ => format!("{:020}", p["pm_id"].as_u64().unwrap_or(0)),
                        };
                        list.sort_by_key(key);
                        if desc {
                            list.reverse();
                        }
                    }
                    print!("{}", display::process_table(&list, &ctx.style, ctx.mini));
                    Ok(())
                }
                Command::Jlist => {
                    let list = c.list().await.map_err(|e| e.to_string())?;
                    println!("{}", Value::Array(list));
                    Ok(())
                }
                Command::Prettylist => {
                    let list = c.list().await.map_err(|e| e.to_string())?;
                    println!("{}", inspect::inspect(&Value::Array(list)));
                    Ok(())
                }
                Command::Describe { target } => {
                    for p in c.describe(&target).await.map_err(|e| e.to_string())? {
                        print!("{}", display::describe(&p, &ctx.style));
                    }
                    Ok(())
                }
                Command::Logs(a) => logs::run(c, &a).await,
                Command::Flush { target } => {
                    c.flush(target.as_deref())
                        .await
                        .map_err(|e| e.to_string())?;
                    ctx.info("Logs flushed");
                    Ok(())
                }
                Command::ReloadLogs => {
                    c.reload_logs().await.map_err(|e| e.to_string())?;
                    ctx.info("Reloading all logs...");
                    Ok(())
                }
                Command::Ping => {
                    let pong = c.ping().await.map_err(|e| e.to_string())?;
                    if !ctx.silent {
                        println!("{}", inspect::inspect(&pong));
                    }
                    Ok(())
                }
                Command::Dump { force } => {
                    let n = c.dump(force).await.map_err(|e| e.to_string())?;
                    ctx.info(&format!("Saving current process list ({n} apps)..."));
                    ctx.info(&format!(
                        "Successfully saved in {}",
                        c.paths.dump_file.display()
                    ));
                    Ok(())
                }
                Command::Resurrect => {
                    ctx.info(&format!(
                        "Resurrecting from {}",
                        c.paths.dump_file.display()
                    ));
                    c.resurrect().await.map_err(|e| e.to_string())?;
                    show_table(c, ctx).await
                }
                Command::Pid { target } => {
                    let list = c.list().await.map_err(|e| e.to_string())?;
                    let ids = match &target {
                        Some(t) => target::resolve(&list, t).unwrap_or_default(),
                        None => list.iter().filter_map(target::pm_id).collect(),
                    };
                    for p in list
                        .iter()
                        .filter(|p| target::pm_id(p).is_some_and(|i| ids.contains(&i)))
                    {
                        println!("{}", p["pid"]);
                    }
                    Ok(())
                }
                Command::Id { name } => {
                    let list = c.list().await.map_err(|e| e.to_string())?;
                    let ids: Vec<String> = list
                        .iter()
                        .filter(|p| p["name"].as_str() == Some(name.as_str()))
                        .map(|p| p["pm_id"].to_string())
                        .collect();
                    println!("[ {} ]", ids.join(", "));
                    Ok(())
                }
                Command::SendSignal { signal, target } => {
                    c.send_signal(&signal, &target)
                        .await
                        .map_err(|e| e.to_string())?;
                    ctx.info(&format!(
                        "successfully sent signal {signal} to process {target}"
                    ));
                    Ok(())
                }
                Command::Update => {
                    let _ = c.dump(true).await;
                    c.kill_daemon().await.map_err(|e| e.to_string())?;
                    drop(client);
                    let fresh = connect(ctx, true).await?;
                    fresh.resurrect().await.map_err(|e| e.to_string())?;
                    ctx.info("PM2 updated");
                    show_table(&fresh, ctx).await
                }
                Command::Kill | Command::Unknown(_) => unreachable!("handled above"),
            }
        }
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            let _ = e.print();
            std::process::exit(1);
        }
    };
    if cli.version {
        println!("{}", pm2_client::VERSION);
        return;
    }
    let ctx = Ctx {
        style: Style::new(cli.no_color),
        silent: cli.silent,
        mini: cli.mini_list,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(cli, &ctx)) {
        eprintln!("[PM2][ERROR] {e}");
        std::process::exit(1);
    }
}
