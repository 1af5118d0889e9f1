//! An app's name: as the user wrote it, or PM2's default from its script.

use serde_json::Value;

use crate::Options;

/// The app's name as PM2 would default it, for callers that have no resolved app.
pub(crate) fn name_of(opts: &Options) -> Option<String> {
    match opts.get("name") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => {
            let script = opts.get("script")?.as_str()?;
            Some(default_name(script))
        }
    }
}

/// The script's file name without its last extension, as Node's
/// `path.basename(script, path.extname(script))` gives it, whole command
/// strings included: `lib/api.test.js` → `api.test`, `node app.js --port 3000`
/// → `node app`, `python3 -m http.server 8123` → `python3 -m http`.
pub(crate) fn default_name(script: &str) -> String {
    let trimmed = script.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    match base.rfind('.') {
        Some(dot) if dot > 0 => base[..dot].to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_is_the_script_base_name_without_its_last_extension() {
        assert_eq!(default_name("lib/api.test.js"), "api.test");
        assert_eq!(default_name("node app.js --port 3000"), "node app");
        assert_eq!(
            default_name("python3 -m http.server 8123"),
            "python3 -m http"
        );
        assert_eq!(default_name("bin/"), "bin");
        assert_eq!(default_name(".env"), ".env");
    }

    #[test]
    fn a_written_name_wins_and_a_number_is_its_text() {
        let opts = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            name_of(&opts(json!({"name": "api", "script": "a.js"}))),
            Some("api".into())
        );
        assert_eq!(
            name_of(&opts(json!({"name": 7, "script": "a.js"}))),
            Some("7".into())
        );
        assert_eq!(
            name_of(&opts(json!({"name": "", "script": "srv/a.js"}))),
            Some("a".into())
        );
        assert_eq!(name_of(&opts(json!({"cwd": "/tmp"}))), None);
    }
}
