//! Turning a pm2_env into a running child: command line, environment,
//! descriptors (stdio pipes and the Node IPC channel on fd 3), own session.

use crate::settings::Settings;
use pm2_wire::ipc::{self, IpcReader, IpcWriter, CHILD_CHANNEL_FD};
use serde_json::{Map, Value};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Stdio;
use tokio::process::{Child, Command};

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
fn child_environment(env: &Map<String, Value>) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| !k.is_empty() && !k.contains('=') && !k.contains('\0'))
        .filter_map(|(k, v)| {
            let s = match v {
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

pub fn spawn(env: &Map<String, Value>, settings: &Settings) -> io::Result<Spawned> {
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
    let args = strings(env.get("args"));
    let interpreter_args = strings(env.get("node_args"));

    let mut cmd = if interpreter == "none" {
        Command::new(script)
    } else {
        // An absolute program path gives Node room for `process.title`
        // (it can only reuse the space of the original argv).
        let program = find_in_path(interpreter, env.get("PATH").and_then(Value::as_str));
        let mut c = Command::new(program);
        c.args(&interpreter_args);
        let is_node = Path::new(interpreter)
            .file_name()
            .is_some_and(|n| n == "node");
        if is_node && settings.container.is_file() {
            c.arg(&settings.container);
        } else {
            c.arg(script);
        }
        c
    };
    cmd.args(&args)
        .env_clear()
        .envs(child_environment(env))
        .env("NODE_CHANNEL_FD", CHILD_CHANNEL_FD.to_string())
        .env("NODE_CHANNEL_SERIALIZATION_MODE", "json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    if !cwd.is_empty() {
        cmd.current_dir(cwd);
    }
    let (parent, child_end) = ipc::channel()?;
    let child_fd = child_end.as_raw_fd();
    // In-process mode the apps die with the host script, as PM2's no-daemon mode does.
    let die_with_parent = settings.in_process;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if die_with_parent && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) < 0 {
                return Err(io::Error::last_os_error());
            }
            ipc::install_child_end(child_fd)
        });
    }
    let child = cmd.spawn().map_err(|e| {
        let what = if interpreter == "none" {
            script
        } else {
            interpreter
        };
        io::Error::new(e.kind(), format!("failed to launch {what}: {e}"))
    })?;
    drop(child_end);
    Ok(Spawned {
        child,
        ipc: ipc::split(parent),
    })
}
