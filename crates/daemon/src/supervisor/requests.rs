//! What clients ask of the actor (see `client.rs`); a user's requests on
//! one process are fed to its lifecycle (lifecycle.rs).

use super::{unknown, Actor};
use crate::clock::now_ms;
use crate::lifecycle::Event;
use crate::option_checks;
use crate::process::Waiter;
use serde_json::{json, Map, Value};

impl Actor {
    /// One process as `describe` shows it, without memory and CPU.
    pub(super) fn describe(&self, id: u64) -> Result<Value, String> {
        self.procs
            .get(&id)
            .map(|p| p.describe(0, 0.0))
            .ok_or_else(|| unknown(id))
    }

    /// How many apps are still booting (see `Proc::is_booting`).
    pub(crate) fn booting(&self) -> usize {
        self.procs.values().filter(|p| p.is_booting()).count()
    }

    pub(super) fn start(&mut self, id: u64, reply: Waiter) {
        self.request(id, reply, |reply| Event::Start {
            reply: Some(reply),
            bump: false,
        })
    }

    /// Merges `update` into the app's options, then restarts it.
    pub(super) fn restart(&mut self, id: u64, update: Map<String, Value>, reply: Waiter) {
        match self.prepare_restart(id, update) {
            Ok(()) => self.request(id, reply, |reply| Event::Restart { reply }),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    pub(super) fn delete(&mut self, id: u64, reply: Waiter) {
        self.request(id, reply, |reply| Event::Delete { reply })
    }

    /// `monitor` / `unmonitor`: the `_km_monitored` flag of a process.
    pub(crate) fn set_monitored(&mut self, id: u64, on: bool) -> Result<(), String> {
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        p.set("_km_monitored", json!(on));
        Ok(())
    }

    /// `resetMetaProcessId`: the restart counters back to 0.
    pub(crate) fn reset(&mut self, id: u64) -> Result<(), String> {
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        p.set("restart_time", json!(0));
        p.set("unstable_restarts", json!(0));
        self.note_change();
        Ok(())
    }

    pub(super) fn reload_logs(&mut self) {
        self.log.reopen();
        for p in self.procs.values() {
            if let Some(Err(e)) = p.log.as_ref().map(|l| l.reopen()) {
                self.log
                    .info(&format!("app {} id {}: {e}", p.name(), p.pm_id));
            }
        }
        self.log.info("Reloading logs...");
    }

    /// The daemon goes down: nothing starts any more.
    pub(super) fn block_restarts(&mut self) {
        self.restarts_blocked = true;
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        for id in ids {
            self.step(id, Event::Shutdown);
        }
    }

    /// Feeds a user's request on `id` to its lifecycle; an unknown id is
    /// answered at once.
    pub(super) fn request(
        &mut self,
        id: u64,
        reply: Waiter,
        event: impl FnOnce(Waiter) -> Event<Waiter>,
    ) {
        if self.procs.contains_key(&id) {
            self.step(id, event(reply));
        } else {
            let _ = reply.send(Err(unknown(id)));
        }
    }

    pub(super) fn cron_run(&mut self, id: u64, reply: Waiter) {
        let down = self
            .procs
            .get(&id)
            .is_some_and(|p| matches!(p.life.state(), crate::lifecycle::State::Down { .. }));
        if down {
            self.request(id, reply, |reply| Event::Start {
                reply: Some(reply),
                bump: true,
            });
        } else {
            self.request(id, reply, |reply| Event::Restart { reply });
        }
    }

    pub(super) fn prepare_restart(
        &mut self,
        id: u64,
        mut update: Map<String, Value>,
    ) -> Result<(), String> {
        option_checks::convert_units(&mut update);
        option_checks::check(&update)?;
        let p = self.procs.get_mut(&id).ok_or_else(|| unknown(id))?;
        for (k, v) in update {
            if k == "env" {
                if let Value::Object(new_env) = v {
                    let mut env = p
                        .env
                        .get("env")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    env.extend(new_env);
                    p.set("env", Value::Object(env));
                }
            } else if v == json!("null") {
                p.env.shift_remove(&k);
            } else {
                p.set(&k, v);
            }
        }
        p.set("created_at", json!(now_ms()));
        p.set("unstable_restarts", json!(0));
        p.set("prev_restart_delay", json!(0));
        p.refresh_options();
        Ok(())
    }
}
