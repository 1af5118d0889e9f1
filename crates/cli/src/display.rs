//! What PM2 prints: the process table, the describe table, and the units.

use serde_json::Value;
use std::io::IsTerminal;

pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn new(no_color: bool) -> Style {
        Style {
            color: !no_color
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn status(&self, status: &str) -> String {
        match status {
            "online" => self.paint("32;1", status),
            "stopped" | "errored" => self.paint("31;1", status),
            _ => self.paint("33;1", status),
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

pub fn memory(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB * KB {
        format!("{:.1}gb", b / (KB * KB * KB))
    } else if b >= KB * KB {
        format!("{:.1}mb", b / (KB * KB))
    } else if b >= KB {
        format!("{:.1}kb", b / KB)
    } else {
        format!("{bytes}b")
    }
}

/// `12s`, `5m`, `3h`, `2D`, from a start time in ms.
pub fn uptime(since_ms: u64, now_ms: u64) -> String {
    let s = now_ms.saturating_sub(since_ms) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h", s / 3600),
        _ => format!("{}D", s / 86400),
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "N/A".into(),
        other => other.to_string(),
    }
}

/// A box-drawn table; `widths` are measured on the unstyled text.
pub fn table(headers: &[&str], rows: &[Vec<(String, String)>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (plain, _)) in row.iter().enumerate() {
            widths[i] = widths[i].max(plain.chars().count());
        }
    }
    let line = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let row_text = |cells: Vec<(String, String)>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|((plain, styled), w)| {
                format!(" {styled}{} ", " ".repeat(w - plain.chars().count()))
            })
            .collect();
        format!("│{}│\n", parts.join("│"))
    };
    let mut out = line("┌", "┬", "┐");
    out += &row_text(
        headers
            .iter()
            .map(|h| (h.to_string(), h.to_string()))
            .collect(),
    );
    out += &line("├", "┼", "┤");
    for row in rows {
        out += &row_text(row.clone());
    }
    out += &line("└", "┴", "┘");
    out
}

fn plain(s: String) -> (String, String) {
    (s.clone(), s)
}

/// `pm2 ls`: apps, then modules in their own table.
pub fn process_table(list: &[Value], style: &Style, mini: bool) -> String {
    let now = now_ms();
    let (modules, apps): (Vec<&Value>, Vec<&Value>) = list
        .iter()
        .partition(|p| p["pm2_env"]["pmx_module"].as_bool().unwrap_or(false));
    let mut out = String::new();
    if mini {
        for p in &apps {
            let env = &p["pm2_env"];
            out += &format!(
                "{} {} {}\n",
                cell(&p["pm_id"]),
                cell(&p["name"]),
                style.status(env["status"].as_str().unwrap_or(""))
            );
        }
        return out;
    }
    let headers = [
        "id",
        "name",
        "namespace",
        "version",
        "mode",
        "pid",
        "uptime",
        "↺",
        "status",
        "cpu",
        "mem",
        "user",
        "watching",
    ];
    let rows: Vec<Vec<(String, String)>> = apps
        .iter()
        .map(|p| {
            let env = &p["pm2_env"];
            let status = env["status"].as_str().unwrap_or("").to_string();
            let online = status == "online";
            let mode = if env["exec_mode"].as_str() == Some("cluster_mode") {
                "cluster"
            } else {
                "fork"
            };
            vec![
                plain(cell(&p["pm_id"])),
                plain(cell(&p["name"])),
                plain(cell(&env["namespace"])),
                plain(cell(&env["version"])),
                plain(mode.into()),
                plain(if online { cell(&p["pid"]) } else { "0".into() }),
                plain(if online {
                    uptime(env["pm_uptime"].as_u64().unwrap_or(now), now)
                } else {
                    "0".into()
                }),
                plain(cell(&env["restart_time"])),
                (status.clone(), style.status(&status)),
                plain(format!("{}%", p["monit"]["cpu"].as_f64().unwrap_or(0.0))),
                plain(memory(p["monit"]["memory"].as_u64().unwrap_or(0))),
                plain(cell(&env["username"])),
                plain(if env["watch"].as_bool().unwrap_or(false) {
                    "enabled".into()
                } else {
                    "disabled".into()
                }),
            ]
        })
        .collect();
    out += &table(&headers, &rows);
    if !modules.is_empty() {
        out += &style.bold("Module\n");
        let headers = [
            "id", "module", "version", "pid", "status", "↺", "cpu", "mem", "user",
        ];
        let rows: Vec<Vec<(String, String)>> = modules
            .iter()
            .map(|p| {
                let env = &p["pm2_env"];
                let status = env["status"].as_str().unwrap_or("").to_string();
                vec![
                    plain(cell(&p["pm_id"])),
                    plain(cell(&p["name"])),
                    plain(cell(&env["version"])),
                    plain(cell(&p["pid"])),
                    (status.clone(), style.status(&status)),
                    plain(cell(&env["restart_time"])),
                    plain(format!("{}%", p["monit"]["cpu"].as_f64().unwrap_or(0.0))),
                    plain(memory(p["monit"]["memory"].as_u64().unwrap_or(0))),
                    plain(cell(&env["username"])),
                ]
            })
            .collect();
        out += &table(&headers, &rows);
    }
    out
}

