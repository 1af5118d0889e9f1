//! Command-line flags as PM2 app options (the keys `resolve_app` takes), for
//! `pm2 start <script>` and for the attributes a restart may update.

use crate::args::Flags;
use pm2_config::Options;
use serde_json::{json, Value};

/// A number when the text is one (`--max-restarts 3`), else the text (`--min-uptime 2s`).
fn number_or_text(s: &str) -> Value {
    if let Ok(n) = s.parse::<i64>() {
        return json!(n);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => json!(f),
        _ => json!(s),
    }
}

/// `--watch-delay` as PM2's CLI reads it: a bare number is in seconds
/// (`--watch-delay 4`), anything else keeps its unit (`4000ms`, `2s`).
fn watch_delay(s: &str) -> Value {
    match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => json!((secs * 1000.0).round() as u64),
        _ => json!(s.trim()),
    }
}

fn list(s: &str) -> Value {
    json!(s
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>())
}

/// The options the flags set, and only those: flags not given leave the app's
/// own (or PM2's default) value alone.
pub fn from_flags(f: &Flags) -> Options {
    let mut o = Options::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    let texts = [
        ("name", &f.name),
        ("namespace", &f.namespace),
        ("cwd", &f.cwd),
        ("out_file", &f.output),
        ("error_file", &f.error),
        ("pid_file", &f.pid),
        ("exec_interpreter", &f.interpreter),
        ("node_args", &f.interpreter_args),
        ("log_type", &f.log_type),
        ("log_date_format", &f.log_date_format),
        ("cron_restart", &f.cron),
        ("uid", &f.uid),
        ("gid", &f.gid),
        ("user", &f.user),
    ];
    for (k, v) in texts {
        if let Some(v) = v {
            put(k, json!(v));
        }
    }
    let numbers = [
        ("instances", &f.instances),
        ("kill_timeout", &f.kill_timeout),
        ("listen_timeout", &f.listen_timeout),
        ("max_memory_restart", &f.max_memory_restart),
        ("restart_delay", &f.restart_delay),
        ("exp_backoff_restart_delay", &f.exp_backoff_restart_delay),
        ("max_restarts", &f.max_restarts),
        ("min_uptime", &f.min_uptime),
    ];
    for (k, v) in numbers {
        if let Some(v) = v {
            put(k, number_or_text(v));
        }
    }
    // As PM2's CLI: `-i max` and `-i 0` (one per CPU) log all instances
    // into the app's one pair of files; `-i <n>` gives each its own.
    if f.instances
        .as_deref()
        .is_some_and(|i| i == "max" || i.parse::<i64>() == Ok(0))
    {
        put("merge_logs", json!(true));
    }
    if let Some(l) = &f.log {
        put(
            "log_file",
            if l.is_empty() { json!(true) } else { json!(l) },
        );
    }
    if let Some(w) = &f.watch {
        put("watch", if w.is_empty() { json!(true) } else { list(w) });
    }
    if let Some(d) = &f.watch_delay {
        put("watch_delay", watch_delay(d));
    }
    if let Some(i) = &f.ignore_watch {
        put("ignore_watch", list(i));
    }
    if !f.filter_env.is_empty() {
        put("filter_env", json!(f.filter_env));
    }
    if !f.stop_exit_codes.is_empty() {
        let codes: Vec<Value> = f
            .stop_exit_codes
            .iter()
            .flat_map(|s| s.split([',', ' ']))
            .filter(|s| !s.is_empty())
            .map(number_or_text)
            .collect();
        put("stop_exit_codes", Value::Array(codes));
    }
    if f.execute_command {
        put("exec_mode", json!("fork_mode"));
    }
    let switches = [
        ("time", f.time, true),
        ("disable_logs", f.disable_logs, true),
        ("merge_logs", f.merge_logs, true),
        ("shutdown_with_message", f.shutdown_with_message, true),
        ("wait_ready", f.wait_ready, true),
        ("autorestart", f.no_autorestart, false),
        ("autostart", f.no_autostart, false),
        ("vizion", f.no_vizion, false),
        ("treekill", f.no_treekill, false),
        ("pmx", f.no_pmx, false),
        ("automation", f.no_automation, false),
        ("source_map_support", f.source_map_support, true),
        (
            "disable_source_map_support",
            f.disable_source_map_support,
            true,
        ),
        ("trace", f.trace, true),
        ("disable_trace", f.disable_trace, true),
        ("v8", f.v8, true),
        ("event_loop_inspector", f.event_loop_inspector, true),
        ("deep_monitoring", f.deep_monitoring, true),
    ];
    for (k, given, v) in switches {
        if given {
            put(k, json!(v));
        }
    }
    o
}

