//! What `list`, `jlist` and `getMonitorData` show: the table, with memory
//! and CPU read at the time of asking.

use super::{Actor, Summarize};
use crate::proc_info;
use crate::process::Status;
use serde_json::{Map, Value};

/// The pid a module asked to be measured instead of its own (`pid` in
/// `axm_options`, as `pmx.resolvePidPaths` and `axm:option:setPID` set it).
fn monitored_pid(env: &Map<String, Value>) -> Option<u32> {
    let pid = env.get("axm_options")?.get("pid")?;
    let pid = pid.as_u64().or_else(|| pid.as_str()?.trim().parse().ok())?;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

impl Actor {
    pub(super) fn list(&mut self) -> Vec<Value> {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        ids.into_iter()
            .map(|id| {
                let (mem, cpu) = self.monit(id);
                self.procs[&id].describe(mem, cpu)
            })
            .collect()
    }

    pub(super) fn summaries(&mut self, summarize: Summarize) -> Vec<Value> {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        ids.into_iter()
            .map(|id| {
                let (mem, cpu) = self.monit(id);
                let p = &self.procs[&id];
                summarize(id, p.pid(), &p.env, mem, cpu)
            })
            .collect()
    }

    pub(super) fn list_json(&mut self) -> String {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        let monit: Vec<(u64, f64)> = ids.iter().map(|&id| self.monit(id)).collect();
        let entries: Vec<_> = ids
            .iter()
            .zip(monit)
            .map(|(id, (mem, cpu))| self.procs[id].described(mem, cpu))
            .collect();
        serde_json::to_string(&entries).expect("serializing the list cannot fail")
    }

    /// Memory and CPU of a running process, read now; zeros otherwise.
    pub(super) fn monit(&mut self, id: u64) -> (u64, f64) {
        let Some(p) = self.procs.get_mut(&id) else {
            return (0, 0.0);
        };
        match (&p.running, p.status) {
            (Some(r), Status::Online) => {
                let pid = monitored_pid(&p.env).unwrap_or(r.pid);
                match proc_info::stat(pid) {
                    Some(st) => {
                        let (cpu, sample) =
                            proc_info::cpu_percent(pid, st.cpu_ns, p.cpu, r.started);
                        p.cpu = Some(sample);
                        (st.rss, cpu)
                    }
                    None => (0, 0.0),
                }
            }
            _ => (0, 0.0),
        }
    }
}
