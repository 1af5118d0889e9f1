//! A child's exit: cleanup, the `exit` event, and the restart that the
//! policy (restart_policy.rs) decides.

use super::restart_policy::{self, Decision};
use super::{Actor, Timer};
use crate::app_processes::AppProcesses;
use crate::clock::now_ms;
use crate::lifecycle::{Action, Event};
use crate::process::Status;
use serde_json::json;
use std::time::Duration;

impl Actor {
    pub(super) fn on_exit(
        &mut self,
        id: u64,
        generation: u64,
        code: Option<i32>,
        signal: Option<i32>,
        launch_error: Option<String>,
    ) {
        let restarts_blocked = self.restarts_blocked;
        self.cluster.remove_worker(id, generation);
        if self
            .procs
            .get(&id)
            .is_none_or(|p| p.generation != generation)
        {
            self.old_process_exited(id, generation);
            return;
        }
        self.replacement_exited(id, generation);
        if let Some(e) = launch_error {
            self.launch_failed(id, &e);
        }
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let app = AppProcesses::of(p, self.cgroups.as_deref());
        if p.status == Status::Stopping {
            app.kill_leftovers();
        } else {
            app.tidy();
        }
        p.running = None;
        if let Some(pid_path) = p.str("pm_pid_path") {
            let _ = std::fs::remove_file(pid_path);
        }
        p.set("axm_actions", json!([]));
        p.set("axm_monitor", json!({}));
        // Killed by a signal (a stop's SIGINT included): PM2 records 0.
        let exit_code = code.map(i64::from).unwrap_or(0);
        p.set("exit_code", json!(exit_code));
        let deliberate_status = matches!(
            p.status,
            Status::Stopping | Status::Stopped | Status::Errored
        );
        let no_restart =
            restart_policy::exit_restarts(&p.opts, code, deliberate_status, restarts_blocked)
                .is_err();
        let was_errored = p.status == Status::Errored;
        let signal_name = signal
            .and_then(|s| nix::sys::signal::Signal::try_from(s).ok())
            .map_or("SIGINT", |s| s.as_str());
        let name = p.name().to_string();
        self.log.info(&format!(
            "App [{name}:{id}] exited with code [{exit_code}] via signal [{signal_name}]"
        ));
        if !was_errored {
            self.transition(id, Status::Stopped, None);
        }
        self.emit(id, "exit", false);
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        for action in p.life.step(Event::Exited { generation }) {
            match action {
                Action::Crashed if !no_restart => self.schedule_restart(id),
                action => self.act(id, action),
            }
        }
        self.release_sockets_of(id);
    }

    /// Autorestart after a crash, as the policy decides: a delayed or
    /// immediate relaunch, or errored after too many unstable restarts.
    pub(super) fn schedule_restart(&mut self, id: u64) {
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let opts = &p.opts;
        let now = now_ms();
        let history = restart_policy::History {
            now,
            created_at: p.num("created_at").unwrap_or(now),
            launched_at: p.num("pm_uptime").unwrap_or(now),
            unstable_restarts: p.num("unstable_restarts").unwrap_or(0),
            prev_restart_delay: p.num("prev_restart_delay").unwrap_or(0),
        };
        let delay = match restart_policy::after_crash(opts, &history) {
            Decision::TooManyUnstableRestarts => {
                let max_restarts = opts.max_restarts;
                p.set("unstable_restarts", json!(0));
                p.set("restart_time", json!(p.num("restart_time").unwrap_or(0)));
                // PM2 names the script by its path here, not the app.
                let script = p.str("pm_exec_path").unwrap_or(p.name()).to_string();
                self.transition(id, Status::Errored, None);
                self.emit(id, "restart overlimit", false);
                self.log.info(&format!("Script {script} had too many unstable restarts ({max_restarts}). Stopped. \"errored\""));
                return;
            }
            Decision::Restart {
                delay_ms,
                unstable_restarts,
                prev_restart_delay,
            } => {
                if let Some(n) = unstable_restarts {
                    p.set("unstable_restarts", json!(n));
                }
                if let Some(d) = prev_restart_delay {
                    p.set("prev_restart_delay", json!(d));
                }
                delay_ms
            }
        };
        if delay > 0 {
            let generation = p.generation;
            self.transition(id, Status::WaitingRestart, None);
            self.step(id, Event::RestartScheduled { token: generation });
            self.after(
                Duration::from_millis(delay),
                Timer::RestartDue { id, generation },
            );
        } else {
            self.step(
                id,
                Event::Start {
                    reply: None,
                    bump: true,
                },
            );
        }
    }
}
