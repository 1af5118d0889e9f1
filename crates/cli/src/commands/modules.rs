//! The module commands: `install`, `uninstall`, `module:update`,
//! `module:generate`, `package`, `publish`, and the configuration ones,
//! `set`, `unset`, `get`, `conf`, `multiset`.

use super::{connect, Ctx, Failure, Outcome};
use crate::output::{self, blue, bold, green};
use pm2_client::modules::{self, InstallOptions};
use pm2_client::Paths;
use pm2_config::module_name::ModuleName;
use pm2_config::modules as conf;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn module_info(msg: &str) {
    output::line(&format!("{}{msg}", bold(&green("[PM2][Module] "))));
}

fn install_options(ctx: &Ctx, tarball: bool) -> InstallOptions {
    InstallOptions {
        tarball,
        cwd: ctx.cwd.clone(),
        client_env: ctx.env.clone(),
    }
}

/// `pm2 install <npm name[@version] | file.tgz | folder | .>`
pub async fn install(ctx: &Ctx, spec: &str, tarball: bool) -> Outcome {
    let client = connect(ctx, true).await?;
    let name = conf::canonical_name(spec);
    let opts = install_options(ctx, tarball);
    if spec.ends_with(".tgz") || spec.ends_with(".tar.gz") || tarball {
        module_info(&format!("Installing TAR module {spec}"));
    } else if !(spec == "." || Path::new(spec).is_dir()) {
        module_info(&format!("Installing NPM {name} module"));
        module_info(&format!(
            "Calling {} to install {spec} ...",
            bold(&output::red("[NPM]"))
        ));
    }
    let report = modules::install(&client, spec, &opts).await?;
    if report.development {
        module_info(&format!(
            "Module {} started in development mode: it restarts on every change of its files",
            report.name
        ));
    } else {
        module_info("Module downloaded");
        print_sections(
            &conf::read_conf(&client.paths).map_err(|e| e.to_string())?,
            Some(&report.name),
        );
        output::line("Modules configuration. Copy/Paste line to edit values.");
        module_info("Module successfully installed and launched");
        module_info("Checkout module options: `$ pm2 conf`");
    }
    super::show_table(&client, ctx).await
}

/// `pm2 module:update <name>`
pub async fn update(ctx: &Ctx, name: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    module_info(&format!("Updating module {name}"));
    let report = modules::update(&client, name, &install_options(ctx, false)).await?;
    module_info(&format!("Module {} updated", report.name));
    super::show_table(&client, ctx).await
}

/// `pm2 uninstall <name>|all|.`
pub async fn uninstall(ctx: &Ctx, spec: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    module_info(&format!("Uninstalling module {spec}"));
    for name in modules::uninstall(&client, spec, &ctx.cwd).await? {
        module_info(&format!("Module {name} uninstalled"));
    }
    super::show_table(&client, ctx).await
}

/// Starts every installed module that is not running (the API's `launchAll`).
pub async fn launch_all(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let failed = modules::launch_all(&client, &ctx.env).await;
    for (name, why) in &failed {
        output::error(&format!("Module {name} could not be started: {why}"));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Plain(format!(
            "{} module(s) could not be started",
            failed.len()
        )))
    }
}

/// `pm2 module:generate [name]`: a working sample module in `./<name>`,
/// from the template inside this package (no network).
pub fn generate(ctx: &Ctx, name: Option<&str>) -> Outcome {
    let Some(name) = name else {
        return Err(Failure::Error(
            "module:generate needs a module name: pm2 module:generate <name>".into(),
        ));
    };
    let name = ModuleName::parse(name).map_err(|e| Failure::Error(e.to_string()))?;
    if name.scope().is_some() {
        return Err(Failure::Error(format!(
            "module:generate makes a module in ./<name>: give it a name without a scope, not {name}"
        )));
    }
    let name = name.as_str();
    let dir = ctx.cwd.join(name);
    if dir.exists() {
        return Err(Failure::Error(format!("{} already exists", dir.display())));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (file, text) in TEMPLATE {
        let path = dir.join(file);
        std::fs::write(&path, text.replace("{{name}}", name))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    module_info(&format!(
        "Module sample created in folder: {}",
        dir.display()
    ));
    output::line("");
    output::line("Start module in development mode:");
    output::line(&format!("$ cd {name}/"));
    output::line("$ pm2 install . ");
    output::line("");
    output::line("Module Log: ");
    output::line(&format!("$ pm2 logs {name}"));
    output::line("");
    output::line("Uninstall module: ");
    output::line("$ pm2 uninstall .");
    output::line("");
    output::line("Force restart: ");
    output::line(&format!("$ pm2 restart {name}"));
    Ok(())
}

const TEMPLATE: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../../templates/module/package.json"),
    ),
    ("index.js", include_str!("../../templates/module/index.js")),
    (
        "init_module.js",
        include_str!("../../templates/module/init_module.js"),
    ),
    (
        "README.md",
        include_str!("../../templates/module/README.md"),
    ),
];

