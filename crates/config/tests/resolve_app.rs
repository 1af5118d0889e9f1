//! `resolve_app` end to end, through the public API, against scratch directories
//! and a fake PATH.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pm2_config::{resolve_app, ConfigError, Options, Paths, ResolveContext, Value};
use serde_json::json;

/// A scratch folder with `bin/` as the only PATH entry, removed on drop.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(on_path: &[&str]) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("pm2-resolve-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("bin")).unwrap();
        let s = Scratch { root };
        for name in on_path {
            s.executable(&format!("bin/{name}"), "#!/bin/sh\n");
        }
        s
    }

    fn file(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }

    fn executable(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.file(rel, content);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn path(&self, rel: &str) -> String {
        s(&self.root.join(rel))
    }

    fn ctx(&self) -> ResolveContext {
        ResolveContext {
            cwd: self.root.clone(),
            paths: Paths::new(self.root.join("pm2home")),
            client_env: pm2_config::ClientEnv::from([
                ("PATH".into(), self.path("bin")),
                ("HOME".into(), self.path("me")),
                ("USER".into(), "alice".into()),
                ("CLIENT_VAR".into(), "from-shell".into()),
            ]),
            env_name: None,
            module_conf: json!({}),
            cpus: 4,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn opts(v: Value) -> Options {
    v.as_object().unwrap().clone()
}

fn resolve(scratch: &Scratch, v: Value) -> Result<Options, ConfigError> {
    resolve_app(&opts(v), &scratch.ctx())
}

#[test]
fn a_plain_node_script_gets_every_field_the_daemon_needs() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "console.log(1)");
    let app = resolve(&sc, json!({"script": "app.js"})).unwrap();
    let expect = json!({
        "name": "app",
        "pm_cwd": s(&sc.root),
        "pm_exec_path": sc.path("app.js"),
        "exec_interpreter": "node",
        "exec_mode": "fork_mode",
        "instances": 1,
        "merge_logs": true,
        "node_args": [],
        "autorestart": true,
        "autostart": true,
        "vizion": true,
        "pmx": true,
        "automation": true,
        "treekill": true,
        "instance_var": "NODE_APP_INSTANCE",
        "kill_retry_time": 100,
        "windowsHide": true,
        "namespace": "default",
        "username": "alice",
        "pm_out_log_path": sc.path("pm2home/logs/app-out.log"),
        "pm_err_log_path": sc.path("pm2home/logs/app-error.log"),
        "pm_pid_path": sc.path("pm2home/pids/app.pid"),
    });
    let mut without_env = app.clone();
    let env = without_env.remove("env").unwrap();
    assert_eq!(Value::Object(without_env), expect);
    assert_eq!(env["CLIENT_VAR"], "from-shell");
    assert_eq!(env["PM2_HOME"], sc.path("pm2home"));
    assert!(env.as_object().unwrap().values().all(Value::is_string));
}

#[test]
fn a_missing_script_option_is_named() {
    let sc = Scratch::new(&[]);
    let err = resolve(&sc, json!({"name": "x"})).unwrap_err();
    assert!(matches!(err, ConfigError::MissingScript));
    assert!(err.to_string().contains("script"));
    assert!(resolve(&sc, json!({"script": ""})).is_err());
    let err = resolve(&sc, json!({"script": 5})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Option script: expected a file path or a command, got 5"
    );
}

#[test]
fn a_missing_script_file_reports_its_absolute_path() {
    let sc = Scratch::new(&[]);
    let err = resolve(&sc, json!({"script": "lib/../nope.js"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Script not found: {}", sc.path("nope.js"))
    );
}

#[test]
fn cmd_and_command_are_script() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    for key in ["cmd", "command"] {
        let app = resolve(&sc, json!({ key: "app.js" })).unwrap();
        assert_eq!(app["pm_exec_path"], sc.path("app.js"));
        assert!(!app.contains_key(key));
    }
}

#[test]
fn bare_commands_are_found_on_path() {
    let sc = Scratch::new(&["npm"]);
    sc.executable("bin/server", "\x7fELF\x02\x01\x01\0\0\0");
    let npm = resolve(&sc, json!({"script": "npm", "args": "run start"})).unwrap();
    assert_eq!(npm["pm_exec_path"], sc.path("bin/npm"));
    assert_eq!(npm["name"], "npm");
    assert_eq!(
        npm["exec_interpreter"], "node",
        "a text script without extension runs under node"
    );
    assert_eq!(npm["args"], json!(["run", "start"]));
    let server = resolve(&sc, json!({"script": "server"})).unwrap();
    assert_eq!(server["exec_interpreter"], "none", "binaries run directly");
}

#[test]
fn a_local_file_wins_over_path() {
    let sc = Scratch::new(&["tool"]);
    sc.file("tool", "");
    assert_eq!(
        resolve(&sc, json!({"script": "tool"})).unwrap()["pm_exec_path"],
        sc.path("tool")
    );
}

#[test]
fn a_command_line_runs_under_bash_c() {
    let sc = Scratch::new(&["bash", "sh"]);
    let app = resolve(
        &sc,
        json!({"script": "npm run dev -- --port 3000", "args": ["ignored"]}),
    )
    .unwrap();
    assert_eq!(
        app.get("script"),
        None,
        "resolved into pm_exec_path, as PM2 does"
    );
    assert_eq!(app["args"], json!(["-c", "npm run dev -- --port 3000"]));
    assert_eq!(app["exec_interpreter"], "none");
    assert_eq!(app["pm_exec_path"], sc.path("bin/bash"));
    assert_eq!(app["name"], "npm run dev -- --port 3000");
    assert_eq!(
        app["pm_out_log_path"],
        sc.path("pm2home/logs/npm-run-dev------port-3000-out.log")
    );
    let named = resolve(&sc, json!({"script": "echo hi", "name": "greeter"})).unwrap();
    assert_eq!(named["name"], "greeter");
}

#[test]
fn a_command_line_falls_back_to_sh_and_needs_a_shell() {
    let sc = Scratch::new(&["sh"]);
    let app = resolve(&sc, json!({"script": "echo hi"})).unwrap();
    assert_eq!(app["pm_exec_path"], sc.path("bin/sh"));
    let bare = Scratch::new(&[]);
    let err = resolve(&bare, json!({"script": "echo hi"})).unwrap_err();
    assert!(matches!(err, ConfigError::InterpreterNotAvailable(_)));
}

#[test]
fn a_file_whose_name_has_spaces_is_still_a_file() {
    let sc = Scratch::new(&["bash"]);
    sc.file("my app.js", "");
    let app = resolve(&sc, json!({"script": "my app.js"})).unwrap();
    assert_eq!(app["pm_exec_path"], sc.path("my app.js"));
    assert_eq!(app["name"], "my app");
    assert_eq!(app["exec_interpreter"], "node");
}

#[test]
fn cwd_is_resolved_and_scripts_are_found_in_it() {
    let sc = Scratch::new(&[]);
    sc.file("srv/api/index.js", "");
    let app = resolve(&sc, json!({"script": "index.js", "cwd": "srv/api"})).unwrap();
    assert_eq!(app["pm_cwd"], sc.path("srv/api"));
    assert_eq!(app["pm_exec_path"], sc.path("srv/api/index.js"));
    assert_eq!(
        app["cwd"], "srv/api",
        "the option itself is kept as written"
    );
    fs::create_dir_all(sc.root.join("me/proj")).unwrap();
    sc.file("me/proj/a.js", "");
    let home = resolve(&sc, json!({"script": "a.js", "cwd": "~/proj"})).unwrap();
    assert_eq!(home["pm_exec_path"], sc.path("me/proj/a.js"));
    let err = resolve(&sc, json!({"script": "index.js", "cwd": "nowhere"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Working directory not found: {}", sc.path("nowhere"))
    );
}

#[test]
fn python_scripts_get_python3_and_unbuffered_output() {
    let sc = Scratch::new(&["python3"]);
    sc.file("job.py", "print(1)");
    let app = resolve(&sc, json!({"script": "job.py"})).unwrap();
    assert_eq!(app["exec_interpreter"], "python3");
    assert_eq!(app["env"]["PYTHONUNBUFFERED"], "1");
    let mine = resolve(
        &sc,
        json!({"script": "job.py", "env": {"PYTHONUNBUFFERED": "0"}}),
    )
    .unwrap();
    assert_eq!(mine["env"]["PYTHONUNBUFFERED"], "0");
}

#[test]
fn an_unavailable_interpreter_is_reported_as_pm2_words_it() {
    let sc = Scratch::new(&[]);
    sc.file("job.rb", "");
    let err = resolve(&sc, json!({"script": "job.rb"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Interpreter ruby is NOT AVAILABLE in PATH. (type 'which ruby' to double check.)"
    );
    sc.file("app.js", "");
    let app = resolve(&sc, json!({"script": "app.js", "interpreter": "node"})).unwrap();
    assert_eq!(
        app["exec_interpreter"], "node",
        "node is the client's runtime, always there"
    );
    assert!(!app.contains_key("interpreter"));
}

#[test]
fn instances_imply_cluster_mode_for_node() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(&sc, json!({"script": "app.js", "instances": 4})).unwrap();
    assert_eq!(
        (&app["exec_mode"], &app["instances"], &app["merge_logs"]),
        (&json!("cluster_mode"), &json!(4), &json!(false))
    );
    for (given, want) in [
        (json!("max"), 4),
        (json!(0), 4),
        (json!(-1), 3),
        (json!(-9), 1),
        (json!("2"), 2),
        (json!(1), 1),
    ] {
        let app = resolve(&sc, json!({"script": "app.js", "instances": given})).unwrap();
        assert_eq!(app["instances"], want, "instances {given}");
        assert_eq!(app["exec_mode"], "cluster_mode", "instances {given}");
    }
}

#[test]
fn exec_mode_is_normalised_and_only_node_or_bun_can_cluster() {
    let sc = Scratch::new(&["python3", "bun"]);
    sc.file("app.js", "");
    sc.file("job.py", "");
    sc.file("app.ts", "");
    let mode = |v: Value| resolve(&sc, v).unwrap()["exec_mode"].clone();
    assert_eq!(
        mode(json!({"script": "app.js", "exec_mode": "cluster"})),
        "cluster_mode"
    );
    assert_eq!(
        mode(json!({"script": "app.js", "execMode": "cluster_mode"})),
        "cluster_mode"
    );
    assert_eq!(
        mode(json!({"script": "app.js", "exec_mode": "fork", "instances": 2})),
        "fork_mode"
    );
    assert_eq!(
        mode(json!({"script": "job.py", "instances": 2})),
        "fork_mode"
    );
    assert_eq!(
        mode(json!({"script": "job.py", "exec_mode": "cluster"})),
        "fork_mode"
    );
    assert_eq!(
        mode(json!({"script": "app.ts", "instances": 2})),
        "cluster_mode"
    );
    let err = resolve(&sc, json!({"script": "app.js", "exec_mode": "threads"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Option exec_mode: expected \"fork\" or \"cluster\", got \"threads\""
    );
    let err = resolve(&sc, json!({"script": "app.js", "instances": "lots"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Option instances: expected a number or \"max\", got \"lots\""
    );
}

#[test]
fn merge_logs_defaults_to_true_only_for_a_single_fork_process() {
    let sc = Scratch::new(&["python3"]);
    sc.file("app.js", "");
    sc.file("job.py", "");
    let merge = |v: Value| resolve(&sc, v).unwrap()["merge_logs"].clone();
    assert_eq!(merge(json!({"script": "app.js"})), true);
    assert_eq!(
        merge(json!({"script": "app.js", "exec_mode": "cluster"})),
        false
    );
    assert_eq!(merge(json!({"script": "job.py", "instances": 3})), false);
    assert_eq!(merge(json!({"script": "job.py", "instances": 0})), true);
    assert_eq!(
        merge(json!({"script": "app.js", "instances": 4, "merge_logs": true})),
        true
    );
    assert_eq!(
        merge(json!({"script": "app.js", "combine_logs": "true", "instances": 2})),
        true
    );
}

#[test]
fn units_are_converted_to_bytes_and_milliseconds() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(
        &sc,
        json!({
            "script": "app.js", "maxMemoryRestart": "200M", "min_uptime": "2s", "kill_timeout": "1600",
            "restart_delay": "1m", "listen_timeout": 8000, "exp_backoff_restart_delay": "100ms",
            "max_restarts": "10", "killRetryTime": 50,
        }),
    )
    .unwrap();
    assert_eq!(app["max_memory_restart"], 200 * 1024 * 1024);
    assert_eq!(app["min_uptime"], 2000);
    assert_eq!(app["kill_timeout"], 1600);
    assert_eq!(app["restart_delay"], 60_000);
    assert_eq!(app["listen_timeout"], 8000);
    assert_eq!(app["exp_backoff_restart_delay"], 100);
    assert_eq!(app["max_restarts"], 10);
    assert_eq!(app["kill_retry_time"], 50);
}

#[test]
fn bad_values_name_their_option() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let err = |v: Value| resolve(&sc, v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"script": "app.js", "max_restarts": "abc"})),
        "Option max_restarts: expected a number, got \"abc\""
    );
    assert!(
        err(json!({"script": "app.js", "max_memory_restart": "lots"}))
            .starts_with("Option max_memory_restart: expected a size")
    );
    assert!(err(json!({"script": "app.js", "minUptime": "soon"}))
        .starts_with("Option min_uptime: expected a duration"));
    assert_eq!(
        err(json!({"script": "app.js", "autorestart": "nope"})),
        "Option autorestart: expected true or false, got \"nope\""
    );
    assert!(err(json!({"script": "app.js", "args": {"a": 1}})).starts_with("Option args: expected"));
    assert!(err(json!({"script": "app.js", "name": ["a"]})).starts_with("Option name: expected"));
    assert!(
        err(json!({"script": "app.js", "namespace": 3})).starts_with("Option namespace: expected")
    );
}

#[test]
fn booleans_from_the_cli_and_user_choices_beat_defaults() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(
        &sc,
        json!({"script": "app.js", "autorestart": "false", "treekill": false, "instance_var": "INSTANCE_ID", "namespace": "api"}),
    )
    .unwrap();
    assert_eq!(app["autorestart"], false);
    assert_eq!(app["treekill"], false);
    assert_eq!(app["instance_var"], "INSTANCE_ID");
    assert_eq!(app["namespace"], "api");
}

#[test]
fn time_sets_the_log_date_format_unless_one_is_given() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(&sc, json!({"script": "app.js", "time": true})).unwrap();
    assert_eq!(app["log_date_format"], "YYYY-MM-DDTHH:mm:ss");
    let app = resolve(
        &sc,
        json!({"script": "app.js", "time": true, "logDateFormat": "HH:mm"}),
    )
    .unwrap();
    assert_eq!(app["log_date_format"], "HH:mm");
}

#[test]
fn args_and_node_args_become_word_arrays() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(
        &sc,
        json!({"script": "app.js", "args": "--port 3000 --title 'my app'", "nodeArgs": "--max-old-space-size=4096 --inspect"}),
    )
    .unwrap();
    assert_eq!(app["args"], json!(["--port", "3000", "--title", "my app"]));
    assert_eq!(
        app["node_args"],
        json!(["--max-old-space-size=4096", "--inspect"])
    );
    let app = resolve(
        &sc,
        json!({"script": "app.js", "args": ["a b", 1], "interpreter_args": ["--x"]}),
    )
    .unwrap();
    assert_eq!(app["args"], json!(["a b", "1"]));
    assert_eq!(app["node_args"], json!(["--x"]));
    assert!(!resolve(&sc, json!({"script": "app.js"}))
        .unwrap()
        .contains_key("args"));
}

#[test]
fn other_options_reach_the_daemon_untouched() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let app = resolve(
        &sc,
        json!({
            "script": "app.js", "cron_restart": "0 * * * *", "wait_ready": true, "watch": ["src"],
            "ignore_watch": ["node_modules"], "filter_env": ["SECRET"], "stop_exit_codes": [0],
            "my_custom": {"x": 1},
        }),
    )
    .unwrap();
    assert_eq!(app["cron_restart"], "0 * * * *");
    assert_eq!(app["wait_ready"], true);
    assert_eq!(app["watch"], json!(["src"]));
    assert_eq!(app["ignore_watch"], json!(["node_modules"]));
    assert_eq!(app["filter_env"], json!(["SECRET"]));
    assert_eq!(app["stop_exit_codes"], json!([0]));
    assert_eq!(app["my_custom"], json!({"x": 1}));
}

