//! Turning a pm2_env into a running child: command line, environment,
//! descriptors (stdio pipes and the Node IPC channel on fd 3), own session
//! and, where the daemon has them, own cgroup.
//!
//! Node and Bun apps run inside the container (lib/container.js): Node runs
//! it as its main script, which then loads the app; Bun preloads it and runs
//! the app as its entry point itself.

use crate::child::{self, Child};
use crate::pm2_env::Pm2Env;
use crate::runtime::Runtime;
use crate::settings::Settings;
use pm2_wire::ipc::{self, IpcReader, IpcWriter, CHILD_CHANNEL_FD};
use serde_json::Value;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

pub struct Spawned {
    pub child: Child,
    pub ipc: (IpcReader, IpcWriter),
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => {
            s.split_whitespace().map(str::to_string).collect()
        }
        _ => Vec::new(),
    }
}

/// Every primitive field of the flattened pm2_env, as PM2 gives its children.
/// A child is started while its process is launching, and PM2's children
/// see that status, whatever the table said before.
fn child_environment(env: &Pm2Env) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| !k.is_empty() && !k.contains('=') && !k.contains('\0'))
        .filter_map(|(k, v)| {
            let s = match v {
                _ if k == "status" => "launching".to_string(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            (!s.contains('\0')).then(|| (k.clone(), s))
        })
        .collect()
}

/// `name` resolved against `path` (the app's PATH), or `name` unchanged.
fn find_in_path(name: &str, path: Option<&str>) -> std::path::PathBuf {
    if name.contains('/') {
        return name.into();
    }
    let dirs = path
        .map(str::to_string)
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    std::env::split_paths(&dirs)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| name.into())
}

/// Starts the app `env` describes; `cgroup`, when given, is the directory
/// of the cgroup it is to run in; `worker_id`, when given,
/// makes a node app a cluster worker of the daemon with that id.
pub fn spawn(
    env: &Pm2Env,
    settings: &Settings,
    cgroup: Option<OwnedFd>,
    worker_id: Option<u64>,
) -> io::Result<Spawned> {
    let get = |k: &str| env.get(k).and_then(Value::as_str).unwrap_or_default();
    let script = get("pm_exec_path");
    let interpreter = match get("exec_interpreter") {
        "" => "node",
        other => other,
    };
    let cwd = get("pm_cwd");
    if !cwd.is_empty() && !Path::new(cwd).is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cwd {cwd} does not exist"),
        ));
    }
    let app_path = env.get("PATH").and_then(Value::as_str);
    let runtime = Runtime::of(interpreter);
    let (program, mut argv, label) = if interpreter == "none" {
        (
            find_in_path(script, app_path),
            vec![script.to_string()],
            script,
        )
    } else {
        // An absolute program path (also as argv[0]) gives Node room for
        // `process.title`: it can only reuse the space of the original argv.
        let program = find_in_path(interpreter, app_path);
        let mut argv = vec![program.to_string_lossy().into_owned()];
        argv.extend(strings(env.get("node_args")));
        if worker_id.is_none() {
            argv.extend(crate::pm2_env_vars::node_options());
        }
        let container = settings.container.to_string_lossy().into_owned();
        match runtime {
            Runtime::Node if settings.container.is_file() => argv.push(container),
            Runtime::Bun if settings.container.is_file() => {
                argv.extend(["--preload".to_string(), container, script.to_string()])
            }
            _ => argv.push(script.to_string()),
        }
        (program, argv, interpreter)
    };
    argv.extend(strings(env.get("args")));
    let mut child_env = child_environment(env);
    child_env.retain(|(k, _)| {
        k != "NODE_CHANNEL_FD" && k != "NODE_CHANNEL_SERIALIZATION_MODE" && k != "NODE_UNIQUE_ID"
    });
    child_env.push(("NODE_CHANNEL_FD".into(), CHILD_CHANNEL_FD.to_string()));
    child_env.push(("NODE_CHANNEL_SERIALIZATION_MODE".into(), "json".into()));
    if let Some(id) = worker_id {
        // Node starts as a cluster worker, with the daemon as its primary.
        child_env.push(("NODE_UNIQUE_ID".into(), id.to_string()));
    }

    let (parent, child_end) = ipc::channel()?;
    let child = child::spawn(&child::Command {
        program: &program,
        argv: &argv,
        env: &child_env,
        cwd: (!cwd.is_empty()).then(|| Path::new(cwd)),
        channel_fd: child_end.as_raw_fd(),
        // In-process mode the apps die with the host script, as PM2's no-daemon mode does.
        die_with_parent: settings.in_process,
        cgroup: cgroup.as_ref().map(AsRawFd::as_raw_fd),
        label: label.to_string(),
    })
    .map_err(|e| io::Error::new(e.kind(), format!("failed to launch {label}: {e}")))?;
    drop(child_end);
    Ok(Spawned {
        child,
        ipc: ipc::split(parent, runtime.peer()),
    })
}
