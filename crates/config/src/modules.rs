//! PM2 modules as data: the name a module is installed under, what
//! `module_conf.json` holds (each app's `pm2 set` keys, and the registries of
//! installed modules), and how a module's package.json says it runs.
//!
//! Everything that changes `module_conf.json` goes through [`update_conf`],
//! which holds an exclusive lock across read, change and atomic write, so
//! concurrent `pm2 set` never lose each other's keys.

use crate::module_name::{ModuleName, NameError};
use crate::paths::write_atomic;
use crate::{Options, Paths};
use serde_json::{json, Map, Value};
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Registry of modules installed from npm: `{name: {}}` (uid/gid when given).
pub const NPM_REGISTRY: &str = "module-db-v2";
/// Registry of modules installed from a tarball: `{name: {source, install_url, installed_at}}`.
pub const TAR_REGISTRY: &str = "tar-modules";

/// How an installed module was installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// From npm: the module's files are in `modules/<name>/node_modules/<name>`.
    Npm,
    /// From a tarball (the `install_url` it came from): files in `modules/<name>`.
    Tarball(String),
}

/// An installed module as the registries of `module_conf.json` list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: ModuleName,
    pub source: Source,
}

impl Installed {
    /// The folder holding the module's package.json.
    pub fn package_dir(&self, paths: &Paths) -> PathBuf {
        self.package_dir_in(&self.dir(paths))
    }

    /// The module's own folder: `modules/<name>` (`modules/@scope/name`).
    pub fn dir(&self, paths: &Paths) -> PathBuf {
        self.name.folder_in(&paths.modules_dir)
    }

    /// The package folder inside `base`, the module's (or its staging) folder.
    /// A scoped npm package (`@scope/name`) sits under its scope's folder.
    pub fn package_dir_in(&self, base: &Path) -> PathBuf {
        match self.source {
            Source::Npm => {
                let node_modules = base.join("node_modules");
                let plain = self.name.folder_in(&node_modules);
                if plain.exists() {
                    return plain;
                }
                fs::read_dir(&node_modules)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with('@'))
                    .map(|e| self.name.folder_in(&e.path()))
                    .find(|p| p.join("package.json").is_file())
                    .unwrap_or(plain)
            }
            Source::Tarball(_) => base.to_path_buf(),
        }
    }
}

/// The name PM2 installs an npm spec under: without scope, user, version,
/// branch, `.git` suffix, URL path or tarball version.
/// `@scope/mod@1.2` → `mod`, `user/pm2-slack#dev` → `pm2-slack`,
/// `pm2-slack-1.0.0.tgz` → `pm2-slack`.
pub fn canonical_name(spec: &str) -> String {
    let mut s = spec.trim_end_matches('/');
    if let Some((head, _)) = s.split_once('#') {
        s = head;
    }
    s = s.rsplit('/').next().unwrap_or(s);
    s = s.strip_suffix(".git").unwrap_or(s);
    for ext in [".tgz", ".tar.gz"] {
        if let Some(stem) = s.strip_suffix(ext) {
            // `name-1.2.3.tgz`: drop the version after the last `-<digit>`.
            s = match stem.rfind('-') {
                Some(i) if stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => &stem[..i],
                _ => stem,
            };
        }
    }
    // `name@version` (a leading `@` was a scope, already cut with the path).
    match s.find('@') {
        Some(i) if i > 0 => s[..i].to_string(),
        _ => s.to_string(),
    }
}

/// The modules both registries list, npm ones first; an entry whose name is
/// not a valid module name is left out (no path is ever built from it).
pub fn installed(conf: &Value) -> Vec<Installed> {
    registered(conf)
        .into_iter()
        .filter_map(|(name, source)| {
            let name = ModuleName::parse(&name).ok()?;
            Some(Installed { name, source })
        })
        .collect()
}

