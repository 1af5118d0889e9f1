//! The command line, as PM2's users type it.

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Map, Value};

#[derive(Parser, Debug)]
#[command(
    name = "pm2",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print the version.
    #[arg(short = 'v', long = "version", global = true)]
    pub version: bool,
    /// Print nothing but errors.
    #[arg(short = 's', long, global = true)]
    pub silent: bool,
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
    /// Smaller process list.
    #[arg(short = 'm', long = "mini-list", global = true)]
    pub mini_list: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start apps: a script, an ecosystem file, or existing names/ids (restart).
    Start(StartArgs),
    /// Stop processes.
    Stop(ActionArgs),
    /// Restart processes.
    Restart(ActionArgs),
    /// Reload processes (a restart in fork mode).
    Reload(ActionArgs),
    /// Stop and remove processes.
    #[command(alias = "del")]
    Delete(ActionArgs),
    /// Start an ecosystem's apps, restarting the ones that exist.
    #[command(name = "startOrRestart", alias = "startOrReload")]
    StartOrRestart(StartArgs),
    /// The process table.
    #[command(aliases = ["ls", "l", "ps", "status"])]
    List {
        #[arg(long)]
        sort: Option<String>,
    },
    /// The process list as JSON.
    Jlist,
    /// The process list, inspected.
    Prettylist,
    /// Everything about a process.
    #[command(aliases = ["desc", "info", "show"])]
    Describe { target: String },
    /// Print and stream logs.
    #[command(alias = "log")]
    Logs(LogsArgs),
    /// Empty log files.
    Flush { target: Option<String> },
    /// Reopen log files (after a rotation).
    #[command(name = "reloadLogs")]
    ReloadLogs,
    /// Check the daemon answers (starts it if needed).
    Ping,
    /// Stop every process and the daemon.
    Kill,
    /// Save the process list for `resurrect`.
    #[command(alias = "save")]
    Dump {
        #[arg(short = 'f', long)]
        force: bool,
    },
    /// Start the saved process list again.
    Resurrect,
    /// Pids of the processes (of one app).
    Pid { target: Option<String> },
    /// Ids of an app.
    Id { name: String },
    /// Reset restart counters.
    Reset { target: String },
    /// Send a signal to processes.
    #[command(name = "sendSignal")]
    SendSignal { signal: String, target: String },
    /// Restart the daemon with this version, keeping the processes.
    #[command(alias = "updatePM2")]
    Update,
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

#[derive(Args, Debug, Default)]
pub struct ActionArgs {
    /// ids, names, namespaces, `all`, `/regex/` or an ecosystem file.
    #[arg(required = true)]
    pub targets: Vec<String>,
    #[arg(short = 'a', long = "update-env")]
    pub update_env: bool,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(long)]
    pub only: Option<String>,
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Args, Debug, Default)]
pub struct LogsArgs {
    pub target: Option<String>,
    #[arg(long, default_value_t = 15)]
    pub lines: usize,
    #[arg(long)]
    pub nostream: bool,
    #[arg(long)]
    pub raw: bool,
    #[arg(long)]
    pub err: bool,
    #[arg(long)]
    pub out: bool,
    #[arg(long)]
    pub json: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "YYYY-MM-DDTHH:mm:ss")]
    pub timestamp: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct StartArgs {
    /// A script, an ecosystem file, or existing names/ids.
    pub targets: Vec<String>,
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    #[arg(long)]
    pub namespace: Option<String>,
    #[arg(long)]
    pub interpreter: Option<String>,
    #[arg(
        long = "interpreter-args",
        alias = "node-args",
        allow_hyphen_values = true
    )]
    pub interpreter_args: Option<String>,
    #[arg(long)]
    pub cwd: Option<String>,
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
    #[arg(short = 'e', long = "error")]
    pub error: Option<String>,
    #[arg(short = 'l', long = "log", num_args = 0..=1, default_missing_value = "")]
    pub log: Option<String>,
    #[arg(short = 'p', long = "pid")]
    pub pid: Option<String>,
    #[arg(long)]
    pub time: bool,
    #[arg(long = "log-date-format")]
    pub log_date_format: Option<String>,
    #[arg(long = "log-type")]
    pub log_type: Option<String>,
    #[arg(long = "merge-logs")]
    pub merge_logs: bool,
    #[arg(long = "disable-logs")]
    pub disable_logs: bool,
    #[arg(long = "max-restarts")]
    pub max_restarts: Option<String>,
    #[arg(long = "min-uptime")]
    pub min_uptime: Option<String>,
    #[arg(long = "restart-delay")]
    pub restart_delay: Option<String>,
    #[arg(long = "exp-backoff-restart-delay")]
    pub exp_backoff_restart_delay: Option<String>,
    #[arg(short = 'k', long = "kill-timeout")]
    pub kill_timeout: Option<String>,
    #[arg(long = "max-memory-restart")]
    pub max_memory_restart: Option<String>,
    #[arg(long = "stop-exit-codes", num_args = 1..)]
    pub stop_exit_codes: Vec<i64>,
    #[arg(long = "no-autorestart")]
    pub no_autorestart: bool,
    #[arg(long = "no-autostart")]
    pub no_autostart: bool,
    #[arg(long = "no-treekill")]
    pub no_treekill: bool,
    #[arg(long = "no-pmx")]
    pub no_pmx: bool,
    #[arg(long = "shutdown-with-message")]
    pub shutdown_with_message: bool,
    #[arg(long = "wait-ready")]
    pub wait_ready: bool,
    #[arg(long = "listen-timeout")]
    pub listen_timeout: Option<String>,
    #[arg(short = 'c', long = "cron", alias = "cron-restart")]
    pub cron: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub watch: Option<String>,
    #[arg(short = 'i', long)]
    pub instances: Option<String>,
    #[arg(short = 'x', long = "execute-command")]
    pub execute_command: bool,
    #[arg(long = "filter-env", num_args = 1..)]
    pub filter_env: Vec<String>,
    #[arg(short = 'a', long = "update-env")]
    pub update_env: bool,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(long)]
    pub only: Option<String>,
    /// Arguments for the script, after `--`.
    #[arg(last = true)]
    pub script_args: Vec<String>,
}