/// The app `pm2 start <script> [flags] -- [args]` describes.
pub fn script_app(script: &str, f: &Flags, args: &[String]) -> Options {
    let mut app = Options::new();
    app.insert("script".into(), json!(script));
    app.extend(from_flags(f));
    if !args.is_empty() {
        app.insert("args".into(), json!(args));
    }
    app
}

/// `--only a,b` as names.
pub fn only(f: &Flags) -> Vec<String> {
    f.only
        .as_deref()
        .map(|s| {
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
    use crate::args::Command;

    fn start(args: &[&str]) -> Options {
        let cli = crate::args::parse(["pm2", "start"].iter().chain(args)).unwrap();
        let Some(Command::Start { targets, args }) = cli.command else {
            panic!("not a start")
        };
        script_app(&targets[0], &cli.flags, &args)
    }

    #[test]
    fn maps_flags_to_pm2_option_keys() {
        let o = start(&[
            "app.js",
            "--name",
            "api",
            "-o",
            "/tmp/o.log",
            "-e",
            "/tmp/e.log",
            "--max-restarts",
            "3",
            "--min-uptime",
            "2s",
            "--no-autorestart",
            "--time",
            "-k",
            "3000",
            "-i",
            "max",
            "--interpreter",
            "python3",
            "--node-args",
            "--harmony",
            "--cron",
            "0 * * * *",
            "--max-memory-restart",
            "200M",
            "--",
            "--port",
            "80",
        ]);
        assert_eq!(o["script"], "app.js");
        assert_eq!(o["name"], "api");
        assert_eq!(o["out_file"], "/tmp/o.log");
        assert_eq!(o["error_file"], "/tmp/e.log");
        assert_eq!(o["max_restarts"], 3);
        assert_eq!(o["min_uptime"], "2s");
        assert_eq!(o["autorestart"], false);
        assert_eq!(o["time"], true);
        assert_eq!(o["kill_timeout"], 3000);
        assert_eq!(o["instances"], "max");
        assert_eq!(o["merge_logs"], true, "-i max merges logs");
        assert_eq!(o["exec_interpreter"], "python3");
        assert_eq!(o["node_args"], "--harmony");
        assert_eq!(o["cron_restart"], "0 * * * *");
        assert_eq!(o["max_memory_restart"], "200M");
        assert_eq!(o["args"], json!(["--port", "80"]));
        assert!(!o.contains_key("watch"));
        assert!(!o.contains_key("pmx"));
    }

    #[test]
    fn optional_values_and_negations() {
        let o = start(&[
            "app.js",
            "-l",
            "--watch",
            "--no-pmx",
            "--no-treekill",
            "-i",
            "2",
        ]);
        assert_eq!(o["log_file"], true);
        assert_eq!(o["watch"], true);
        assert_eq!(o["pmx"], false);
        assert_eq!(o["treekill"], false);
        assert_eq!(o["instances"], 2);
        assert!(!o.contains_key("merge_logs"), "-i 2 does not merge logs");
        let o = start(&[
            "app.js",
            "--log",
            "/tmp/all.log",
            "--watch",
            "src,lib",
            "--stop-exit-codes",
            "0",
            "3",
        ]);
        assert_eq!(o["log_file"], "/tmp/all.log");
        assert_eq!(o["watch"], json!(["src", "lib"]));
        assert!(!o.contains_key("watch_delay"));
        let w = start(&[
            "app.js",
            "--watch",
            "--watch-delay",
            "1.5",
            "--ignore-watch",
            "logs,*.tmp",
        ]);
        assert_eq!(w["watch"], true);
        assert_eq!(
            w["watch_delay"], 1500,
            "a bare number is seconds, as in PM2"
        );
        assert_eq!(w["ignore_watch"], json!(["logs", "*.tmp"]));
        let w = start(&[
            "app.js",
            "--watch-delay",
            "300ms",
            "--cron-restart",
            "*/2 * * * * *",
        ]);
        assert_eq!(w["watch_delay"], "300ms");
        assert_eq!(w["cron_restart"], "*/2 * * * * *");
        assert_eq!(o["stop_exit_codes"], json!([0, 3]));
        let o = start(&[
            "app.js",
            "--shutdown-with-message",
            "--wait-ready",
            "--listen-timeout",
            "5000",
            "-x",
        ]);
        assert_eq!(o["shutdown_with_message"], true);
        assert_eq!(o["wait_ready"], true);
        assert_eq!(o["listen_timeout"], 5000);
        assert_eq!(o["exec_mode"], "fork_mode");
    }
}
