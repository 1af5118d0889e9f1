//! YAML ecosystem files (`ecosystem.yml`, `process.yaml`), read into the same
//! JSON value a `.json` or `.config.js` file gives.

use serde_json::Value;

/// Parses YAML text; the error says where and what is wrong.
pub fn parse(src: &str) -> Result<Value, String> {
    serde_yaml_ng::from_str::<Value>(src).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_an_ecosystem_with_lists_maps_and_scalars() {
        let src = "apps:\n  - name: api\n    script: ./api.js\n    instances: 2\n    watch: false\n    env:\n      NODE_ENV: production\n    args: [\"--port\", \"3000\"]\n";
        assert_eq!(
            parse(src).unwrap(),
            json!({"apps": [{"name": "api", "script": "./api.js", "instances": 2, "watch": false,
                              "env": {"NODE_ENV": "production"}, "args": ["--port", "3000"]}]})
        );
    }

    #[test]
    fn a_broken_file_says_where() {
        let err = parse("apps:\n  - name: [unclosed\n").unwrap_err();
        assert!(err.contains("line"), "{err}");
    }
}
