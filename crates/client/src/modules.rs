//! PM2 modules: npm packages (or tarballs, or a folder in development) that
//! run as managed processes marked `pmx_module`, configured with `pm2 set`.
//!
//! Installing never disturbs the running version until the new one is ready:
//! npm installs into a staging folder beside the module's, and only then is
//! the old process deleted and the folders swapped; if the new version does
//! not start, the previous one is put back and started again.

use crate::error::{Error, Result};
use crate::ops::{Action, ActionOptions, Client, StartOptions};
use crate::target;
use pm2_config::modules::{self as conf, Installed, Package, Source};
use pm2_config::{Options, Paths};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What the caller of an install or update knows.
#[derive(Clone, Default)]
pub struct InstallOptions {
    /// `--tarball`: the spec is a tarball even without a `.tgz` suffix.
    pub tarball: bool,
    /// The caller's folder (`pm2 install .`, relative tarball paths).
    pub cwd: PathBuf,
    /// The environment npm and the module's processes get.
    pub client_env: BTreeMap<String, String>,
}

/// What an install did.
#[derive(Debug)]
pub struct InstallReport {
    pub name: String,
    /// Installed from a folder in development mode: watched, not registered.
    pub development: bool,
    pub processes: Vec<Value>,
}

/// How a spec is installed.
enum Kind {
    Npm,
    Tarball(PathBuf),
    Folder(PathBuf),
}

fn kind_of(spec: &str, opts: &InstallOptions) -> Result<Kind> {
    let local = opts.cwd.join(spec);
    let is_tar = opts.tarball || spec.ends_with(".tgz") || spec.ends_with(".tar.gz");
    if is_tar {
        if spec.contains("://") {
            return Err(Error::Usage(format!(
                "Installing a tarball from a URL is not supported by this pm2: download {spec} and install the file"
            )));
        }
        if !local.is_file() {
            return Err(Error::Usage(format!(
                "Tarball not found: {}",
                local.display()
            )));
        }
        return Ok(Kind::Tarball(local));
    }
    let looks_local =
        spec == "." || spec.starts_with("./") || spec.starts_with('/') || spec.starts_with("../");
    if looks_local || (local.is_dir() && local.join("package.json").is_file()) {
        if !local.is_dir() {
            return Err(Error::Usage(format!(
                "Module folder not found: {}",
                local.display()
            )));
        }
        return Ok(Kind::Folder(local));
    }
    Ok(Kind::Npm)
}

/// `pm2 install <spec>`: an npm package (`name[@version]`), a tarball, or a
/// folder (development mode: started with watch, not registered).
pub async fn install(client: &Client, spec: &str, opts: &InstallOptions) -> Result<InstallReport> {
    match kind_of(spec, opts)? {
        Kind::Folder(dir) => install_folder(client, &dir, opts).await,
        Kind::Npm => {
            let name = conf::canonical_name(spec);
            let module = Installed {
                name,
                source: Source::Npm,
            };
            let staging = staging_dir(&client.paths, &module.name);
            let registry = pm2_setting(&client.paths, "registry");
            npm_install(spec, &staging, registry.as_deref(), opts).await?;
            put_in_place(client, module, staging, opts).await
        }
        Kind::Tarball(file) => {
            let staging = staging_dir(&client.paths, ".tarball");
            let extracted = extract_tarball(&file, &staging)
                .and_then(|()| Package::read(&staging).map_err(|e| Error::Usage(e.to_string())));
            let package = match extracted {
                Ok(p) => p,
                Err(e) => {
                    let _ = fs::remove_dir_all(&staging);
                    return Err(e);
                }
            };
            let name = package.name().to_string();
            let final_staging = staging_dir(&client.paths, &name);
            let _ = fs::remove_dir_all(&final_staging);
            fs::rename(&staging, &final_staging)?;
            let url = file.to_string_lossy().into_owned();
            let module = Installed {
                name,
                source: Source::Tarball(url),
            };
            put_in_place(client, module, final_staging, opts).await
        }
    }
}

