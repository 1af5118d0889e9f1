//! `pm2 start` (scripts, ecosystem files, existing names/ids/namespaces) and
//! `startOrRestart` / `startOrReload`.

use super::{connect, ids_text, show_table, Ctx, Failure, Outcome};
use crate::printable::printable;
use crate::{app_options, ecosystem, output};
use pm2_client::{target, Action, ActionOptions, Client, StartOptions, Started};
use pm2_config::Options;
use serde_json::Value;
use std::path::{Path, PathBuf};

const DEFAULT_ECOSYSTEM: &str = "ecosystem.config.js";

/// A `start` target, read before anything is started: config errors start nothing.
enum Target {
    /// The apps of an ecosystem file (or of stdin), with the folder they resolve against.
    Config { apps: Vec<Options>, base: PathBuf },
    /// A script, a command, or an existing name/id/namespace.
    Script(String),
}

fn read_targets(ctx: &Ctx, targets: &[String]) -> Result<Vec<Target>, Failure> {
    let targets = if targets.is_empty() {
        vec![DEFAULT_ECOSYSTEM.to_string()]
    } else {
        targets.to_vec()
    };
    targets
        .iter()
        .map(|t| {
            if t == "-" {
                let config = ecosystem::load_stdin()?;
                Ok(Target::Config {
                    apps: ecosystem::apps(&config)?,
                    base: ctx.cwd.clone(),
                })
            } else if ecosystem::is_config_file(t) {
                let path = ctx.cwd.join(t);
                if !path.is_file() {
                    return Err(Failure::Error(format!("File {t} not found")));
                }
                let config = ecosystem::load(&path)?;
                let base = path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| ctx.cwd.clone());
                Ok(Target::Config {
                    apps: ecosystem::apps(&config)?,
                    base,
                })
            } else {
                Ok(Target::Script(t.clone()))
            }
        })
        .collect()
}

pub async fn start(ctx: &Ctx, targets: &[String], args: &[String]) -> Outcome {
    let targets = read_targets(ctx, targets)?;
    if ctx.flags.ext.is_some() {
        output::warn("--ext is not supported yet: every file under the watched paths counts (use --ignore-watch)");
    }
    warn_tracing_not_built(ctx);
    let client = connect(ctx, true).await?;
    for t in targets {
        match t {
            Target::Config { apps, base } => {
                start_apps(&client, ctx, apps, &base, Action::Restart).await?
            }
            Target::Script(script) => start_script(&client, ctx, &script, args).await?,
        }
    }
    show_table(&client, ctx).await
}

/// Deep monitoring and tracing (PM2's OpenTelemetry agent) are recorded on
/// the app as PM2 records them, but no agent runs inside it: say so.
fn warn_tracing_not_built(ctx: &Ctx) {
    let by_env = ctx
        .env
        .get("PM2_DEEP_MONITORING")
        .is_some_and(|v| !v.is_empty());
    if by_env || ctx.flags.deep_monitoring || ctx.flags.trace {
        output::warn("Tracing and deep monitoring (PM2's OpenTelemetry agent) are not built: the deep_monitoring/trace options are recorded, the app runs without them");
    }
}

/// `startOrRestart` / `startOrReload <ecosystem>`.
pub async fn start_or(ctx: &Ctx, file: &str, action: Action) -> Outcome {
    let targets = read_targets(ctx, &[file.to_string()])?;
    let client = connect(ctx, true).await?;
    for t in targets {
        match t {
            Target::Config { apps, base } => start_apps(&client, ctx, apps, &base, action).await?,
            Target::Script(_) => {
                return Err(Failure::Error(format!("{file} is not an ecosystem file")))
            }
        }
    }
    show_table(&client, ctx).await
}

/// The CLI options PM2 applies over each app of an ecosystem file.
fn apply_cli_overrides(app: &mut Options, ctx: &Ctx) {
    let f = &ctx.flags;
    let given = app_options::from_flags(f);
    for key in ["watch", "ignore_watch"] {
        if let Some(v) = given.get(key) {
            if app.get(key).is_none_or(|a| a.as_bool() == Some(false)) {
                app.insert(key.into(), v.clone());
            }
        }
    }
    for key in ["instances", "uid", "gid"] {
        if let Some(v) = given.get(key) {
            app.insert(key.into(), v.clone());
        }
    }
}

