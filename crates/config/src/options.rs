//! Option names: PM2's canonical (snake_case) keys, their aliases, and the
//! camelCase spellings the programmatic API accepts.

use serde_json::Value;

use crate::Options;

/// How an option's value is written and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// On/off; `"true"`/`"false"` from a CLI flag count too.
    Switch,
    /// A time (`1500`, `"2s"`), stored as milliseconds.
    Duration,
    /// A size (`200`, `"200M"`), stored as bytes.
    Size,
    /// A whole number of things.
    Count,
    /// Anything else: kept as written, read where it is used.
    Plain,
}

/// The value PM2's schema gives an app that does not set the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    None,
    Bool(bool),
    Millis(u64),
    Text(&'static str),
}

/// One app option: its canonical (snake_case) name, the other spellings PM2
/// accepts for it, how it is typed, and its schema default.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub default: Default,
}

const fn opt(name: &'static str, kind: Kind) -> OptionSpec {
    OptionSpec {
        name,
        aliases: &[],
        kind,
        default: Default::None,
    }
}

impl OptionSpec {
    const fn alias(self, aliases: &'static [&'static str]) -> OptionSpec {
        OptionSpec { aliases, ..self }
    }

    const fn default(self, default: Default) -> OptionSpec {
        OptionSpec { default, ..self }
    }
}

use Kind::{Count, Duration, Plain, Size, Switch};

/// Every option `resolve_app` knows by name; keys outside it pass through
/// untouched. The options with a default come first, in the order PM2's
/// schema fills them in (the order they appear in `pm2_env`).
pub const OPTIONS: &[OptionSpec] = &[
    opt("autorestart", Switch)
        .alias(&["auto_restart"])
        .default(Default::Bool(true)),
    opt("autostart", Switch)
        .alias(&["auto_start"])
        .default(Default::Bool(true)),
    opt("vizion", Switch).default(Default::Bool(true)),
    opt("pmx", Switch).default(Default::Bool(true)),
    opt("automation", Switch).default(Default::Bool(true)),
    opt("treekill", Switch)
        .alias(&["tree_kill"])
        .default(Default::Bool(true)),
    opt("instance_var", Plain).default(Default::Text("NODE_APP_INSTANCE")),
    opt("kill_retry_time", Duration).default(Default::Millis(100)),
    opt("windowsHide", Switch)
        .alias(&["windows_hide"])
        .default(Default::Bool(true)),
    opt("script", Plain).alias(&["cmd", "command"]),
    opt("name", Plain),
    opt("cwd", Plain),
    opt("args", Plain),
    opt("node_args", Plain).alias(&["interpreter_args"]),
    opt("exec_interpreter", Plain).alias(&["interpreter"]),
    opt("exec_mode", Plain),
    opt("instances", Plain),
    opt("out_file", Plain).alias(&["out", "output", "out_log"]),
    opt("error_file", Plain).alias(&["error", "err", "err_file", "err_log"]),
    opt("log_file", Plain).alias(&["log"]),
    opt("pid_file", Plain).alias(&["pid"]),
    opt("merge_logs", Switch).alias(&["combine_logs"]),
    opt("log_date_format", Plain),
    opt("log_type", Plain),
    opt("disable_logs", Switch),
    opt("time", Switch),
    opt("max_memory_restart", Size),
    opt("min_uptime", Duration),
    opt("max_restarts", Count),
    opt("kill_timeout", Duration),
    opt("restart_delay", Duration),
    opt("exp_backoff_restart_delay", Duration),
    opt("listen_timeout", Duration),
    opt("wait_ready", Switch),
    opt("shutdown_with_message", Switch),
    opt("stop_exit_codes", Plain),
    opt("cron_restart", Plain).alias(&["cron"]),
    opt("watch", Plain),
    opt("ignore_watch", Plain),
    opt("watch_options", Plain),
    opt("watch_delay", Duration),
    opt("env", Plain),
    opt("filter_env", Plain),
    opt("increment_var", Plain),
    opt("append_env_to_name", Switch),
    opt("namespace", Plain),
    opt("port", Plain),
    opt("force", Switch),
    opt("source_map_support", Switch),
    opt("disable_source_map_support", Switch),
    opt("trace", Plain),
    opt("disable_trace", Plain),
    opt("uid", Plain),
    opt("gid", Plain),
    opt("user", Plain),
    opt("username", Plain),
];

/// The options of one kind, in table order.
pub fn of_kind(kind: Kind) -> impl Iterator<Item = &'static str> {
    OPTIONS
        .iter()
        .filter(move |o| o.kind == kind)
        .map(|o| o.name)
}

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

/// The key under which an app of an ecosystem file carries the file's
/// `deploy.<env>.env` objects, by env name.
pub const DEPLOY_ENV: &str = "deploy_env";

/// Whether PM2 keeps `key` on an app of an ecosystem file: its schema's
/// options (any spelling we accept) and the `env_<name>` sets. PM2 drops
/// the others from the app.
pub fn is_app_option(key: &str) -> bool {
    canonical(key).is_some()
        || PM2_ONLY.contains(&key)
        || key == DEPLOY_ENV
        || key.strip_prefix("env_").is_some_and(|n| !n.is_empty())
}

/// The canonical name for `key`, or `None` when it is not an option we know.
fn canonical(key: &str) -> Option<&'static str> {
    let lookup = |k: &str| {
        OPTIONS
            .iter()
            .find(|o| o.name == k || o.aliases.contains(&k))
            .map(|o| o.name)
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
            out.shift_remove(name);
        } else {
            out.insert(name.to_string(), value.clone());
        }
    }
    out
}

/// The defaults PM2's schema fills in for every app, in its order.
pub fn defaults() -> impl Iterator<Item = (&'static str, Value)> {
    OPTIONS.iter().filter_map(|o| {
        let value = match o.default {
            Default::None => return None,
            Default::Bool(b) => Value::Bool(b),
            Default::Millis(ms) => Value::from(ms),
            Default::Text(t) => Value::from(t),
        };
        Some((o.name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Value {
        Value::Object(normalize_keys(v.as_object().unwrap()))
    }

    #[test]
    fn kinds_and_defaults_are_those_of_pm2s_schema() {
        let kind = |k| of_kind(k).collect::<Vec<_>>();
        assert_eq!(kind(Kind::Size), ["max_memory_restart"]);
        assert_eq!(kind(Kind::Count), ["max_restarts"]);
        let mut durations = kind(Kind::Duration);
        durations.sort_unstable();
        assert_eq!(
            durations,
            [
                "exp_backoff_restart_delay",
                "kill_retry_time",
                "kill_timeout",
                "listen_timeout",
                "min_uptime",
                "restart_delay",
                "watch_delay"
            ]
        );
        assert_eq!(kind(Kind::Switch).len(), 16);
        let defaults: Vec<_> = defaults().collect();
        assert_eq!(
            defaults.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [
                "autorestart",
                "autostart",
                "vizion",
                "pmx",
                "automation",
                "treekill",
                "instance_var",
                "kill_retry_time",
                "windowsHide"
            ],
            "in the order pm2_env shows them"
        );
        assert_eq!(defaults[7].1, json!(100));
    }

    #[test]
    fn every_name_and_alias_is_declared_once() {
        let mut names: Vec<&str> = OPTIONS
            .iter()
            .flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
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
