//! What the dashboard knows: the process list of the last refresh, which
//! process is selected (by pm_id, so a refresh that reorders or grows the
//! list keeps it), and the latest log lines of each process, bounded.

use crate::listing;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// Log lines kept per process: a screen's worth and then some; older ones go.
pub const LOG_LINES_KEPT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub err: bool,
    pub text: String,
}

#[derive(Default)]
pub struct Board {
    procs: Vec<Value>,
    selected: Option<u64>,
    logs: HashMap<u64, VecDeque<LogLine>>,
    /// Why the last refresh failed (the daemon went away), shown in the footer.
    pub problem: Option<String>,
    /// Log lines came in since the last draw.
    pub logs_arrived: bool,
}

fn pm_id(p: &Value) -> Option<u64> {
    pm2_client::target::pm_id(p)
}

impl Board {
    /// Takes a fresh process list, ordered by pm_id as PM2's monit shows it.
    pub fn set_list(&mut self, mut list: Vec<Value>) {
        list.sort_by_key(|p| pm_id(p).unwrap_or(u64::MAX));
        self.logs
            .retain(|id, _| list.iter().any(|p| pm_id(p) == Some(*id)));
        let still_there = self
            .selected
            .is_some_and(|id| list.iter().any(|p| pm_id(p) == Some(id)));
        if !still_there {
            self.selected = list.first().and_then(pm_id);
        }
        self.procs = list;
        self.problem = None;
    }

    pub fn procs(&self) -> &[Value] {
        &self.procs
    }

    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.procs.iter().position(|p| pm_id(p) == Some(id))
    }

    pub fn selected(&self) -> Option<&Value> {
        self.selected_index().map(|i| &self.procs[i])
    }

    /// Moves the selection by `delta` rows, stopping at either end.
    pub fn move_selection(&mut self, delta: isize) {
        if self.procs.is_empty() {
            return;
        }
        let at = self.selected_index().unwrap_or(0) as isize;
        let to = (at + delta).clamp(0, self.procs.len() as isize - 1) as usize;
        self.selected = pm_id(&self.procs[to]);
    }

    /// Adds the lines of one `log:out`/`log:err` event to its process.
    pub fn push_log(&mut self, id: u64, err: bool, data: &str) {
        let lines = self.logs.entry(id).or_default();
        for line in data.strip_suffix('\n').unwrap_or(data).split('\n') {
            if lines.len() == LOG_LINES_KEPT {
                lines.pop_front();
            }
            lines.push_back(LogLine {
                err,
                text: line.strip_suffix('\r').unwrap_or(line).to_string(),
            });
        }
    }

    /// The lines a process printed before the dashboard opened (from its log
    /// file); marks it as seen even when there are none.
    pub fn push_tail(&mut self, id: u64, lines: &[String]) {
        self.logs.entry(id).or_default();
        for line in lines {
            self.push_log(id, false, line);
        }
    }

    /// Whether lines were already seen for `id` (the log files' tail is only
    /// read for a process that has none yet).
    pub fn has_logs(&self, id: u64) -> bool {
        self.logs.contains_key(&id)
    }

    pub fn logs_of_selected(&self) -> impl Iterator<Item = &LogLine> {
        self.selected
            .and_then(|id| self.logs.get(&id))
            .into_iter()
            .flatten()
    }
}

/// The custom metrics of a process (`pm2_env.axm_monitor`): name, then value
/// with its unit.
pub fn metrics(p: &Value) -> Vec<(String, String)> {
    let Some(map) = p["pm2_env"]["axm_monitor"].as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(name, m)| {
            let value = listing::text(m.get("value").unwrap_or(m));
            let value = match m.get("unit").and_then(Value::as_str) {
                Some(unit) if !unit.is_empty() => format!("{value} {unit}"),
                _ => value,
            };
            (name.clone(), value)
        })
        .collect()
}

/// What the metadata pane shows, most asked-for first (the pane may cut the end).
pub fn metadata(p: &Value, now: u64) -> Vec<(&'static str, String)> {
    let env = |key: &str| listing::text(listing::env(p, key));
    vec![
        ("App Name", listing::name(p)),
        ("pid", listing::text(&p["pid"])),
        ("Restarts", env("restart_time")),
        ("Uptime", listing::uptime(p, now)),
        ("Script path", env("pm_exec_path")),
        ("Exec mode", env("exec_mode")),
        ("Node.js version", env("node_version")),
        ("Interpreter", env("exec_interpreter")),
        ("Out log path", env("pm_out_log_path")),
        ("Error log path", env("pm_err_log_path")),
        ("Status", env("status")),
        ("Script args", listing::words(listing::env(p, "args"))),
        (
            "Interpreter args",
            listing::words(listing::env(p, "node_args")),
        ),
        ("Namespace", env("namespace")),
        ("Version", env("version")),
        ("Exec cwd", env("pm_cwd")),
        ("Unstable restarts", env("unstable_restarts")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proc_(id: u64, name: &str) -> Value {
        json!({"pm_id": id, "name": name, "pid": 100 + id, "pm2_env": {"status": "online"}})
    }

    #[test]
    fn the_selection_follows_the_process_across_refreshes() {
        let mut b = Board::default();
        b.set_list(vec![proc_(1, "b"), proc_(0, "a")]);
        assert_eq!(b.selected().unwrap()["name"], "a");
        b.move_selection(1);
        assert_eq!(b.selected().unwrap()["name"], "b");
        b.move_selection(5);
        assert_eq!(b.selected().unwrap()["name"], "b");
        // A new process ahead of it in the order: the selection stays on b.
        b.set_list(vec![proc_(0, "a"), proc_(1, "b"), proc_(2, "c")]);
        assert_eq!(b.selected().unwrap()["name"], "b");
        b.move_selection(-9);
        assert_eq!(b.selected().unwrap()["name"], "a");
        // The selected process deleted: back to the first.
        b.set_list(vec![proc_(1, "b")]);
        assert_eq!(b.selected().unwrap()["name"], "b");
        b.set_list(vec![]);
        assert!(b.selected().is_none());
        b.move_selection(1);
    }

    #[test]
    fn logs_are_per_process_and_bounded() {
        let mut b = Board::default();
        b.set_list(vec![proc_(0, "a"), proc_(1, "b")]);
        b.push_log(1, false, "first\r\nsecond\n");
        for i in 0..LOG_LINES_KEPT {
            b.push_log(0, true, &format!("line {i}\n"));
        }
        b.push_log(0, false, "last\n");
        let lines: Vec<_> = b.logs_of_selected().collect();
        assert_eq!(lines.len(), LOG_LINES_KEPT);
        assert_eq!(lines[0].text, "line 1");
        assert_eq!(lines.last().unwrap().text, "last");
        b.move_selection(1);
        let texts: Vec<_> = b.logs_of_selected().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
        // A deleted process takes its lines with it.
        b.set_list(vec![proc_(0, "a")]);
        assert!(!b.has_logs(1));
    }

    #[test]
    fn metrics_show_value_and_unit() {
        let p = json!({"pm2_env": {"axm_monitor": {
            "Queue": {"value": 12, "unit": "jobs"},
            "Ratio": {"value": 0.5},
        }}});
        assert_eq!(
            metrics(&p),
            [
                ("Queue".to_string(), "12 jobs".to_string()),
                ("Ratio".to_string(), "0.5".to_string())
            ]
        );
        assert!(metrics(&json!({"pm2_env": {}})).is_empty());
    }
}
