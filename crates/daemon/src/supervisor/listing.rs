//! What `list`, `jlist` and `getMonitorData` show: the table, with memory
//! and CPU from a sample of the process table at most a second old, read off
//! the actor's thread (`usage_sample`) and shared by the lists that follow.

use super::{Actor, Job, Msg, Request, Summarize};
use crate::pm2_env::Pm2Env;
use crate::proc_info;
use crate::process::Status;
use crate::usage_sample::{UsageSample, MAX_AGE};
use serde_json::Value;
use std::time::Instant;

/// Lists waiting for a sample; past this many, a list answers with the
/// sample there is.
const MAX_WAITING: usize = 256;

/// The actor's sample of its processes' usage and the lists waiting for a newer one.
#[derive(Default)]
pub(super) struct Usage {
    sample: UsageSample,
    waiting: Vec<Job>,
    reading: bool,
}

/// The pid a module asked to be measured instead of its own (`pid` in
/// `axm_options`, as `pmx.resolvePidPaths` and `axm:option:setPID` set it).
fn monitored_pid(env: &Pm2Env) -> Option<u32> {
    let pid = env.get("axm_options")?.get("pid")?;
    let pid = pid.as_u64().or_else(|| pid.as_str()?.trim().parse().ok())?;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

impl Actor {
    /// Runs `job` with a sample that covers every online process: at once
    /// when the one there is will do, else once a new one is read.
    pub(super) fn when_sampled(&mut self, job: Job) {
        let pids: Vec<u32> = self
            .procs
            .keys()
            .filter_map(|&id| self.measured_pid(id))
            .collect();
        let now = Instant::now();
        let usage = &mut self.usage;
        if pids.is_empty() || usage.sample.covers(&pids, now) || usage.waiting.len() >= MAX_WAITING
        {
            // Lists asked in a row never wait: past half its age, the
            // sample is read again for the next ones.
            if !pids.is_empty() && usage.sample.older_than(MAX_AGE / 2, now) {
                self.read_sample(pids);
            }
            return job(self);
        }
        self.usage.waiting.push(job);
        self.read_sample(pids);
    }

    /// Reads a new sample of `pids` off the actor, unless one is being read.
    fn read_sample(&mut self, pids: Vec<u32>) {
        if std::mem::replace(&mut self.usage.reading, true) {
            return;
        }
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let sample = UsageSample::read(&pids);
            let done: Job = Box::new(move |a: &mut Actor| a.sampled(sample));
            let _ = tx.blocking_send(Msg::Request(Request::Run(done)));
        });
    }

    fn sampled(&mut self, sample: UsageSample) {
        self.usage.sample = sample;
        self.usage.reading = false;
        for job in std::mem::take(&mut self.usage.waiting) {
            job(self);
        }
    }

    /// The pid whose usage an online process shows.
    fn measured_pid(&self, id: u64) -> Option<u32> {
        let p = &self.procs[&id];
        match (&p.running, p.status) {
            (Some(r), Status::Online) => Some(monitored_pid(&p.env).unwrap_or(r.pid)),
            _ => None,
        }
    }

    /// The processes `ids` as the process list shows them, without their
    /// memory and CPU (their stored env is what a restart by the client
    /// starts from).
    pub(super) fn views(&self, ids: &[u64]) -> Vec<Value> {
        ids.iter()
            .filter_map(|id| self.procs.get(id))
            .map(|p| p.describe(0, 0.0))
            .collect()
    }

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

    /// Memory and CPU of a running process, from the sample; zeros otherwise.
    fn monit(&mut self, id: u64) -> (u64, f64) {
        let Some(pid) = self.measured_pid(id) else {
            return (0, 0.0);
        };
        let sample = &self.usage.sample;
        let p = self.procs.get_mut(&id).expect("measured_pid found it");
        let (Some(st), Some(r)) = (sample.get(pid), &p.running) else {
            return (0, 0.0);
        };
        let (cpu, last) = proc_info::cpu_percent_at(pid, st.cpu_ns, p.cpu, r.started, sample.at);
        p.cpu = Some(last);
        (st.rss, cpu)
    }
}
