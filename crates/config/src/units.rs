//! Value parsers for PM2's typed options: sizes (`200M`), durations (`2s`),
//! counts, booleans and `instances`. Each accepts the number itself or the
//! string a CLI flag or an env-style config would carry.

use serde_json::Value;

use crate::error::ConfigError;

const BYTES: &str = "a size like 200, \"10K\", \"200M\" or \"1G\"";
const DURATION: &str = "a duration like 1500, \"500ms\", \"2s\", \"1m\" or \"1h\"";
const COUNT: &str = "a number";
const BOOL: &str = "true or false";
const INSTANCES: &str = "a number or \"max\"";

/// `200`, `"200"`, `"10K"`, `"200M"`, `"1G"`, also with a `B` (`"10MB"`); powers of 1024.
pub fn parse_bytes(v: &Value) -> Result<u64, ConfigError> {
    with_unit(v, BYTES, |unit| match unit {
        "" | "b" => Some(1),
        "k" | "kb" => Some(1 << 10),
        "m" | "mb" => Some(1 << 20),
        "g" | "gb" => Some(1 << 30),
        _ => None,
    })
}

/// `1500`, `"1500"`, `"500ms"`, `"2s"`, `"1m"`, `"1h"` → milliseconds.
pub fn parse_duration_ms(v: &Value) -> Result<u64, ConfigError> {
    with_unit(v, DURATION, |unit| match unit {
        "" | "ms" => Some(1),
        "s" => Some(1_000),
        "m" | "min" => Some(60_000),
        "h" => Some(3_600_000),
        _ => None,
    })
}

/// A non-negative integer given as a number or a numeric string (`max_restarts`).
pub(crate) fn parse_count(v: &Value) -> Result<u64, ConfigError> {
    with_unit(v, COUNT, |unit| unit.is_empty().then_some(1))
}

/// CLI flags arrive as strings, so `"true"`/`"false"` count as booleans too.
pub(crate) fn parse_bool(v: &Value) -> Result<bool, ConfigError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ConfigError::invalid(BOOL, v)),
    }
}

/// `instances` as written: `'max'` is 0 (meaning "one per CPU"), negatives are kept
/// for [`instance_count`] to subtract from the CPU count.
pub(crate) fn parse_instances(v: &Value) -> Result<i64, ConfigError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or_else(|| ConfigError::invalid(INSTANCES, v)),
        Value::String(s) if s.trim().eq_ignore_ascii_case("max") => Ok(0),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| ConfigError::invalid(INSTANCES, v)),
        _ => Err(ConfigError::invalid(INSTANCES, v)),
    }
}

/// 0 → one per CPU; −N → CPUs minus N, at least 1.
pub(crate) fn instance_count(raw: i64, cpus: usize) -> u64 {
    let cpus = cpus.max(1) as u64;
    match raw {
        0 => cpus,
        n if n < 0 => cpus.saturating_sub(n.unsigned_abs()).max(1),
        n => n as u64,
    }
}

/// Parses `<number><unit>` where `unit_factor` maps the lower-cased unit to its multiplier.
fn with_unit(
    v: &Value,
    expected: &'static str,
    unit_factor: impl Fn(&str) -> Option<u64>,
) -> Result<u64, ConfigError> {
    let bad = || ConfigError::invalid(expected, v);
    let (amount, factor) = match v {
        Value::Number(n) => (n.as_f64().ok_or_else(bad)?, 1),
        Value::String(s) => {
            let s = s.trim();
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let (digits, unit) = s.split_at(split);
            let amount: f64 = digits.parse().map_err(|_| bad())?;
            let factor = unit_factor(&unit.trim().to_ascii_lowercase()).ok_or_else(bad)?;
            (amount, factor)
        }
        _ => return Err(bad()),
    };
    let total = amount * factor as f64;
    if !total.is_finite() || total < 0.0 || total >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_accept_numbers_and_k_m_g_suffixes() {
        assert_eq!(parse_bytes(&json!(200)).unwrap(), 200);
        assert_eq!(parse_bytes(&json!("200")).unwrap(), 200);
        assert_eq!(parse_bytes(&json!("10K")).unwrap(), 10 * 1024);
        assert_eq!(parse_bytes(&json!("200M")).unwrap(), 200 * 1024 * 1024);
        assert_eq!(parse_bytes(&json!("1G")).unwrap(), 1 << 30);
        assert_eq!(parse_bytes(&json!("10MB")).unwrap(), 10 << 20);
        assert_eq!(parse_bytes(&json!("10mb")).unwrap(), 10 << 20);
        assert_eq!(parse_bytes(&json!("1.5G")).unwrap(), 3 << 29);
        assert_eq!(parse_bytes(&json!(" 64 M ")).unwrap(), 64 << 20);
    }

    #[test]
    fn sizes_reject_garbage() {
        for bad in [
            json!("abc"),
            json!("10X"),
            json!(""),
            json!("M"),
            json!(-5),
            json!(true),
        ] {
            assert!(parse_bytes(&bad).is_err(), "{bad} should be rejected");
        }
        let msg = parse_bytes(&json!("abc")).unwrap_err().to_string();
        assert!(msg.contains("got \"abc\""), "{msg}");
    }

    #[test]
    fn durations_accept_numbers_and_ms_s_m_h() {
        assert_eq!(parse_duration_ms(&json!(1500)).unwrap(), 1500);
        assert_eq!(parse_duration_ms(&json!("1500")).unwrap(), 1500);
        assert_eq!(parse_duration_ms(&json!("500ms")).unwrap(), 500);
        assert_eq!(parse_duration_ms(&json!("2s")).unwrap(), 2000);
        assert_eq!(parse_duration_ms(&json!("1m")).unwrap(), 60_000);
        assert_eq!(parse_duration_ms(&json!("1h")).unwrap(), 3_600_000);
        assert_eq!(parse_duration_ms(&json!("1.5s")).unwrap(), 1500);
    }

    #[test]
    fn durations_reject_garbage() {
        for bad in [
            json!("soon"),
            json!("2 days"),
            json!(-1),
            json!(null),
            json!([1]),
        ] {
            assert!(parse_duration_ms(&bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn counts_take_numbers_and_numeric_strings_only() {
        assert_eq!(parse_count(&json!(16)).unwrap(), 16);
        assert_eq!(parse_count(&json!("3")).unwrap(), 3);
        assert!(parse_count(&json!("abc")).is_err());
        assert!(parse_count(&json!("3s")).is_err());
        assert!(parse_count(&json!(-1)).is_err());
    }

    #[test]
    fn booleans_take_cli_strings() {
        assert!(parse_bool(&json!(true)).unwrap());
        assert!(!parse_bool(&json!("false")).unwrap());
        assert!(parse_bool(&json!("TRUE")).unwrap());
        assert!(parse_bool(&json!("yes")).is_err());
        assert!(parse_bool(&json!(0)).is_err());
    }

    #[test]
    fn instances_max_zero_and_negatives_follow_the_cpu_count() {
        assert_eq!(parse_instances(&json!("max")).unwrap(), 0);
        assert_eq!(parse_instances(&json!("4")).unwrap(), 4);
        assert_eq!(parse_instances(&json!(-1)).unwrap(), -1);
        assert!(parse_instances(&json!("many")).is_err());
        assert!(parse_instances(&json!(true)).is_err());
        assert_eq!(instance_count(0, 8), 8);
        assert_eq!(instance_count(-1, 8), 7);
        assert_eq!(instance_count(-3, 2), 1);
        assert_eq!(instance_count(3, 8), 3);
        assert_eq!(instance_count(0, 0), 1);
    }
}
