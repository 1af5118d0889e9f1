//! What `pm2 ls`, `pm2 ls -m` and `pm2 describe` print, from the daemon's process
//! list. Pure functions of the list, the clock and the terminal width.

use crate::js_text;
use crate::output::{self, bold, cyan, gray, green, red};
use crate::table::{self, Cell, Column};
use serde_json::Value;

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `51.6mb`, `0b`, `800.0kb`: PM2's memory sizes.
pub fn bytes_to_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes}b")
    } else if b < K * K {
        format!("{:.1}kb", b / K)
    } else if b < K * K * K {
        format!("{:.1}mb", b / (K * K))
    } else if b < K * K * K * K {
        format!("{:.1}gb", b / (K * K * K))
    } else {
        format!("{:.1}tb", b / (K * K * K * K))
    }
}

/// How long ago `since_ms` was: `5s`, `90s`, `2m`, `3h`, `4D`, `2M`, `2Y`
/// (a unit is used from two of it on, as PM2 does).
pub fn time_since(since_ms: u64, now_ms: u64) -> String {
    let seconds = now_ms.saturating_sub(since_ms) / 1000;
    for (unit_secs, suffix) in [
        (31_536_000, "Y"),
        (2_592_000, "M"),
        (86_400, "D"),
        (3_600, "h"),
        (60, "m"),
    ] {
        let n = seconds / unit_secs;
        if n > 1 {
            return format!("{n}{suffix}");
        }
    }
    format!("{seconds}s")
}

/// A UTC timestamp in ms as `Date.prototype.toISOString()` writes it.
pub fn iso_date(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// A value as a table shows it: strings bare (control characters escaped),
/// numbers the JavaScript way, `N/A` for nothing.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => crate::printable::printable(s).into_owned(),
        Value::Null => "N/A".into(),
        Value::Number(n) => js_text::number(n),
        other => js_text::json(other),
    }
}

pub fn env<'a>(p: &'a Value, key: &str) -> &'a Value {
    p.get("pm2_env")
        .and_then(|e| e.get(key))
        .unwrap_or(&Value::Null)
}

fn status(p: &Value) -> &str {
    env(p, "status").as_str().unwrap_or("")
}

pub fn is_module(p: &Value) -> bool {
    env(p, "pmx_module").as_bool().unwrap_or(false)
}

fn is_watching(p: &Value) -> bool {
    match env(p, "watch") {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::String(s) => !s.is_empty() && s != "false",
        _ => true,
    }
}

fn paint_status(s: &str) -> String {
    match s {
        "online" => green(&bold(s)),
        "stopped" | "stopping" | "errored" => red(&bold(s)),
        "launching" => output::blue(&bold(s)),
        "waiting restart" => output::yellow(&bold(s)),
        _ => cyan(&bold(s)),
    }
}

fn paint_id(s: &str) -> String {
    bold(&cyan(s))
}

fn paint_fork(s: &str) -> String {
    output::inverse(&bold(s))
}

fn paint_cluster(s: &str) -> String {
    output::blue(&bold(s))
}

fn paint_enabled(s: &str) -> String {
    green(&bold(s))
}

fn mode_cell(p: &Value) -> Cell {
    let mode = env(p, "exec_mode").as_str().unwrap_or("fork_mode");
    let short = mode.strip_suffix("_mode").unwrap_or(mode).to_string();
    if short == "cluster" {
        Cell::painted(short, paint_cluster)
    } else {
        Cell::painted(short, paint_fork)
    }
}

pub fn uptime(p: &Value, now: u64) -> String {
    match env(p, "pm_uptime").as_u64() {
        Some(since) if status(p) == "online" => time_since(since, now),
        _ => "0".into(),
    }
}

pub fn cpu(p: &Value) -> String {
    let cpu = p
        .get("monit")
        .and_then(|m| m.get("cpu"))
        .unwrap_or(&Value::Null);
    match cpu {
        Value::Number(n) => format!("{}%", js_text::number(n)),
        _ => "0%".into(),
    }
}

pub fn memory(p: &Value) -> String {
    bytes_to_size(
        p.get("monit")
            .and_then(|m| m.get("memory"))
            .and_then(Value::as_u64)
            .unwrap_or(0),
    )
}

fn id_cell(p: &Value) -> Cell {
    Cell::painted(text(p.get("pm_id").unwrap_or(&Value::Null)), paint_id)
}

pub fn name(p: &Value) -> String {
    text(p.get("name").unwrap_or(&Value::Null))
}

fn user(p: &Value) -> String {
    text(env(p, "username"))
}