/// Starts the apps of a config: new names are started, existing ones get `action`
/// with the file's options (their env is always refreshed).
pub async fn start_apps(
    client: &Client,
    ctx: &Ctx,
    apps: Vec<Options>,
    base: &Path,
    action: Action,
) -> Outcome {
    let only = app_options::only(&ctx.flags);
    let mut apps: Vec<(String, Options)> = apps
        .into_iter()
        .filter_map(|app| Some((ecosystem::app_name(&app)?, app)))
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .collect();
    if let Some(env) = &ctx.flags.env {
        // `append_env_to_name` apps are known by their suffixed name.
        for (name, app) in &mut apps {
            if app
                .get("append_env_to_name")
                .is_some_and(|v| v.as_bool() == Some(true))
            {
                *name = format!("{name}-{env}");
            }
        }
    }
    for (_, app) in &mut apps {
        apply_cli_overrides(app, ctx);
    }
    let list = client.list().await?;
    let running = |name: &str| -> Vec<u64> {
        list.iter()
            .filter(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .filter_map(target::pm_id)
            .collect()
    };
    let (existing, new): (Vec<_>, Vec<_>) = apps
        .into_iter()
        .partition(|(name, _)| !running(name).is_empty());

    if !new.is_empty() {
        let names: Vec<&str> = new.iter().map(|(n, _)| n.as_str()).collect();
        output::warn(&format!(
            "Applications {} not running, starting...",
            names.join(", ")
        ));
        let opts = StartOptions {
            cwd: base.to_path_buf(),
            client_env: ctx.env.clone(),
            env_name: ctx.flags.env.clone(),
            force: true,
            restart_existing: true,
            only: Vec::new(),
            restart_keeps_env: false,
        };
        let order: Vec<String> = new.iter().map(|(n, _)| n.clone()).collect();
        let procs = client
            .start(new.into_iter().map(|(_, a)| a).collect(), &opts)
            .await?;
        for name in order {
            let n = procs
                .iter()
                .filter(|p| proc_name(p) == Some(name.as_str()))
                .count()
                .max(1);
            ctx.info(&format!(
                "App [{}] launched ({n} instances)",
                printable(&name)
            ));
        }
    }

    let method = action.method();
    let mut done = Vec::new();
    for (name, app) in existing {
        let ids = running(&name);
        ctx.info(&format!(
            "Applying action {method} on app [{}](ids: {})",
            printable(&name),
            ids_text(&name, &ids)
        ));
        let opts = ecosystem_action_options(ctx, base, app);
        client.act(action, &name, &opts).await?;
        done.extend(ids.into_iter().map(|id| (name.clone(), id)));
    }
    for (name, id) in done {
        ctx.info(&format!("[{}]({id}) ✓", printable(&name)));
    }
    Ok(())
}

fn proc_name(p: &Value) -> Option<&str> {
    p.get("name")
        .or_else(|| p.get("pm2_env").and_then(|e| e.get("name")))
        .and_then(Value::as_str)
}

/// An action on an app of an ecosystem file: its entry's options and env
/// always apply (as in PM2), relative to the file's folder.
pub fn ecosystem_action_options(ctx: &Ctx, base: &Path, app: Options) -> ActionOptions {
    ActionOptions {
        update_env: true,
        client_env: ctx.env.clone(),
        env_name: ctx.flags.env.clone(),
        cwd: base.to_path_buf(),
        overrides: app,
        parallel: ctx.flags.parallel.map(std::num::NonZeroUsize::get),
    }
}

/// Whether PM2 would take `target` for the name of an app rather than a path.
fn looks_like_name(target: &str) -> bool {
    !target.contains('/') && Path::new(target).extension().is_none()
}

async fn restart_existing(
    client: &Client,
    ctx: &Ctx,
    label: &str,
    ids: &[u64],
    list: &[Value],
) -> Outcome {
    ctx.info(&format!(
        "Applying action restartProcessId on app [{label}](ids: {})",
        ids_text(label, ids)
    ));
    let mut overrides = app_options::from_flags(&ctx.flags);
    overrides.shift_remove("name");
    let opts = ActionOptions {
        update_env: ctx.flags.update_env,
        client_env: ctx.env.clone(),
        env_name: ctx.flags.env.clone(),
        cwd: ctx.cwd.clone(),
        overrides,
        parallel: ctx.flags.parallel.map(std::num::NonZeroUsize::get),
    };
    client.act_on_ids(Action::Restart, ids, list, &opts).await?;
    for &id in ids {
        ctx.info(&format!("[{}]({id}) ✓", super::name_of(list, id)));
    }
    ctx.info("Process successfully started");
    Ok(())
}

async fn start_script(client: &Client, ctx: &Ctx, script: &str, args: &[String]) -> Outcome {
    let list = client.list().await?;
    // An id, or the name/namespace of running apps: restart them.
    if script.parse::<u64>().is_ok() {
        let ids = target::resolve(&list, script)?;
        return restart_existing(client, ctx, script, &ids, &list).await;
    }
    if looks_like_name(script) && script != "all" {
        if let Ok(ids) = target::resolve(&list, script) {
            return restart_existing(client, ctx, script, &ids, &list).await;
        }
    }
    // The same script under the same name: the daemon restarts it when it is
    // down and refuses it when it runs (unless -f); under another name it is
    // a new app. It decides in one step, so parallel starts make one app.
    let app = app_options::script_app(script, &ctx.flags, args);
    let opts = StartOptions {
        cwd: ctx.cwd.clone(),
        client_env: ctx.env.clone(),
        env_name: ctx.flags.env.clone(),
        force: ctx.flags.force,
        restart_existing: false,
        only: Vec::new(),
        restart_keeps_env: !ctx.flags.update_env,
    };
    let started = client.start_each(vec![app], &opts).await?;
    match started.into_iter().next() {
        Some(Started::Restarted(procs)) => {
            let name = procs.first().and_then(proc_name).unwrap_or_default();
            let name = printable(name);
            let ids: Vec<u64> = procs.iter().filter_map(target::pm_id).collect();
            ctx.info(&format!(
                "Applying action restartProcessId on app [{name}](ids: {})",
                ids_text(&name, &ids)
            ));
            for id in ids {
                ctx.info(&format!("[{name}]({id}) ✓"));
            }
            ctx.info("Process successfully started");
        }
        Some(Started::Launched(procs)) => {
            if let Some(p) = procs.first() {
                let env = p.get("pm2_env").unwrap_or(p);
                let path = env["pm_exec_path"].as_str().unwrap_or(script);
                let mode = env["exec_mode"].as_str().unwrap_or("fork_mode");
                let n = procs.len();
                ctx.info(&format!(
                    "Starting {path} in {mode} ({n} instance{})",
                    if n == 1 { "" } else { "s" }
                ));
            }
            ctx.info("Done.");
        }
        None => {}
    }
    Ok(())
}

/// The options of an ecosystem app as `start` would send them (used by tests).
#[cfg(test)]
fn with_overrides(mut app: Options, ctx: &Ctx) -> Options {
    apply_cli_overrides(&mut app, ctx);
    app
}

/// The starter ecosystem file of `pm2 init`: one app, with env sections to
/// fill in; `simple` gives the name and script only.
fn starter_ecosystem(simple: bool) -> String {
    let details = if simple {
        ""
    } else {
        "\n      autorestart: true,\n      watch: false,\n      max_memory_restart: '1G',\n      env: {\n        NODE_ENV: 'development',\n      },\n      env_production: {\n        NODE_ENV: 'production',\n      },"
    };
    let name = if simple { "app1" } else { "app" };
    format!("module.exports = {{\n  apps: [\n    {{\n      name: '{name}',\n      script: './app.js',{details}\n    }},\n  ],\n}};\n")
}

/// `pm2 init [simple]` (alias `pm2 ecosystem`): writes `ecosystem.config.js`
/// in the current directory; an existing one is left alone.
pub fn init(ctx: &Ctx, mode: Option<&str>) -> Outcome {
    let file = ctx.cwd.join("ecosystem.config.js");
    let text = starter_ecosystem(mode == Some("simple"));
    // An existing file is replaced, as PM2 does.
    pm2_config::write_atomic(&file, text.as_bytes())
        .map_err(|e| Failure::Error(format!("Cannot write {}: {e}", file.display())))?;
    output::line(&format!("File {} generated", file.display()));
    Ok(())
}

/// `pm2 serve [path] [port]`: the package's static file server
/// (`lib/serve.js`) as a managed app named `static-page-server-<port>`;
/// serving the same port again restarts it with the new options.
pub async fn serve(ctx: &Ctx, args: &crate::args::ServeArgs) -> Outcome {
    // As PM2: the port after the path wins over `--port`.
    let port = args
        .port
        .clone()
        .or_else(|| args.port_option.clone())
        .unwrap_or_else(|| "8080".into());
    if port.parse::<u16>().is_err() {
        return Err(Failure::Error(format!(
            "serve: {port} is not a port number"
        )));
    }
    let dir = ctx.cwd.join(args.path.as_deref().unwrap_or("."));
    if !dir.is_dir() {
        return Err(Failure::Error(format!(
            "serve: {} is not a folder",
            dir.display()
        )));
    }
    let script = std::env::current_exe()
        .ok()
        .map(|exe| pm2_config::package_dir(&exe).join("lib").join("serve.js"))
        .filter(|s| s.is_file())
        .ok_or_else(|| Failure::Error("serve: lib/serve.js is missing from the package".into()))?;
    let mut env = serde_json::Map::new();
    env.insert(
        "PM2_SERVE_PATH".into(),
        Value::from(dir.to_string_lossy().into_owned()),
    );
    env.insert("PM2_SERVE_PORT".into(), Value::from(port.clone()));
    env.insert("PM2_SERVE_SPA".into(), Value::from(args.spa.to_string()));
    if let Some(home) = &args.homepage {
        env.insert("PM2_SERVE_HOMEPAGE".into(), Value::from(home.clone()));
    }
    if let (Some(user), Some(password)) = (&args.basic_auth_username, &args.basic_auth_password) {
        env.insert("PM2_SERVE_BASIC_AUTH".into(), Value::from("true"));
        env.insert(
            "PM2_SERVE_BASIC_AUTH_USERNAME".into(),
            Value::from(user.clone()),
        );
        env.insert(
            "PM2_SERVE_BASIC_AUTH_PASSWORD".into(),
            Value::from(password.clone()),
        );
    } else if args.basic_auth_username.is_some() || args.basic_auth_password.is_some() {
        return Err(Failure::Error(
            "serve: basic auth needs both --basic-auth-username and --basic-auth-password".into(),
        ));
    }
    let mut app = Options::new();
    app.insert(
        "script".into(),
        Value::from(script.to_string_lossy().into_owned()),
    );
    let name = ctx
        .flags
        .name
        .clone()
        .unwrap_or_else(|| format!("static-page-server-{port}"));
    app.insert("name".into(), Value::from(name));
    app.insert("env".into(), Value::Object(env));
    let client = connect(ctx, true).await?;
    start_apps(&client, ctx, vec![app], &ctx.cwd, Action::Restart).await?;
    ctx.info(&format!("Serving {} on port {port}", dir.display()));
    show_table(&client, ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Flags;
    use serde_json::json;

    #[test]
    fn names_and_paths() {
        assert!(looks_like_name("api"));
        assert!(!looks_like_name("api.js"));
        assert!(!looks_like_name("./api"));
    }

    #[test]
    fn ecosystem_apps_take_only_some_cli_options() {
        let flags = Flags {
            instances: Some("4".into()),
            watch: Some(String::new()),
            name: Some("ignored".into()),
            ..Flags::default()
        };
        let ctx = Ctx::new(flags);
        let app = json!({"name": "a", "script": "a.js", "instances": 1});
        let app = with_overrides(app.as_object().unwrap().clone(), &ctx);
        assert_eq!(app["instances"], 4);
        assert_eq!(app["watch"], true);
        assert_eq!(app["name"], "a");
    }
}
