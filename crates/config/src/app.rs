//! `resolve_app`: one app as a user wrote it → the description the daemon's
//! `prepare` takes (`pm_exec_path`, `pm_cwd`, interpreter, mode, logs, env, …).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::app_name::default_name;
use crate::args::string_list;
use crate::error::ConfigError;
use crate::interpreter::{self, can_cluster};
use crate::locate::{absolute, Lookup};
use crate::options::{self, normalize_keys, Kind};
use crate::units::{
    instance_count, parse_bool, parse_bytes, parse_count, parse_duration_ms, parse_instances,
};
use crate::{env, logs, Options, ResolveContext};

/// Format `time: true` gives log lines.
const TIME_FORMAT: &str = "YYYY-MM-DDTHH:mm:ss";

/// What the `script` option turned out to be.
enum Launch {
    /// A file (possibly found on PATH), run by an interpreter or directly.
    File(PathBuf),
    /// A command line such as `"npm run dev"`, run as `<shell> -c "<command>"`.
    Command { shell: PathBuf },
}

/// Turns one app's options into the app description sent to the daemon's `prepare`.
pub fn resolve_app(opts: &Options, ctx: &ResolveContext) -> Result<Options, ConfigError> {
    let mut app = normalize_keys(opts);
    convert_typed_options(&mut app)?;
    crate::cron::check(app.get("cron_restart")).map_err(ConfigError::InvalidCron)?;
    let lookup = Lookup::new(ctx);

    let script = match app.get("script") {
        None => return Err(ConfigError::MissingScript),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(ConfigError::MissingScript),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ConfigError::invalid("a file path or a command", other).for_option("script"))
        }
    };
    let cwd = resolve_cwd(&app, ctx, &lookup)?;
    let launch = locate_script(&script, &cwd, &lookup)?;

    let mut name = match (app.get("name"), &launch) {
        (Some(Value::String(s)), _) if !s.is_empty() => s.clone(),
        (Some(Value::Number(n)), _) => n.to_string(),
        (None | Some(Value::String(_)), _) => default_name(&script),
        (Some(other), _) => return Err(ConfigError::invalid("a string", other).for_option("name")),
    };
    if let (Some(Value::Bool(true)), Some(env_name)) =
        (app.get("append_env_to_name"), &ctx.env_name)
    {
        name = format!("{name}-{env_name}");
    }
    crate::app_name::check(&name).map_err(ConfigError::InvalidName)?;

    let (exec_path, interpreter) = match &launch {
        // The shell runs the command line itself: no interpreter in between.
        Launch::Command { shell } => (shell.clone(), "none".to_string()),
        Launch::File(path) => {
            let explicit = match app.get("exec_interpreter") {
                None => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.as_str()),
                Some(other) => {
                    return Err(ConfigError::invalid("a program name", other)
                        .for_option("exec_interpreter"))
                }
            };
            let interpreter = interpreter::choose(explicit, path, &cwd, &lookup)?;
            (path.clone(), interpreter)
        }
    };

    let raw_instances = match app.get("instances") {
        Some(v) => Some(parse_instances(v).map_err(|e| e.for_option("instances"))?),
        None => None,
    };
    let cluster = exec_mode(&app, raw_instances, &interpreter)?;
    let merge_logs = match app.get("merge_logs") {
        Some(Value::Bool(b)) => *b,
        // Separate files per instance unless there is only one process to log.
        _ => !cluster && raw_instances.unwrap_or(0) == 0,
    };

    match &launch {
        Launch::Command { .. } => {
            app.insert(
                "args".into(),
                Value::from(vec!["-c".to_string(), script.clone()]),
            );
        }
        Launch::File(_) => {
            if let Some(v) = app.get("args") {
                let args = string_list(v).map_err(|e| e.for_option("args"))?;
                app.insert("args".into(), Value::from(args));
            }
        }
    }
    let node_args = match app.get("node_args") {
        Some(v) => string_list(v).map_err(|e| e.for_option("node_args"))?,
        None => Vec::new(),
    };

    app.insert("name".into(), Value::from(name.clone()));
    app.insert("pm_cwd".into(), path_value(&cwd));
    app.insert("pm_exec_path".into(), path_value(&exec_path));
    app.insert("exec_interpreter".into(), Value::from(interpreter.clone()));
    app.insert(
        "exec_mode".into(),
        Value::from(if cluster { "cluster_mode" } else { "fork_mode" }),
    );
    app.insert(
        "instances".into(),
        Value::from(instance_count(raw_instances.unwrap_or(1), ctx.cpus)),
    );
    app.insert("merge_logs".into(), Value::Bool(merge_logs));
    app.insert("node_args".into(), Value::from(node_args));
    apply_defaults(&mut app, ctx)?;
    logs::assign(&mut app, &name, &cwd, &ctx.paths.logs_dir, &lookup)?;
    // As PM2's client does: its daemon needs a pid path to add `-<pm_id>` to.
    app.entry("pm_pid_path").or_insert_with(|| {
        let file = ctx
            .paths
            .pids_dir
            .join(format!("{}.pid", crate::sanitize_name(&name)));
        path_value(&file)
    });

    let mut env = env::build(&app, &name, ctx)?;
    if interpreter.contains("python") {
        // Python block-buffers a pipe; without this its logs arrive late or never.
        env.entry("PYTHONUNBUFFERED")
            .or_insert_with(|| Value::from("1"));
    }
    // `script` is resolved into `pm_exec_path` (and `args`): PM2 keeps only those.
    app.retain(|k, _| !k.starts_with("env_") && k != options::DEPLOY_ENV && k != "script");
    app.insert("env".into(), Value::Object(env));
    Ok(app)
}

