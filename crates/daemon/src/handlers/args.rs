//! The argument shapes PM2's clients send.

use serde_json::{Map, Value};

/// A process id given as a number, a numeric string, or `{id}`.
pub fn id_arg(v: Option<&Value>) -> Result<u64, String> {
    let v = v.ok_or("missing process id")?;
    let inner = match v {
        Value::Object(o) => o.get("id").unwrap_or(&Value::Null),
        other => other,
    };
    inner
        .as_u64()
        .or_else(|| inner.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("{} : id unknown", display(inner)))
}

/// A value as text: a string as it is, anything else as JSON.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn object_arg(v: Option<&Value>, method: &str) -> Result<Map<String, Value>, String> {
    match v {
        Some(Value::Object(o)) => Ok(o.clone()),
        _ => Err(format!("{method} expects an object argument")),
    }
}

/// The pm_ids of the processes named `name`, from a list.
pub fn ids_named(list: &[Value], name: &str) -> Vec<u64> {
    list.iter()
        .filter(|p| p["name"].as_str() == Some(name))
        .filter_map(|p| p["pm_id"].as_u64())
        .collect()
}
