//! `cron_restart` patterns, checked where an app is resolved (and again by
//! the daemon's `prepare`): PM2's croner syntax, 5 fields (minute first) or 6
//! (seconds first), names of months and days, `L`, `#`, `W`, `@daily`-style
//! nicknames. `0`, `"0"` and `""` mean no cron.

use serde_json::Value;

/// The pattern of a `cron_restart` value; `None` when it turns cron off.
pub fn pattern(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() || s.trim() == "0" => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(None),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(false) => Ok(None),
        other => Err(format!(
            "Cron pattern error: cron_restart must be a cron pattern such as \"0 * * * *\" (got {other})"
        )),
    }
}

/// Parses a pattern as PM2's croner does (seconds optional).
pub fn parse(pattern: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .sloppy_ranges(true)
        .build()
        .parse(pattern)
        .map_err(|e| format!("Cron pattern error: cron_restart \"{pattern}\" is not valid: {e}"))
}

/// Checks the `cron_restart` of an app; the error names the pattern.
pub fn check(v: Option<&Value>) -> Result<Option<croner::Cron>, String> {
    match v.map(pattern).transpose()?.flatten() {
        Some(p) => parse(&p).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn five_and_six_fields_and_nicknames_parse() {
        for ok in [
            "0 * * * *",
            "*/2 * * * * *",
            "0 0 3 * * MON-FRI",
            "0 0 L * *",
            "@daily",
            "0 0 * * 5#2",
            "0/10 * * * *",
        ] {
            assert!(check(Some(&json!(ok))).unwrap().is_some(), "{ok}");
        }
    }

    #[test]
    fn zero_and_empty_turn_cron_off() {
        for off in [json!(0), json!("0"), json!(""), json!(null), json!(false)] {
            assert!(check(Some(&off)).unwrap().is_none(), "{off}");
        }
        assert!(check(None).unwrap().is_none());
    }

    #[test]
    fn bad_patterns_are_refused_naming_them() {
        for bad in ["every day", "61 * * * *", "* * *", "*/0 * * * *"] {
            let e = check(Some(&json!(bad))).unwrap_err();
            assert!(
                e.starts_with("Cron pattern error") && e.contains(&format!("\"{bad}\"")),
                "{e}"
            );
        }
        assert!(check(Some(&json!({"at": 1})))
            .unwrap_err()
            .contains("cron_restart"));
    }
}
