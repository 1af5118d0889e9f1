//! `duplicateProcessId`: the app of a new process made from an existing one.

use serde_json::{json, Map, Value};

/// The options of one new process of the app `env` (a process's `pm2_env`)
/// runs, as `prepare` takes them.
pub fn app_of(mut env: Map<String, Value>) -> Map<String, Value> {
    // The new process gets its own number and pid file; its log
    // paths get its own `-<pm_id>` unless the logs are merged.
    let instance_var = crate::pm2_env_vars::instance_var(&env);
    // `increment_var` counts from the app's base value again.
    let source_instance = env.get(&instance_var).and_then(Value::as_i64).unwrap_or(0);
    let var = env
        .get("increment_var")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(var), Some(Value::Object(app_env))) = (var, env.get_mut("env")) {
        let value = app_env.get(&var).and_then(|v| match v {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            other => other.as_i64(),
        });
        if let Some(value) = value {
            app_env.insert(var, json!((value - source_instance).to_string()));
        }
    }
    for k in ["pm_pid_path", "NODE_APP_INSTANCE", &instance_var] {
        env.shift_remove(k);
    }
    // What the source's running process reported is not the new one's:
    // its Node version and metrics come from its own wrapper.
    for k in ["node_version", "axm_monitor", "axm_actions"] {
        env.shift_remove(k);
    }
    // One new process, whatever the app's instance count.
    env.insert("instances".into(), json!(1));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_one_new_instance_with_its_own_pid_file_and_increment() {
        let source = json!({"name": "api", "instances": 4, "NODE_APP_INSTANCE": 2,
            "pm_pid_path": "/h/pids/api-2.pid", "increment_var": "PORT",
            "env": {"PORT": "8002"}, "node_version": "20", "axm_monitor": {}, "axm_actions": []});
        let app = app_of(source.as_object().unwrap().clone());
        assert_eq!(app["instances"], json!(1));
        assert_eq!(
            app["env"]["PORT"],
            json!("8000"),
            "counts from the base again"
        );
        for gone in [
            "pm_pid_path",
            "NODE_APP_INSTANCE",
            "node_version",
            "axm_monitor",
            "axm_actions",
        ] {
            assert!(!app.contains_key(gone), "{gone}");
        }
        assert_eq!(app["name"], json!("api"));
    }

    #[test]
    fn a_custom_instance_var_is_dropped_too() {
        let source = json!({"instance_var": "WORKER", "WORKER": 1, "increment_var": "PORT",
            "env": {"PORT": 9001}});
        let app = app_of(source.as_object().unwrap().clone());
        assert!(!app.contains_key("WORKER"));
        assert_eq!(app["env"]["PORT"], json!("9000"));
    }
}
