//! What the dashboard shows of an app's environment, on explicit request:
//! every name, and the values of those that look like secrets masked.

use serde_json::{Map, Value};

/// Parts of a name that mark its value as a secret.
const SECRET_WORDS: [&str; 5] = ["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD"];
pub const MASK: &str = "••••••";

pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// The env with secret-looking values replaced by [`MASK`], names sorted.
pub fn masked(env: &Map<String, Value>) -> Map<String, Value> {
    let mut names: Vec<&String> = env.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let v = if looks_secret(k) {
                Value::String(MASK.into())
            } else {
                match &env[k] {
                    Value::String(s) => Value::String(s.clone()),
                    other => Value::String(other.to_string()),
                }
            };
            (k.clone(), v)
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
        let m = masked(env.as_object().unwrap());
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
}