/// The registry entries [`installed`] leaves out, with why.
pub fn refused_entries(conf: &Value) -> Vec<NameError> {
    registered(conf)
        .into_iter()
        .filter_map(|(name, _)| ModuleName::parse(&name).err())
        .collect()
}

fn registered(conf: &Value) -> Vec<(String, Source)> {
    let mut out = Vec::new();
    if let Some(Value::Object(db)) = conf.get(NPM_REGISTRY) {
        out.extend(db.keys().map(|name| (name.clone(), Source::Npm)));
    }
    if let Some(Value::Object(db)) = conf.get(TAR_REGISTRY) {
        for (name, entry) in db {
            let url = entry.get("install_url").and_then(Value::as_str);
            let source = Source::Tarball(url.unwrap_or_default().to_string());
            out.push((name.clone(), source));
        }
    }
    out
}

/// Records `module` in its registry (replacing an entry of the other kind).
pub fn register(conf: &mut Value, module: &Installed, installed_at_ms: u64) {
    unregister(conf, module.name.as_str());
    let (registry, entry) = match &module.source {
        Source::Npm => (NPM_REGISTRY, json!({})),
        Source::Tarball(url) => (
            TAR_REGISTRY,
            json!({"source": "tarball", "install_url": url, "installed_at": installed_at_ms}),
        ),
    };
    object_at(conf, registry).insert(module.name.to_string(), entry);
}

/// Forgets `name` in both registries. Its config keys stay, as in PM2.
pub fn unregister(conf: &mut Value, name: &str) {
    for registry in [NPM_REGISTRY, TAR_REGISTRY] {
        if let Some(Value::Object(db)) = conf.get_mut(registry) {
            db.shift_remove(name);
        }
    }
}

/// Seeds a module's package.json `config` defaults: only keys not set yet.
pub fn seed_defaults(conf: &mut Value, name: &str, defaults: &Value) {
    let Value::Object(defaults) = defaults else {
        return;
    };
    let section = object_at(conf, name);
    for (k, v) in defaults {
        section.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// Why a `pm2 set`/`unset` key was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("Key {0:?} is not of the form <module>:<key>")]
    Malformed(String),
    #[error("Key {0:?} is not allowed (it names an object prototype)")]
    Forbidden(String),
    #[error("Key {0:?} is not allowed: the module registries change only by pm2 install and pm2 uninstall")]
    Registry(String),
    #[error("Key {key:?} does not start with a module name: {error}")]
    BadModule { key: String, error: NameError },
}

/// `app:key` or `app.key` (any depth) as its path of nested object keys. The
/// first part names the module (or app) and must be a valid module name.
pub fn key_path(key: &str) -> Result<Vec<&str>, KeyError> {
    let parts: Vec<&str> = key.split([':', '.']).collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(KeyError::Malformed(key.to_string()));
    }
    if parts
        .iter()
        .any(|p| matches!(*p, "__proto__" | "constructor" | "prototype"))
    {
        return Err(KeyError::Forbidden(key.to_string()));
    }
    section_of(key)?;
    Ok(parts)
}

/// The module (or app) a `pm2 set`/`unset`/`conf` key names: its first part,
/// a valid module name other than a registry's.
pub fn section_of(key: &str) -> Result<&str, KeyError> {
    let section = key.split([':', '.']).next().unwrap_or_default();
    if section == NPM_REGISTRY || section == TAR_REGISTRY {
        return Err(KeyError::Registry(key.to_string()));
    }
    ModuleName::parse(section).map_err(|error| KeyError::BadModule {
        key: key.to_string(),
        error,
    })?;
    Ok(section)
}

/// `pm2 set key value`: the value is stored as the string given, as PM2 does.
pub fn set(conf: &mut Value, key: &str, value: &str) -> Result<(), KeyError> {
    let path = key_path(key)?;
    let (last, parents) = path.split_last().expect("two parts at least");
    let mut node = conf;
    for p in parents {
        node = child_object(node, p);
    }
    as_object(node).insert(last.to_string(), Value::String(value.to_string()));
    Ok(())
}

