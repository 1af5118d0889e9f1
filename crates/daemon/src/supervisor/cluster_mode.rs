//! The actor's side of cluster mode: registering workers at launch, routing
//! their internal messages to the cluster primary (`crate::cluster`), and
//! closing an app's listening sockets once no instance of it is left.

use super::Actor;
use crate::cluster::Event;
use crate::process::{Proc, Status};
use pm2_wire::ipc::IpcWriter;
use serde_json::Value;
use std::path::Path;

impl Actor {
    /// The worker id the next launch of `p` runs with, when it is a cluster
    /// instance.
    pub(super) fn worker_id_for(&mut self, id: u64) -> Option<u64> {
        let cluster = self.procs.get(&id).is_some_and(|p| p.opts.is_cluster());
        cluster.then(|| self.cluster.next_worker_id())
    }

    /// Registers the launch `generation` of `p` as a worker.
    pub(super) fn add_worker(&mut self, id: u64, generation: u64, ipc: IpcWriter) {
        let Some(p) = self.procs.get(&id) else { return };
        let cwd = Path::new(p.str("pm_cwd").unwrap_or("/"));
        self.cluster
            .add_worker(id, generation, p.name(), p.pid(), cwd, ipc);
    }

    /// An internal message of a worker, current or being retired.
    pub(super) fn on_internal_message(&mut self, id: u64, generation: u64, msg: &Value) {
        if self.cluster.on_message(id, generation, msg) != Event::Listening {
            return;
        }
        let waits_for_ready = self.procs.get(&id).is_some_and(|p| p.opts.wait_ready);
        if !waits_for_ready {
            self.replacement_ready(id, generation);
        }
    }

    /// Releases the listening sockets of app `name` (closed when no other
    /// app uses them) when none of its instances runs or waits to be
    /// restarted any more.
    pub(super) fn release_sockets_if_unused(&mut self, name: &str) {
        if !self.cluster.holds(name) {
            return;
        }
        let in_use = |p: &Proc| {
            p.name() == name
                && (p.running.is_some()
                    || p.status == Status::WaitingRestart
                    || self.reloads.contains_key(&p.pm_id))
        };
        if !self.procs.values().any(in_use) {
            self.cluster.release(name);
            self.log.info(&format!(
                "app {name}: no instance left, listening sockets released (closed unless another app uses them)"
            ));
        }
    }

    pub(super) fn release_sockets_of(&mut self, id: u64) {
        if let Some(name) = self.procs.get(&id).map(|p| p.name().to_string()) {
            self.release_sockets_if_unused(&name);
        }
    }
}
