//! The environment an app starts with: the client's own environment, cleaned of
//! PM2's internal variables and `filter_env`, then the app's `env`, the selected
//! `env_<name>`, `PORT`, `PM2_HOME` and the app's module config (`pm2 set app:key`).

use serde_json::Value;

use crate::error::ConfigError;
use crate::options::DEPLOY_ENV;
use crate::{Options, ResolveContext};

/// Switches that steer a PM2 client itself; an app that uses PM2 must not inherit them.
const CLIENT_SWITCHES: &[&str] = &[
    "PM2_USAGE",
    "PM2_PROGRAMMATIC",
    "PM2_JSON_PROCESSING",
    "PM2_INTERACTOR_PROCESSING",
];

/// Node's IPC and cluster handshake variables: they describe the client's own
/// parent, and a child inheriting them would talk to the wrong channel.
const NODE_TRANSPORT: &[&str] = &[
    "NODE_CHANNEL_FD",
    "NODE_CHANNEL_SERIALIZATION_MODE",
    "NODE_UNIQUE_ID",
];

/// The primitive `pm2_env` fields a process running under PM2 has as env vars.
/// When the client is such a process (or is the programmatic API), they describe
/// the client's app, not the one being started, so they are dropped.
const PM2_ENV_FIELDS: &[&str] = &[
    "pm_id",
    "name",
    "namespace",
    "status",
    "restart_time",
    "unstable_restarts",
    "created_at",
    "pm_uptime",
    "unique_id",
    "version",
    "node_version",
    "exit_code",
    "prev_restart_delay",
    "km_link",
    "vizion_running",
    "_km_monitored",
    "_pm2_version",
    "pm2_env",
    "pmx_module",
    "pm_exec_path",
    "pm_cwd",
    "pm_out_log_path",
    "pm_err_log_path",
    "pm_log_path",
    "pm_pid_path",
    "exec_interpreter",
    "exec_mode",
    "instances",
    "instance_var",
    "NODE_APP_INSTANCE",
    "merge_logs",
    "vizion",
    "autostart",
    "autorestart",
    "watch",
    "pmx",
    "automation",
    "treekill",
    "username",
    "windowsHide",
    "kill_retry_time",
    "filter_env",
    "max_memory_restart",
    "min_uptime",
    "max_restarts",
    "kill_timeout",
    "restart_delay",
    "exp_backoff_restart_delay",
    "listen_timeout",
    "wait_ready",
    "cron_restart",
    "log_date_format",
    "log_type",
    "time",
];

/// The client environment with PM2's internal variables removed.
fn client_base(client_env: &crate::ClientEnv) -> Options {
    let under_pm2 = client_env.contains_key("pm_id") || client_env.contains_key("PM2_PROGRAMMATIC");
    client_env
        .iter()
        .filter(|(k, _)| {
            !CLIENT_SWITCHES.contains(&k.as_str()) && !NODE_TRANSPORT.contains(&k.as_str())
        })
        .filter(|(k, _)| !(under_pm2 && PM2_ENV_FIELDS.contains(&k.as_str())))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// `filter_env`: `true` drops the whole client environment, a string drops that
/// variable, an array drops every variable whose name contains one of its strings.
fn apply_filter(env: &mut Options, filter: Option<&Value>) -> Result<(), ConfigError> {
    const EXPECTED: &str = "true, a variable name or an array of name parts";
    match filter {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => env.clear(),
        Some(Value::String(key)) => {
            env.shift_remove(key);
        }
        Some(v @ Value::Array(parts)) => {
            let parts: Vec<&str> = parts
                .iter()
                .map(|p| p.as_str().ok_or_else(|| ConfigError::invalid(EXPECTED, v)))
                .collect::<Result<_, _>>()?;
            env.retain(|k, _| !parts.iter().any(|p| k.contains(p)));
        }
        Some(other) => return Err(ConfigError::invalid(EXPECTED, other)),
    }
    Ok(())
}

/// An env value as the child will see it: objects as JSON, scalars as text,
/// `null` as "unset".
fn env_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Merges an env object (`env`, `env_production`) over `env`.
fn merge_object(env: &mut Options, key: &str, obj: Option<&Value>) -> Result<(), ConfigError> {
    match obj {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(vars)) => {
            for (k, v) in vars {
                match env_string(v) {
                    Some(s) => env.insert(k.clone(), Value::String(s)),
                    None => env.shift_remove(k),
                };
            }
            Ok(())
        }
        Some(other) => Err(ConfigError::invalid("an object of variables", other).for_option(key)),
    }
}