/// `pm2 set key` with no value: the key's module (and parents) kept or
/// created, the key itself left without a value, as PM2 stores an undefined one.
pub fn clear(conf: &mut Value, key: &str) -> Result<(), KeyError> {
    let path = key_path(key)?;
    let (last, parents) = path.split_last().expect("two parts at least");
    let mut node = conf;
    for p in parents {
        node = child_object(node, p);
    }
    as_object(node).shift_remove(*last);
    Ok(())
}

/// `pm2 unset key`: removes it; `pm2 unset <module>` removes the whole section.
/// True when something was removed.
pub fn unset(conf: &mut Value, key: &str) -> bool {
    if section_of(key).is_err() {
        return false;
    }
    let path: Vec<&str> = key.split([':', '.']).collect();
    let (last, parents) = path.split_last().expect("split yields one part at least");
    let mut node = &mut *conf;
    for p in parents {
        match node.get_mut(*p) {
            Some(next) => node = next,
            None => return false,
        }
    }
    node.as_object_mut()
        .is_some_and(|o| o.shift_remove(*last).is_some())
}

/// `pm2 get key`: the value stored at it.
pub fn get<'a>(conf: &'a Value, key: &str) -> Option<&'a Value> {
    key.split([':', '.'])
        .try_fold(conf, |node, part| node.get(part))
}

/// `pm2 multiset "k1 v1 k2 v2"`: the pairs, in order.
pub fn multiset_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(format!(
            "multiset takes key value pairs (\"k1 v1 k2 v2\"), got {} word(s)",
            words.len()
        ));
    }
    Ok(words
        .chunks(2)
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect())
}

/// The sections `pm2 conf` shows: every object key but the registries.
pub fn sections(conf: &Value) -> Vec<(&String, &Map<String, Value>)> {
    conf.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != NPM_REGISTRY && *k != TAR_REGISTRY)
        .filter_map(|(k, v)| v.as_object().map(|o| (k, o)))
        .collect()
}

/// A value as `pm2 conf` prints it (strings bare, the rest as JSON).
pub fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads `module_conf.json`; a missing file is `{}`, a broken one an error
/// naming it (so nothing overwrites what the user may still repair).
pub fn read_conf(paths: &Paths) -> io::Result<Value> {
    match fs::read(&paths.module_conf) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(json!({})),
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) | Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a JSON object; fix or remove it",
                    paths.module_conf.display()
                ),
            )),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e),
    }
}

