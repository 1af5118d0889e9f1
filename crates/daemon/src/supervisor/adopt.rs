//! Taking back the apps of a daemon that died without a clean stop, from
//! its state record (`state_record.rs`).
//!
//! Each process of the record is put back in the table with its pm_id,
//! name and `pm2_env` (counters and timestamps as they were), without a
//! launch ([`Actor::reinstate`]). Then, by what is left of it:
//! - a fork-mode child still running (same pid, same start time) is
//!   supervised again as it runs. Its output pipes lost their reader with the
//!   old daemon; the daemon opens them again through `/proc/<pid>/fd/1` and
//!   `2` and logs what the app writes from then on. Where it cannot (not a
//!   pipe, no access), the app is restarted gracefully so its logs flow again.
//!   Its IPC channel cannot be opened again: messages to it are lost until
//!   its next restart.
//! - a cluster instance still running is restarted gracefully: its channel to
//!   the cluster primary and its listening socket died with the old daemon.
//! - a process that was running (or waiting for its restart) and is gone is
//!   started again, as the record says.
//! - a stopped or errored process stays so, as does one that was being
//!   stopped and is gone.
//!
//! What a gone process left in the old daemon's cgroup is killed first.
//!
//! The child is not the new daemon's: its exit is awaited on a pidfd and its
//! exit status is unknown (the restart policy applies as to an exit without
//! a code), unless it is a child of this process (a daemon replaced in place).

use super::launch::report_exit;
use super::{Actor, Supervisor};
use crate::cgroup::AppCgroups;
use crate::child::Exit;
use crate::lifecycle::{Event, Lifecycle};
use crate::log_writer::{pump, LogSink, Stream};
use crate::process::{Proc, Running, Status};
use crate::state_record::{ProcessRecord, StateRecord};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::unix::pipe;

/// How often a child is checked where the kernel has no pidfd.
const POLL: Duration = Duration::from_secs(1);

/// A child running already, to be supervised without a launch.
pub struct LiveChild {
    pub pid: u32,
    /// Its start time (field 22 of `/proc/<pid>/stat`), to tell it from a
    /// later process given the same pid.
    pub start_time: u64,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    pub stdin: Option<pipe::Sender>,
}

impl Supervisor {
    /// Takes back the processes of `record`, left by a daemon that died.
    pub async fn adopt(&self, record: StateRecord) -> Result<(), String> {
        self.query(move |a| {
            a.adopt(record);
            Ok(())
        })
        .await
    }
}

impl Actor {
    fn adopt(&mut self, record: StateRecord) {
        let mut to_restart = Vec::new();
        let old_cgroup = record.cgroup.clone();
        for rec in record.processes {
            if self.procs.contains_key(&rec.pm_id) {
                continue;
            }
            let id = rec.pm_id;
            let name = rec.name.clone();
            let live = rec.live_pid().zip(rec.start_time);
            // Not "stopping": a stop (or the stop of a restart) was under
            // way; a process gone since stays stopped.
            let was_running = matches!(
                rec.status.as_str(),
                "online" | "launching" | "waiting restart"
            );
            match live {
                Some((pid, start)) => {
                    let child = reopen_pipes(pid, start);
                    let piped = child.stdout.is_some() && child.stderr.is_some();
                    self.reinstate(&rec, Some(child));
                    if let (Some(cgroups), Some(old)) = (&self.cgroups, &old_cgroup) {
                        let generation = self.procs[&id].generation;
                        move_into_cgroup(cgroups, old, id, rec.generation, generation);
                    }
                    if rec.is_cluster() {
                        self.log.info(&format!(
                            "App [{name}:{id}] pid {pid} adopted; its cluster channel died with the previous daemon: restarting it"
                        ));
                        to_restart.push(id);
                    } else if !piped {
                        self.log.info(&format!(
                            "App [{name}:{id}] pid {pid} adopted; its output pipes cannot be opened again: restarting it so its logs flow"
                        ));
                        to_restart.push(id);
                    } else {
                        self.log.info(&format!(
                            "App [{name}:{id}] pid {pid} adopted: supervised again, its output logged again (what it wrote while no daemon ran is lost, messages to it need a restart)"
                        ));
                    }
                }
                None => {
                    // What its dead launch left in its cgroup must not run
                    // beside a new launch (a child holding the port).
                    if let (Some(old), Some(_)) = (&old_cgroup, rec.pid) {
                        kill_old_launch(old, id, rec.generation);
                    }
                    self.start_again_or_keep(&rec, was_running);
                }
            }
        }
        let highest = self.procs.keys().next_back().map_or(0, |id| id + 1);
        self.next_id = self.next_id.max(record.next_id).max(highest);
        self.note_change();
        self.restart_one_at_a_time(to_restart);
    }

