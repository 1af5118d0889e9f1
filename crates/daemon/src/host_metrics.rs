//! Host figures as PM2 7's daemon reports them through `getSystemData`: a
//! map shaped like an app's `axm_monitor` (`{"CPU Usage": {value, unit, …}}`)
//! with CPU, RAM, disk and network rates, from sysinfo.
//!
//! Rates need two readings: a [`Sampler`] keeps sysinfo's counters between
//! calls and gives the figures of the window since its previous call. The
//! daemon reads once at start, once a second later, then every worker
//! interval (30 s, PM2's period), on a task of its own: the supervisor is
//! never involved and the requests only read the last snapshot.

use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sysinfo::{Disks, Networks, System};

const MB: f64 = 1024.0 * 1024.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

fn metric(value: Value, unit: &str) -> Value {
    json!({"value": value, "type": "metric", "unit": unit, "historic": true})
}

fn rounded(v: f64, decimals: i32) -> Value {
    let f = 10f64.powi(decimals);
    json!((v * f).round() / f)
}

/// sysinfo's readers, and when they last read.
pub struct Sampler {
    sys: System,
    disks: Option<Disks>,
    networks: Option<Networks>,
    at: Instant,
}

impl Sampler {
    /// Takes the first reading: the figures of the next [`Sampler::sample`]
    /// are over the window that starts here.
    pub fn new() -> Option<Sampler> {
        let mut sys = System::new().ok()?;
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        Some(Sampler {
            sys,
            disks: Disks::new_with_refreshed_list().ok(),
            networks: Networks::new_with_refreshed_list().ok(),
            at: Instant::now(),
        })
    }

    /// The figures since the previous reading (at least 200 ms ago for a CPU
    /// figure, sysinfo's minimum), PM2's names and units.
    pub fn sample(&mut self) -> Map<String, Value> {
        let now = Instant::now();
        let secs = now.duration_since(self.at).as_secs_f64().max(0.001);
        self.at = now;
        let mut m = Map::new();

        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        m.insert(
            "CPU Usage".into(),
            metric(rounded(f64::from(self.sys.global_cpu_usage()), 1), "%"),
        );
        let total = self.sys.total_memory();
        let available = self.sys.available_memory();
        if total > 0 {
            let used = 100.0 - available as f64 / total as f64 * 100.0;
            m.insert("RAM Usage".into(), metric(rounded(used, 1), "%"));
            m.insert("RAM Total".into(), metric(json!(total), "b"));
            m.insert("RAM Available".into(), metric(json!(available), "b"));
        }

        if let Some(networks) = &mut self.networks {
            networks.refresh(true);
            for (name, data) in networks.iter() {
                let name = name.to_string_lossy();
                let per_sec = |bytes: u64| rounded(bytes as f64 / secs / MB, 3);
                let per_min = |n: u64| json!((n as f64 / secs * 60.0).round() as u64);
                let figures = [
                    ("rx_5", per_sec(data.received()), "mb/s"),
                    ("tx_5", per_sec(data.transmitted()), "mb/s"),
                    ("rx_errors_60", per_min(data.errors_on_received()), "/min"),
                    (
                        "tx_errors_60",
                        per_min(data.errors_on_transmitted()),
                        "/min",
                    ),
                ];
                for (key, value, unit) in figures {
                    m.insert(format!("net:{key}:{name}"), metric(value, unit));
                }
            }
        }

        if let Some(disks) = &mut self.disks {
            disks.refresh(true);
            // A device mounted twice (bind mounts) counts once.
            let mut devices = std::collections::HashSet::new();
            let (mut read, mut written) = (0u64, 0u64);
            for disk in disks.iter() {
                if devices.insert(disk.name().to_owned()) {
                    let usage = disk.usage();
                    read += usage.read_bytes;
                    written += usage.written_bytes;
                }
                if let Some((used, size)) = filesystem_use(disk.mount_point()) {
                    let mount = disk.mount_point().display();
                    m.insert(format!("fs:use:{mount}"), metric(rounded(used, 2), "%"));
                    m.insert(
                        format!("fs:size:{mount}"),
                        metric(rounded(size as f64 / GB, 2), "gb"),
                    );
                }
            }
            m.insert(
                "Disk Reads".into(),
                metric(rounded(read as f64 / secs / MB, 3), "mb/s"),
            );
            m.insert(
                "Disk Writes".into(),
                metric(rounded(written as f64 / secs / MB, 3), "mb/s"),
            );
        }
        m
    }
}

