//! A user's requests on one process, fed to its lifecycle (lifecycle.rs).

use super::*;

impl Actor {
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
                p.env.remove(&k);
            } else {
                p.set(&k, v);
            }
        }
        p.set("created_at", json!(now_ms()));
        p.set("unstable_restarts", json!(0));
        p.set("prev_restart_delay", json!(0));
        Ok(())
    }
}