    /// A process of the record that is gone: started again when it was
    /// running or waiting for its restart, else kept as it was.
    fn start_again_or_keep(&mut self, rec: &ProcessRecord, was_running: bool) {
        self.reinstate(rec, None);
        if !was_running {
            return;
        }
        let id = rec.pm_id;
        self.log.info(&format!(
            "App [{}:{id}] was {} and is gone: starting it again",
            rec.name, rec.status
        ));
        self.step(
            id,
            Event::Start {
                reply: None,
                bump: false,
            },
        );
    }

    /// Puts the process of `rec` back in the table without launching it:
    /// with `child`, as running it; without, as stopped or errored.
    pub(super) fn reinstate(&mut self, rec: &ProcessRecord, child: Option<LiveChild>) {
        let id = rec.pm_id;
        let mut p = Proc::new(id, Default::default());
        p.env = crate::pm2_env::Pm2Env::from_map(rec.full_pm2_env());
        p.refresh_options();
        p.status = if rec.status == "errored" {
            Status::Errored
        } else {
            Status::Stopped
        };
        p.set("status", serde_json::json!(p.status.as_str()));
        self.procs.insert(id, p);
        if let Some(child) = child {
            self.supervise_live(id, child);
        }
        self.note_change();
    }

    /// Supervises `child` as the running process of `id`: its output to the
    /// app's logs, its exit to the restart policy.
    fn supervise_live(&mut self, id: u64, child: LiveChild) {
        self.launches += 1;
        let generation = self.launches;
        let rotation = Some(self.log_rotation.clone());
        let bus = self.bus.clone();
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        p.generation = generation;
        p.life = Lifecycle::running(generation);
        let sink = LogSink::new(p.log_config(), p.identity(), bus, rotation).ok();
        p.log = sink.clone();
        let output: Vec<_> = [(child.stdout, Stream::Out), (child.stderr, Stream::Err)]
            .into_iter()
            .filter_map(|(pipe, stream)| Some(pump(pipe?, sink.clone()?, stream)))
            .collect();
        p.running = Some(Running {
            pid: child.pid,
            ipc: None,
            stdin: child
                .stdin
                .map(|s| std::sync::Arc::new(tokio::sync::Mutex::new(s))),
            started: Instant::now(),
            fds: None,
        });
        let (pid, start) = (child.pid, child.start_time);
        let tx = self.tx.clone();
        let (log, name) = (self.log.clone(), p.name().to_string());
        tokio::spawn(async move {
            let exit = await_exit(pid, start).await;
            if exit.code.is_none() && exit.signal.is_none() {
                log.info(&format!(
                    "App [{name}:{id}] pid {pid} ended; its exit status went to its parent, not to this daemon"
                ));
            }
            report_exit(tx, id, generation, exit, output).await;
        });
        self.transition(id, Status::Online, None);
    }

    /// Graceful restarts of adopted processes (kill signal, kill timeout,
    /// new launch), each once the one before runs again, as a reload goes
    /// through the instances of a cluster app.
    fn restart_one_at_a_time(&self, ids: Vec<u64>) {
        if ids.is_empty() {
            return;
        }
        let (supervisor, log) = (self.supervisor(), self.log.clone());
        tokio::spawn(async move {
            for id in ids {
                if let Err(e) = supervisor.restart(id, Default::default()).await {
                    log.info(&format!("App id {id} was not restarted: {e}"));
                }
            }
        });
    }
}