/// `pm2 package [dir]`: `<name>-<version>.tgz` in the current folder.
pub fn package(ctx: &Ctx, dir: Option<&str>) -> Outcome {
    let dir = dir.map_or_else(|| ctx.cwd.clone(), |d| ctx.cwd.join(d));
    let out = modules::package(&dir, &ctx.cwd)?;
    module_info(&format!("Module packaged in {}", out.display()));
    output::line(&format!("Install it with: $ pm2 install {}", out.display()));
    Ok(())
}

/// `pm2 publish [dir] [--dry-run]`: bumps the patch version in package.json,
/// then `npm publish`; the previous version is put back if npm fails.
pub fn publish(ctx: &Ctx, dir: Option<&str>, dry_run: bool) -> Outcome {
    let dir: PathBuf = dir.map_or_else(|| ctx.cwd.clone(), |d| ctx.cwd.join(d));
    let file = dir.join("package.json");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let old = json["version"].as_str().unwrap_or("0.0.0").to_string();
    let new = bump_patch(&old).ok_or_else(|| format!("version {old:?} is not x.y.z"))?;
    json["version"] = Value::String(new.clone());
    let bumped = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
    pm2_config::write_atomic(&file, bumped.as_bytes()).map_err(|e| e.to_string())?;
    module_info(&format!(
        "Publishing {} {old} -> {new}",
        json["name"].as_str().unwrap_or("")
    ));
    let mut npm = std::process::Command::new("npm");
    npm.arg("publish").current_dir(&dir);
    if dry_run {
        npm.arg("--dry-run");
    }
    let status = npm.status().map_err(|e| format!("cannot run npm: {e}"))?;
    if !status.success() {
        pm2_config::write_atomic(&file, text.as_bytes()).map_err(|e| e.to_string())?;
        return Err(Failure::Error(format!(
            "npm publish failed ({status}); version {old} kept"
        )));
    }
    module_info(&format!("Module published as version {new}"));
    Ok(())
}

fn bump_patch(v: &str) -> Option<String> {
    let mut parts = v.splitn(3, '.');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    let patch: u64 = c.split(['-', '+']).next()?.parse().ok()?;
    a.parse::<u64>().ok()?;
    b.parse::<u64>().ok()?;
    Some(format!("{a}.{b}.{}", patch + 1))
}

/// `pm2 set <app>:<key> <value>` and `pm2 multiset "k1 v1 k2 v2"`.
pub async fn set(ctx: &Ctx, pairs: Vec<(String, String)>) -> Outcome {
    let client = connect(ctx, true).await?;
    let restarted = modules::set(&client, &pairs, &ctx.env).await?;
    for app in &restarted {
        ctx.info(&format!("Module {app} restarted"));
    }
    ctx.info("Setting changed");
    let conf = conf::read_conf(&client.paths).map_err(|e| e.to_string())?;
    for app in dedup_apps(pairs.iter().map(|(k, _)| k.as_str())) {
        print_sections(&conf, Some(&app));
    }
    Ok(())
}

/// `pm2 set [key [value]]`: without a value the key is cleared (a key with
/// no module changes nothing, as in PM2); without a key, module_conf.json is
/// opened in `$EDITOR`.
pub async fn set_command(ctx: &Ctx, key: Option<String>, value: Option<String>) -> Outcome {
    match (key, value) {
        (Some(key), Some(value)) => set(ctx, vec![(key, value)]).await,
        (Some(key), None) if !key.contains([':', '.']) => Ok(()),
        (Some(key), None) => {
            let client = connect(ctx, true).await?;
            for app in modules::clear(&client, &key, &ctx.env).await? {
                ctx.info(&format!("Module {app} restarted"));
            }
            ctx.info("Setting changed");
            let conf = conf::read_conf(&client.paths).map_err(|e| e.to_string())?;
            print_sections(&conf, key.split([':', '.']).next());
            Ok(())
        }
        (None, _) => edit_conf(ctx),
    }
}

