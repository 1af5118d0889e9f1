//! PM2 modules: npm packages (or tarballs, or a folder in development) that
//! run as managed processes marked `pmx_module`, configured with `pm2 set`.
//!
//! Installing never disturbs the running version until the new one is ready:
//! npm installs into a staging folder beside the module's, and only then is
//! the old process deleted and the folders swapped; if the new version does
//! not start, the previous one is put back and started again.
//!
//! A module's name becomes its folder, so it is checked ([`ModuleName`])
//! before any path is built from it; a tarball is unpacked by
//! [`module_tarball`], which never writes outside its folder.

use crate::error::{Error, Result};
use crate::module_tarball;
use crate::ops::{Action, ActionOptions, Client, StartOptions};
use crate::target;
use pm2_config::module_name::ModuleName;
use pm2_config::modules::{self as conf, Installed, Package, Source};
use pm2_config::{Options, Paths};
use serde_json::Value;
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
    pub client_env: pm2_config::ClientEnv,
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
            let name = valid_name(&conf::canonical_name(spec))?;
            let module = Installed {
                name,
                source: Source::Npm,
            };
            let staging = side_dir(&client.paths, &module.name.flat(), "staging")?;
            let registry = pm2_setting(&client.paths, "registry");
            npm_install(spec, &staging, registry.as_deref(), opts).await?;
            put_in_place(client, module, staging, opts).await
        }
        Kind::Tarball(file) => {
            let unpacked = side_dir(
                &client.paths,
                &format!("tarball-{}", std::process::id()),
                "staging",
            )?;
            let staged = module_tarball::unpack(&file, &unpacked)
                .and_then(|()| Package::read(&unpacked).map_err(|e| Error::Usage(e.to_string())))
                .and_then(|package| {
                    let name = package.module_name().clone();
                    let staging = side_dir(&client.paths, &name.flat(), "staging")?;
                    fs::rename(&unpacked, &staging)?;
                    Ok((name, staging))
                });
            let (name, staging) = match staged {
                Ok(staged) => staged,
                Err(e) => {
                    let _ = fs::remove_dir_all(&unpacked);
                    return Err(e);
                }
            };
            let url = file.to_string_lossy().into_owned();
            let module = Installed {
                name,
                source: Source::Tarball(url),
            };
            put_in_place(client, module, staging, opts).await
        }
    }
}

/// `pm2 module:update <name>`: installs it again from where it came from.
pub async fn update(client: &Client, name: &str, opts: &InstallOptions) -> Result<InstallReport> {
    valid_name(name)?;
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
    let modules: Vec<&Installed> = if spec == "all" {
        registered.iter().collect()
    } else {
        let name = valid_name(spec)?;
        match registered.iter().find(|m| m.name == name) {
            Some(m) => vec![m],
            None => return Err(Error::Usage(format!("Module {spec} is not installed"))),
        }
    };
    for module in &modules {
        let name = module.name.as_str();
        conf::update_conf(&client.paths, |c| conf::unregister(c, name))?;
        delete_processes(client, name).await?;
        let dir = module.dir(&client.paths);
        if fs::symlink_metadata(&dir).is_ok() {
            fs::remove_dir_all(&dir)?;
        }
        remove_empty_scope(&client.paths, &module.name);
    }
    Ok(modules.iter().map(|m| m.name.to_string()).collect())
}

/// `name` checked as a module name, the error naming the problem.
fn valid_name(name: &str) -> Result<ModuleName> {
    ModuleName::parse(name).map_err(|e| Error::Usage(e.to_string()))
}

/// `modules/@scope`, once its last module is gone (as npm leaves no empty
/// scope folder in node_modules).
fn remove_empty_scope(paths: &Paths, name: &ModuleName) {
    if let Some(scope) = name.scope() {
        let _ = fs::remove_dir(paths.modules_dir.join(format!("@{scope}")));
    }
}

/// Starts every registered module that is not running: what a new daemon
/// needs, so modules survive `pm2 kill`, `pm2 update` and resurrect.
/// Returns the modules that could not be started, with why.
pub async fn launch_all(
    client: &Client,
    client_env: &pm2_config::ClientEnv,
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
    let mut failed: Vec<(String, String)> = conf::refused_entries(&registered)
        .into_iter()
        .map(|e| (e.name.clone(), e.to_string()))
        .collect();
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
            failed.push((module.name.to_string(), e.to_string()));
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
    client_env: &pm2_config::ClientEnv,
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
    client_env: &pm2_config::ClientEnv,
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
    client_env: &pm2_config::ClientEnv,
) -> Result<Vec<String>> {
    conf::section_of(key).map_err(|e| Error::Usage(e.to_string()))?;
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
    client_env: &pm2_config::ClientEnv,
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
    client_env: &pm2_config::ClientEnv,
) -> Result<Vec<Value>> {
    let start = StartOptions {
        cwd: package.dir.clone(),
        client_env: client_env.clone(),
        force: true,
        ..StartOptions::default()
    };
    client.start(apps, &start).await
}

