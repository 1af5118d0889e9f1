//! Finding a live daemon for a `PM2_HOME`, or starting one.
//!
//! The daemon is started detached (its own session), with stdout and stderr
//! appended to `pm2.log`, and a pipe on fd 3 (`PM2_READY_FD`) on which it writes
//! one JSON line once both sockets are bound, so the client waits for an event
//! rather than polling the socket.

use crate::error::{Error, Result};
use pm2_config::Paths;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// fd number of the readiness pipe in the daemon.
pub const READY_FD: i32 = 3;
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The daemon binary: `PM2_DAEMON_BIN`, else `pm2-daemon` beside `anchor`
/// (the CLI's own executable, or the addon's shared object).
pub fn daemon_binary(anchor: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("PM2_DAEMON_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    anchor.parent().unwrap_or(Path::new(".")).join("pm2-daemon")
}

/// True when a daemon accepts connections on `rpc.sock`.
pub async fn daemon_alive(paths: &Paths) -> bool {
    tokio::net::UnixStream::connect(&paths.rpc_sock)
        .await
        .is_ok()
}

/// Starts a daemon for `paths` and waits until it is serving.
/// `env` is the environment the daemon (and so every app's base env) gets.
pub async fn launch_daemon(
    paths: &Paths,
    daemon_bin: &Path,
    env: &pm2_config::ClientEnv,
) -> Result<()> {
    // A daemon that is alive but not answering (yet) must not get a twin
    // with an empty list for the same PM2_HOME.
    if let Some(pid) = paths.live_daemon_pid() {
        return wait_for_socket(paths, Some(pid)).await;
    }
    if !daemon_bin.exists() {
        return Err(Error::Daemon(format!(
            "PM2 daemon binary not found at {}",
            daemon_bin.display()
        )));
    }
    let log =
        pm2_config::safe_fs::open_append(&paths.log_file, pm2_config::safe_fs::LOG_FILE_MODE)?;
    let (ready_read, ready_write) = std::io::pipe()?;
    let ready_read = std::os::fd::OwnedFd::from(ready_read);
    let mut cmd = Command::new(daemon_bin);
    cmd.env_clear()
        .env("SILENT", "true")
        .envs(env)
        .env("PM2_HOME", &paths.home)
        .env("PM2_READY_FD", READY_FD.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .current_dir(&paths.home);
    let write_fd = ready_write.as_raw_fd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Fork once more so the daemon is not our child: a long-lived
            // client (a Node script) would otherwise keep it as a zombie.
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            if libc::dup2(write_fd, READY_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut intermediate = cmd.spawn()?;
    drop(ready_write);
    let _ = intermediate.wait();
    let line = tokio::time::timeout(START_TIMEOUT, read_ready_line(ready_read)).await;
    match line {
        Ok(Ok(line)) if line.contains("\"online\":true") => Ok(()),
        Ok(Ok(line)) if line.contains("\"already\":true") => {
            // Another client started a daemon at the same moment, or one is
            // alive without answering: wait for its socket.
            let pid = line
                .split("\"pid\":")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches(['}', '\n']).parse().ok());
            wait_for_socket(paths, pid).await
        }
        Ok(_) => Err(Error::Daemon(format!(
            "PM2 daemon failed to start; see {}{}",
            paths.log_file.display(),
            last_lines(&paths.log_file, 5)
        ))),
        Err(_) => Err(Error::Daemon(format!(
            "PM2 daemon did not answer within {}s; see {}",
            START_TIMEOUT.as_secs(),
            paths.log_file.display()
        ))),
    }
}

/// Waits for a daemon that exists (or is being started by another client) to
/// answer on `rpc.sock`.
async fn wait_for_socket(paths: &Paths, pid: Option<i32>) -> Result<()> {
    for _ in 0..100 {
        if daemon_alive(paths).await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::Daemon(match pid {
        Some(pid) => format!(
            "a PM2 daemon (pid {pid}) is running for {} but does not answer on {}; \
             not starting a second one. Stop it (kill {pid}) and try again",
            paths.home.display(),
            paths.rpc_sock.display()
        ),
        None => "PM2 daemon did not come up".into(),
    }))
}

async fn read_ready_line(fd: OwnedFd) -> std::io::Result<String> {
    let mut rx = tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = rx.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.contains(&b'\n') {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn last_lines(file: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(n)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(":\n{}", tail.join("\n"))
    }
}
