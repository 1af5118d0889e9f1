//! What `module_conf.json` says about log rotation: the `pm2:log_rotate`
//! switch, and pm2-logrotate's own keys (`pm2 set pm2-logrotate:max_size 10M`)
//! so that setups made for the module carry over.

use serde_json::Value;
use std::time::Duration;

/// The section pm2-logrotate's keys live in.
pub const SECTION: &str = "pm2-logrotate";

/// How logs are rotated while rotation is on.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Rotate a file once it holds this many bytes (0: never by size).
    pub max_size: u64,
    /// Rotated files kept per log (`None`: all of them).
    pub retain: Option<usize>,
    pub compress: bool,
    /// The day.js format of the date in a rotated file's name.
    pub date_format: String,
    /// When every log is rotated whatever its size.
    pub rotate_interval: Option<croner::Cron>,
    /// Whether modules' logs are rotated too.
    pub rotate_module: bool,
    /// How often `pm2.log`'s size is looked at (apps' logs are checked on write).
    pub worker_interval: Duration,
}

impl Default for Policy {
    /// pm2-logrotate's defaults.
    fn default() -> Policy {
        Policy {
            max_size: 10 << 20,
            retain: Some(30),
            compress: false,
            date_format: "YYYY-MM-DD_HH-mm-ss".into(),
            rotate_interval: Some(parse_cron("0 0 * * *").expect("default pattern")),
            rotate_module: true,
            worker_interval: Duration::from_secs(30),
        }
    }
}

/// The rotation `conf` asks for (`None`: off), and what is wrong in it: a bad
/// value is named and its default used instead.
pub fn from_conf(conf: &Value) -> (Option<Policy>, Vec<String>) {
    let switch = &conf["pm2"]["log_rotate"];
    match as_bool(switch) {
        Some(true) => {}
        None if !switch.is_null() => {
            let problem = format!(
                "pm2:log_rotate {} is not true or false; rotation stays off",
                display(switch)
            );
            return (None, vec![problem]);
        }
        _ => return (None, Vec::new()),
    }
    let keys = &conf[SECTION];
    let mut problems = Vec::new();
    let mut policy = Policy::default();
    if let Some(n) = setting(
        keys,
        "max_size",
        "a size like 10M, 500K or 1G",
        &mut problems,
        |v| pm2_config::parse_bytes(v).ok(),
    ) {
        policy.max_size = n;
    }
    if let Some(n) = setting(
        keys,
        "retain",
        "a number of files or \"all\"",
        &mut problems,
        |v| match v {
            Value::String(s) if s.trim().eq_ignore_ascii_case("all") => Some(None),
            _ => as_int(v).map(|n| Some(n as usize)),
        },
    ) {
        policy.retain = n;
    }
    if let Some(b) = setting(keys, "compress", "true or false", &mut problems, as_bool) {
        policy.compress = b;
    }
    if let Some(s) = setting(
        keys,
        "dateFormat",
        "a date format without '/'",
        &mut problems,
        |v| {
            v.as_str()
                .filter(|s| !s.trim().is_empty() && !s.contains('/'))
                .map(str::to_string)
        },
    ) {
        policy.date_format = s;
    }
    let cron = "a cron pattern such as \"0 0 * * *\"";
    if let Some(c) = setting(keys, "rotateInterval", cron, &mut problems, |v| {
        parse_cron(v.as_str()?).ok()
    }) {
        policy.rotate_interval = Some(c);
    }
    if let Some(b) = setting(
        keys,
        "rotateModule",
        "true or false",
        &mut problems,
        as_bool,
    ) {
        policy.rotate_module = b;
    }
    let seconds = "a number of seconds, at least 1";
    if let Some(n) = setting(keys, "workerInterval", seconds, &mut problems, |v| {
        as_int(v).filter(|n| *n >= 1)
    }) {
        policy.worker_interval = Duration::from_secs(n);
    }
    if present(keys, "TZ").is_some() {
        problems.push(format!(
            "{SECTION}:TZ is not supported by the daemon's rotation: dates in names are local time"
        ));
    }
    (Some(policy), problems)
}