#[test]
fn names_default_to_the_script_stem() {
    let sc = Scratch::new(&[]);
    sc.file("lib/api.test.js", "");
    sc.file(".hidden", "");
    assert_eq!(
        resolve(&sc, json!({"script": "lib/api.test.js"})).unwrap()["name"],
        "api.test"
    );
    assert_eq!(
        resolve(&sc, json!({"script": ".hidden"})).unwrap()["name"],
        ".hidden"
    );
    assert_eq!(
        resolve(&sc, json!({"script": ".hidden", "name": 7})).unwrap()["name"],
        "7"
    );
    // Command strings are named as PM2 names them: basename minus "extension".
    let sc = Scratch::new(&["bash"]);
    assert_eq!(
        resolve(&sc, json!({"script": "node app.js --port 3000"})).unwrap()["name"],
        "node app"
    );
    assert_eq!(
        resolve(&sc, json!({"script": "python3 -m http.server 8123"})).unwrap()["name"],
        "python3 -m http"
    );
}

#[test]
fn env_is_built_from_client_app_and_selected_env() {
    let sc = Scratch::new(&[]);
    sc.file("app.js", "");
    let mut ctx = sc.ctx();
    ctx.env_name = Some("production".into());
    ctx.module_conf = json!({"api-production": {"token": "t"}});
    let app = resolve_app(
        &opts(json!({
            "script": "app.js", "name": "api", "append_env_to_name": true, "port": 8080,
            "env": {"NODE_ENV": "development", "CLIENT_VAR": "from-app"},
            "env_production": {"NODE_ENV": "production", "LIMITS": {"max": 5}},
            "env_test": {"NODE_ENV": "test"},
        })),
        &ctx,
    )
    .unwrap();
    assert_eq!(app["name"], "api-production");
    let env = &app["env"];
    assert_eq!(env["NODE_ENV"], "production");
    assert_eq!(env["CLIENT_VAR"], "from-app");
    assert_eq!(env["LIMITS"], "{\"max\":5}");
    assert_eq!(env["PORT"], "8080");
    assert_eq!(env["token"], "t");
    assert_eq!(env["api-production"], "{\"token\":\"t\"}");
    assert!(!app.keys().any(|k| k.starts_with("env_")));
    assert_eq!(app["port"], 8080);
}

#[test]
fn log_paths_follow_the_app_name_and_cwd() {
    let sc = Scratch::new(&[]);
    sc.file("srv/app.js", "");
    let app = resolve(
        &sc,
        json!({"script": "app.js", "cwd": "srv", "name": "web api", "output": "logs/out.log", "error": "NULL", "log": true, "pid": "app.pid"}),
    )
    .unwrap();
    assert_eq!(app["pm_out_log_path"], sc.path("srv/logs/out.log"));
    assert_eq!(app["pm_err_log_path"], "/dev/null");
    assert_eq!(app["pm_log_path"], sc.path("pm2home/logs/web-api.log"));
    assert_eq!(app["pm_pid_path"], sc.path("srv/app.pid"));
    for key in [
        "output",
        "error",
        "log",
        "pid",
        "out_file",
        "error_file",
        "log_file",
        "pid_file",
    ] {
        assert!(
            !app.contains_key(key),
            "{key} should be folded into pm_*_path"
        );
    }
}
