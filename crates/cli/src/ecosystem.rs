//! Config files given to `start`, `stop`, …: which targets are config files, and
//! the apps they declare. Strict JSON is read here; a JavaScript ecosystem (and a
//! `.json` file that is really a JavaScript object literal, which PM2 accepts)
//! is evaluated by `node`, the only time the CLI pays Node's start-up.

use pm2_config::Options;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Prints a config module's exports as JSON (functions are dropped by JSON).
/// CommonJS first; ES modules (`.mjs`, or `"type": "module"`) through `import()`.
const EVAL_MODULE: &str = r#"
const file = require('path').resolve(process.argv[1]);
const print = (m) => { if (m && m.__esModule && m.default) m = m.default; process.stdout.write(JSON.stringify(m === undefined ? null : m)); };
const fail = (e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); };
const viaImport = () => import(require('url').pathToFileURL(file).href).then((m) => print(m.default !== undefined ? m.default : m), fail);
if (file.endsWith('.mjs')) viaImport();
else { let m; try { m = require(file); } catch (e) { if (e && e.code === 'ERR_REQUIRE_ESM') { viaImport(); m = undefined; } else fail(e); } if (m !== undefined) print(m); }
"#;

/// Evaluates stdin as a JavaScript expression (PM2 reads JSON configs that way).
const EVAL_LITERAL: &str = r#"
let src = ''; process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => src += d).on('end', () => {
  try { process.stdout.write(JSON.stringify(require('vm').runInNewContext('(' + src + ')'))); }
  catch (e) { process.stderr.write(String(e && e.message || e) + '\n'); process.exit(1); }
});
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Yaml,
    Js,
}

/// What PM2 treats as a config file rather than a script: a name containing
/// `.json`, `.yml`/`.yaml`, or `.config.js`/`.config.cjs`/`.config.mjs`.
pub fn config_kind(target: &str) -> Option<Kind> {
    if target.contains(".json") {
        Some(Kind::Json)
    } else if target.contains(".yml") || target.contains(".yaml") {
        Some(Kind::Yaml)
    } else if [".config.js", ".config.cjs", ".config.mjs"]
        .iter()
        .any(|e| target.contains(e))
    {
        Some(Kind::Js)
    } else {
        None
    }
}

pub fn is_config_file(target: &str) -> bool {
    config_kind(target).is_some()
}

/// The parsed content of a config file.
pub fn load(path: &Path) -> Result<Value, String> {
    let shown = path.display();
    if !path.is_file() {
        return Err(format!("File {shown} not found"));
    }
    match config_kind(&path.to_string_lossy()).unwrap_or(Kind::Js) {
        Kind::Json => {
            let src = std::fs::read_to_string(path).map_err(|e| format!("File {shown}: {e}"))?;
            parse_object_text(&src).map_err(|e| format!("File {shown} malformated\n{e}"))
        }
        Kind::Yaml => {
            let src = std::fs::read_to_string(path).map_err(|e| format!("File {shown}: {e}"))?;
            pm2_config::yaml::parse(&src).map_err(|e| format!("File {shown} malformated\n{e}"))
        }
        Kind::Js => {
            let out = Command::new("node")
                .arg("-e")
                .arg(EVAL_MODULE)
                .arg(path)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("Cannot run node to read {shown}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "File {shown} malformated\n{}",
                    String::from_utf8_lossy(&out.stderr).trim_end()
                ));
            }
            serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("File {shown} malformated\n{e}"))
        }
    }
}

/// JSON, or else a JavaScript object literal (comments, unquoted keys, trailing commas).
pub fn parse_object_text(src: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str(src) {
        return Ok(v);
    }
    let mut child = Command::new("node")
        .arg("-e")
        .arg(EVAL_LITERAL)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("Cannot run node: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(src.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim_end().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// A config read from stdin (`pm2 start -`).
pub fn load_stdin() -> Result<Value, String> {
    let mut src = String::new();
    std::io::stdin()
        .read_to_string(&mut src)
        .map_err(|e| format!("Cannot read stdin: {e}"))?;
    parse_object_text(&src).map_err(|e| format!("Malformated config on stdin\n{e}"))
}

/// The apps a config declares.
pub fn apps(config: &Value) -> Result<Vec<Options>, String> {
    pm2_config::apps_from_config(config).map_err(|e| e.to_string())
}

/// The name an app will get: its `name`, else its script's file name without extension.
pub fn app_name(app: &Options) -> Option<String> {
    if let Some(name) = app.get("name").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    let script = ["script", "cmd", "command"]
        .iter()
        .find_map(|k| app.get(*k).and_then(Value::as_str))?;
    let file = Path::new(script)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    Some(match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pm2-cli-eco-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn recognises_config_files_like_pm2() {
        assert_eq!(config_kind("ecosystem.config.js"), Some(Kind::Js));
        assert_eq!(config_kind("app.config.cjs"), Some(Kind::Js));
        assert_eq!(config_kind("/x/process.json"), Some(Kind::Json));
        assert_eq!(config_kind("eco.yml"), Some(Kind::Yaml));
        assert_eq!(config_kind("app.js"), None);
        assert_eq!(config_kind("api"), None);
    }

    #[test]
    fn loads_js_ecosystems_through_node_dropping_functions() {
        let dir = temp_dir("js");
        let js = dir.join("ecosystem.config.js");
        std::fs::write(&js, "module.exports = { apps: [{ name: 'a', script: 'a.js', env: { N: 1 + 1 }, f() {} }, { script: 'lib/b.js' }] };").unwrap();
        let list = apps(&load(&js).unwrap()).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["env"]["N"], 2);
        assert!(!list[0].contains_key("f"));
        assert_eq!(app_name(&list[1]).as_deref(), Some("b"));
        let mjs = dir.join("eco.config.mjs");
        std::fs::write(
            &mjs,
            "export default { apps: [{ name: 'm', script: 'm.js' }] };",
        )
        .unwrap();
        assert_eq!(apps(&load(&mjs).unwrap()).unwrap()[0]["name"], "m");
        std::fs::write(&js, "module.exports = { apps: [ ;").unwrap();
        assert!(load(&js).unwrap_err().contains("malformated"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loads_json_and_javascript_literals() {
        let dir = temp_dir("json");
        let file = dir.join("apps.json");
        std::fs::write(&file, r#"[{"name": "c", "script": "c.js"}]"#).unwrap();
        assert_eq!(
            load(&file).unwrap(),
            json!([{"name": "c", "script": "c.js"}])
        );
        std::fs::write(
            &file,
            "{ // comment\n apps: [{ name: 'd', script: 'd.js', }], }",
        )
        .unwrap();
        assert_eq!(
            load(&file).unwrap(),
            json!({"apps": [{"name": "d", "script": "d.js"}]})
        );
        std::fs::write(&file, "{ nope").unwrap();
        assert!(load(&file).unwrap_err().contains("malformated"));
        assert!(load(&dir.join("missing.json"))
            .unwrap_err()
            .contains("not found"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
