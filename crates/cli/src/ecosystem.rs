//! Config files given to `start`, `stop`, …: which targets are config files, and
//! the apps they declare. Strict JSON is read here; a JavaScript ecosystem (and a
//! `.json` file that is really a JavaScript object literal, which PM2 accepts)
//! is evaluated by `node`, the only time the CLI pays Node's start-up, unless it
//! is just `module.exports = <JSON>;`, which has the same value read as JSON.

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
        Kind::Js => json_module(path).map_or_else(|| eval_module(path), Ok),
    }
}

/// A JavaScript config's exports, evaluated by `node`.
fn eval_module(path: &Path) -> Result<Value, String> {
    let shown = path.display();
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
    serde_json::from_slice(&out.stdout).map_err(|e| format!("File {shown} malformated\n{e}"))
}

/// The exports of a CommonJS config whose whole text is `module.exports = <JSON>;`
/// (as `pm2 ecosystem` and most generators write it), read without starting Node.
/// `None` sends the file to Node: any other text, an ES module scope, and the few
/// JSON texts whose JavaScript value differs (see `same_in_javascript`).
fn json_module(path: &Path) -> Option<Value> {
    let ext = path.extension().and_then(|e| e.to_str());
    if ext == Some("mjs") || (ext != Some("cjs") && in_module_scope(path)) {
        return None;
    }
    let src = std::fs::read_to_string(path).ok()?;
    let src = src.strip_prefix('\u{feff}').unwrap_or(&src).trim_start();
    let src = ["'use strict';", "\"use strict\";"]
        .iter()
        .find_map(|d| src.strip_prefix(d))
        .unwrap_or(src)
        .trim_start();
    let body = src
        .strip_prefix("module.exports")?
        .trim_start()
        .strip_prefix('=')?
        .trim_end();
    let body = body.strip_suffix(';').unwrap_or(body);
    let mut value: Value = serde_json::from_str(body).ok()?;
    same_in_javascript(&mut value).then_some(value)
}

/// Whether Node would load this `.js` file as an ES module: the nearest
/// package.json says `"type": "module"` (or cannot be read, which Node reports).
fn in_module_scope(path: &Path) -> bool {
    let dir = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    for dir in dir.iter().flat_map(|d| d.ancestors()) {
        let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        return match serde_json::from_str::<Value>(&text) {
            Ok(pkg) => pkg.get("type").and_then(Value::as_str) == Some("module"),
            Err(_) => true,
        };
    }
    false
}

/// Makes a JSON value what `JSON.stringify` of the same text evaluated by Node
/// gives (`2.0` and `-0` are the integers 2 and 0), or says it cannot: integers
/// past 2^53 lose digits in JavaScript, a `__proto__` key sets the prototype, and
/// keys that are array indices come first in JavaScript's key order.
fn same_in_javascript(value: &mut Value) -> bool {
    const SAFE: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return i.unsigned_abs() <= SAFE as u64;
            }
            if n.as_u64().is_some() {
                return false;
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 {
                if f.abs() > SAFE {
                    return false;
                }
                *value = Value::from(f as i64);
            }
            true
        }
        Value::Array(items) => items.iter_mut().all(same_in_javascript),
        Value::Object(map) => map.iter_mut().all(|(key, v)| {
            let index = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_digit())
                && (key == "0" || !key.starts_with('0'))
                && key.parse::<u64>().is_ok_and(|i| i < u32::MAX as u64);
            key != "__proto__" && !index && same_in_javascript(v)
        }),
        _ => true,
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

/// The apps a config declares. Keys that are no app option are dropped, as
/// PM2 drops them (with a warning here, so a misspelt option is noticed).
pub fn apps(config: &Value) -> Result<Vec<Options>, String> {
    let mut apps = pm2_config::apps_from_config(config).map_err(|e| e.to_string())?;
    for app in &mut apps {
        let unknown: Vec<String> = app
            .keys()
            .filter(|k| !pm2_config::is_app_option(k))
            .cloned()
            .collect();
        for key in unknown {
            app.shift_remove(&key);
            crate::output::warn(&format!(
                "Unknown option {key} in app {}: ignored, as PM2 does",
                app_name(app).unwrap_or_default()
            ));
        }
    }
    Ok(apps)
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
    fn reads_json_modules_without_node_as_node_would() {
        let dir = temp_dir("jsonmod");
        let js = dir.join("ecosystem.config.js");
        let same = [
            "module.exports = {\"apps\": [{\"name\": \"a\", \"script\": \"a.js\", \"instances\": 2.0, \"x\": -0, \"y\": 1e2, \"z\": 0.1}]};\n",
            "\u{feff}'use strict';\nmodule.exports={\"apps\":[{\"script\":\"b.js\",\"env\":{\"S\":\"\\u2028 é\"}}]}",
        ];
        for text in same {
            std::fs::write(&js, text).unwrap();
            let fast = json_module(&js).unwrap_or_else(|| panic!("not read as JSON: {text}"));
            assert_eq!(fast, eval_module(&js).unwrap(), "{text}");
            assert_eq!(
                serde_json::to_string(&fast).unwrap(),
                serde_json::to_string(&eval_module(&js).unwrap()).unwrap()
            );
        }
        // JavaScript gives another value (or an error): left to node
        let other = [
            "module.exports = {\"apps\": [], \"big\": 9007199254740993};",
            "module.exports = {\"apps\": [], \"__proto__\": {\"a\": 1}};",
            "module.exports = {\"b\": 1, \"1\": 2};",
            "module.exports = {apps: []};",
            "const x = 1;\nmodule.exports = {\"apps\": []};",
            "module.exports = {\"apps\": []}; module.exports.apps.push({\"script\": \"c.js\"});",
        ];
        for text in other {
            std::fs::write(&js, text).unwrap();
            assert_eq!(json_module(&js), None, "{text}");
        }
        // in an ES module scope the same text means something else to Node
        std::fs::write(&js, "module.exports = {\"apps\": []};").unwrap();
        std::fs::write(dir.join("package.json"), r#"{"type": "module"}"#).unwrap();
        assert_eq!(json_module(&js), None);
        assert_ne!(eval_module(&js).unwrap(), json!({"apps": []}));
        let cjs = dir.join("ecosystem.config.cjs");
        std::fs::write(&cjs, "module.exports = {\"apps\": []};").unwrap();
        assert_eq!(json_module(&cjs), Some(json!({"apps": []})));
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
