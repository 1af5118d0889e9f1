//! The apps listed in a parsed ecosystem or JSON config file.

use serde_json::Value;

use crate::error::ConfigError;
use crate::Options;

/// Accepts `{apps: [...]}`, `{apps: {...}}`, a package.json-style `{pm2: [...]}`,
/// a bare array of apps, or a single app object. An empty list is not an error
/// here: the caller decides what starting nothing means.
pub fn apps_from_config(value: &Value) -> Result<Vec<Options>, ConfigError> {
    let mut apps = app_list(value)?;
    // `deploy.<env>.env` is the lowest layer of the app env under `--env <env>`,
    // as in PM2; each app carries it until its env is built.
    if let Some(Value::Object(deploy)) = value.get("deploy") {
        let envs: Options = deploy
            .iter()
            .filter_map(|(name, target)| Some((name.clone(), target.get("env")?.clone())))
            .collect();
        if !envs.is_empty() {
            for app in &mut apps {
                app.insert(
                    crate::options::DEPLOY_ENV.into(),
                    Value::Object(envs.clone()),
                );
            }
        }
    }
    Ok(apps)
}

fn app_list(value: &Value) -> Result<Vec<Options>, ConfigError> {
    let list = match value {
        Value::Object(obj) => match obj.get("apps").or_else(|| obj.get("pm2")) {
            Some(apps) => apps,
            None => return Ok(vec![obj.clone()]),
        },
        Value::Array(_) => value,
        other => {
            return Err(ConfigError::InvalidConfig(format!(
                "expected an object or an array of apps, got {other}"
            )))
        }
    };
    match list {
        Value::Object(app) => Ok(vec![app.clone()]),
        Value::Array(apps) => apps
            .iter()
            .enumerate()
            .map(|(i, app)| match app {
                Value::Object(app) => Ok(app.clone()),
                other => Err(ConfigError::InvalidConfig(format!(
                    "app #{i} should be an object, got {other}"
                ))),
            })
            .collect(),
        other => Err(ConfigError::InvalidConfig(format!(
            "\"apps\" should be an array or an object, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(v: Value) -> Vec<String> {
        apps_from_config(&v)
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_accepted_shape() {
        assert_eq!(
            names(json!({"apps": [{"name": "a"}, {"name": "b"}], "deploy": {}})),
            ["a", "b"]
        );
        assert_eq!(names(json!({"apps": {"name": "a"}})), ["a"]);
        assert_eq!(names(json!([{"name": "a"}, {"name": "b"}])), ["a", "b"]);
        assert_eq!(names(json!({"name": "solo", "script": "x.js"})), ["solo"]);
        assert_eq!(names(json!({"name": "pkg", "pm2": [{"name": "p"}]})), ["p"]);
        assert!(apps_from_config(&json!({"apps": []})).unwrap().is_empty());
    }

    #[test]
    fn bad_shapes_say_what_is_wrong() {
        let err = apps_from_config(&json!({"apps": [{"name": "a"}, "b.js"]})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid config: app #1 should be an object, got \"b.js\""
        );
        assert!(apps_from_config(&json!({"apps": 3})).is_err());
        assert!(apps_from_config(&json!("app.js")).is_err());
    }

    #[test]
    fn keeps_option_order() {
        let apps = apps_from_config(&json!({"apps": [{"z": 1, "a": 2, "m": 3}]})).unwrap();
        assert_eq!(apps[0].keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }
}
