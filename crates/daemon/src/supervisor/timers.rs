//! The timers the actor arms, and the periodic worker tick (backoff reset,
//! `max_memory_restart`).

use super::{Actor, Timer};
use crate::clock::now_ms;
use crate::lifecycle::Event;
use crate::proc_info;
use crate::process::Status;
use serde_json::{json, Map};

impl Actor {
    pub(super) fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::KillTimeout {
                id,
                generation,
                final_stage,
            } => self.on_kill_timeout(id, generation, final_stage),
            Timer::RestartDue { id, generation } => {
                self.step(id, Event::RestartDue { token: generation });
            }
            Timer::ReadyTimeout { id, generation } => {
                let waiting = self
                    .procs
                    .get(&id)
                    .is_some_and(|p| p.generation == generation && p.status == Status::Launching);
                if waiting {
                    self.transition(id, Status::Online, Some("online"));
                }
            }
            Timer::WorkerTick => self.worker_tick(),
            Timer::RetireTimeout {
                id,
                generation,
                stage,
            } => self.retire_timeout(id, generation, stage),
            Timer::SaveState => self.save_state(),
        }
    }

    pub(super) fn worker_tick(&mut self) {
        let reset_after = self.settings.backoff_reset.as_millis() as u64;
        let now = now_ms();
        let mut over_memory = Vec::new();
        for p in self.procs.values_mut() {
            // An app being reloaded (for its memory too, maybe) is checked
            // at the next tick: reloads never pile up behind a slow one.
            if p.status != Status::Online || self.reload_locks.busy(p.name()) {
                continue;
            }
            let delayed = p.num("prev_restart_delay").is_some_and(|d| d > 0);
            if delayed && now.saturating_sub(p.num("pm_uptime").unwrap_or(now)) > reset_after {
                p.set("prev_restart_delay", json!(0));
                self.log.info(&format!(
                    "[PM2][WORKER] Reset the restart delay, as app {} has been up for more than {reset_after}ms",
                    p.name()
                ));
            }
            if let (Some(limit), Some(r)) =
                (p.num("max_memory_restart").filter(|l| *l > 0), &p.running)
            {
                if proc_info::rss_bytes(r.pid).unwrap_or(0) > limit {
                    over_memory.push(p.pm_id);
                }
            }
        }
        for id in over_memory {
            let name = self
                .procs
                .get(&id)
                .map(|p| p.name().to_string())
                .unwrap_or_default();
            self.log.info(&format!("[PM2][WORKER] Process {id} ({name}) restarted because it exceeds --max-memory-restart value"));
            // A zero-downtime reload in cluster mode, a restart in fork mode.
            let sup = self.supervisor();
            tokio::spawn(async move { sup.reload(id, Map::new(), false).await });
        }
    }
}