fn number_or_string(s: &str) -> Value {
    s.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(s))
}

impl StartArgs {
    /// The flags as PM2 option keys, merged over each app's options.
    pub fn options(&self) -> Map<String, Value> {
        let mut o = Map::new();
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_string(), v);
        };
        let strings: [(&str, &Option<String>); 8] = [
            ("name", &self.name),
            ("namespace", &self.namespace),
            ("interpreter", &self.interpreter),
            ("cwd", &self.cwd),
            ("out_file", &self.output),
            ("error_file", &self.error),
            ("pid_file", &self.pid),
            ("log_date_format", &self.log_date_format),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                put(k, json!(v));
            }
        }
        let numbers: [(&str, &Option<String>); 8] = [
            ("max_restarts", &self.max_restarts),
            ("min_uptime", &self.min_uptime),
            ("restart_delay", &self.restart_delay),
            ("exp_backoff_restart_delay", &self.exp_backoff_restart_delay),
            ("kill_timeout", &self.kill_timeout),
            ("max_memory_restart", &self.max_memory_restart),
            ("listen_timeout", &self.listen_timeout),
            ("instances", &self.instances),
        ];
        for (k, v) in numbers {
            if let Some(v) = v {
                put(k, number_or_string(v));
            }
        }
        if let Some(a) = &self.interpreter_args {
            put("node_args", json!(a));
        }
        if let Some(l) = &self.log {
            put(
                "log_file",
                if l.is_empty() { json!(true) } else { json!(l) },
            );
        }
        if let Some(t) = &self.log_type {
            put("log_type", json!(t));
        }
        if let Some(c) = &self.cron {
            put("cron_restart", json!(c));
        }
        if let Some(w) = &self.watch {
            put("watch", if w == "true" { json!(true) } else { json!(w) });
        }
        let flags = [
            ("time", self.time, json!(true)),
            ("merge_logs", self.merge_logs, json!(true)),
            ("disable_logs", self.disable_logs, json!(true)),
            ("autorestart", self.no_autorestart, json!(false)),
            ("autostart", self.no_autostart, json!(false)),
            ("treekill", self.no_treekill, json!(false)),
            ("pmx", self.no_pmx, json!(false)),
            (
                "shutdown_with_message",
                self.shutdown_with_message,
                json!(true),
            ),
            ("wait_ready", self.wait_ready, json!(true)),
            ("force", self.force, json!(true)),
        ];
        for (k, set, v) in flags {
            if set {
                put(k, v);
            }
        }
        if !self.stop_exit_codes.is_empty() {
            put("stop_exit_codes", json!(self.stop_exit_codes));
        }
        if !self.filter_env.is_empty() {
            put("filter_env", json!(self.filter_env));
        }
        if self.execute_command {
            put("interpreter", json!("none"));
        }
        if !self.script_args.is_empty() {
            put("args", json!(self.script_args));
        }
        o
    }

    pub fn only(&self) -> Vec<String> {
        split_list(self.only.as_deref())
    }
}

pub fn split_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(args: &[&str]) -> StartArgs {
        let mut argv = vec!["pm2", "start"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(Command::Start(s)) => s,
            other => panic!("not a start: {other:?}"),
        }
    }

    #[test]
    fn maps_start_flags_to_pm2_option_keys() {
        let s = start(&[
            "app.js",
            "--name",
            "api",
            "-o",
            "/tmp/o.log",
            "--max-restarts",
            "3",
            "--no-autorestart",
            "--time",
            "-k",
            "3000",
            "--",
            "--port",
            "80",
        ]);
        assert_eq!(s.targets, vec!["app.js"]);
        let o = s.options();
        assert_eq!(o["name"], "api");
        assert_eq!(o["out_file"], "/tmp/o.log");
        assert_eq!(o["max_restarts"], 3);
        assert_eq!(o["autorestart"], false);
        assert_eq!(o["time"], true);
        assert_eq!(o["kill_timeout"], 3000);
        assert_eq!(o["args"], json!(["--port", "80"]));
        assert!(!o.contains_key("watch"));
    }

    #[test]
    fn accepts_pm2_aliases_and_unknown_commands() {
        assert!(matches!(
            Cli::try_parse_from(["pm2", "ls"]).unwrap().command,
            Some(Command::List { .. })
        ));
        assert!(matches!(
            Cli::try_parse_from(["pm2", "del", "0"]).unwrap().command,
            Some(Command::Delete(_))
        ));
        assert!(matches!(
            Cli::try_parse_from(["pm2", "save"]).unwrap().command,
            Some(Command::Dump { .. })
        ));
        assert!(matches!(
            Cli::try_parse_from(["pm2", "frobnicate"]).unwrap().command,
            Some(Command::Unknown(_))
        ));
        assert!(Cli::try_parse_from(["pm2", "-v"]).unwrap().version);
        let s = start(&["app.js", "-l"]);
        assert_eq!(s.options()["log_file"], true);
    }
}