/// What `parse` reads from `keys[key]` (`None` when it is absent); a value
/// `parse` refuses is named in `problems`, as not `want`, and gives `None`.
fn setting<T>(
    keys: &Value,
    key: &str,
    want: &str,
    problems: &mut Vec<String>,
    parse: impl FnOnce(&Value) -> Option<T>,
) -> Option<T> {
    let v = present(keys, key)?;
    let parsed = parse(v);
    if parsed.is_none() {
        problems.push(format!(
            "{SECTION}:{key} {} is not {want}; using the default",
            display(v)
        ));
    }
    parsed
}

fn present<'a>(keys: &'a Value, key: &str) -> Option<&'a Value> {
    keys.get(key).filter(|v| !v.is_null())
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// A `rotateInterval` pattern: 5 fields, or 6 with seconds first.
fn parse_cron(pattern: &str) -> Result<croner::Cron, String> {
    pm2_config::cron::parse(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn off_unless_the_switch_is_on() {
        assert!(from_conf(&json!({})).0.is_none());
        assert!(from_conf(&json!({"pm2": {"log_rotate": "false"}}))
            .0
            .is_none());
        assert!(from_conf(&json!({"pm2-logrotate": {"max_size": "1K"}}))
            .0
            .is_none());
        assert!(from_conf(&json!({"pm2": {"log_rotate": "true"}}))
            .0
            .is_some());
        assert!(from_conf(&json!({"pm2": {"log_rotate": true}})).0.is_some());
        let (p, problems) = from_conf(&json!({"pm2": {"log_rotate": "yes"}}));
        assert!(p.is_none());
        assert!(
            problems[0].contains("pm2:log_rotate \"yes\""),
            "{problems:?}"
        );
    }

    #[test]
    fn reads_pm2_logrotates_keys_as_pm2_set_writes_them() {
        let (p, problems) = from_conf(&json!({
            "pm2": {"log_rotate": "true"},
            "pm2-logrotate": {
                "max_size": "1K", "retain": "3", "compress": "true",
                "dateFormat": "YYYY", "rotateInterval": "*/5 * * * * *",
                "rotateModule": false, "workerInterval": "2"
            }
        }));
        let p = p.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(p.max_size, 1024);
        assert_eq!(p.retain, Some(3));
        assert!(p.compress && !p.rotate_module);
        assert_eq!(p.date_format, "YYYY");
        assert_eq!(p.worker_interval, Duration::from_secs(2));
        assert!(p.rotate_interval.is_some());
    }

    #[test]
    fn the_defaults_are_pm2_logrotates() {
        let (p, _) = from_conf(&json!({"pm2": {"log_rotate": "true"}}));
        let p = p.unwrap();
        assert_eq!(p.max_size, 10 << 20);
        assert_eq!(p.retain, Some(30));
        assert!(!p.compress && p.rotate_module);
        assert_eq!(p.date_format, "YYYY-MM-DD_HH-mm-ss");
        assert_eq!(p.worker_interval, Duration::from_secs(30));
    }

    #[test]
    fn bad_values_are_named_and_replaced_by_defaults() {
        let (p, problems) = from_conf(&json!({
            "pm2": {"log_rotate": "true"},
            "pm2-logrotate": {"max_size": "huge", "retain": "many", "rotateInterval": "often", "TZ": "Etc/GMT+1"}
        }));
        let p = p.unwrap();
        assert_eq!(p.max_size, 10 << 20);
        assert_eq!(p.retain, Some(30));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("max_size \"huge\""), "{}", problems[0]);
        assert!(problems[3].contains("TZ"), "{}", problems[3]);
        let (all, _) =
            from_conf(&json!({"pm2": {"log_rotate": "true"}, "pm2-logrotate": {"retain": "all"}}));
        assert_eq!(all.unwrap().retain, None);
    }
}