/// The child `pid` with its stdout and stderr opened again where they are
/// pipes, and its stdin where it is one.
fn reopen_pipes(pid: u32, start_time: u64) -> LiveChild {
    let open = |fd: u32, write: bool| -> Option<OwnedFd> {
        let link = format!("/proc/{pid}/fd/{fd}");
        if !std::fs::read_link(&link)
            .ok()?
            .to_str()?
            .starts_with("pipe:")
        {
            return None;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(link)
            .ok()?;
        Some(file.into())
    };
    LiveChild {
        pid,
        start_time,
        stdout: open(1, false).and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()),
        stderr: open(2, false).and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok()),
        stdin: open(0, true).and_then(|fd| pipe::Sender::from_owned_fd(fd).ok()),
    }
}

/// Awaits the end of `pid` (started at `start_time`), a process this one
/// may not be the parent of: on a pidfd, else by polling. Its status is read
/// when it is a child of this process, else unknown.
async fn await_exit(pid: u32, start_time: u64) -> Exit {
    let gone = || !crate::state_record::same_process_alive(pid, start_time);
    match crate::os::child_exit::exit_fd(pid as i32) {
        Some(fd) => {
            if let Ok(mut guard) = fd.readable().await {
                guard.clear_ready();
            }
        }
        None => {
            while !gone() {
                tokio::time::sleep(POLL).await;
            }
        }
    }
    // Not our child (the usual case): its status went to its parent.
    let (code, signal) = match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => (Some(code), None),
        Ok(WaitStatus::Signaled(_, signal, _)) => (None, Some(signal as i32)),
        _ => (None, None),
    };
    Exit {
        code,
        signal,
        launch_error: None,
    }
}

/// Kills what is left in the old daemon's cgroup of one launch of app `pm_id`.
fn kill_old_launch(old: &Path, pm_id: u64, launch: u64) {
    let leaf = old.join(pm_id.to_string()).join(launch.to_string());
    let _ = std::fs::write(leaf.join("cgroup.kill"), "1");
}

/// Moves what runs in the old daemon's cgroup of one launch of app `pm_id`
/// into the new daemon's cgroup of its adoption, so a stop reaches it all.
fn move_into_cgroup(cgroups: &AppCgroups, old: &Path, pm_id: u64, old_launch: u64, launch: u64) {
    let old_leaf = old.join(pm_id.to_string()).join(old_launch.to_string());
    let Ok(pids) = std::fs::read_to_string(old_leaf.join("cgroup.procs")) else {
        return;
    };
    if cgroups.launch_dir(pm_id, launch).is_err() {
        return;
    }
    let procs = cgroups
        .dir()
        .join(pm_id.to_string())
        .join(launch.to_string())
        .join("cgroup.procs");
    for pid in pids.lines() {
        let _ = std::fs::write(&procs, pid);
    }
    let _ = std::fs::remove_dir(&old_leaf);
    let _ = std::fs::remove_dir(old_leaf.parent().unwrap_or(&old_leaf));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_record::start_time;
    use std::process::{Command, Stdio};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    #[tokio::test]
    async fn opens_the_pipes_of_a_running_process_again() {
        let child = Command::new("sh")
            .args(["-c", "read x; echo \"got $x\""])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let live = reopen_pipes(pid, start_time(pid).unwrap());
        let (mut stdin, stdout) = (live.stdin.unwrap(), live.stdout.unwrap());
        assert!(live.stderr.is_some());
        stdin.write_all(b"hi\n").await.unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        assert_eq!(line, "got hi\n");
        let exit = await_exit(pid, 0).await;
        assert_eq!(exit.code, Some(0), "a child of ours: its status is read");
        drop(child);
    }

    #[tokio::test]
    async fn a_process_that_is_not_ours_ends_with_an_unknown_status() {
        let out = Command::new("sh")
            .args(["-c", "sleep 0.3 >/dev/null 2>&1 & echo $!"])
            .output()
            .unwrap();
        let pid: u32 = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let start = start_time(pid).expect("the orphan runs");
        let exit = tokio::time::timeout(Duration::from_secs(10), await_exit(pid, start))
            .await
            .expect("its end is seen");
        assert_eq!((exit.code, exit.signal), (None, None));
        assert!(!crate::state_record::same_process_alive(pid, start));
    }
}