/// `modules/.<name>.<what>`, a folder beside the modules', not there yet.
fn side_dir(paths: &Paths, name: &str, what: &str) -> Result<PathBuf> {
    fs::create_dir_all(&paths.modules_dir)?;
    let dir = paths.modules_dir.join(format!(".{name}.{what}"));
    if fs::symlink_metadata(&dir).is_ok() {
        fs::remove_dir_all(&dir)?;
    }
    Ok(dir)
}

/// Moves a staged module into `modules/<name>`, registers it, seeds its
/// config defaults and starts it; puts the previous version back on failure.
/// Whatever happens, the staging folder is gone afterwards.
async fn put_in_place(
    client: &Client,
    module: Installed,
    staging: PathBuf,
    opts: &InstallOptions,
) -> Result<InstallReport> {
    let paths = &client.paths;
    let name = module.name.as_str();
    let staged_package =
        Package::read(&module.package_dir_in(&staging)).and_then(|p| p.apps().map(|_| p));
    if let Err(e) = staged_package {
        let _ = fs::remove_dir_all(&staging);
        return Err(Error::Usage(format!("{name}: {e}")));
    }
    let live = module.dir(paths);
    let swapped = async {
        let previous = side_dir(paths, &module.name.flat(), "previous")?;
        delete_processes(client, name).await?;
        swap_in(&staging, &live, &previous).map(|had| had.then_some(previous))
    }
    .await;
    let previous = match swapped {
        Ok(previous) => previous,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            remove_empty_scope(paths, &module.name);
            return Err(e);
        }
    };
    let started = async {
        let package =
            Package::read(&module.package_dir(paths)).map_err(|e| Error::Usage(e.to_string()))?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        conf::update_conf(paths, |c| {
            conf::register(c, &module, now_ms);
            conf::seed_defaults(c, name, &package.config());
        })?;
        let apps = package.apps().map_err(|e| Error::Usage(e.to_string()))?;
        start_apps(client, &package, apps, &opts.client_env).await
    }
    .await;
    match started {
        Ok(processes) => {
            if let Some(previous) = previous {
                let _ = fs::remove_dir_all(previous);
            }
            Ok(InstallReport {
                name: module.name.to_string(),
                development: false,
                processes,
            })
        }
        Err(e) => {
            // Back to the previous version, running; or no trace of this one.
            delete_processes(client, name).await?;
            fs::remove_dir_all(&live)?;
            match previous {
                Some(previous) => {
                    fs::rename(&previous, &live)?;
                    if let Ok(old) = Package::read(&module.package_dir(paths)) {
                        if let Ok(apps) = old.apps() {
                            start_apps(client, &old, apps, &opts.client_env).await?;
                        }
                    }
                }
                None => {
                    conf::update_conf(paths, |c| conf::unregister(c, name))?;
                    remove_empty_scope(paths, &module.name);
                }
            }
            Err(e)
        }
    }
}

/// Puts `staging` at `live`, the module there before (if any) moved to
/// `previous`; on failure everything is as it was. True when there was one.
fn swap_in(staging: &Path, live: &Path, previous: &Path) -> Result<bool> {
    let had_previous = fs::symlink_metadata(live).is_ok();
    if had_previous {
        fs::rename(live, previous)?;
    } else if let Some(parent) = live.parent() {
        // A scoped module's `modules/@scope`.
        fs::create_dir_all(parent)?;
    }
    if let Err(e) = fs::rename(staging, live) {
        if had_previous {
            let _ = fs::rename(previous, live);
        }
        return Err(e.into());
    }
    Ok(had_previous)
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

/// `pm2 package [dir]`: `<name>-<version>.tgz` in `out_dir`, the module's
/// files under one `module/` folder (`.git` and `node_modules` left out).
pub fn package(dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let pkg = Package::read(dir).map_err(|e| Error::Usage(e.to_string()))?;
    pkg.apps().map_err(|e| Error::Usage(e.to_string()))?;
    let out = out_dir.join(tarball_file_name(&pkg)?);
    let file = fs::File::create(&out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.follow_symlinks(false);
    append_tree(&mut builder, dir, Path::new("module"), &out)?;
    builder.into_inner()?.finish()?;
    Ok(out)
}

/// `<name>-<version>.tgz`, as npm names it: `@scope/name` gives
/// `scope-name`; a version that is not one is refused (it names a file).
pub fn tarball_file_name(pkg: &Package) -> Result<String> {
    let version = pkg.version().unwrap_or("0.0.0");
    let is_version = !version.is_empty()
        && !version.starts_with('.')
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c));
    if !is_version {
        return Err(Error::Usage(format!(
            "{}: package.json version {version:?} is not a version",
            pkg.dir.display()
        )));
    }
    let name = pkg.name().trim_start_matches('@').replace('/', "-");
    Ok(format!("{name}-{version}.tgz"))
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

#[cfg(test)]
mod tests;
