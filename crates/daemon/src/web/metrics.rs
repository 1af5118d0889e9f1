//! The process list as Prometheus text exposition (format 0.0.4): one
//! family per figure, each process's samples labelled with its `id`, `name`
//! and `namespace`, then the daemon's own figures.

use serde_json::Value;
use std::fmt::Write;

/// PM2's statuses: `pm2_process_status` has one sample per status (1 for
/// the current one), so a query can alert on `status="errored"`.
const STATUSES: &[&str] = &[
    "online",
    "launching",
    "stopping",
    "stopped",
    "errored",
    "waiting restart",
    "one-launch-status",
];

/// What the daemon reports about itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct DaemonFigures {
    pub rss_bytes: u64,
    pub cpu_seconds: f64,
    pub uptime_seconds: f64,
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A number as the format wants it (finite ones only reach here).
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A value given as a number or as numeric text (`"6.12"`), if finite.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: String,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            samples: String::new(),
        }
    }

    fn add(&mut self, labels: &str, value: f64) {
        let _ = writeln!(self.samples, "{}{{{labels}}} {}", self.name, number(value));
    }

    fn add_bare(&mut self, value: f64) {
        let _ = writeln!(self.samples, "{} {}", self.name, number(value));
    }

    fn write_to(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        out.push_str(&self.samples);
    }
}