/// Module config for `app_name` (what `pm2 set <app>:<key> <value>` stored): each
/// key as its own variable, plus one variable named after the app with the JSON.
pub fn module_env(app_name: &str, module_conf: &Value) -> Options {
    let mut env = Options::new();
    if let Some(Value::Object(conf)) = module_conf.get(app_name) {
        for (k, v) in conf {
            if let Some(s) = env_string(v) {
                env.insert(k.clone(), Value::String(s));
            }
        }
        env.insert(
            app_name.to_string(),
            Value::String(Value::Object(conf.clone()).to_string()),
        );
    }
    env
}

/// The full env of an app named `name` whose (normalised) options are `opts`.
pub(crate) fn build(
    opts: &Options,
    name: &str,
    ctx: &ResolveContext,
) -> Result<Options, ConfigError> {
    let mut env = client_base(&ctx.client_env);
    apply_filter(&mut env, opts.get("filter_env")).map_err(|e| e.for_option("filter_env"))?;
    if let Some(env_name) = &ctx.env_name {
        let deploy = opts.get(DEPLOY_ENV).and_then(|d| d.get(env_name));
        merge_object(&mut env, &format!("deploy.{env_name}.env"), deploy)?;
    }
    merge_object(&mut env, "env", opts.get("env"))?;
    if let Some(env_name) = &ctx.env_name {
        let key = format!("env_{env_name}");
        merge_object(&mut env, &key, opts.get(&key))?;
    }
    if let Some(port) = opts.get("port").and_then(env_string) {
        env.insert("PORT".into(), Value::String(port));
    }
    let home = ctx.paths.home.to_string_lossy().into_owned();
    env.insert("PM2_HOME".into(), Value::String(home));
    env.extend(module_env(name, &ctx.module_conf));
    // A module finds its configuration as JSON even before any `pm2 set`, as in PM2.
    if opts.get("pmx_module") == Some(&Value::Bool(true)) {
        env.entry(name.to_string())
            .or_insert_with(|| Value::String("{}".into()));
    }
    Ok(env)
}