/// `pm2 module:update <name>`: installs it again from where it came from.
pub async fn update(client: &Client, name: &str, opts: &InstallOptions) -> Result<InstallReport> {
    let registered = conf::read_conf(&client.paths)?;
    let module = conf::installed(&registered)
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| Error::Usage(format!("Module {name} is not installed")))?;
    match module.source {
        Source::Npm => install(client, &format!("{name}@latest"), opts).await,
        Source::Tarball(url) => {
            let opts = InstallOptions {
                tarball: true,
                ..opts.clone()
            };
            install(client, &url, &opts).await
        }
    }
}

/// `pm2 uninstall <name>|all|.`: deletes the module's processes, forgets it
/// and removes its folder (its config keys stay, as in PM2). Returns the names.
pub async fn uninstall(client: &Client, spec: &str, cwd: &Path) -> Result<Vec<String>> {
    if spec == "." || spec.starts_with("./") || spec.starts_with('/') {
        let dir = cwd.join(spec);
        let package = Package::read(&dir).map_err(|e| Error::Usage(e.to_string()))?;
        let name = package.name().to_string();
        if delete_processes(client, &name).await? == 0 {
            return Err(Error::Usage(format!("Module {name} is not running")));
        }
        return Ok(vec![name]);
    }
    let registered = conf::installed(&conf::read_conf(&client.paths)?);
    let names: Vec<String> = if spec == "all" {
        registered.iter().map(|m| m.name.clone()).collect()
    } else if registered.iter().any(|m| m.name == spec) {
        vec![spec.to_string()]
    } else {
        return Err(Error::Usage(format!("Module {spec} is not installed")));
    };
    for name in &names {
        conf::update_conf(&client.paths, |c| conf::unregister(c, name))?;
        delete_processes(client, name).await?;
        let dir = client.paths.modules_dir.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
    }
    Ok(names)
}

/// Starts every registered module that is not running: what a new daemon
/// needs, so modules survive `pm2 kill`, `pm2 update` and resurrect.
/// Returns the modules that could not be started, with why.
pub async fn launch_all(
    client: &Client,
    client_env: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let Ok(registered) = conf::read_conf(&client.paths) else {
        return Vec::new();
    };
    let running: Vec<String> = client
        .list()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut failed = Vec::new();
    for module in conf::installed(&registered) {
        let started = async {
            let package = Package::read(&module.package_dir(&client.paths))
                .map_err(|e| Error::Usage(e.to_string()))?;
            let apps: Vec<Options> = package
                .apps()
                .map_err(|e| Error::Usage(e.to_string()))?
                .into_iter()
                .filter(|a| {
                    !running
                        .iter()
                        .any(|r| Some(r.as_str()) == a["name"].as_str())
                })
                .collect();
            if !apps.is_empty() {
                start_apps(client, &package, apps, client_env).await?;
            }
            Ok::<(), Error>(())
        };
        if let Err(e) = started.await {
            failed.push((module.name.clone(), e.to_string()));
        }
    }
    failed
}

/// `pm2 set <app>:<key> <value>` (and `multiset`): stores each pair, then
/// restarts the processes of each app concerned so they get the new values.
/// Returns the apps restarted.
pub async fn set(
    client: &Client,
    pairs: &[(String, String)],
    client_env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    for (key, _) in pairs {
        conf::key_path(key).map_err(|e| Error::Usage(e.to_string()))?;
    }
    conf::update_conf(&client.paths, |c| {
        pairs.iter().try_for_each(|(k, v)| conf::set(c, k, v))
    })?
    .1
    .map_err(|e| Error::Usage(e.to_string()))?;
    let mut apps: Vec<String> = pairs
        .iter()
        .filter_map(|(k, _)| conf::key_path(k).ok().map(|p| p[0].to_string()))
        .collect();
    apps.dedup();
    restart_apps(client, &apps, client_env).await
}

/// `pm2 set <app>:<key>` with no value (see [`conf::clear`]), then restarts
/// the app's processes. Returns the apps restarted.
pub async fn clear(
    client: &Client,
    key: &str,
    client_env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let path = conf::key_path(key).map_err(|e| Error::Usage(e.to_string()))?;
    let app = path[0].to_string();
    conf::update_conf(&client.paths, |c| conf::clear(c, key))?
        .1
        .map_err(|e| Error::Usage(e.to_string()))?;
    restart_apps(client, &[app], client_env).await
}