/// `pm2 describe`: one key/value table per process.
pub fn describe(p: &Value, style: &Style) -> String {
    let env = &p["pm2_env"];
    let now = now_ms();
    let status = env["status"].as_str().unwrap_or("").to_string();
    let date = |k: &str| {
        env[k]
            .as_u64()
            .map(|ms| format!("{ms}"))
            .unwrap_or_else(|| "N/A".into())
    };
    let rows: Vec<(&str, String)> = vec![
        ("status", status.clone()),
        ("name", cell(&p["name"])),
        ("namespace", cell(&env["namespace"])),
        ("version", cell(&env["version"])),
        ("restarts", cell(&env["restart_time"])),
        (
            "uptime",
            if status == "online" {
                uptime(env["pm_uptime"].as_u64().unwrap_or(now), now)
            } else {
                "0".into()
            },
        ),
        ("script path", cell(&env["pm_exec_path"])),
        (
            "script args",
            env["args"]
                .as_array()
                .map(|a| a.iter().map(cell).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| "N/A".into()),
        ),
        ("error log path", cell(&env["pm_err_log_path"])),
        ("out log path", cell(&env["pm_out_log_path"])),
        ("pid path", cell(&env["pm_pid_path"])),
        ("interpreter", cell(&env["exec_interpreter"])),
        (
            "interpreter args",
            env["node_args"]
                .as_array()
                .map(|a| a.iter().map(cell).collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "N/A".into()),
        ),
        ("script id", cell(&p["pm_id"])),
        ("exec cwd", cell(&env["pm_cwd"])),
        ("exec mode", cell(&env["exec_mode"])),
        ("node.js version", cell(&env["node_version"])),
        (
            "watch & reload",
            if env["watch"].as_bool().unwrap_or(false) {
                "✔".into()
            } else {
                "✘".into()
            },
        ),
        ("unstable restarts", cell(&env["unstable_restarts"])),
        ("created at", date("created_at")),
    ];
    let table_rows: Vec<Vec<(String, String)>> = rows
        .into_iter()
        .map(|(k, v)| {
            let styled = if k == "status" {
                style.status(&v)
            } else {
                v.clone()
            };
            vec![plain(k.to_string()), (v, styled)]
        })
        .collect();
    let title = format!(
        " Describing process with id {} - name {} ",
        cell(&p["pm_id"]),
        cell(&p["name"])
    );
    let mut out = format!("{}\n", style.bold(&title));
    let t = table(&["key", "value"], &table_rows);
    // PM2's describe table has no header row.
    let mut lines: Vec<&str> = t.lines().collect();
    lines.drain(1..3);
    out += &lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_units_like_pm2() {
        assert_eq!(memory(20 * 1024 * 1024), "20.0mb");
        assert_eq!(memory(512), "512b");
        assert_eq!(uptime(0, 5_000), "5s");
        assert_eq!(uptime(0, 120_000), "2m");
        assert_eq!(uptime(0, 2 * 86_400_000), "2D");
    }

    #[test]
    fn draws_one_row_per_app_and_modules_apart() {
        let list = vec![
            json!({"pm_id": 0, "name": "api", "pid": 42, "monit": {"memory": 1048576, "cpu": 1.5}, "pm2_env": {"status": "online", "restart_time": 2, "namespace": "default", "version": "1.0.0", "exec_mode": "fork_mode", "pm_uptime": now_ms(), "username": "me"}}),
            json!({"pm_id": 1, "name": "mod", "pid": 0, "monit": {"memory": 0, "cpu": 0}, "pm2_env": {"status": "stopped", "pmx_module": true}}),
        ];
        let t = process_table(&list, &Style { color: false }, false);
        assert!(t.contains("│ 0  │ api  │ default   │ 1.0.0   │ fork │ 42  │ 0s     │ 2 │ online │ 1.5% │ 1.0mb │ me   │ disabled │"), "{t}");
        assert!(t.contains("Module"));
        assert!(t.contains("│ 1  │ mod    │"));
    }
}