/// How full a filesystem is, as `df` tells it (used over used + available
/// to users: blocks reserved for root count as neither), and its size.
fn filesystem_use(mount: &std::path::Path) -> Option<(f64, u64)> {
    let st = nix::sys::statvfs::statvfs(mount).ok()?;
    let block = st.fragment_size() as u64;
    let used = (st.blocks() as u64).saturating_sub(st.blocks_free() as u64);
    let usable = used + st.blocks_available() as u64;
    (usable > 0).then(|| {
        (
            used as f64 / usable as f64 * 100.0,
            st.blocks() as u64 * block,
        )
    })
}

/// The daemon's last host snapshot, empty until the first one is taken
/// (or for good when sampling is off).
#[derive(Clone, Default)]
pub struct HostMetrics {
    last: Arc<Mutex<Map<String, Value>>>,
}

impl HostMetrics {
    pub fn snapshot(&self) -> Map<String, Value> {
        self.last.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Samples the host a second after start, then every `every`, until the
    /// runtime ends. The readings run on the blocking pool (they read /proc
    /// and /sys files).
    pub fn start_sampling(&self, every: Duration) {
        let last = self.last.clone();
        tokio::spawn(async move {
            let Ok(Some(mut sampler)) = tokio::task::spawn_blocking(Sampler::new).await else {
                return;
            };
            let mut wait = Duration::from_secs(1);
            loop {
                tokio::time::sleep(wait).await;
                wait = every.max(Duration::from_secs(1));
                let Ok((s, snapshot)) = tokio::task::spawn_blocking(move || {
                    let snapshot = sampler.sample();
                    (sampler, snapshot)
                })
                .await
                else {
                    return;
                };
                sampler = s;
                if let Ok(mut l) = last.lock() {
                    *l = snapshot;
                }
            }
        });
    }
}

/// Whether `pm2 set pm2:sysmonit false` turned host sampling off, as in PM2
/// (read from `module_conf.json` at daemon start).
pub fn sampling_off(module_conf: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(module_conf) else {
        return false;
    };
    let Ok(conf) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    matches!(&conf["pm2"]["sysmonit"], Value::String(s) if s == "false")
        || conf["pm2"]["sysmonit"] == Value::Bool(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_pm2s_names_with_sane_figures() {
        let mut s = Sampler::new().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        let m = s.sample();
        let value = |k: &str| {
            m[k]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{k}: {m:?}"))
        };
        assert!((0.0..=100.0).contains(&value("CPU Usage")));
        assert!(value("RAM Usage") > 0.0 && value("RAM Usage") <= 100.0);
        assert!(value("RAM Total") >= value("RAM Available"));
        assert_eq!(m["CPU Usage"]["unit"], "%");
        assert_eq!(m["RAM Total"]["unit"], "b");
        // The loopback interface exists on any Linux host.
        assert_eq!(m["net:rx_5:lo"]["unit"], "mb/s");
        assert!(value("net:rx_5:lo") >= 0.0);
        assert_eq!(m["net:rx_errors_60:lo"]["unit"], "/min");
        assert!(value("Disk Reads") >= 0.0 && value("Disk Writes") >= 0.0);
        // `/` as df sees it.
        let (used, size) = filesystem_use(std::path::Path::new("/")).unwrap();
        assert!(used > 0.0 && used <= 100.0 && size > 0, "{used}% of {size}");
        for (k, v) in &m {
            assert_eq!(v["type"], "metric", "{k}");
            assert_eq!(v["historic"], true, "{k}");
        }
    }

    #[test]
    fn pm2_set_sysmonit_false_turns_sampling_off() {
        let dir = std::env::temp_dir().join(format!("pm2-sysmonit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("module_conf.json");
        assert!(!sampling_off(&conf), "no file: on");
        std::fs::write(&conf, r#"{"pm2": {"sysmonit": "false"}}"#).unwrap();
        assert!(sampling_off(&conf));
        std::fs::write(&conf, r#"{"pm2": {"sysmonit": "true"}}"#).unwrap();
        assert!(!sampling_off(&conf));
        std::fs::write(&conf, "not json").unwrap();
        assert!(!sampling_off(&conf));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
