//! The `host metrics` line PM2 7 prints under `pm2 ls`, from the daemon's
//! `getSystemData` snapshot: CPU, RAM, the interfaces carrying traffic, and
//! (when the full table fits) disk rates and the filesystems over 60 % full.

use crate::listing;
use crate::output::{bold, cyan, gray, green, red, yellow};
use serde_json::{Map, Value};

/// `value` with its unit, green under `warn`, yellow up to `alert`, red
/// beyond; a zero stays plain, as PM2 prints it.
fn colored(value: &Value, warn: f64, alert: f64, unit: &str) -> String {
    let Some(n) = value.as_f64().or_else(|| value.as_str()?.parse().ok()) else {
        return "N/A".into();
    };
    let text = format!("{}{unit}", listing::text(value));
    if n == 0.0 {
        format!("0{unit}")
    } else if n < warn {
        green(&text)
    } else if n <= alert {
        bold(&yellow(&text))
    } else {
        bold(&red(&text))
    }
}

fn value<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key)
        .map(|metric| metric.get("value").unwrap_or(metric))
}

fn number(m: &Map<String, Value>, key: &str) -> f64 {
    value(m, key)
        .and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(0.0)
}

/// The line, or `None` when the snapshot has no CPU figure (sampling off,
/// or not taken yet: PM2 prints nothing then either).
pub fn host_line(m: &Map<String, Value>, full_table: bool) -> Option<String> {
    let cpu = value(m, "CPU Usage")?;
    let mut line = format!(
        "{} | {}: {}",
        bold(&cyan("host metrics")),
        bold("cpu"),
        colored(cpu, 40.0, 70.0, "%")
    );
    if let Some(ram) = value(m, "RAM Usage") {
        line.push_str(&format!(
            " | {}: {} ",
            bold("ram usage"),
            colored(ram, 70.0, 90.0, "%")
        ));
    }
    let mut interfaces: Vec<&str> = Vec::new();
    for key in m.keys() {
        if let Some(iface) = key.strip_prefix("net:rx_5:") {
            if !interfaces.contains(&iface) {
                interfaces.push(iface);
            }
        }
    }
    for iface in interfaces {
        let rx_key = format!("net:rx_5:{iface}");
        let tx_key = format!("net:tx_5:{iface}");
        // Only the interfaces carrying traffic.
        if number(m, &rx_key) <= 0.0 && number(m, &tx_key) <= 0.0 {
            continue;
        }
        let zero = Value::from(0);
        line.push_str(&format!(
            "| {}: ⇓ {} ⇑ {} ",
            bold(iface),
            colored(value(m, &rx_key).unwrap_or(&zero), 10.0, 20.0, "mb/s"),
            colored(value(m, &tx_key).unwrap_or(&zero), 10.0, 20.0, "mb/s"),
        ));
        let errors = number(m, &format!("net:rx_errors_60:{iface}"))
            + number(m, &format!("net:tx_errors_60:{iface}"));
        if errors > 0.0 {
            line.push_str(&format!(
                "{} {} ",
                bold("err"),
                colored(&Value::from(errors), 1.0, 10.0, "/min")
            ));
        }
    }
    if full_table {
        if let Some(read) = value(m, "Disk Reads") {
            let zero = Value::from(0);
            line.push_str(&format!(
                "| {}: ⇓ {} ⇑ {} ",
                bold("disk"),
                colored(read, 10.0, 20.0, "mb/s"),
                colored(value(m, "Disk Writes").unwrap_or(&zero), 10.0, 20.0, "mb/s"),
            ));
            for (key, metric) in m {
                let Some(mount) = key.strip_prefix("fs:use:") else {
                    continue;
                };
                let used = metric.get("value").unwrap_or(metric);
                if used.as_f64().is_some_and(|u| u > 60.0) {
                    line.push_str(&format!(
                        "{} {} ",
                        gray(mount),
                        colored(used, 80.0, 90.0, "%")
                    ));
                }
            }
        }
    }
    Some(line.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(v: Value) -> Map<String, Value> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!({"value": v, "type": "metric", "historic": true}),
                )
            })
            .collect()
    }

    #[test]
    fn reads_like_pm2s_line() {
        let m = snapshot(json!({
            "CPU Usage": 12.5, "RAM Usage": 7, "RAM Total": 8_000_000_000u64,
            "net:rx_5:lo": 0, "net:tx_5:lo": 0,
            "net:rx_5:eth0": 1.25, "net:tx_5:eth0": 0.5, "net:rx_errors_60:eth0": 2,
            "Disk Reads": 0, "Disk Writes": 3.5,
            "fs:use:/": 58.5, "fs:use:/data": 91.2,
        }));
        assert_eq!(
            host_line(&m, true).unwrap(),
            "host metrics | cpu: 12.5% | ram usage: 7% | eth0: ⇓ 1.25mb/s ⇑ 0.5mb/s err 2/min | disk: ⇓ 0mb/s ⇑ 3.5mb/s /data 91.2%"
        );
        // A narrower table: no disk part, as PM2's condensed mode.
        assert_eq!(
            host_line(&m, false).unwrap(),
            "host metrics | cpu: 12.5% | ram usage: 7% | eth0: ⇓ 1.25mb/s ⇑ 0.5mb/s err 2/min"
        );
        assert_eq!(host_line(&Map::new(), true), None);
    }
}
