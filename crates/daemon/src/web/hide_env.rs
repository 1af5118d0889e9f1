//! A process list without the apps' environment, for what is served outside
//! PM2_HOME's permissions. PM2 keeps an app's env twice in `pm2_env`: as the
//! `env` map and copied key by key onto `pm2_env` itself (with the client's
//! shell env among them), and an ecosystem's `env_<name>` blocks as they are.
//! A module's configuration (`pm2 set module:key value`) reaches it as env
//! too, and its agent reports it back in `axm_options`. All of that goes;
//! PM2's own fields stay, so tools that read the status, pids, restarts and
//! metrics keep working.

use serde_json::{Map, Value};

/// Fields PM2 itself sets in `pm2_env`: kept even when an env variable of
/// the same name was copied over them, since tools read them.
const PM2_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "pm_id",
    "status",
    "pm_uptime",
    "created_at",
    "restart_time",
    "unstable_restarts",
    "prev_restart_delay",
    "exit_code",
    "unique_id",
    "version",
    "node_version",
    "_pm2_version",
    "versioning",
    "exec_mode",
    "exec_interpreter",
    "instances",
    "instance_var",
    "NODE_APP_INSTANCE",
    "pm_exec_path",
    "pm_cwd",
    "pm_out_log_path",
    "pm_err_log_path",
    "pm_log_path",
    "pm_pid_path",
    "pmx_module",
    "km_link",
    "vizion_running",
    "_km_monitored",
    "axm_monitor",
    "axm_actions",
    "axm_options",
    "axm_dynamic",
    "username",
    "watch",
    "autorestart",
    "autostart",
];

/// `pm2_env` without the env map, the env keys copied onto it, the
/// `env_<name>` blocks, and the module configuration the agent reported.
pub fn hide_env(pm2_env: &mut Map<String, Value>) {
    let env = match pm2_env.shift_remove("env") {
        Some(Value::Object(env)) => env,
        _ => Map::new(),
    };
    hide_module_conf(pm2_env, &env);
    let env_keys: Vec<String> = env.into_iter().map(|(k, _)| k).collect();
    // The variable that carries the instance number is PM2's (`instance_var`).
    let instance_var = pm2_env
        .get("instance_var")
        .and_then(Value::as_str)
        .map(str::to_string);
    for key in env_keys {
        if !PM2_FIELDS.contains(&key.as_str()) && instance_var.as_deref() != Some(key.as_str()) {
            pm2_env.shift_remove(&key);
        }
    }
    pm2_env.retain(|k, v| !(k.starts_with("env_") && v.is_object()));
}

/// A module's configuration is in its env as one JSON variable named after
/// it; its agent reports it in `axm_options`, as `module_conf` and merged
/// key by key.
fn hide_module_conf(pm2_env: &mut Map<String, Value>, env: &Map<String, Value>) {
    let conf_keys: Vec<String> = pm2_env
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| env.get(name))
        .and_then(Value::as_str)
        .and_then(|json| serde_json::from_str::<Map<String, Value>>(json).ok())
        .map(|conf| conf.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    if let Some(Value::Object(options)) = pm2_env.get_mut("axm_options") {
        options.shift_remove("module_conf");
        for key in conf_keys {
            options.shift_remove(&key);
        }
    }
}

/// Each entry of a process list (`{pm2_env, …}`) without its env.
pub fn hide_env_in_list(list: &mut [Value]) {
    for p in list {
        if let Some(pm2_env) = p.get_mut("pm2_env").and_then(Value::as_object_mut) {
            hide_env(pm2_env);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_env_and_its_flattened_copies_go_and_pm2_fields_stay() {
        let mut list = vec![json!({
            "pid": 42,
            "name": "api",
            "pm_id": 0,
            "monit": {"memory": 1, "cpu": 0},
            "pm2_env": {
                "name": "api",
                "status": "online",
                "restart_time": 3,
                "instance_var": "INSTANCE_ID",
                "INSTANCE_ID": 0,
                "unique_id": "u",
                "args": ["--port", "3000"],
                "node_args": [],
                "max_memory_restart": 1000,
                "filter_env": [],
                "axm_monitor": {"Heap Size": {"value": 1}},
                "env": {"DB_PASSWORD": "pw", "SHELL_TOKEN": "tok", "unique_id": "u", "INSTANCE_ID": 0, "api": "{}"},
                "DB_PASSWORD": "pw",
                "SHELL_TOKEN": "tok",
                "api": "{}",
                "env_production": {"PROD_PW": "prod"},
                "env_file": "not an env block",
            }
        })];
        hide_env_in_list(&mut list);
        let e = list[0]["pm2_env"].as_object().unwrap();
        let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "INSTANCE_ID",
                "args",
                "axm_monitor",
                "env_file",
                "filter_env",
                "instance_var",
                "max_memory_restart",
                "name",
                "node_args",
                "restart_time",
                "status",
                "unique_id"
            ]
        );
        assert_eq!(list[0]["pid"], 42, "the entry's other fields stay");
        assert_eq!(list[0]["monit"]["memory"], 1);
    }

    #[test]
    fn a_module_configuration_reported_by_its_agent_goes() {
        let mut e = json!({
            "name": "pm2-notify",
            "env": {"pm2-notify": r#"{"webhook":"https://hooks.example/secret","interval":5}"#, "webhook": "https://hooks.example/secret"},
            "webhook": "https://hooks.example/secret",
            "axm_options": {
                "isModule": true,
                "module_name": "pm2-notify",
                "webhook": "https://hooks.example/secret",
                "interval": 5,
                "module_conf": {"webhook": "https://hooks.example/secret", "interval": 5}
            }
        });
        hide_env(e.as_object_mut().unwrap());
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(
            e["axm_options"],
            json!({"isModule": true, "module_name": "pm2-notify"})
        );
    }

    #[test]
    fn an_entry_without_env_is_left_as_it_is() {
        let mut list = vec![json!({"pm2_env": {"status": "stopped"}}), json!(null)];
        hide_env_in_list(&mut list);
        assert_eq!(list[0], json!({"pm2_env": {"status": "stopped"}}));
    }
}
