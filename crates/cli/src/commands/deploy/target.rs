//! One environment of an ecosystem file's `deploy` section: what it says,
//! checked, and the ssh command lines and remote scripts built from it.

use serde_json::{Map, Value};

/// The keys a deploy environment may hold; any other is an error, not ignored.
const KEYS: &[&str] = &[
    "user",
    "host",
    "ref",
    "repo",
    "path",
    "ssh_options",
    "key",
    "env",
    "pre-setup",
    "post-setup",
    "pre-deploy-local",
    "pre-deploy",
    "post-deploy",
];

/// The host-side steps, in the script at `remote.sh`.
const REMOTE_SCRIPT: &str = include_str!("remote.sh");

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub user: Option<String>,
    pub hosts: Vec<String>,
    pub git_ref: String,
    pub repo: String,
    pub path: String,
    pub ssh_options: Vec<String>,
    pub key: Option<String>,
    pub env: Vec<(String, String)>,
    pub pre_setup: String,
    pub post_setup: String,
    pub pre_deploy_local: String,
    pub pre_deploy: String,
    pub post_deploy: String,
}

/// A step run on the host.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Setup,
    /// Fetch and reset to this ref, then post-deploy.
    Deploy(String),
    /// Print `.deploys`.
    Deploys,
    /// Print the short commit `current` holds.
    Current,
    /// Run a command in `current`.
    Exec(String),
}

fn string(map: &Map<String, Value>, env: &str, key: &str) -> Result<String, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "deploy.{env}.{key} must be a string, not {}",
            crate::js_text::inspect(other)
        )),
    }
}

/// A string or an array of strings, as PM2 takes `host` and `ssh_options`.
fn strings(map: &Map<String, Value>, env: &str, key: &str) -> Result<Vec<String>, String> {
    let bad = || format!("deploy.{env}.{key} must be a string or an array of strings");
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl Target {
    /// Reads environment `env` of a deploy section.
    pub fn from_section(env: &str, section: &Value) -> Result<Target, String> {
        let Value::Object(map) = section else {
            return Err(format!("deploy.{env} must be an object"));
        };
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "deploy.{env}.{key} is not a deploy option this pm2 knows (it knows {})",
                KEYS.join(", ")
            ));
        }
        let mut env_vars = Vec::new();
        match map.get("env") {
            None | Some(Value::Null) => {}
            Some(Value::Object(vars)) => {
                for (name, value) in vars {
                    if !is_env_name(name) {
                        return Err(format!(
                            "deploy.{env}.env: {name:?} is not a variable name a shell can export"
                        ));
                    }
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    env_vars.push((name.clone(), value));
                }
            }
            Some(_) => return Err(format!("deploy.{env}.env must be an object")),
        }
        let user = string(map, env, "user")?;
        let key = string(map, env, "key")?;
        let target = Target {
            user: (!user.is_empty()).then_some(user),
            hosts: strings(map, env, "host")?,
            git_ref: string(map, env, "ref")?,
            repo: string(map, env, "repo")?,
            path: string(map, env, "path")?,
            ssh_options: strings(map, env, "ssh_options")?,
            key: (!key.is_empty()).then_some(key),
            env: env_vars,
            pre_setup: string(map, env, "pre-setup")?,
            post_setup: string(map, env, "post-setup")?,
            pre_deploy_local: string(map, env, "pre-deploy-local")?,
            pre_deploy: string(map, env, "pre-deploy")?,
            post_deploy: string(map, env, "post-deploy")?,
        };
        if target.hosts.is_empty() || target.hosts.iter().any(String::is_empty) {
            return Err(format!(
                "deploy.{env}.host is missing: name the host(s) to deploy to"
            ));
        }
        // ssh would read such a destination as one of its options.
        if let Some(host) = target.hosts.iter().find(|h| h.starts_with('-')) {
            return Err(format!(
                "deploy.{env}.host {host:?} starts with \"-\", which ssh would take for an option: name a host"
            ));
        }
        if let Some(user) = target.user.as_ref().filter(|u| u.starts_with('-')) {
            return Err(format!(
                "deploy.{env}.user {user:?} starts with \"-\", which ssh would take for an option: name a login"
            ));
        }
        // Required as PM2 requires them, whatever the command.
        for (key, value, what) in [
            ("path", &target.path, "the folder on the host"),
            ("repo", &target.repo, "the git repository the hosts clone"),
            ("ref", &target.git_ref, "what to deploy, e.g. origin/main"),
        ] {
            if value.is_empty() {
                return Err(format!("deploy.{env}.{key} is missing: name {what}"));
            }
        }
        Ok(target)
    }

    /// `ssh`'s arguments for one host: options, identity, destination and
    /// the remote command, which reads the script from stdin.
    pub fn ssh_args(&self, host: &str) -> Vec<String> {
        let mut args = Vec::new();
        for opt in &self.ssh_options {
            args.push("-o".to_string());
            args.push(opt.clone());
        }
        if let Some(key) = &self.key {
            args.push("-i".to_string());
            args.push(key.clone());
        }
        // Nothing after `--` is an option, whatever the destination says.
        args.push("--".to_string());
        args.push(match &self.user {
            Some(user) => format!("{user}@{host}"),
            None => host.to_string(),
        });
        args.push("sh -s".to_string());
        args
    }

    /// The whole script one step sends to a host.
    pub fn script(&self, step: &Step) -> String {
        let mut s = String::new();
        s.push_str(&format!("P={}\n", path_word(&self.path)));
        let (git_ref, cmd) = match step {
            Step::Deploy(r) => (r.as_str(), ""),
            Step::Exec(c) => ("", c.as_str()),
            _ => ("", ""),
        };
        for (name, value) in [
            ("REPO", self.repo.as_str()),
            ("REF", git_ref),
            ("CMD", cmd),
            ("PRE_SETUP", self.pre_setup.as_str()),
            ("POST_SETUP", self.post_setup.as_str()),
            ("PRE_DEPLOY", self.pre_deploy.as_str()),
            ("POST_DEPLOY", self.post_deploy.as_str()),
        ] {
            s.push_str(&format!("{name}={}\n", quote(value)));
        }
        // The section's env is for post-deploy only, as in PM2.
        s.push_str("post_deploy_env() {\n");
        for (name, value) in &self.env {
            s.push_str(&format!("  export {name}={}\n", quote(value)));
        }
        s.push_str("  :\n}\n");
        s.push_str(REMOTE_SCRIPT);
        s.push_str(match step {
            Step::Setup => "step_setup\n",
            Step::Deploy(_) => "step_deploy\n",
            Step::Deploys => "step_deploys\n",
            Step::Current => "step_current\n",
            Step::Exec(_) => "step_exec\n",
        });
        s
    }
}