/// The env a restart with `--update-env` gives an existing app: what a fresh start
/// with `app_opts` would get, merged over `stored_env`. A restart must not fail on
/// a malformed `env` in the new options, so then the stored env is kept as it is.
pub fn updated_env(stored_env: &Options, app_opts: &Options, ctx: &ResolveContext) -> Options {
    let opts = crate::options::normalize_keys(app_opts);
    let name = crate::app_name::name_of(&opts).unwrap_or_default();
    let mut env = stored_env.clone();
    if let Ok(fresh) = build(&opts, &name, ctx) {
        env.extend(fresh);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx_with_path, TempDir};
    use serde_json::json;

    fn obj(v: Value) -> Options {
        v.as_object().unwrap().clone()
    }

    fn ctx(tmp: &TempDir, client: &[(&str, &str)]) -> ResolveContext {
        let mut ctx = ctx_with_path(tmp, &[]);
        ctx.client_env = client
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ctx
    }

    #[test]
    fn starts_from_the_client_env_without_pm2_switches() {
        let tmp = TempDir::new();
        let ctx = ctx(
            &tmp,
            &[
                ("HOME", "/h"),
                ("PM2_USAGE", "CLI"),
                ("NODE_CHANNEL_FD", "3"),
                ("name", "x"),
            ],
        );
        let env = build(&Options::new(), "app", &ctx).unwrap();
        assert_eq!(env.get("HOME"), Some(&json!("/h")));
        assert_eq!(
            env.get("name"),
            Some(&json!("x")),
            "a plain CLI keeps ordinary vars"
        );
        assert!(!env.contains_key("PM2_USAGE") && !env.contains_key("NODE_CHANNEL_FD"));
        assert_eq!(
            env.get("PM2_HOME"),
            Some(&json!(crate::test_support::path_str(&ctx.paths.home)))
        );
    }

    #[test]
    fn a_client_running_under_pm2_drops_its_own_pm2_env_fields() {
        let tmp = TempDir::new();
        let client = [
            ("pm_id", "3"),
            ("name", "parent"),
            ("NODE_APP_INSTANCE", "0"),
            ("status", "online"),
            ("USER_VAR", "1"),
        ];
        let env = build(&Options::new(), "app", &ctx(&tmp, &client)).unwrap();
        for key in ["pm_id", "name", "NODE_APP_INSTANCE", "status"] {
            assert!(!env.contains_key(key), "{key} leaked");
        }
        assert_eq!(env.get("USER_VAR"), Some(&json!("1")));
        let programmatic = [("PM2_PROGRAMMATIC", "true"), ("pm_exec_path", "/x")];
        let env = build(&Options::new(), "app", &ctx(&tmp, &programmatic)).unwrap();
        assert!(!env.contains_key("pm_exec_path") && !env.contains_key("PM2_PROGRAMMATIC"));
    }

    #[test]
    fn keeps_the_client_order_and_overrides_in_place() {
        let tmp = TempDir::new();
        let ctx = ctx(
            &tmp,
            &[("ZED", "1"), ("GONE", "x"), ("ALPHA", "2"), ("MID", "3")],
        );
        let opts = obj(json!({"env": {"MID": "app", "GONE": null, "NEW": "n"}}));
        let env = build(&opts, "app", &ctx).unwrap();
        let keys: Vec<_> = env.keys().map(String::as_str).collect();
        assert_eq!(keys, ["ZED", "ALPHA", "MID", "NEW", "PM2_HOME"]);
        assert_eq!(env["MID"], "app");
    }

    #[test]
    fn filter_env_drops_client_vars_only() {
        let tmp = TempDir::new();
        let ctx = ctx(
            &tmp,
            &[("SECRET_KEY", "s"), ("AWS_SECRET", "a"), ("KEEP", "k")],
        );
        let keys = |filter: Value| {
            let opts = obj(json!({"filter_env": filter, "env": {"MINE": "m"}}));
            build(&opts, "app", &ctx)
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(json!(true)), ["MINE", "PM2_HOME"]);
        assert_eq!(
            keys(json!("KEEP")),
            ["SECRET_KEY", "AWS_SECRET", "MINE", "PM2_HOME"],
            "the client's variables keep their own order"
        );
        assert_eq!(keys(json!(["SECRET"])), ["KEEP", "MINE", "PM2_HOME"]);
        assert_eq!(keys(json!(false)).len(), 5);
        let err = build(&obj(json!({"filter_env": 5})), "app", &ctx).unwrap_err();
        assert!(
            err.to_string().starts_with("Option filter_env: expected"),
            "{err}"
        );
    }

    #[test]
    fn app_env_then_selected_env_name_win_and_values_become_strings() {
        let tmp = TempDir::new();
        let mut ctx = ctx(&tmp, &[("NODE_ENV", "dev"), ("DROP", "x")]);
        ctx.env_name = Some("production".into());
        let opts = obj(json!({
            "env": {"NODE_ENV": "test", "A": 1, "B": true, "DROP": null},
            "env_production": {"NODE_ENV": "production", "CONF": {"x": [1]}},
            "env_staging": {"NODE_ENV": "staging"},
        }));
        let env = build(&opts, "app", &ctx).unwrap();
        assert_eq!(env.get("NODE_ENV"), Some(&json!("production")));
        assert_eq!(env.get("A"), Some(&json!("1")));
        assert_eq!(env.get("B"), Some(&json!("true")));
        assert_eq!(env.get("CONF"), Some(&json!("{\"x\":[1]}")));
        assert!(!env.contains_key("DROP"));
        let with_deploy = obj(json!({
            "deploy_env": {"production": {"DEPLOYED": "yes", "A": "deploy", "NODE_ENV": "deploy"}},
            "env": {"A": "app"},
            "env_production": {"NODE_ENV": "production"},
        }));
        let env = build(&with_deploy, "app", &ctx).unwrap();
        assert_eq!(
            env.get("DEPLOYED"),
            Some(&json!("yes")),
            "deploy.<env>.env is merged"
        );
        assert_eq!(env.get("A"), Some(&json!("app")), "under the app's env");
        assert_eq!(env.get("NODE_ENV"), Some(&json!("production")));
        ctx.env_name = None;
        assert!(!build(&with_deploy, "app", &ctx)
            .unwrap()
            .contains_key("DEPLOYED"));
        let err = build(&obj(json!({"env": "A=1"})), "app", &ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Option env: expected an object of variables, got \"A=1\""
        );
    }

    #[test]
    fn port_pm2_home_and_module_conf_are_added_last() {
        let tmp = TempDir::new();
        let mut ctx = ctx(&tmp, &[("PORT", "1"), ("PM2_HOME", "/elsewhere")]);
        ctx.module_conf = json!({"app": {"foo": "bar", "n": 2}, "other": {"x": "y"}});
        let env = build(
            &obj(json!({"port": 8080, "env": {"foo": "mine"}})),
            "app",
            &ctx,
        )
        .unwrap();
        assert_eq!(env.get("PORT"), Some(&json!("8080")));
        assert_eq!(
            env.get("PM2_HOME"),
            Some(&json!(crate::test_support::path_str(&ctx.paths.home)))
        );
        assert_eq!(env.get("foo"), Some(&json!("bar")));
        assert_eq!(env.get("n"), Some(&json!("2")));
        assert_eq!(env.get("app"), Some(&json!("{\"foo\":\"bar\",\"n\":2}")));
        assert!(!env.contains_key("x"));
    }

    #[test]
    fn module_env_is_empty_without_a_section() {
        assert!(module_env("app", &json!({})).is_empty());
        assert!(module_env("app", &json!({"app": "scalar"})).is_empty());
        let env = module_env(
            "my-mod",
            &json!({"my-mod": {"on": "false", "deep": {"a": 1}}}),
        );
        assert_eq!(
            Value::Object(env),
            json!({"on": "false", "deep": "{\"a\":1}", "my-mod": "{\"on\":\"false\",\"deep\":{\"a\":1}}"})
        );
    }

    #[test]
    fn updated_env_merges_fresh_values_over_the_stored_env() {
        let tmp = TempDir::new();
        let mut ctx = ctx(&tmp, &[("CLIENT", "new"), ("PM2_USAGE", "CLI")]);
        ctx.module_conf = json!({"api": {"key": "v2"}});
        ctx.env_name = Some("prod".into());
        let stored =
            obj(json!({"CLIENT": "old", "ONLY_STORED": "s", "key": "v1", "PYTHONUNBUFFERED": "1"}));
        let opts = obj(json!({"name": "api", "env": {"A": "1"}, "env_prod": {"A": "2"}}));
        let env = updated_env(&stored, &opts, &ctx);
        assert_eq!(env.get("CLIENT"), Some(&json!("new")));
        assert_eq!(env.get("ONLY_STORED"), Some(&json!("s")));
        assert_eq!(env.get("PYTHONUNBUFFERED"), Some(&json!("1")));
        assert_eq!(env.get("key"), Some(&json!("v2")));
        assert_eq!(env.get("A"), Some(&json!("2")));
        assert!(!env.contains_key("PM2_USAGE"));
        let kept = updated_env(&stored, &obj(json!({"name": "api", "env": 3})), &ctx);
        assert_eq!(kept, stored);
    }

    #[test]
    fn updated_env_finds_the_name_from_the_script_when_unnamed() {
        let tmp = TempDir::new();
        let mut ctx = ctx(&tmp, &[]);
        ctx.module_conf = json!({"worker": {"k": "v"}});
        let env = updated_env(
            &Options::new(),
            &obj(json!({"script": "lib/worker.js"})),
            &ctx,
        );
        assert_eq!(env.get("k"), Some(&json!("v")));
    }
}