/// `pm2 unset <app>:<key>` (or `<app>` for the whole section), then restarts
/// the app's processes. Returns the apps restarted.
pub async fn unset(
    client: &Client,
    key: &str,
    client_env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    // A key (or module) not set is no failure, as in PM2: scripts unset a
    // module's section before installing it.
    let removed = conf::update_conf(&client.paths, |c| conf::unset(c, key))?.1;
    if !removed {
        return Ok(Vec::new());
    }
    let app = key.split([':', '.']).next().unwrap_or_default().to_string();
    restart_apps(client, &[app], client_env).await
}

/// Restarts the processes named after each app (or `<app>:<sub-app>`), with
/// their env refreshed from module_conf.json.
async fn restart_apps(
    client: &Client,
    apps: &[String],
    client_env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let list = client.list().await?;
    let mut restarted = Vec::new();
    for app in apps {
        let ids = ids_of(&list, app);
        if ids.is_empty() {
            continue;
        }
        let opts = ActionOptions {
            update_env: true,
            client_env: client_env.clone(),
            ..ActionOptions::default()
        };
        client
            .act_on_ids(Action::Restart, &ids, &list, &opts)
            .await?;
        restarted.push(app.clone());
    }
    Ok(restarted)
}

/// The `pm2:<key>` setting (`pm2 set pm2:registry …`).
pub fn pm2_setting(paths: &Paths, key: &str) -> Option<String> {
    let c = conf::read_conf(paths).ok()?;
    c.get("pm2")?.get(key).map(conf::display_value)
}

/// Ids of the processes of module or app `name`: `name` and `name:<app>`.
fn ids_of(list: &[Value], name: &str) -> Vec<u64> {
    let prefix = format!("{name}:");
    list.iter()
        .filter(|p| {
            p.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n == name || n.starts_with(&prefix))
        })
        .filter_map(target::pm_id)
        .collect()
}

async fn delete_processes(client: &Client, name: &str) -> Result<usize> {
    let list = client.list().await?;
    let ids = ids_of(&list, name);
    if !ids.is_empty() {
        client
            .act_on_ids(Action::Delete, &ids, &list, &ActionOptions::default())
            .await?;
    }
    Ok(ids.len())
}

async fn install_folder(
    client: &Client,
    dir: &Path,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    let package = Package::read(dir).map_err(|e| Error::Usage(e.to_string()))?;
    let mut apps = package.apps().map_err(|e| Error::Usage(e.to_string()))?;
    for app in &mut apps {
        app.insert("watch".into(), Value::Bool(true));
    }
    let name = package.name().to_string();
    delete_processes(client, &name).await?;
    let processes = start_apps(client, &package, apps, &opts.client_env).await?;
    Ok(InstallReport {
        name,
        development: true,
        processes,
    })
}

async fn start_apps(
    client: &Client,
    package: &Package,
    apps: Vec<Options>,
    client_env: &BTreeMap<String, String>,
) -> Result<Vec<Value>> {
    let start = StartOptions {
        cwd: package.dir.clone(),
        client_env: client_env.clone(),
        force: true,
        ..StartOptions::default()
    };
    client.start(apps, &start).await
}

