//! Config files given to `start`: JSON is read here; JavaScript ecosystems are
//! evaluated by `node` (the only command that pays Node's start-up).

use pm2_config::Options;
use std::path::Path;
use std::process::Command;

/// Prints a config module's exports as JSON (functions are dropped by JSON).
const EVAL: &str = r#"
const file = require('path').resolve(process.argv[1]);
const print = (m) => process.stdout.write(JSON.stringify(m));
const fail = (e) => { console.error(e && e.stack || String(e)); process.exit(1); };
if (file.endsWith('.mjs')) import(require('url').pathToFileURL(file).href).then((m) => print(m.default ?? m), fail);
else { try { const m = require(file); print(m && m.__esModule && m.default ? m.default : m); } catch (e) { fail(e); } }
"#;

pub fn is_config_file(target: &str) -> bool {
    let name = Path::new(target)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let js = name.ends_with(".js") || name.ends_with(".cjs") || name.ends_with(".mjs");
    name.ends_with(".json")
        || name.ends_with(".json5")
        || (js && (name.contains(".config.") || name.contains("ecosystem")))
}

/// The apps a config file declares.
pub fn load(path: &Path) -> Result<Vec<Options>, String> {
    if !path.is_file() {
        return Err(format!("File {} not found", path.display()));
    }
    let name = path.to_string_lossy();
    let value: serde_json::Value = if name.ends_with(".json") || name.ends_with(".json5") {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("File {} malformated: {e}", path.display()))?
    } else {
        let out = Command::new("node")
            .arg("-e")
            .arg(EVAL)
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run node to read {}: {e}", path.display()))?;
        if !out.status.success() {
            return Err(format!(
                "File {} malformated: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("File {} malformated: {e}", path.display()))?
    };
    pm2_config::apps_from_config(&value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_config_files() {
        assert!(is_config_file("ecosystem.config.js"));
        assert!(is_config_file("/x/process.json"));
        assert!(is_config_file("my-ecosystem.js"));
        assert!(!is_config_file("app.js"));
        assert!(!is_config_file("api"));
    }

    #[test]
    fn loads_json_and_js_ecosystems() {
        let dir = std::env::temp_dir().join(format!("pm2-eco-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let js = dir.join("ecosystem.config.js");
        std::fs::write(&js, "module.exports = { apps: [{ name: 'a', script: 'a.js', env: { N: 1 + 1 } }, { name: 'b', script: 'b.js' }] };").unwrap();
        let apps = load(&js).unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0]["env"]["N"], 2);
        let json = dir.join("apps.json");
        std::fs::write(&json, r#"[{"name": "c", "script": "c.js"}]"#).unwrap();
        assert_eq!(load(&json).unwrap()[0]["name"], "c");
        std::fs::write(&json, "{ nope").unwrap();
        assert!(load(&json).unwrap_err().contains("malformated"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