/// Orders the list for display: `--sort field[:asc|desc]`, by name by default.
pub fn sort(list: &mut [Value], spec: Option<&str>) {
    let spec = spec.unwrap_or("name");
    let (field, desc) = match spec.split_once(':') {
        Some((f, dir)) => (f, dir.eq_ignore_ascii_case("desc")),
        None => (spec, false),
    };
    let num = |p: &Value| -> f64 {
        let v = match field {
            "id" | "pm_id" => p.get("pm_id"),
            "pid" => p.get("pid"),
            "memory" | "mem" => p.get("monit").and_then(|m| m.get("memory")),
            "cpu" => p.get("monit").and_then(|m| m.get("cpu")),
            "uptime" => p.get("pm2_env").and_then(|e| e.get("pm_uptime")),
            "restarts" | "restart" | "restart_time" => {
                p.get("pm2_env").and_then(|e| e.get("restart_time"))
            }
            _ => None,
        };
        v.and_then(Value::as_f64).unwrap_or(0.0)
    };
    match field {
        "name" => list.sort_by_cached_key(name),
        "status" => list.sort_by(|a, b| status(a).cmp(status(b))),
        _ => list.sort_by(|a, b| num(a).total_cmp(&num(b))),
    }
    if desc {
        list.reverse();
    }
}

/// Which of PM2's three tables `pm2 ls` prints: the widest that fits the
/// terminal (all columns when not a terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Every column.
    Full,
    /// id, name, mode, restarts, status, cpu, memory.
    Condensed,
    /// id, name, status, cpu, mem.
    Minimal,
}

/// `pm2 ls`: the apps' table, then the modules' ("Module") table when there are any.
/// `columns` is the terminal width (`None` when not a terminal: the full table).
/// The apps' table picks the layout and the modules' table follows it, as in
/// PM2; the caller needs it too (PM2 leaves the host line's disk part out of
/// a narrower listing).
pub fn process_tables(list: &[Value], now: u64, columns: Option<usize>) -> (String, Layout) {
    let (modules, apps): (Vec<&Value>, Vec<&Value>) = list.iter().partition(|p| is_module(p));
    // An empty list sizes the name column as a six-character name would.
    let longest_name = list
        .iter()
        .map(|p| table::text_width(&name(p)))
        .max()
        .unwrap_or(6);
    let name_width = longest_name + 5;
    let (mut out, layout) = apps_table(&apps, now, columns, name_width);
    if !modules.is_empty() {
        out.push_str(&bold("Module"));
        out.push('\n');
        out.push_str(&modules_table(&modules, layout, name_width));
    }
    (out, layout)
}

/// The cells of `row` at `idx`, in that order.
fn pick(row: Vec<Cell>, idx: &[usize]) -> Vec<Cell> {
    let mut row: Vec<Option<Cell>> = row.into_iter().map(Some).collect();
    idx.iter().filter_map(|&i| row[i].take()).collect()
}

fn apps_table(
    apps: &[&Value],
    now: u64,
    columns: Option<usize>,
    name_width: usize,
) -> (String, Layout) {
    let full = [
        Column::auto("id"),
        Column::fixed("name", name_width),
        Column::fixed("namespace", 13),
        Column::fixed("version", 9),
        Column::fixed("mode", 9),
        Column::fixed("pid", 10),
        Column::fixed("uptime", 8),
        Column::fixed("↺", 6),
        Column::fixed("status", 11),
        Column::fixed("cpu", 10),
        Column::fixed("mem", 10),
        Column::fixed("user", 10),
        Column::fixed("watching", 10),
    ];
    let rows: Vec<Vec<Cell>> = apps
        .iter()
        .map(|p| {
            vec![
                id_cell(p),
                Cell::new(name(p)),
                Cell::new(text(env(p, "namespace"))),
                Cell::new(text(env(p, "version"))),
                mode_cell(p),
                Cell::new(text(p.get("pid").unwrap_or(&Value::Null))),
                Cell::new(uptime(p, now)),
                Cell::new(text(env(p, "restart_time"))),
                Cell::painted(status(p), paint_status),
                Cell::new(cpu(p)),
                Cell::new(memory(p)),
                Cell::painted(user(p), bold),
                if is_watching(p) {
                    Cell::painted("enabled", paint_enabled)
                } else {
                    Cell::painted("disabled", gray)
                },
            ]
        })
        .collect();
    // A layout is used when its whole table fits the terminal's width.
    let fits = |w: &[usize]| columns.is_none_or(|c| table::total_width(w) <= c);
    let widths = table::widths(&full, &rows);
    if fits(&widths) {
        return (
            table::render_with_widths(&full, &widths, &rows),
            Layout::Full,
        );
    }
    let condensed = [
        Column::auto("id"),
        Column::fixed("name", name_width.min(20)),
        Column::fixed("mode", 10),
        Column::fixed("↺", 6),
        Column::fixed("status", 11),
        Column::fixed("cpu", 10),
        Column::fixed("memory", 10),
    ];
    let condensed_rows: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|r| pick(r, &[0, 1, 4, 7, 8, 9, 10]))
        .collect();
    let widths = table::widths(&condensed, &condensed_rows);
    if fits(&widths) {
        return (
            table::render_with_widths(&condensed, &widths, &condensed_rows),
            Layout::Condensed,
        );
    }
    let minimal_rows: Vec<Vec<Cell>> = condensed_rows
        .into_iter()
        .map(|r| pick(r, &[0, 1, 4, 5, 6]))
        .collect();
    (
        table::render(&minimal_columns(name_width), &minimal_rows),
        Layout::Minimal,
    )
}

