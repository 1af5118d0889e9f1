//! The requests the actor answers (see [`Request`]); a user's requests on
//! one process are fed to its lifecycle (lifecycle.rs).

use super::*;

impl Actor {
    pub(super) fn on_request(&mut self, request: Request) {
        match request {
            Request::Prepare { app, reply } => self.prepare(app, reply),
            Request::PrepareMore(job) => self.prepare_batch(job),
            Request::PrepareUnique { request, reply } => self.prepare_unique(request, reply),
            Request::List { reply } => {
                let _ = reply.send(Ok(self.list()));
            }
            Request::ListJson { reply } => {
                let _ = reply.send(Ok(self.list_json()));
            }
            Request::Get { id, reply } => {
                let r = self
                    .procs
                    .get(&id)
                    .map(|p| p.describe(0, 0.0))
                    .ok_or_else(|| unknown(id));
                let _ = reply.send(r);
            }
            Request::Ids { reply } => {
                let _ = reply.send(Ok(self.procs.keys().copied().collect()));
            }
            Request::Booting { reply } => {
                let _ = reply.send(Ok(self.procs.values().filter(|p| p.is_booting()).count()));
            }
            Request::Start { id, reply } => self.request(id, reply, |reply| Event::Start {
                reply: Some(reply),
                bump: false,
            }),
            Request::Stop { id, reply } => self.stop(id, reply),
            Request::Restart { id, update, reply } => match self.prepare_restart(id, update) {
                Ok(()) => self.request(id, reply, |reply| Event::Restart { reply }),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Request::Delete { id, reply } => {
                self.request(id, reply, |reply| Event::Delete { reply })
            }
            Request::CronRun { id, reply } => self.cron_run(id, reply),
            Request::PrepareRestart { id, update, reply } => {
                let _ = reply.send(self.prepare_restart(id, update));
            }
            Request::Reset { id, reply } => {
                let r = match self.procs.get_mut(&id) {
                    Some(p) => {
                        p.set("restart_time", json!(0));
                        p.set("unstable_restarts", json!(0));
                        Ok(())
                    }
                    None => Err(unknown(id)),
                };
                let _ = reply.send(r);
            }
            Request::Notify {
                id,
                event,
                manually,
            } => self.emit(id, &event, manually),
            Request::SendData { packet, reply } => {
                let _ = reply.send(self.send_data(packet));
            }
            Request::SendSignal { id, signal, reply } => {
                let _ = reply.send(self.send_signal(id, &signal));
            }
            Request::SendLine { id, line, reply } => self.send_line(id, line, reply),
            Request::MsgProcess { target, msg, reply } => {
                let _ = reply.send(self.msg_process(&target, msg));
            }
            Request::ReloadLogs => {
                self.log.reopen();
                for p in self.procs.values() {
                    if let Some(Err(e)) = p.log.as_ref().map(|l| l.reopen()) {
                        self.log
                            .info(&format!("app {} id {}: {e}", p.name(), p.pm_id));
                    }
                }
                self.log.info("Reloading logs...");
            }
            Request::BlockRestarts { reply } => {
                self.restarts_blocked = true;
                let ids: Vec<u64> = self.procs.keys().copied().collect();
                for id in ids {
                    self.step(id, Event::Shutdown);
                }
                let _ = reply.send(Ok(()));
            }
            Request::ReloadStart { id, reply } => {
                let _ = reply.send(self.reload_start(id));
            }
            Request::Retire {
                id,
                graceful,
                reply,
            } => self.retire(id, graceful, reply),
            Request::AutoRestartDone { id } => self.auto_restart_done(id),
            Request::Disarm { id, reply } => self.on_disarm(id, reply),
            Request::SetWatch { ids, change, reply } => {
                let _ = reply.send(Ok(self.set_watch(&ids, change)));
            }
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
