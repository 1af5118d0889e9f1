//! Option names: PM2's canonical (snake_case) keys, their aliases, and the
//! camelCase spellings the programmatic API accepts.

use serde_json::Value;

use crate::Options;

/// Every option `resolve_app` knows by name. Keys outside this list pass through untouched.
const CANONICAL: &[&str] = &[
    "script",
    "name",
    "cwd",
    "args",
    "node_args",
    "exec_interpreter",
    "exec_mode",
    "instances",
    "out_file",
    "error_file",
    "log_file",
    "pid_file",
    "merge_logs",
    "log_date_format",
    "log_type",
    "disable_logs",
    "time",
    "max_memory_restart",
    "min_uptime",
    "max_restarts",
    "kill_timeout",
    "kill_retry_time",
    "restart_delay",
    "exp_backoff_restart_delay",
    "listen_timeout",
    "wait_ready",
    "shutdown_with_message",
    "autorestart",
    "autostart",
    "stop_exit_codes",
    "cron_restart",
    "watch",
    "ignore_watch",
    "watch_options",
    "watch_delay",
    "env",
    "filter_env",
    "instance_var",
    "increment_var",
    "append_env_to_name",
    "namespace",
    "port",
    "vizion",
    "pmx",
    "automation",
    "treekill",
    "windowsHide",
    "force",
    "source_map_support",
    "disable_source_map_support",
    "trace",
    "disable_trace",
    "uid",
    "gid",
    "user",
    "username",
];

/// Other spellings PM2 accepts for a canonical option (CLI long names, schema aliases).
const ALIASES: &[(&str, &str)] = &[
    ("cmd", "script"),
    ("command", "script"),
    ("interpreter", "exec_interpreter"),
    ("interpreter_args", "node_args"),
    ("out", "out_file"),
    ("output", "out_file"),
    ("out_log", "out_file"),
    ("error", "error_file"),
    ("err", "error_file"),
    ("err_file", "error_file"),
    ("err_log", "error_file"),
    ("log", "log_file"),
    ("pid", "pid_file"),
    ("combine_logs", "merge_logs"),
    ("cron", "cron_restart"),
    ("auto_restart", "autorestart"),
    ("auto_start", "autostart"),
    ("tree_kill", "treekill"),
    ("windows_hide", "windowsHide"),
];

/// Options of PM2's app schema that nothing here reads, kept on the app as
/// PM2 keeps them.
const PM2_ONLY: &[&str] = &[
    "name_prefix",
    "install_url",
    "post_update",
    "v8",
    "event_loop_inspector",
    "deep_monitoring",
    "execute_command",
    "write",
    "io",
    "exec",
    "interpreterArgs",
    "pmx_module",
];

/// Whether PM2 keeps `key` on an app of an ecosystem file: its schema's
/// options (any spelling we accept) and the `env_<name>` sets. PM2 drops
/// the others from the app.
pub fn is_app_option(key: &str) -> bool {
    canonical(key).is_some()
        || PM2_ONLY.contains(&key)
        || key == crate::env::DEPLOY_ENV
        || key.strip_prefix("env_").is_some_and(|n| !n.is_empty())
}

/// The canonical name for `key`, or `None` when it is not an option we know.
fn canonical(key: &str) -> Option<&'static str> {
    let lookup = |k: &str| {
        CANONICAL
            .iter()
            .copied()
            .find(|c| *c == k)
            .or_else(|| ALIASES.iter().find(|(a, _)| *a == k).map(|(_, c)| *c))
    };
    lookup(key).or_else(|| {
        key.bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| lookup(&snake_case(key)))
            .flatten()
    })
}

/// `maxMemoryRestart` → `max_memory_restart`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Renames aliases and camelCase keys to their canonical names. A canonical key
/// written as such wins over an alias of it; `null` on a known option means unset.
pub(crate) fn normalize_keys(opts: &Options) -> Options {
    let mut out = Options::new();
    for (key, value) in opts {
        let Some(name) = canonical(key) else {
            out.insert(key.clone(), value.clone());
            continue;
        };
        if name != key && opts.contains_key(name) {
            continue;
        }
        if value.is_null() {
            out.remove(name);
        } else {
            out.insert(name.to_string(), value.clone());
        }
    }
    out
}

