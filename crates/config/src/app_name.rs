//! An app's name: as the user wrote it, or PM2's default from its script,
//! and what it may hold. A name is printed in tables and log prefixes, one
//! line per process: a line break in it would split that line and let the
//! name pass for other output, so it is refused when the app is created.

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

/// Whether an app being started is one the daemon already has, as PM2
/// decides it: the same name and, unless apps are matched by name only
/// (an ecosystem file's apps), the same resolved script (`pm_exec_path`).
pub fn is_same_app(
    name: &str,
    script: Option<&str>,
    known_name: &str,
    known_script: Option<&str>,
    by_name_only: bool,
) -> bool {
    name == known_name && (by_name_only || (script.is_some() && known_script == script))
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

/// Characters that end a line on a terminal or in a text file.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Refuses a name holding a line break, naming the character.
pub fn check(name: &str) -> Result<(), String> {
    match name.chars().find(|&c| is_line_break(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "App name {name:?} holds a line break (U+{:04X}); give a name on one line",
            c as u32
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_app_has_the_same_name_and_script_unless_matched_by_name() {
        assert!(is_same_app("a", Some("/a.js"), "a", Some("/a.js"), false));
        assert!(!is_same_app("a", Some("/a.js"), "a", Some("/b.js"), false));
        assert!(!is_same_app("a", None, "a", None, false));
        assert!(!is_same_app("a", Some("/a.js"), "b", Some("/a.js"), false));
        assert!(is_same_app("a", Some("/a.js"), "a", Some("/b.js"), true));
    }

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

    #[test]
    fn refuses_every_kind_of_line_break_and_names_it() {
        for (name, code) in [
            ("a\nb", "U+000A"),
            ("a\rb", "U+000D"),
            ("\u{2028}", "U+2028"),
            ("x\u{85}", "U+0085"),
            ("x\u{0b}", "U+000B"),
        ] {
            let err = check(name).unwrap_err();
            assert!(err.contains(code), "{err}");
            assert!(err.contains("line break"), "{err}");
        }
    }

    #[test]
    fn accepts_other_names_escape_and_tab_included() {
        for name in ["api", "my app:1", "a\u{1b}[31mb", "tab\there", "名前"] {
            assert_eq!(check(name), Ok(()), "{name:?}");
        }
    }
}