/// The options a restart or reload with an ecosystem file's app gives the
/// daemon: canonical keys, and `node_args` and `args` as lists, as a start
/// stores them. A value that is not a list of words is left for the daemon
/// to refuse.
pub fn restart_options(opts: &Options) -> Options {
    let mut out = normalize_keys(opts);
    for key in ["node_args", "args"] {
        if let Some(list) = out.get(key).and_then(|v| string_list(v).ok()) {
            out.insert(key.into(), Value::from(list));
        }
    }
    out
}

/// Unit conversions and type checks for the options PM2's schema types.
fn convert_typed_options(app: &mut Options) -> Result<(), ConfigError> {
    type Convert = fn(&Value) -> Result<Value, ConfigError>;
    let groups: [(Kind, Convert); 4] = [
        (Kind::Switch, |v| parse_bool(v).map(Value::Bool)),
        (Kind::Duration, |v| parse_duration_ms(v).map(Value::from)),
        (Kind::Size, |v| parse_bytes(v).map(Value::from)),
        (Kind::Count, |v| parse_count(v).map(Value::from)),
    ];
    for (kind, convert) in groups {
        for key in options::of_kind(kind) {
            if let Some(v) = app.get(key) {
                let converted = convert(v).map_err(|e| e.for_option(key))?;
                app.insert(key.to_string(), converted);
            }
        }
    }
    Ok(())
}

/// `cwd` against the caller's directory (default: that directory itself).
fn resolve_cwd(
    app: &Options,
    ctx: &ResolveContext,
    lookup: &Lookup,
) -> Result<PathBuf, ConfigError> {
    let base = if ctx.cwd.is_absolute() {
        absolute(&ctx.cwd, Path::new("."))
    } else {
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        absolute(&here, &ctx.cwd)
    };
    let cwd = match app.get("cwd") {
        None => base,
        Some(Value::String(s)) if s.is_empty() => base,
        Some(Value::String(s)) => lookup.resolve(&base, s),
        Some(other) => {
            return Err(ConfigError::invalid("a directory path", other).for_option("cwd"))
        }
    };
    if !cwd.is_dir() {
        return Err(ConfigError::CwdNotFound(cwd));
    }
    Ok(cwd)
}

/// A file relative to the app's cwd, else a command on PATH; text with spaces that
/// names no file is a command line for the shell.
fn locate_script(script: &str, cwd: &Path, lookup: &Lookup) -> Result<Launch, ConfigError> {
    let path = lookup.resolve(cwd, script);
    if path.exists() {
        return Ok(Launch::File(path));
    }
    if script.contains(' ') {
        let shell = lookup
            .which("bash", cwd)
            .or_else(|| lookup.which("sh", cwd))
            .ok_or_else(|| ConfigError::InterpreterNotAvailable("bash".into()))?;
        return Ok(Launch::Command { shell });
    }
    lookup
        .which(script, cwd)
        .map(Launch::File)
        .ok_or(ConfigError::ScriptNotFound(path))
}

/// Whether the app runs in cluster mode. Explicit `exec_mode` wins, except that
/// only node and bun can be cluster workers; otherwise giving `instances` at all
/// asks for cluster mode.
fn exec_mode(
    app: &Options,
    instances: Option<i64>,
    interpreter: &str,
) -> Result<bool, ConfigError> {
    let explicit = match app.get("exec_mode") {
        None => None,
        Some(Value::String(s)) if s == "cluster" || s == "cluster_mode" => Some(true),
        Some(Value::String(s)) if s == "fork" || s == "fork_mode" => Some(false),
        Some(other) => {
            return Err(
                ConfigError::invalid("\"fork\" or \"cluster\"", other).for_option("exec_mode")
            )
        }
    };
    Ok(explicit.unwrap_or(instances.is_some()) && can_cluster(interpreter))
}

fn apply_defaults(app: &mut Options, ctx: &ResolveContext) -> Result<(), ConfigError> {
    for (key, value) in options::defaults() {
        app.entry(key).or_insert(value);
    }
    // As PM2's client: the caller's PM2_DEEP_MONITORING turns the option on.
    if ctx
        .client_env
        .get("PM2_DEEP_MONITORING")
        .is_some_and(|v| !v.is_empty())
    {
        app.insert("deep_monitoring".into(), Value::Bool(true));
    }
    match app.get("namespace") {
        None => {
            app.insert("namespace".into(), Value::from("default"));
        }
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(other) => {
            return Err(ConfigError::invalid("a non-empty string", other).for_option("namespace"))
        }
    }
    if app.get("time") == Some(&Value::Bool(true)) && !app.contains_key("log_date_format") {
        app.insert("log_date_format".into(), Value::from(TIME_FORMAT));
    }
    if !app.contains_key("username") {
        let user = ["USER", "LOGNAME", "USERNAME", "LNAME"]
            .iter()
            .find_map(|k| ctx.client_env.get(*k).filter(|v| !v.is_empty()));
        if let Some(user) = user {
            app.insert("username".into(), Value::from(user.clone()));
        }
    }
    Ok(())
}

fn path_value(p: &Path) -> Value {
    Value::from(p.to_string_lossy().into_owned())
}