/// Options that hold a plain on/off switch.
pub(crate) const BOOLEANS: &[&str] = &[
    "autorestart",
    "autostart",
    "vizion",
    "pmx",
    "automation",
    "treekill",
    "merge_logs",
    "wait_ready",
    "windowsHide",
    "shutdown_with_message",
    "force",
    "disable_logs",
    "time",
    "source_map_support",
    "disable_source_map_support",
    "append_env_to_name",
];

/// Options measured in time (`stime`), stored as milliseconds.
pub(crate) const DURATIONS: &[&str] = &[
    "min_uptime",
    "kill_timeout",
    "kill_retry_time",
    "restart_delay",
    "listen_timeout",
    "exp_backoff_restart_delay",
    "watch_delay",
];

/// Options measured in bytes (`sbyte`).
pub(crate) const SIZES: &[&str] = &["max_memory_restart"];

/// Options that count things.
pub(crate) const COUNTS: &[&str] = &["max_restarts"];

/// The defaults PM2's schema fills in for every app.
pub(crate) fn defaults() -> [(&'static str, Value); 9] {
    [
        ("autorestart", Value::Bool(true)),
        ("autostart", Value::Bool(true)),
        ("vizion", Value::Bool(true)),
        ("pmx", Value::Bool(true)),
        ("automation", Value::Bool(true)),
        ("treekill", Value::Bool(true)),
        ("instance_var", Value::from("NODE_APP_INSTANCE")),
        ("kill_retry_time", Value::from(100)),
        ("windowsHide", Value::Bool(true)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Value {
        Value::Object(normalize_keys(v.as_object().unwrap()))
    }

    #[test]
    fn command_aliases_become_script() {
        assert_eq!(norm(json!({"cmd": "a.js"})), json!({"script": "a.js"}));
        assert_eq!(norm(json!({"command": "a.js"})), json!({"script": "a.js"}));
    }

    #[test]
    fn camel_case_names_become_snake_case() {
        let got = norm(json!({
            "maxMemoryRestart": "10M", "killTimeout": 1, "restartDelay": 2, "minUptime": 3,
            "maxRestarts": 4, "mergeLogs": true, "logDateFormat": "x", "errorFile": "e",
            "outFile": "o", "logFile": "l", "execMode": "fork", "nodeArgs": "--a",
            "autoRestart": false, "windowsHide": false, "expBackoffRestartDelay": 5,
        }));
        assert_eq!(
            got,
            json!({
                "max_memory_restart": "10M", "kill_timeout": 1, "restart_delay": 2, "min_uptime": 3,
                "max_restarts": 4, "merge_logs": true, "log_date_format": "x", "error_file": "e",
                "out_file": "o", "log_file": "l", "exec_mode": "fork", "node_args": "--a",
                "autorestart": false, "windowsHide": false, "exp_backoff_restart_delay": 5,
            })
        );
        assert_eq!(
            norm(json!({"interpreterArgs": "-u"})),
            json!({"node_args": "-u"})
        );
    }

    #[test]
    fn log_and_pid_aliases() {
        let got = norm(json!({"error": "e", "output": "o", "log": true, "pid": "p"}));
        assert_eq!(
            got,
            json!({"error_file": "e", "out_file": "o", "log_file": true, "pid_file": "p"})
        );
        assert_eq!(norm(json!({"err_file": "e"})), json!({"error_file": "e"}));
    }

    #[test]
    fn canonical_spelling_wins_over_an_alias_in_any_order() {
        assert_eq!(
            norm(json!({"script": "a.js", "cmd": "b.js"})),
            json!({"script": "a.js"})
        );
        assert_eq!(
            norm(json!({"cmd": "b.js", "script": "a.js"})),
            json!({"script": "a.js"})
        );
    }

    #[test]
    fn unknown_keys_pass_through_and_null_unsets_known_ones() {
        assert_eq!(
            norm(json!({"myFlag": 1, "env_production": {}, "autorestart": null})),
            json!({"myFlag": 1, "env_production": {}})
        );
    }
}