/// A word the shell reads back as `s` exactly.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The deploy path as a shell word: `~` and `~/…` are the login's home.
fn path_word(path: &str) -> String {
    if path == "~" {
        "\"$HOME\"".to_string()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("\"$HOME\"/{}", quote(rest))
    } else {
        quote(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn production() -> Value {
        json!({
            "user": "node", "host": ["a.example", "b.example"], "ref": "origin/main",
            "repo": "git@example.com:app.git", "path": "/var/www/app",
            "ssh_options": "StrictHostKeyChecking=no", "key": "/keys/id",
            "env": { "NODE_ENV": "production", "N": 2 },
            "post-deploy": "npm ci && pm2 startOrReload ecosystem.config.js"
        })
    }

    #[test]
    fn reads_a_section_with_one_or_many_hosts_and_options() {
        let t = Target::from_section("production", &production()).unwrap();
        assert_eq!(t.hosts, ["a.example", "b.example"]);
        assert_eq!(t.ssh_options, ["StrictHostKeyChecking=no"]);
        assert_eq!(
            t.env,
            [
                ("NODE_ENV".into(), "production".into()),
                ("N".into(), "2".into())
            ]
        );
        let one = json!({"host": "h", "path": "p", "repo": "r", "ref": "v1"});
        let one = Target::from_section("p", &one).unwrap();
        assert_eq!(one.hosts, ["h"]);
        assert_eq!(one.user, None);
    }

    #[test]
    fn refuses_what_it_cannot_honour_naming_the_key() {
        let err = |v: Value| Target::from_section("prod", &v).unwrap_err();
        assert!(err(json!({"host": "h", "repo": "r", "ref": "v"})).contains("prod.path is missing"));
        assert!(
            err(json!({"host": "h", "path": "/p", "ref": "v"})).contains("prod.repo is missing")
        );
        assert!(
            err(json!({"host": "h", "path": "/p", "repo": "r"})).contains("prod.ref is missing")
        );
        assert!(err(json!({"path": "/p"})).contains("deploy.prod.host is missing"));
        assert!(err(json!({"host": "h", "path": "/p", "hosts": "x"})).contains("deploy.prod.hosts"));
        assert!(err(json!({"host": 3, "path": "/p"})).contains("deploy.prod.host must be"));
        assert!(err(json!({"host": "h", "path": "/p", "env": {"A B": "1"}})).contains("\"A B\""));
        assert!(
            err(json!({"host": "h", "path": "/p", "post-deploy": ["a"]}))
                .contains("post-deploy must be a string")
        );
        let section = |host: Value, user: &str| json!({"host": host, "user": user, "path": "/p", "repo": "r", "ref": "v"});
        assert!(err(section(json!(["a", "-oProxyCommand=x"]), "u"))
            .contains("deploy.prod.host \"-oProxyCommand=x\" starts with \"-\""));
        assert!(err(section(json!("h"), "-F/tmp/x"))
            .contains("deploy.prod.user \"-F/tmp/x\" starts with \"-\""));
    }

    #[test]
    fn ssh_gets_each_option_the_identity_and_user_at_host() {
        let t = Target::from_section("production", &production()).unwrap();
        assert_eq!(
            t.ssh_args("b.example"),
            [
                "-o",
                "StrictHostKeyChecking=no",
                "-i",
                "/keys/id",
                "--",
                "node@b.example",
                "sh -s"
            ]
        );
    }

    #[test]
    fn quoting_survives_any_text() {
        assert_eq!(quote("it's $HOME `x`"), r#"'it'\''s $HOME `x`'"#);
        assert_eq!(path_word("~/apps/a b"), "\"$HOME\"/'apps/a b'");
        assert_eq!(path_word("/srv/x"), "'/srv/x'");
    }

    #[test]
    fn a_script_sets_its_values_then_calls_one_step() {
        let t = Target::from_section("production", &production()).unwrap();
        let s = t.script(&Step::Deploy("v1.2".into()));
        assert!(s.starts_with("P='/var/www/app'\nREPO='git@example.com:app.git'\nREF='v1.2'\n"));
        assert!(s.contains(
            "post_deploy_env() {\n  export NODE_ENV='production'\n  export N='2'\n  :\n}\n"
        ));
        assert!(s.contains("POST_DEPLOY='npm ci && pm2 startOrReload ecosystem.config.js'\n"));
        assert!(s.ends_with("step_deploy\n"));
        assert!(t.script(&Step::Exec("ls".into())).contains("CMD='ls'\n"));
    }

    #[test]
    fn the_script_is_posix_sh() {
        // `sh -n` parses without running: the script has no syntax error.
        let t = Target::from_section("production", &production()).unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-n")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(t.script(&Step::Setup).as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}
