//! A child's exit: cleanup, the `exit` event, and the restart that the
//! policy (restart_policy.rs) decides.

use super::*;

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
        let stop_codes = match p.env.get("stop_exit_codes") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
            Some(Value::Number(n)) => n.as_i64().into_iter().collect(),
            _ => Vec::new(),
        };
        let no_restart = deliberate_status
            || !p.flag("autorestart", true)
            || code.is_some_and(|c| stop_codes.contains(&i64::from(c)))
            || restarts_blocked;
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

    /// Autorestart after a crash: unstable-restart accounting, then a
    /// delayed or immediate relaunch.
    pub(super) fn schedule_restart(&mut self, id: u64) {
        let Some(p) = self.procs.get_mut(&id) else {
            return;
        };
        let now = now_ms();
        let min_uptime = p.num("min_uptime").unwrap_or(1000);
        let max_restarts = p.num("max_restarts").unwrap_or(16);
        let created_at = p.num("created_at").unwrap_or(now);
        let uptime_start = p.num("pm_uptime").unwrap_or(now);
        let mut unstable = p.num("unstable_restarts").unwrap_or(0);
        if now.saturating_sub(created_at) < min_uptime.saturating_mul(max_restarts)
            && now.saturating_sub(uptime_start) < min_uptime
        {
            unstable += 1;
            p.set("unstable_restarts", json!(unstable));
        }
        if unstable >= max_restarts {
            p.set("unstable_restarts", json!(0));
            p.set("restart_time", json!(p.num("restart_time").unwrap_or(0)));
            let name = p.name().to_string();
            self.transition(id, Status::Errored, None);
            self.emit(id, "restart overlimit", false);
            self.log.info(&format!("Script {name} had too many unstable restarts ({max_restarts}). Stopped. \"errored\""));
            return;
        }
        let delay = if let Some(base) = p.num("exp_backoff_restart_delay").filter(|d| *d > 0) {
            let prev = p.num("prev_restart_delay").unwrap_or(0);
            let next = if prev == 0 {
                base
            } else {
                ((prev as f64) * 1.5) as u64
            }
            .min(MAX_BACKOFF_MS);
            p.set("prev_restart_delay", json!(next));
            next
        } else {
            p.num("restart_delay").unwrap_or(0)
        };
        if delay > 0 {
            let generation = p.generation;
            self.transition(id, Status::WaitingRestart, None);
            self.step(id, Event::RestartScheduled { token: generation });
            self.after(
                Duration::from_millis(delay),
                Msg::RestartDue { id, generation },
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
