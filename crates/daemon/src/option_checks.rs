//! Range checks on the options that drive timers and counters, done before a
//! process is created or updated: any client can send `prepare`, and a value
//! out of range would otherwise turn into a silent 0, a wait of centuries, or
//! an overflow into endless restarts.

use pm2_config::options::{of_kind, Kind};
use serde_json::{Map, Value};

/// Longest delay or timeout accepted, in ms: about 24.8 days, the largest
/// timer Node accepts, so a value PM2 accepts is accepted here too.
pub const MAX_DELAY_MS: u64 = i32::MAX as u64;
/// Most instances one `prepare` may create: far beyond any machine's cores,
/// small enough that a typo (`instances: 1e9`) is refused instead of run.
pub const MAX_INSTANCES: u64 = 4096;

/// A whole, non-negative number no larger than `max`, from a JSON number or a
/// numeric string; the error names the option and what was wrong.
fn whole_number(key: &str, v: &Value, max: u64, unit: &str) -> Result<Option<u64>, String> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 && n <= max as f64 => Ok(Some(n as u64)),
        Some(n) if n.is_finite() && n < 0.0 => {
            Err(format!("{key} must not be negative (got {shown})"))
        }
        Some(_) => Err(format!(
            "{key} is too large (got {shown}; at most {max}{unit})"
        )),
        None => Err(format!("{key} must be a number (got {shown})")),
    }
}

/// Turns durations and sizes written with units (`'2s'`, `'200M'`) into the
/// numbers the daemon keeps, as the client does for a new app: a restart's
/// options come as the user wrote them (an ecosystem entry).
pub fn convert_units(app: &mut Map<String, Value>) {
    for key in of_kind(Kind::Duration) {
        if let Some(v @ Value::String(_)) = app.get(key) {
            if let Ok(ms) = pm2_config::parse_duration_ms(v) {
                app.insert(key.to_string(), Value::from(ms));
            }
        }
    }
    for key in of_kind(Kind::Size) {
        if let Some(v @ Value::String(_)) = app.get(key) {
            if let Ok(bytes) = pm2_config::parse_bytes(v) {
                app.insert(key.to_string(), Value::from(bytes));
            }
        }
    }
    // `exec_mode: 'cluster'` as an ecosystem file writes it: the daemon's
    // name for it is `cluster_mode` (else it would launch in fork mode).
    if let Some(Value::String(mode)) = app.get("exec_mode") {
        if let "cluster" | "fork" = mode.as_str() {
            let full = format!("{mode}_mode");
            app.insert("exec_mode".into(), Value::from(full));
        }
    }
}

/// Checks the timer and counter options of an app (as sent to `prepare`, or
/// an update merged by a restart).
pub fn check(app: &Map<String, Value>) -> Result<(), String> {
    if let Some(name) = app.get("name").and_then(Value::as_str) {
        pm2_config::app_name::check(name)?;
    }
    for key in of_kind(Kind::Duration) {
        if let Some(v) = app.get(key) {
            whole_number(key, v, MAX_DELAY_MS, " ms")?;
        }
    }
    for key in of_kind(Kind::Count) {
        if let Some(v) = app.get(key) {
            whole_number(key, v, i32::MAX as u64, "")?;
        }
    }
    crate::cron::check(app)?;
    crate::watch::check(app)
}

/// How many processes a `prepare` creates: `instances` as the client resolved
/// it (a count; 0 or missing means one), refused beyond [`MAX_INSTANCES`].
pub fn instance_count(app: &Map<String, Value>) -> Result<u64, String> {
    let Some(v) = app.get("instances") else {
        return Ok(1);
    };
    let n = match v {
        Value::Number(n) if n.as_i64().is_some_and(|i| i <= 0) => return Ok(1),
        Value::String(s) if s.trim().parse::<i64>().is_ok_and(|i| i <= 0) => return Ok(1),
        _ => whole_number("instances", v, u64::MAX, "")?,
    };
    match n {
        None | Some(0) => Ok(1),
        Some(n) if n > MAX_INSTANCES => Err(format!(
            "instances: {n} is more than {MAX_INSTANCES} processes for one app; give a smaller count"
        )),
        Some(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_usual_values_and_numeric_strings() {
        assert!(check(&app(json!({"kill_timeout": 1600, "min_uptime": "1000", "max_restarts": 16, "restart_delay": 0}))).is_ok());
        assert!(check(&app(json!({"kill_timeout": null}))).is_ok());
    }

    #[test]
    fn refuses_negative_huge_and_non_numbers_naming_the_option() {
        let err = check(&app(json!({"kill_timeout": -1}))).unwrap_err();
        assert!(
            err.starts_with("kill_timeout must not be negative"),
            "{err}"
        );
        let err = check(&app(json!({"restart_delay": 1e300}))).unwrap_err();
        assert!(err.starts_with("restart_delay is too large"), "{err}");
        let err = check(&app(json!({"max_restarts": 18446744073709551615u64}))).unwrap_err();
        assert!(err.starts_with("max_restarts is too large"), "{err}");
        let err = check(&app(json!({"min_uptime": "soon"}))).unwrap_err();
        assert!(err.starts_with("min_uptime must be a number"), "{err}");
        assert!(check(&app(json!({"min_uptime": [1]}))).is_err());
    }

    #[test]
    fn refuses_bad_cron_and_watch_options_naming_them() {
        let err = check(&app(json!({"cron_restart": "* * *"}))).unwrap_err();
        assert!(
            err.contains("Cron pattern error") && err.contains("\"* * *\""),
            "{err}"
        );
        assert!(check(&app(
            json!({"cron_restart": "*/2 * * * * *", "watch": ["src"]})
        ))
        .is_ok());
        let err = check(&app(json!({"ignore_watch": "a[b"}))).unwrap_err();
        assert!(err.contains("ignore_watch"), "{err}");
        let err = check(&app(json!({"watch_delay": -5}))).unwrap_err();
        assert!(err.starts_with("watch_delay must not be negative"), "{err}");
    }

    #[test]
    fn refuses_a_name_with_a_line_break() {
        let err = check(&app(json!({"name": "a\nb"}))).unwrap_err();
        assert!(err.contains("line break"), "{err}");
        assert!(check(&app(json!({"name": "a\u{1b}b"}))).is_ok());
    }

    #[test]
    fn units_are_converted_before_the_check() {
        let mut update =
            app(json!({"min_uptime": "2s", "max_memory_restart": "200M", "kill_timeout": 100}));
        convert_units(&mut update);
        assert_eq!(update["min_uptime"], 2000);
        assert_eq!(update["max_memory_restart"], 200 * 1024 * 1024);
        assert!(check(&update).is_ok());
        let mut update = app(json!({"exec_mode": "cluster"}));
        convert_units(&mut update);
        assert_eq!(update["exec_mode"], "cluster_mode");
    }

    #[test]
    fn counts_instances_and_refuses_absurd_ones() {
        assert_eq!(instance_count(&app(json!({}))).unwrap(), 1);
        assert_eq!(instance_count(&app(json!({"instances": 0}))).unwrap(), 1);
        assert_eq!(instance_count(&app(json!({"instances": -1}))).unwrap(), 1);
        assert_eq!(instance_count(&app(json!({"instances": "4"}))).unwrap(), 4);
        assert_eq!(
            instance_count(&app(json!({"instances": 4096}))).unwrap(),
            4096
        );
        let err = instance_count(&app(json!({"instances": 100000}))).unwrap_err();
        assert!(err.contains("more than 4096"), "{err}");
        assert!(instance_count(&app(json!({"instances": "lots"}))).is_err());
    }
}