/// Opens module_conf.json in `$VISUAL`, else `$EDITOR`, else vim (a
/// command line of words, the file added last), as PM2 does.
fn edit_conf(ctx: &Ctx) -> Outcome {
    let file = Paths::from_env().module_conf;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|k| ctx.env.get(*k).filter(|e| !e.trim().is_empty()))
        .map_or("vim", String::as_str);
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vim");
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&file)
        .status()
        .map_err(|e| format!("Cannot run the editor {editor}: {e}"))?;
    output::line(&bold(&format!(
        "Module configuration ({}) edited.",
        file.display()
    )));
    output::line(&bold(
        "To take changes into account, please restart module related.",
    ));
    if !status.success() {
        return Err(Failure::Error(format!("{editor} exited with {status}")));
    }
    Ok(())
}

pub fn multiset_pairs(text: &str) -> Result<Vec<(String, String)>, Failure> {
    conf::multiset_pairs(text).map_err(Failure::Error)
}

/// `pm2 unset <app>:<key>`
pub async fn unset(ctx: &Ctx, key: &str) -> Outcome {
    let client = connect(ctx, true).await?;
    let restarted = modules::unset(&client, key, &ctx.env).await?;
    for app in &restarted {
        ctx.info(&format!("Module {app} restarted"));
    }
    let conf = conf::read_conf(&client.paths).map_err(|e| e.to_string())?;
    print_sections(&conf, key.split([':', '.']).next());
    Ok(())
}

/// `pm2 get [key]`: one value, or every section as `pm2 conf` shows them.
pub fn get(key: Option<&str>) -> Outcome {
    let conf = conf::read_conf(&Paths::from_env()).map_err(|e| e.to_string())?;
    let Some(key) = key else {
        print_sections(&conf, None);
        return Ok(());
    };
    let (module, sub) = key.split_once([':', '.']).unwrap_or((key, ""));
    match conf::get(&conf, key) {
        Some(v) => {
            output::line(&format!(
                "Value for module {} key {}: {}",
                blue(module),
                blue(sub),
                bold(&green(&conf::display_value(v)))
            ));
            Ok(())
        }
        None => Err(Failure::Error(format!("Key {key} is not set"))),
    }
}

/// `pm2 conf [module]`, and `pm2 conf <key> <value>` (a set).
pub async fn conf_command(ctx: &Ctx, key: Option<&str>, value: Option<&str>) -> Outcome {
    match (key, value) {
        (Some(k), Some(v)) => set(ctx, vec![(k.to_string(), v.to_string())]).await,
        (Some(k), None) if k.contains([':', '.']) => get(Some(k)),
        (k, _) => {
            if let Some(k) = k {
                ModuleName::parse(k).map_err(|e| Failure::Error(e.to_string()))?;
            }
            let conf = conf::read_conf(&Paths::from_env()).map_err(|e| e.to_string())?;
            print_sections(&conf, k);
            Ok(())
        }
    }
}

/// `Module: <name>` then one `$ pm2 set <name>:<key> <value>` line a key.
fn print_sections(conf: &Value, only: Option<&str>) {
    for (name, section) in conf::sections(conf) {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        output::line(&format!("{}{}", bold("Module: "), bold(&blue(name))));
        for (k, v) in section {
            output::line(&format!("$ pm2 set {name}:{k} {}", conf::display_value(v)));
        }
    }
}

fn dedup_apps<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut apps: Vec<String> = Vec::new();
    for k in keys {
        let app = k.split([':', '.']).next().unwrap_or(k).to_string();
        if !apps.contains(&app) {
            apps.push(app);
        }
    }
    apps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_bumps_the_patch() {
        assert_eq!(bump_patch("1.2.3").as_deref(), Some("1.2.4"));
        assert_eq!(bump_patch("0.1.9-beta.1").as_deref(), Some("0.1.10"));
        assert_eq!(bump_patch("x"), None);
    }
}
