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
    let mut bad = |key: &str, v: &Value, want: &str| {
        problems.push(format!(
            "{SECTION}:{key} {} is not {want}; using the default",
            display(v)
        ));
    };
    if let Some(v) = present(keys, "max_size") {
        match pm2_config::parse_bytes(v) {
            Ok(n) => policy.max_size = n,
            Err(_) => bad("max_size", v, "a size like 10M, 500K or 1G"),
        }
    }
    if let Some(v) = present(keys, "retain") {
        match v {
            Value::String(s) if s.trim().eq_ignore_ascii_case("all") => policy.retain = None,
            _ => match as_int(v) {
                Some(n) => policy.retain = Some(n as usize),
                None => bad("retain", v, "a number of files or \"all\""),
            },
        }
    }
    if let Some(v) = present(keys, "compress") {
        match as_bool(v) {
            Some(b) => policy.compress = b,
            None => bad("compress", v, "true or false"),
        }
    }
    if let Some(v) = present(keys, "dateFormat") {
        match v
            .as_str()
            .filter(|s| !s.trim().is_empty() && !s.contains('/'))
        {
            Some(s) => policy.date_format = s.to_string(),
            None => bad("dateFormat", v, "a date format without '/'"),
        }
    }
    if let Some(v) = present(keys, "rotateInterval") {
        match v.as_str().map(parse_cron) {
            Some(Ok(cron)) => policy.rotate_interval = Some(cron),
            _ => bad("rotateInterval", v, "a cron pattern such as \"0 0 * * *\""),
        }
    }
    if let Some(v) = present(keys, "rotateModule") {
        match as_bool(v) {
            Some(b) => policy.rotate_module = b,
            None => bad("rotateModule", v, "true or false"),
        }
    }
    if let Some(v) = present(keys, "workerInterval") {
        match as_int(v).filter(|n| *n >= 1) {
            Some(n) => policy.worker_interval = Duration::from_secs(n),
            None => bad("workerInterval", v, "a number of seconds, at least 1"),
        }
    }
    if present(keys, "TZ").is_some() {
        problems.push(format!(
            "{SECTION}:TZ is not supported by the daemon's rotation: dates in names are local time"
        ));
    }
    (Some(policy), problems)
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
