//! What `list`, `jlist` and `getMonitorData` show: the table, with memory
//! and CPU from a sample of the process table at most a second old, read off
//! the actor's thread (`usage_sample`) and shared by the lists that follow.

use super::{Actor, Job, Msg, Request, Summarize};
use crate::pm2_env::Pm2Env;
use crate::proc_info;
use crate::process::Status;
use crate::usage_sample::{UsageSample, MAX_AGE};
use pm2_wire::rpc::JsonReply;
use serde_json::Value;
use std::time::Instant;

/// The `pm2_env` fields a table of the processes reads (`pm2 ls`, `ls -m`,
/// `--sort`): a few hundred bytes an app instead of its whole env.
const TABLE_FIELDS: &[&str] = &[
    "status",
    "namespace",
    "version",
    "exec_mode",
    "pm_uptime",
    "restart_time",
    "username",
    "watch",
    "pmx_module",
    "pm_err_log_path",
    "pm_pid_path",
];

/// Appends a list entry with only [`TABLE_FIELDS`] of its `pm2_env`.
fn write_table_row<'a>(
    out: &mut Vec<u8>,
    pid: u32,
    name: &str,
    env: impl Fn(&str) -> Option<&'a Value>,
    pm_id: u64,
    (memory, cpu): (u64, f64),
) {
    let fields = TABLE_FIELDS.iter().filter_map(|&k| Some((k, env(k)?)));
    let row = TableRow {
        pid,
        name,
        pm2_env: Fields(std::cell::Cell::new(Some(fields))),
        pm_id,
        monit: TableMonit {
            memory,
            cpu: JsNumber(cpu),
        },
    };
    serde_json::to_writer(out, &row).expect("serializing a row cannot fail");
}

/// A list entry with some of its `pm2_env`, in the list's key order.
#[derive(serde::Serialize)]
#[serde(bound = "")]
struct TableRow<'a, I: Iterator<Item = (&'static str, &'a Value)>> {
    pid: u32,
    name: &'a str,
    pm2_env: Fields<I>,
    pm_id: u64,
    monit: TableMonit,
}

#[derive(serde::Serialize)]
struct TableMonit {
    memory: u64,
    cpu: JsNumber,
}

/// A float as `JSON.stringify` writes it (whole values without `.0`).
struct JsNumber(f64);

impl serde::Serialize for JsNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// Key/value pairs serialized as an object, without building a map.
struct Fields<I>(std::cell::Cell<Option<I>>);

impl<'a, I: Iterator<Item = (&'static str, &'a Value)>> serde::Serialize for Fields<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.take().into_iter().flatten())
    }
}

/// Lists waiting for a sample; past this many, a list answers with the
/// sample there is.
const MAX_WAITING: usize = 256;

/// The actor's sample of its processes' usage and the lists waiting for a newer one.
#[derive(Default)]
pub(super) struct Usage {
    sample: UsageSample,
    waiting: Vec<Job>,
    reading: bool,
    /// The length of the last list's JSON, to size the next one's buffer.
    list_bytes: usize,
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

    /// The list as `getMonitorData`'s reply, serialized straight from the
    /// table into the frame, sized from the last list's length.
    pub(super) fn list_reply(&mut self) -> JsonReply {
        let last = self.usage.list_bytes;
        let mut reply = JsonReply::with_capacity(last + last / 8);
        self.write_list(reply.json_mut());
        self.usage.list_bytes = reply.json().len();
        reply
    }

    pub(super) fn list_json(&mut self) -> String {
        let mut out = Vec::with_capacity(self.usage.list_bytes);
        self.write_list(&mut out);
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// `listTable`'s reply: the list with only [`TABLE_FIELDS`] of each
    /// `pm2_env`, written straight into the frame.
    pub(super) fn table_reply(&mut self) -> JsonReply {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        let mut reply = JsonReply::with_capacity(ids.len() * 512);
        let out = reply.json_mut();
        out.push(b'[');
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let (mem, cpu) = self.monit(id);
            let p = &self.procs[&id];
            write_table_row(out, p.pid(), p.name(), |k| p.env.get(k), id, (mem, cpu));
        }
        out.push(b']');
        reply
    }

    /// Appends the list's JSON to `out`, entry by entry.
    fn write_list(&mut self, out: &mut Vec<u8>) {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        out.push(b'[');
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let (mem, cpu) = self.monit(id);
            serde_json::to_writer(&mut *out, &self.procs[&id].described(mem, cpu))
                .expect("serializing a list entry cannot fail");
        }
        out.push(b']');
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_row_is_the_list_entry_with_fewer_env_fields() {
        let env = json!({
            "name": "caf\u{e9} \"q\"",
            "status": "online",
            "env": {"HOME": "/root"},
            "pm_uptime": 1_765_000_000_123u64,
            "restart_time": 3,
            "watch": ["a", "b\\c"],
            "namespace": "default",
            "HOME": "/root",
            "pm_pid_path": "/tmp/\u{1F600}.pid",
        });
        let env = env.as_object().unwrap();
        let mut out = Vec::new();
        write_table_row(
            &mut out,
            42,
            "caf\u{e9} \"q\"",
            |k| env.get(k),
            7,
            (1024, 0.0),
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            row,
            json!({
                "pid": 42,
                "name": "caf\u{e9} \"q\"",
                "pm2_env": {
                    "status": "online",
                    "namespace": "default",
                    "pm_uptime": 1_765_000_000_123u64,
                    "restart_time": 3,
                    "watch": ["a", "b\\c"],
                    "pm_pid_path": "/tmp/\u{1F600}.pid",
                },
                "pm_id": 7,
                "monit": {"memory": 1024, "cpu": 0},
            })
        );
        // Whole CPU figures as JSON.stringify writes them, others as they are.
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with(r#""monit":{"memory":1024,"cpu":0}}"#));
        let mut out = Vec::new();
        write_table_row(&mut out, 0, "x", |k| env.get(k), 0, (0, 12.5));
        assert!(String::from_utf8(out).unwrap().ends_with(r#""cpu":12.5}}"#));
    }
}