/// `modules/.<name>.staging`, emptied.
fn staging_dir(paths: &Paths, name: &str) -> PathBuf {
    let dir = paths.modules_dir.join(format!(".{name}.staging"));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Moves a staged module into `modules/<name>`, registers it, seeds its
/// config defaults and starts it; puts the previous version back on failure.
async fn put_in_place(
    client: &Client,
    module: Installed,
    staging: PathBuf,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    let paths = &client.paths;
    let live = paths.modules_dir.join(&module.name);
    let previous = paths.modules_dir.join(format!(".{}.previous", module.name));
    let staged_package =
        Package::read(&module.package_dir_in(&staging)).and_then(|p| p.apps().map(|_| p));
    if let Err(e) = staged_package {
        let _ = fs::remove_dir_all(&staging);
        return Err(Error::Usage(format!("{}: {e}", module.name)));
    }
    delete_processes(client, &module.name).await?;
    let _ = fs::remove_dir_all(&previous);
    let had_previous = live.exists();
    if had_previous {
        fs::rename(&live, &previous)?;
    }
    fs::rename(&staging, &live)?;
    let package =
        Package::read(&module.package_dir(paths)).map_err(|e| Error::Usage(e.to_string()))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    conf::update_conf(paths, |c| {
        conf::register(c, &module, now_ms);
        conf::seed_defaults(c, &module.name, &package.config());
    })?;
    let apps = package.apps().map_err(|e| Error::Usage(e.to_string()))?;
    match start_apps(client, &package, apps, &opts.client_env).await {
        Ok(processes) => {
            let _ = fs::remove_dir_all(&previous);
            Ok(InstallReport {
                name: module.name,
                development: false,
                processes,
            })
        }
        Err(e) => {
            // Back to the previous version, running; or no trace of this one.
            delete_processes(client, &module.name).await?;
            fs::remove_dir_all(&live)?;
            if had_previous {
                fs::rename(&previous, &live)?;
                if let Ok(old) = Package::read(&module.package_dir(paths)) {
                    if let Ok(apps) = old.apps() {
                        start_apps(client, &old, apps, &opts.client_env).await?;
                    }
                }
            } else {
                conf::update_conf(paths, |c| conf::unregister(c, &module.name))?;
            }
            Err(e)
        }
    }
}

/// `npm install <spec> --prefix <dir>`, npm's output on ours.
async fn npm_install(
    spec: &str,
    dir: &Path,
    registry: Option<&str>,
    opts: &InstallOptions,
) -> Result<()> {
    fs::create_dir_all(dir)?;
    let mut cmd = tokio::process::Command::new("npm");
    cmd.arg("install")
        .arg(spec)
        .arg("--loglevel=error")
        .arg("--no-audit")
        .arg("--no-fund");
    cmd.arg("--prefix").arg(dir);
    if let Some(registry) = registry {
        cmd.arg("--registry").arg(registry);
    }
    cmd.env_clear().envs(&opts.client_env).current_dir(dir);
    // npm's progress goes where the user sees it, never on a data stdout.
    cmd.stdout(std::process::Stdio::inherit());
    let status = cmd.status().await.map_err(|e| {
        let _ = fs::remove_dir_all(dir);
        Error::Usage(format!("Cannot run npm to install {spec}: {e}"))
    })?;
    if !status.success() {
        let _ = fs::remove_dir_all(dir);
        return Err(Error::Usage(format!(
            "npm failed to install {spec} ({status}); nothing was changed"
        )));
    }
    Ok(())
}

/// Extracts a gzipped tarball into `dir`, dropping its single top folder
/// (`module/` for tarballs from `pm2 package`, `package/` from `npm pack`).
fn extract_tarball(file: &Path, dir: &Path) -> Result<()> {
    let bad =
        |e: std::io::Error| Error::Usage(format!("{} is not a readable .tgz: {e}", file.display()));
    fs::create_dir_all(dir)?;
    let gz = flate2::read::GzDecoder::new(fs::File::open(file)?);
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let inner: PathBuf = path.components().skip(1).collect();
        if inner.as_os_str().is_empty() {
            continue;
        }
        // Nothing may land outside `dir`: no `..`, no absolute path.
        if inner
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::Usage(format!(
                "{}: unsafe path {}",
                file.display(),
                path.display()
            )));
        }
        let target = dir.join(&inner);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        entry.unpack(&target).map_err(bad)?;
    }
    Ok(())
}

/// `pm2 package [dir]`: `<name>-<version>.tgz` in `out_dir`, the module's
/// files under one `module/` folder (`.git` and `node_modules` left out).
pub fn package(dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let pkg = Package::read(dir).map_err(|e| Error::Usage(e.to_string()))?;
    pkg.apps().map_err(|e| Error::Usage(e.to_string()))?;
    let out = out_dir.join(format!(
        "{}-{}.tgz",
        pkg.name(),
        pkg.version().unwrap_or("0.0.0")
    ));
    let file = fs::File::create(&out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.follow_symlinks(false);
    append_tree(&mut builder, dir, Path::new("module"), &out)?;
    builder.into_inner()?.finish()?;
    Ok(out)
}

fn append_tree<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    inside: &Path,
    skip: &Path,
) -> Result<()> {
    b.append_dir(inside, dir)?;
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        if name == ".git" || name == "node_modules" || entry.path() == skip {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            append_tree(b, &path, &inside.join(&name), skip)?;
        } else {
            b.append_path_with_name(&path, inside.join(&name))?;
        }
    }
    Ok(())
}
