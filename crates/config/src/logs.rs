//! Where an app's output goes: `pm_out_log_path`, `pm_err_log_path`, the optional
//! combined `pm_log_path` and a user-chosen `pm_pid_path`. The per-instance
//! `-<pm_id>` suffix and the default pid file are the daemon's, as they need the id.

use std::path::Path;

use serde_json::Value;

use crate::error::ConfigError;
use crate::locate::Lookup;
use crate::Options;

const DEV_NULL: &str = "/dev/null";

/// Log file names keep only `[A-Za-z0-9.-]`, so any name is safe as a file name.
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Fills the `pm_*_path` keys from the `*_file` options (which it removes).
pub(crate) fn assign(
    app: &mut Options,
    name: &str,
    cwd: &Path,
    logs_dir: &Path,
    lookup: &Lookup,
) -> Result<(), ConfigError> {
    let base = sanitize_name(name);
    let default_in_logs = |suffix: &str| {
        logs_dir
            .join(format!("{base}{suffix}.log"))
            .to_string_lossy()
            .into_owned()
    };
    let user_path = |key: &str| -> Result<Option<String>, ConfigError> {
        match app.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s == "NULL" || s == DEV_NULL => Ok(Some(DEV_NULL.into())),
            Some(Value::String(s)) => {
                Ok(Some(lookup.resolve(cwd, s).to_string_lossy().into_owned()))
            }
            Some(Value::Bool(true)) if key == "log_file" => Ok(Some(default_in_logs(""))),
            Some(other) => Err(ConfigError::invalid("a file path", other).for_option(key)),
        }
    };
    let disabled = app.get("disable_logs") == Some(&Value::Bool(true));
    let out = user_path("out_file")?.unwrap_or_else(|| default_in_logs("-out"));
    let err = user_path("error_file")?.unwrap_or_else(|| default_in_logs("-error"));
    let combined = user_path("log_file")?;
    let pid = user_path("pid_file")?;
    for key in ["out_file", "error_file", "log_file", "pid_file"] {
        app.shift_remove(key);
    }
    let (out, err, combined) = if disabled {
        (DEV_NULL.into(), DEV_NULL.into(), None)
    } else {
        (out, err, combined)
    };
    app.insert("pm_out_log_path".into(), Value::String(out));
    app.insert("pm_err_log_path".into(), Value::String(err));
    if let Some(combined) = combined {
        app.insert("pm_log_path".into(), Value::String(combined));
    }
    if let Some(pid) = pid {
        app.insert("pm_pid_path".into(), Value::String(pid));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx_with_path, TempDir};
    use serde_json::json;

    fn paths_for(opts: Value) -> Result<Value, ConfigError> {
        let tmp = TempDir::new();
        let mut ctx = ctx_with_path(&tmp, &[]);
        ctx.client_env.insert("HOME".into(), "/home/me".into());
        let mut app = opts.as_object().unwrap().clone();
        assign(
            &mut app,
            "my app",
            Path::new("/srv/app"),
            Path::new("/pm2/logs"),
            &Lookup::new(&ctx),
        )?;
        Ok(Value::Object(app))
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitize_name("my app:worker_1.v2"), "my-app-worker-1.v2");
    }

    #[test]
    fn defaults_live_in_the_logs_folder() {
        assert_eq!(
            paths_for(json!({})).unwrap(),
            json!({"pm_out_log_path": "/pm2/logs/my-app-out.log", "pm_err_log_path": "/pm2/logs/my-app-error.log"})
        );
    }

    #[test]
    fn user_paths_expand_home_and_resolve_against_cwd() {
        let got = paths_for(json!({"out_file": "~/out.log", "error_file": "logs/../err.log", "pid_file": "/run/app.pid", "keep": 1}))
            .unwrap();
        assert_eq!(
            got,
            json!({"keep": 1, "pm_out_log_path": "/home/me/out.log", "pm_err_log_path": "/srv/app/err.log", "pm_pid_path": "/run/app.pid"})
        );
    }

    #[test]
    fn null_and_dev_null_disable_a_log() {
        let got = paths_for(json!({"out_file": "NULL", "error_file": "/dev/null"})).unwrap();
        assert_eq!(got["pm_out_log_path"], "/dev/null");
        assert_eq!(got["pm_err_log_path"], "/dev/null");
    }

    #[test]
    fn combined_log_true_or_a_path() {
        assert_eq!(
            paths_for(json!({"log_file": true})).unwrap()["pm_log_path"],
            "/pm2/logs/my-app.log"
        );
        assert_eq!(
            paths_for(json!({"log_file": "all.log"})).unwrap()["pm_log_path"],
            "/srv/app/all.log"
        );
        assert!(paths_for(json!({"log_file": false}))
            .unwrap()
            .get("pm_log_path")
            .is_none());
    }

    #[test]
    fn disable_logs_silences_everything() {
        let got = paths_for(json!({"disable_logs": true, "log_file": true, "out_file": "o.log"}))
            .unwrap();
        assert_eq!(
            got,
            json!({"disable_logs": true, "pm_out_log_path": "/dev/null", "pm_err_log_path": "/dev/null"})
        );
    }

    #[test]
    fn non_path_values_are_rejected() {
        let err = paths_for(json!({"out_file": 3})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Option out_file: expected a file path, got 3"
        );
        assert!(paths_for(json!({"error_file": true})).is_err());
    }
}