/// Changes `module_conf.json` under an exclusive lock: read, `change`, write
/// atomically (4-space indent, as PM2 writes it). Returns the new content.
pub fn update_conf<T>(
    paths: &Paths,
    change: impl FnOnce(&mut Value) -> T,
) -> io::Result<(Value, T)> {
    let lock_path = paths.home.join("module_conf.json.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut conf = read_conf(paths)?;
    let out = change(&mut conf);
    write_atomic(&paths.module_conf, pretty(&conf).as_bytes())?;
    drop(lock);
    Ok((conf, out))
}

/// JSON with PM2's 4-space indent.
fn pretty(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("a Value always serializes");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Why a folder is not a runnable module.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{}: no package.json ({})", .0.display(), .1)]
    NoPackageJson(PathBuf, io::Error),
    #[error("{}: package.json is not valid JSON ({})", .0.display(), .1)]
    BadPackageJson(PathBuf, serde_json::Error),
    #[error("{}: package.json has no name", .0.display())]
    NoName(PathBuf),
    #[error("{}: package.json: {}", .0.display(), .1)]
    BadName(PathBuf, NameError),
    #[error("{}: the module has nothing to run (no apps, pm2, bin or main in package.json, and no index.js)", .0.display())]
    NothingToRun(PathBuf),
}

/// A module's package.json, read.
#[derive(Debug, Clone)]
pub struct Package {
    pub dir: PathBuf,
    pub json: Value,
    name: ModuleName,
}

impl Package {
    pub fn read(dir: &Path) -> Result<Package, PackageError> {
        let file = dir.join("package.json");
        let bytes = crate::safe_fs::read_limited(&file, 4 << 20)
            .map_err(|e| PackageError::NoPackageJson(dir.to_path_buf(), e))?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| PackageError::BadPackageJson(dir.to_path_buf(), e))?;
        let Some(name) = json.get("name").and_then(Value::as_str) else {
            return Err(PackageError::NoName(dir.to_path_buf()));
        };
        let name =
            ModuleName::parse(name).map_err(|e| PackageError::BadName(dir.to_path_buf(), e))?;
        Ok(Package {
            dir: dir.to_path_buf(),
            json,
            name,
        })
    }

    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The package's name, valid as a module's folder name.
    pub fn module_name(&self) -> &ModuleName {
        &self.name
    }

    pub fn version(&self) -> Option<&str> {
        self.json.get("version").and_then(Value::as_str)
    }

    /// The `config` defaults (`{}` when none).
    pub fn config(&self) -> Value {
        match self.json.get("config") {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => json!({}),
        }
    }

    /// The apps the module runs, as start options: `apps` (or `pm2`), else the
    /// first `bin` entry, else `main` (else `index.js`). Each runs in the
    /// module's folder as a module (`pmx_module`), named after the package, or
    /// `<package>:<app>` when there are several apps or an app names itself
    /// otherwise.
    pub fn apps(&self) -> Result<Vec<Options>, PackageError> {
        let declared = match self.json.get("apps").or_else(|| self.json.get("pm2")) {
            Some(Value::Array(apps)) => apps.clone(),
            Some(app @ Value::Object(_)) => vec![app.clone()],
            _ => Vec::new(),
        };
        let mut apps: Vec<Options> = declared
            .into_iter()
            .filter_map(|a| match a {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect();
        if apps.is_empty() {
            let script = self
                .entry()
                .ok_or_else(|| PackageError::NothingToRun(self.dir.clone()))?;
            let mut app = Options::new();
            app.insert("script".into(), Value::String(script));
            apps.push(app);
        }
        let several = apps.len() > 1;
        let name = self.name().to_string();
        for app in &mut apps {
            if !app.contains_key("script") {
                let script = self
                    .entry()
                    .ok_or_else(|| PackageError::NothingToRun(self.dir.clone()))?;
                app.insert("script".into(), Value::String(script));
            }
            let own = app.get("name").and_then(Value::as_str).map(str::to_string);
            let full = match own {
                Some(own) if several || own != name => format!("{name}:{own}"),
                _ => name.clone(),
            };
            app.insert("name".into(), Value::String(full));
            app.insert(
                "cwd".into(),
                Value::String(self.dir.to_string_lossy().into_owned()),
            );
            app.insert("pmx_module".into(), Value::Bool(true));
        }
        Ok(apps)
    }

    /// The script package.json points at without `apps`: `bin`, then `main`.
    fn entry(&self) -> Option<String> {
        let bin = match self.json.get("bin") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(o)) => o.values().find_map(|v| v.as_str().map(str::to_string)),
            _ => None,
        };
        let main = self
            .json
            .get("main")
            .and_then(Value::as_str)
            .map(str::to_string);
        bin.or(main).or_else(|| {
            self.dir
                .join("index.js")
                .is_file()
                .then(|| "index.js".to_string())
        })
    }
}

/// The object at `conf[key]`, made one if it is missing or not an object.
fn object_at<'a>(conf: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    as_object(child_object(conf, key))
}

fn as_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("made an object above")
}

/// `node[key]` as an object (made one if missing or not an object).
fn child_object<'a>(node: &'a mut Value, key: &str) -> &'a mut Value {
    let slot = as_object(node)
        .entry(key.to_string())
        .or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot
}

#[cfg(test)]
mod tests;