fn minimal_columns(name_width: usize) -> [Column; 5] {
    [
        Column::auto("id"),
        Column::fixed("name", name_width.min(16)),
        Column::fixed("status", 11),
        Column::fixed("cpu", 8),
        Column::fixed("mem", 10),
    ]
}

fn modules_table(modules: &[&Value], layout: Layout, name_width: usize) -> String {
    let rows: Vec<Vec<Cell>> = modules
        .iter()
        .map(|p| {
            vec![
                id_cell(p),
                Cell::new(name(p)),
                Cell::new(text(env(p, "version"))),
                Cell::new(text(p.get("pid").unwrap_or(&Value::Null))),
                Cell::painted(status(p), paint_status),
                Cell::new(text(env(p, "restart_time"))),
                Cell::new(cpu(p)),
                Cell::new(memory(p)),
                Cell::painted(user(p), bold),
            ]
        })
        .collect();
    match layout {
        Layout::Full => {
            let full = [
                Column::auto("id"),
                Column::fixed("module", 30),
                Column::fixed("version", 15),
                Column::fixed("pid", 10),
                Column::fixed("status", 10),
                Column::fixed("↺", 6),
                Column::fixed("cpu", 10),
                Column::fixed("mem", 10),
                Column::fixed("user", 10),
            ];
            table::render(&full, &rows)
        }
        Layout::Condensed => {
            let condensed = [
                Column::auto("id"),
                Column::fixed("name", name_width.min(20)),
                Column::fixed("status", 10),
                Column::fixed("cpu", 10),
                Column::fixed("mem", 10),
            ];
            let rows: Vec<Vec<Cell>> = rows
                .into_iter()
                .map(|r| pick(r, &[0, 1, 4, 6, 7]))
                .collect();
            table::render(&condensed, &rows)
        }
        Layout::Minimal => {
            let rows: Vec<Vec<Cell>> = rows
                .into_iter()
                .map(|r| pick(r, &[0, 1, 4, 6, 7]))
                .collect();
            table::render(&minimal_columns(name_width), &rows)
        }
    }
}

/// `pm2 ls -m`: one plain block per process, in id order.
pub fn mini_list(list: &[Value], now: u64) -> String {
    let mut out = String::new();
    for p in list {
        let mode = env(p, "exec_mode").as_str().unwrap_or("fork_mode");
        out.push_str(&format!("+--- {}\n", name(p)));
        out.push_str(&format!("namespace : {}\n", text(env(p, "namespace"))));
        out.push_str(&format!("version : {}\n", text(env(p, "version"))));
        out.push_str(&format!(
            "pid : {}\n",
            text(p.get("pid").unwrap_or(&Value::Null))
        ));
        out.push_str(&format!(
            "pm2 id : {}\n",
            text(p.get("pm_id").unwrap_or(&Value::Null))
        ));
        out.push_str(&format!("status : {}\n", status(p)));
        out.push_str(&format!(
            "mode : {}\n",
            mode.strip_suffix("_mode").unwrap_or(mode)
        ));
        out.push_str(&format!("restarted : {}\n", text(env(p, "restart_time"))));
        out.push_str(&format!("uptime : {}\n", uptime(p, now)));
        out.push_str(&format!("memory usage : {} \n", memory(p)));
        out.push_str(&format!(
            "error log : {}\n",
            text(env(p, "pm_err_log_path"))
        ));
        out.push_str(&format!(
            "watching : {}\n",
            if is_watching(p) { "yes" } else { "no" }
        ));
        out.push_str(&format!("PID file : {}\n\n", text(env(p, "pm_pid_path"))));
    }
    out
}

pub fn words(v: &Value) -> String {
    match v {
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(text).collect::<Vec<_>>().join(" ")
        }
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "N/A".into(),
    }
}

fn title(s: &str) -> String {
    bold(&output::inverse(s))
}

