//! A JSON value printed the way Node's `util.inspect(value, false, null, false)`
//! prints it: single-quoted strings, bare identifier keys, nested objects
//! broken over lines. `pm2 prettylist` output, which scripts grep.

use serde_json::Value;

const BREAK_LENGTH: usize = 72;

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

pub fn inspect(v: &Value) -> String {
    render(v, 0)
}

fn render(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| render(x, indent + 2)).collect();
            wrap('[', ']', items, indent)
        }
        Value::Object(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, x)| {
                    let key = if is_identifier(k) {
                        k.clone()
                    } else {
                        quote(k)
                    };
                    format!("{key}: {}", render(x, indent + 2))
                })
                .collect();
            wrap('{', '}', items, indent)
        }
    }
}

/// One line when short and flat, else one entry per line, as Node does.
fn wrap(open: char, close: char, items: Vec<String>, indent: usize) -> String {
    let total: usize = items.iter().map(|i| i.len() + 2).sum();
    if total + indent <= BREAK_LENGTH && items.iter().all(|i| !i.contains('\n')) {
        return format!("{open} {} {close}", items.join(", "));
    }
    let pad = " ".repeat(indent + 2);
    let body: Vec<String> = items.iter().map(|i| format!("{pad}{i}")).collect();
    format!(
        "{open}\n{}\n{}{close}",
        body.join(",\n"),
        " ".repeat(indent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_util_inspect() {
        assert_eq!(inspect(&json!({"a": 1, "b": "x"})), "{ a: 1, b: 'x' }");
        assert_eq!(
            inspect(&json!({"restart_time": 1, "status": "online"})),
            "{ restart_time: 1, status: 'online' }"
        );
        assert_eq!(
            inspect(&json!({"my-key": [], "o": {}})),
            "{ 'my-key': [], o: {} }"
        );
        assert_eq!(inspect(&json!("it's")), "'it\\'s'");
        let long = inspect(
            &json!([{"pm2_env": {"restart_time": 1, "status": "online", "pm_exec_path": "/a/long/path/to/some/app.js"}}]),
        );
        assert!(
            long.contains("\n    pm2_env: {\n      restart_time: 1,\n"),
            "{long}"
        );
        assert!(long.contains("status: 'online'"));
    }
}
