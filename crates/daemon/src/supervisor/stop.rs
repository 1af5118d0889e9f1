//! Stopping a process: the stop signal (or `shutdown` message), then
//! SIGKILL after `kill_timeout`, then giving up on a process that survives
//! it for `kill_timeout` again.

use super::{Actor, Timer};
use crate::app_processes::AppProcesses;
use crate::lifecycle::Event;
use crate::proc_info;
use crate::process::Status;
use crate::process::{Proc, Waiter};
use serde_json::json;
use std::time::Duration;

impl Actor {
    /// The signal that stops process `p`: its `kill_signal`, else the daemon's.
    pub(super) fn kill_signal_of(&self, p: &Proc) -> nix::sys::signal::Signal {
        p.opts
            .kill_signal
            .as_deref()
            .and_then(proc_info::parse_signal)
            .or_else(|| proc_info::parse_signal(&self.settings.kill_signal))
            .unwrap_or(nix::sys::signal::Signal::SIGINT)
    }

    pub(super) fn kill_timeout_of(&self, id: u64) -> Duration {
        self.procs
            .get(&id)
            .and_then(|p| p.opts.kill_timeout)
            .unwrap_or(self.settings.kill_timeout)
    }

    pub(super) fn stop(&mut self, id: u64, reply: Waiter) {
        // As the daemon goes down, the old process of a reload goes at once:
        // its retirement timers would not outlive the daemon.
        self.end_reload(id, self.restarts_blocked);
        self.request(id, reply, |reply| Event::Stop { reply });
        self.release_sockets_of(id);
    }

    /// Asks the child of `id` to end (its `kill_signal`, or the `shutdown`
    /// message) and arms the kill timeout.
    pub(super) fn begin_stop(&mut self, id: u64) {
        let kill_signal = self.settings.kill_signal.clone();
        let use_message = self.settings.kill_use_message;
        let default_timeout = self.settings.kill_timeout;
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let Some(r) = &p.running else {
            return;
        };
        let generation = p.generation;
        let by_message = (p.opts.shutdown_with_message || use_message) && r.ipc.is_some();
        if by_message {
            if let Some(ipc) = r.ipc.clone() {
                tokio::spawn(async move { ipc.send(&json!("shutdown")).await });
            }
        } else {
            let signal = p
                .opts
                .kill_signal
                .as_deref()
                .and_then(proc_info::parse_signal)
                .or_else(|| proc_info::parse_signal(&kill_signal))
                .unwrap_or(nix::sys::signal::Signal::SIGINT);
            AppProcesses::of(p, self.cgroups.as_deref()).signal(signal);
        }
        let timeout = p.opts.kill_timeout.unwrap_or(default_timeout);
        self.log.info(&format!("Stopping app:{} id:{id}", p.name()));
        self.transition(id, Status::Stopping, None);
        self.after(
            timeout,
            Timer::KillTimeout {
                id,
                generation,
                final_stage: false,
            },
        );
    }

    pub(super) fn on_kill_timeout(&mut self, id: u64, generation: u64, final_stage: bool) {
        let default_timeout = self.settings.kill_timeout;
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        if p.running.is_none() {
            return;
        }
        if !final_stage {
            AppProcesses::of(p, self.cgroups.as_deref()).signal(nix::sys::signal::Signal::SIGKILL);
            // After SIGKILL PM2 waits for the exit as long again as before
            // it: the app's own `kill_timeout` (0 counting as unset there),
            // else the daemon's. Not the daemon's alone: an app given a long
            // kill_timeout (a large tree, a slow disk) gets that time again.
            let timeout = p
                .opts
                .kill_timeout
                .filter(|t| !t.is_zero())
                .unwrap_or(default_timeout);
            self.after(
                timeout,
                Timer::KillTimeout {
                    id,
                    generation,
                    final_stage: true,
                },
            );
            return;
        }
        // Survived SIGKILL (uninterruptible sleep): give up on it, as PM2 does.
        self.step(id, Event::KillFailed { generation });
    }
}