/// The exposition for `list` (getMonitorData's entries) at `now_ms`.
pub fn render(list: &[Value], daemon: DaemonFigures, now_ms: u64) -> String {
    let mut up = Family::new(
        "pm2_process_up",
        "gauge",
        "1 when the process is online, else 0.",
    );
    let mut status = Family::new(
        "pm2_process_status",
        "gauge",
        "The process's PM2 status: 1 for the current one, 0 for the others.",
    );
    let mut cpu = Family::new(
        "pm2_process_cpu_percent",
        "gauge",
        "CPU use of the process, in percent of one core.",
    );
    let mut memory = Family::new(
        "pm2_process_memory_bytes",
        "gauge",
        "Resident memory of the process, in bytes.",
    );
    let mut restarts = Family::new(
        "pm2_process_restarts_total",
        "counter",
        "Restarts of the process (PM2's restart_time; pm2 reset sets it back to 0).",
    );
    let mut unstable = Family::new(
        "pm2_process_unstable_restarts_total",
        "counter",
        "Restarts that came before min_uptime (PM2's unstable_restarts).",
    );
    let mut uptime = Family::new(
        "pm2_process_uptime_seconds",
        "gauge",
        "Seconds since the process came online; 0 when it is not online.",
    );
    let mut custom = Family::new(
        "pm2_process_metric",
        "gauge",
        "The numeric metrics the process reports (pm2_env.axm_monitor), by name and unit.",
    );
    for p in list {
        let env = &p["pm2_env"];
        let id = p["pm_id"].as_u64().map_or(String::new(), |i| i.to_string());
        let name = p["name"].as_str().or(env["name"].as_str()).unwrap_or("");
        let namespace = env["namespace"].as_str().unwrap_or("default");
        let labels = format!(
            r#"id="{id}",name="{}",namespace="{}""#,
            escape(name),
            escape(namespace)
        );
        let current = env["status"].as_str().unwrap_or("");
        let online = current == "online";
        up.add(&labels, f64::from(u8::from(online)));
        for s in STATUSES {
            status.add(
                &format!(r#"{labels},status="{s}""#),
                f64::from(u8::from(*s == current)),
            );
        }
        if !STATUSES.contains(&current) && !current.is_empty() {
            status.add(&format!(r#"{labels},status="{}""#, escape(current)), 1.0);
        }
        cpu.add(&labels, numeric(&p["monit"]["cpu"]).unwrap_or(0.0));
        memory.add(&labels, numeric(&p["monit"]["memory"]).unwrap_or(0.0));
        restarts.add(&labels, numeric(&env["restart_time"]).unwrap_or(0.0));
        unstable.add(&labels, numeric(&env["unstable_restarts"]).unwrap_or(0.0));
        let since = numeric(&env["pm_uptime"]).unwrap_or(now_ms as f64);
        let secs = if online {
            ((now_ms as f64 - since) / 1000.0).max(0.0)
        } else {
            0.0
        };
        uptime.add(&labels, (secs * 1000.0).round() / 1000.0);
        if let Some(metrics) = env["axm_monitor"].as_object() {
            for (metric, m) in metrics {
                let (value, unit) = match m {
                    Value::Object(o) => (
                        o.get("value").and_then(numeric),
                        o.get("unit").and_then(Value::as_str).unwrap_or(""),
                    ),
                    other => (numeric(other), ""),
                };
                if let Some(value) = value {
                    custom.add(
                        &format!(
                            r#"{labels},metric="{}",unit="{}""#,
                            escape(metric),
                            escape(unit)
                        ),
                        value,
                    );
                }
            }
        }
    }
    let mut d_rss = Family::new(
        "pm2_daemon_memory_bytes",
        "gauge",
        "Resident memory of the PM2 daemon, in bytes.",
    );
    d_rss.add_bare(daemon.rss_bytes as f64);
    let mut d_cpu = Family::new(
        "pm2_daemon_cpu_seconds_total",
        "counter",
        "CPU time (user + system) the PM2 daemon has used, in seconds.",
    );
    d_cpu.add_bare(daemon.cpu_seconds);
    let mut d_uptime = Family::new(
        "pm2_daemon_uptime_seconds",
        "gauge",
        "Seconds since the PM2 daemon started.",
    );
    d_uptime.add_bare((daemon.uptime_seconds * 1000.0).round() / 1000.0);
    let mut d_count = Family::new(
        "pm2_daemon_processes",
        "gauge",
        "Processes in the PM2 daemon's list, whatever their status.",
    );
    d_count.add_bare(list.len() as f64);
    let mut out = String::new();
    for family in [
        &up, &status, &cpu, &memory, &restarts, &unstable, &uptime, &custom, &d_rss, &d_cpu,
        &d_uptime, &d_count,
    ] {
        family.write_to(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_sample_per_process_and_the_daemon_figures() {
        let list = vec![
            json!({"pm_id": 0, "name": "api", "monit": {"memory": 1048576, "cpu": 2.5},
                   "pm2_env": {"status": "online", "namespace": "web", "restart_time": 3,
                               "unstable_restarts": 0, "pm_uptime": 10_000,
                               "axm_monitor": {"Heap Size": {"value": "6.12", "unit": "MiB"},
                                               "Requests": {"value": 7},
                                               "Label": {"value": "not a number"},
                                               "Flag": true}}}),
            json!({"pm_id": 1, "name": "we\"ird\\name", "monit": {"memory": 0, "cpu": 0},
                   "pm2_env": {"status": "errored", "restart_time": 15}}),
        ];
        let text = render(
            &list,
            DaemonFigures {
                rss_bytes: 4_000_000,
                cpu_seconds: 0.25,
                uptime_seconds: 12.0,
            },
            14_500,
        );
        let has = |line: &str| assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        let api = r#"id="0",name="api",namespace="web""#;
        has(&format!("pm2_process_up{{{api}}} 1"));
        has(&format!(r#"pm2_process_status{{{api},status="online"}} 1"#));
        has(&format!(
            r#"pm2_process_status{{{api},status="errored"}} 0"#
        ));
        has(&format!("pm2_process_cpu_percent{{{api}}} 2.5"));
        has(&format!("pm2_process_memory_bytes{{{api}}} 1048576"));
        has(&format!("pm2_process_restarts_total{{{api}}} 3"));
        has(&format!("pm2_process_uptime_seconds{{{api}}} 4.5"));
        has(&format!(
            r#"pm2_process_metric{{{api},metric="Heap Size",unit="MiB"}} 6.12"#
        ));
        has(&format!(
            r#"pm2_process_metric{{{api},metric="Requests",unit=""}} 7"#
        ));
        has(&format!(
            r#"pm2_process_metric{{{api},metric="Flag",unit=""}} 1"#
        ));
        assert!(!text.contains("not a number") && !text.contains(r#"metric="Label""#));
        let weird = r#"id="1",name="we\"ird\\name",namespace="default""#;
        has(&format!("pm2_process_up{{{weird}}} 0"));
        has(&format!(
            r#"pm2_process_status{{{weird},status="errored"}} 1"#
        ));
        has(&format!("pm2_process_uptime_seconds{{{weird}}} 0"));
        has("pm2_daemon_memory_bytes 4000000");
        has("pm2_daemon_cpu_seconds_total 0.25");
        has("pm2_daemon_uptime_seconds 12");
        has("pm2_daemon_processes 2");
        has("# TYPE pm2_process_restarts_total counter");
    }

    #[test]
    fn an_empty_list_still_has_every_family_and_the_daemon() {
        let text = render(&[], DaemonFigures::default(), 0);
        assert!(text.contains("# TYPE pm2_process_up gauge"));
        assert!(text.contains("pm2_daemon_processes 0\n"));
    }
}