/// `pm2 describe`: the key/value table of one process, its actions, metrics,
/// and the env variables that differ from the caller's.
pub fn describe(p: &Value, now: u64, local_env: &pm2_config::ClientEnv) -> String {
    let id = text(p.get("pm_id").unwrap_or(&Value::Null));
    let name = name(p);
    let st = status(p).to_string();
    let mut rows: Vec<(&str, Cell)> = vec![
        ("status", Cell::painted(st.clone(), paint_status)),
        ("name", Cell::new(name.clone())),
        ("namespace", Cell::new(text(env(p, "namespace")))),
        ("version", Cell::new(text(env(p, "version")))),
        ("restarts", Cell::new(text(env(p, "restart_time")))),
        ("uptime", Cell::new(uptime(p, now))),
        ("script path", Cell::new(text(env(p, "pm_exec_path")))),
        ("script args", Cell::new(words(env(p, "args")))),
        ("error log path", Cell::new(text(env(p, "pm_err_log_path")))),
        ("out log path", Cell::new(text(env(p, "pm_out_log_path")))),
    ];
    if let Some(path) = env(p, "pm_log_path").as_str() {
        rows.push(("entire log path", Cell::new(path)));
    }
    rows.extend([
        ("pid path", Cell::new(text(env(p, "pm_pid_path")))),
        ("interpreter", Cell::new(text(env(p, "exec_interpreter")))),
        ("interpreter args", Cell::new(words(env(p, "node_args")))),
        ("script id", Cell::new(id.clone())),
        ("exec cwd", Cell::new(text(env(p, "pm_cwd")))),
        ("exec mode", Cell::new(text(env(p, "exec_mode")))),
        ("node.js version", Cell::new(text(env(p, "node_version")))),
        (
            "node env",
            Cell::new(text(env(p, "env").get("NODE_ENV").unwrap_or(&Value::Null))),
        ),
        (
            "watch & reload",
            if is_watching(p) {
                Cell::painted("✔", green)
            } else {
                Cell::painted("✘", red)
            },
        ),
        (
            "unstable restarts",
            Cell::new(text(env(p, "unstable_restarts"))),
        ),
        (
            "created at",
            Cell::new(
                env(p, "created_at")
                    .as_u64()
                    .map(iso_date)
                    .unwrap_or_else(|| "N/A".into()),
            ),
        ),
    ]);
    if let Some(cron) = env(p, "cron_restart").as_str() {
        rows.push(("cron restart", Cell::new(cron)));
    }
    let rows: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|(k, v)| vec![Cell::new(k), v])
        .collect();
    let mut out = format!(
        "{}\n",
        title(&format!(" Describing process with id {id} - name {name} "))
    );
    out.push_str(&table::render_headless(&rows));

    if let Some(actions) = env(p, "axm_actions").as_array().filter(|a| !a.is_empty()) {
        out.push_str(&format!("{}\n", title(" Actions available ")));
        let rows: Vec<Vec<Cell>> = actions
            .iter()
            .map(|a| {
                vec![Cell::new(text(
                    a.get("action_name").unwrap_or(&Value::Null),
                ))]
            })
            .collect();
        out.push_str(&table::render_headless(&rows));
        out.push_str(&output::italic(&format!(
            " Trigger via: pm2 trigger {name} <action_name>"
        )));
        out.push_str("\n\n");
    }

    if let Some(metrics) = env(p, "axm_monitor").as_object().filter(|m| !m.is_empty()) {
        out.push_str(&format!("{}\n", title(" Code metrics value ")));
        let rows: Vec<Vec<Cell>> = metrics
            .iter()
            .map(|(k, m)| {
                let value = match m.get("value") {
                    Some(v) => text(v),
                    None => text(m),
                };
                let value = match m.get("unit").and_then(Value::as_str) {
                    Some(unit) if !unit.is_empty() => format!("{value} {unit}"),
                    _ => value,
                };
                vec![Cell::new(k.clone()), Cell::new(value)]
            })
            .collect();
        out.push_str(&table::render_headless(&rows));
    }

    out.push_str(&format!(
        "{}\n",
        title(" Divergent env variables from local env ")
    ));
    let divergent: Vec<Vec<Cell>> = env(p, "env")
        .as_object()
        .map(|e| {
            e.iter()
                .filter_map(|(k, v)| {
                    let v = v.as_str()?;
                    let local = local_env.get(k)?;
                    (local != v)
                        .then(|| vec![Cell::new(k.clone()), Cell::new(table::truncate(v, 60))])
                })
                .collect()
        })
        .unwrap_or_default();
    if !divergent.is_empty() {
        out.push_str(&table::render_headless(&divergent));
    }
    out.push_str("\n\n");
    out.push_str(" Add your own code metrics: http://bit.ly/code-metrics\n");
    out.push_str(&format!(
        " Use `pm2 logs {name} [--lines 1000]` to display logs\n"
    ));
    out.push_str(&format!(
        " Use `pm2 env {id}` to display environment variables\n"
    ));
    out.push_str(&format!(
        " Use `pm2 monit` to monitor CPU and Memory usage {name}\n"
    ));
    out
}

#[cfg(test)]
mod tests;
