//! What the dashboard shows of an app's environment, on explicit request:
//! every name, and the values of those that look like secrets masked.

use serde_json::{Map, Value};

/// Parts of a name that mark its value as a secret.
const SECRET_WORDS: [&str; 11] = [
    "KEY",
    "SECRET",
    "TOKEN",
    "PASS",
    "AUTH",
    "CREDENTIAL",
    "PRIVATE",
    "DSN",
    "COOKIE",
    "SESSION",
    "PASSWD",
];
pub const MASK: &str = "••••••";

pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// Whether `value` holds a URL with credentials (`scheme://user:pass@host`).
fn has_url_credentials(value: &str) -> bool {
    value.match_indices("://").any(|(at, sep)| {
        let rest = &value[at + sep.len()..];
        // `[^/@]*:[^@]+@`: a user (maybe empty, as in `redis://:pw@`)
        // without `/` or `@`, a colon, a password, an `@`.
        let user_end = rest.find(['/', '@', ':']).unwrap_or(rest.len());
        rest[user_end..].starts_with(':')
            && rest[user_end + 1..]
                .find('@')
                .is_some_and(|pass_len| pass_len > 0)
    })
}

/// The env of app `app` with secret-looking values replaced by [`MASK`],
/// names sorted. The value named after the app itself is its configuration
/// (`pm2 set app:key value`, JSON that may hold anything), and each of its
/// keys is in the env too: all of them are masked.
pub fn masked(env: &Map<String, Value>, app: &str) -> Map<String, Value> {
    let conf: Map<String, Value> = match env.get(app) {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    let mut names: Vec<&String> = env.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let shown = match &env[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let secret =
                looks_secret(k) || k == app || conf.contains_key(k) || has_url_credentials(&shown);
            (
                k.clone(),
                Value::String(if secret { MASK.into() } else { shown }),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_values_are_masked_and_others_shown() {
        let env = json!({"API_KEY": "k", "db_password": "p", "GITHUB_TOKEN": "t",
            "AWS_SECRET_ACCESS_KEY": "s", "PORT": 3000, "NODE_ENV": "production"});
        let m = masked(env.as_object().unwrap(), "api");
        for k in [
            "API_KEY",
            "db_password",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert_eq!(m[k], MASK, "{k}");
        }
        assert_eq!(m["PORT"], "3000");
        assert_eq!(m["NODE_ENV"], "production");
    }

    #[test]
    fn more_secret_names_are_masked() {
        let env = json!({"DB_PASS": "p", "BASIC_AUTH": "a", "GOOGLE_APPLICATION_CREDENTIALS": "c",
            "PRIVATE_PEM": "k", "SENTRY_DSN": "d", "COOKIE_SIGN": "c", "SESSION_SALT": "s",
            "HOME": "/home/me"});
        let m = masked(env.as_object().unwrap(), "api");
        for (k, _) in env
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "HOME")
        {
            assert_eq!(m[k], MASK, "{k}");
        }
        assert_eq!(m["HOME"], "/home/me");
    }

    #[test]
    fn values_with_credentials_in_urls_are_masked() {
        let env = json!({"DATABASE_URL": "postgres://app:s3cret@db:5432/app",
            "REDIS": "redis://:pw@cache:6379", "UPSTREAM": "https://example.com/a:b@c",
            "MIRROR": "http://user@host/", "PLAIN": "http://host:8080/x"});
        let m = masked(env.as_object().unwrap(), "api");
        assert_eq!(m["DATABASE_URL"], MASK);
        assert_eq!(m["UPSTREAM"], "https://example.com/a:b@c");
        assert_eq!(m["MIRROR"], "http://user@host/");
        assert_eq!(m["PLAIN"], "http://host:8080/x");
        assert_eq!(m["REDIS"], MASK);
    }

    #[test]
    fn an_app_s_own_conf_and_its_keys_are_masked() {
        let env = json!({"pm2-logrotate": "{\"max_size\":\"10M\",\"webhook\":\"https://h/x\"}",
            "webhook": "https://h/x", "max_size": "10M", "other-app": "x"});
        let m = masked(env.as_object().unwrap(), "pm2-logrotate");
        for k in ["pm2-logrotate", "webhook", "max_size"] {
            assert_eq!(m[k], MASK, "{k}");
        }
        assert_eq!(m["other-app"], "x");
    }
}
