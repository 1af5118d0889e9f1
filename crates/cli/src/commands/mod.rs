//! The commands, grouped by area, and what they share: the caller's context,
//! connecting to (or starting) the daemon, failures and the table shown after
//! most actions.

pub mod actions;
mod attach;
pub mod daemon;
mod deploy;
mod env_hint;
mod examples;
mod foreground;
pub mod info;
pub mod logs;
pub mod modules;
mod monit;
pub mod start;
mod startup;
mod trigger;
pub mod web;

use crate::args::{Command, Flags};
use crate::js_text;
use crate::listing;
use crate::output::{self, Channel};
use pm2_client::{launcher, Client, ConnectOptions, Paths};
use serde_json::Value;
use std::path::PathBuf;

/// What every command knows about its caller.
pub struct Ctx {
    pub flags: Flags,
    /// The caller's environment: the base of new apps' env and of a new daemon's.
    pub env: pm2_config::ClientEnv,
    pub cwd: PathBuf,
    /// Where `[PM2]` status lines go (stderr for commands whose stdout is data).
    pub channel: Channel,
    /// Set when this command runs as `pm2-runtime`.
    pub runtime: Option<crate::runtime::RuntimeOptions>,
}

impl Ctx {
    pub fn new(flags: Flags) -> Ctx {
        Ctx {
            flags,
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            channel: Channel::Stdout,
            runtime: None,
        }
    }

    pub fn info(&self, msg: &str) {
        output::info_to(self.channel, msg);
    }
}

/// How a command fails: each prints its message to stderr and exits 1.
#[derive(Debug)]
pub enum Failure {
    /// `[PM2][ERROR] …`
    Error(String),
    /// `[PM2][WARN] …`
    Warn(String),
    /// The message as is.
    Plain(String),
    /// Already said in the command's own form: only the exit status is left.
    Reported,
}

impl Failure {
    /// The message, without the prefix `report` gives it.
    pub fn message(&self) -> &str {
        match self {
            Failure::Error(m) | Failure::Warn(m) | Failure::Plain(m) => m,
            Failure::Reported => "",
        }
    }

    pub fn report(&self) {
        match self {
            Failure::Error(m) => output::error(m),
            Failure::Warn(m) => output::warn_err(m),
            Failure::Plain(m) => output::err_line(m),
            Failure::Reported => {}
        }
    }
}

impl From<pm2_client::Error> for Failure {
    fn from(e: pm2_client::Error) -> Failure {
        match e {
            pm2_client::Error::NothingToDo => Failure::Warn("No process found".into()),
            other => Failure::Error(other.to_string()),
        }
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Error(m)
    }
}

pub type Outcome = Result<(), Failure>;

/// How this CLI connects: the daemon binary installed beside it, and the
/// environment a daemon it starts gets.
pub fn connect_options(ctx: &Ctx, launch: bool) -> ConnectOptions {
    // Canonical: macOS reports the path this was run by, which may be a
    // symlink (npm's bin links), and the daemon sits beside the real file.
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .unwrap_or_else(|_| PathBuf::from("pm2-cli"));
    ConnectOptions {
        launch,
        daemon_bin: launcher::daemon_binary(&exe),
        env: ctx.env.clone(),
    }
}

/// Connects to the daemon of `PM2_HOME`, starting one when `launch` and none runs.
pub async fn connect(ctx: &Ctx, launch: bool) -> Result<Client, Failure> {
    let paths = Paths::from_env();
    let home = paths.home.clone();
    let opts = connect_options(ctx, launch);
    let client = Client::connect(paths, &opts).await?;
    // PM2_DISCRETE_MODE (any non-empty value, as PM2 tests it) keeps the
    // launch quiet.
    let discrete = std::env::var_os("PM2_DISCRETE_MODE").is_some_and(|v| !v.is_empty());
    if client.launched_daemon() {
        if !discrete {
            ctx.info(&format!(
                "Spawning PM2 daemon with pm2_home={}",
                home.display()
            ));
            ctx.info("PM2 Successfully daemonized");
        }
    } else if let Ok(version) = client.version().await {
        // PM2's own Node daemon (still running after this package replaced
        // PM2) may report the same version: `pm2 update` moves to ours.
        let node_daemon = client
            .paths
            .live_daemon_pid()
            .and_then(|pid| pm2_proc::cmdline(pid as u32))
            .is_some_and(|c| c.windows(10).any(|w| w == b"God Daemon"));
        if version != pm2_client::VERSION || node_daemon {
            let kind = if node_daemon {
                " (PM2's Node.js daemon)"
            } else {
                ""
            };
            output::err_line(&format!(
                ">>>> In-memory PM2 is out-of-date, do:\n>>>> $ pm2 update\nIn memory PM2 version: {version}{kind}\nLocal PM2 version: {}",
                pm2_client::VERSION
            ));
        }
    }
    Ok(client)
}

/// The process table PM2 prints after an action (not with `-s`).
pub async fn show_table(client: &Client, ctx: &Ctx) -> Outcome {
    if output::silent() {
        return Ok(());
    }
    let list = booted_list(client).await?;
    print_list(list, host_snapshot(client).await, ctx);
    Ok(())
}

/// The daemon's host snapshot for the `host metrics` line; nothing when the
/// daemon has none (or does not answer it), as PM2 skips the line then.
pub async fn host_snapshot(client: &Client) -> Option<serde_json::Map<String, Value>> {
    let reply = client
        .call("getSystemData", vec![Value::Object(Default::default())])
        .await
        .ok()?;
    match reply.into_iter().next()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The longest a table waits for the apps just started to boot.
const BOOT_WAIT_MS: u64 = 1000;

/// The list once the Node apps just started have booted (their wrapper has
/// reported `node_version`), for at most [`BOOT_WAIT_MS`]: a listing taken
/// within milliseconds of the spawn would show the few hundred kB of a Node
/// still loading instead of the app's memory.
async fn booted_list(client: &Client) -> Result<Vec<Value>, Failure> {
    // The daemon answers as soon as the last one has booted: no polling of
    // the whole table while they boot. A daemon without the method lists now.
    let _ = client
        .call("waitBooted", vec![Value::from(BOOT_WAIT_MS)])
        .await;
    Ok(client.list_table().await?)
}

/// The process table, then PM2 7's `host metrics` line when the daemon has
/// a host snapshot (not with `-m`, as in PM2).
pub fn print_list(mut list: Vec<Value>, host: Option<serde_json::Map<String, Value>>, ctx: &Ctx) {
    let now = listing::now_ms();
    if ctx.flags.mini_list {
        output::text(&listing::mini_list(&list, now));
        return;
    }
    listing::sort(&mut list, ctx.flags.sort.as_deref());
    let (tables, layout) = listing::process_tables(&list, now, output::terminal_columns());
    output::text(&tables);
    let full = layout == listing::Layout::Full;
    if let Some(line) = host.and_then(|m| crate::host_line::host_line(&m, full)) {
        output::line(&line);
    }
}

/// `[ 0, 2 ]`, or `[ '2' ]` when the user typed the id (PM2 echoes it as text).
pub fn ids_text(target: &str, ids: &[u64]) -> String {
    if target.parse::<u64>().is_ok() {
        js_text::inspect(&Value::Array(vec![Value::from(target)]))
    } else {
        js_text::inspect(&Value::from(ids.to_vec()))
    }
}

pub fn name_of(list: &[Value], id: u64) -> String {
    list.iter()
        .find(|p| pm2_client::target::pm_id(p) == Some(id))
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(|name| crate::printable::printable(name).into_owned())
        .unwrap_or_default()
}

/// PM2's commands that this CLI does not offer yet, with what they belong to.
const NOT_BUILT: &[(&str, &str)] = &[
    (
        "imonit",
        "the old terminal dashboard (`pm2 monit` is built)",
    ),
    ("pull", "git versioning"),
    ("forward", "git versioning"),
    ("backward", "git versioning"),
    ("logrotate", "log rotation (the pm2-logrotate module)"),
    ("autoinstall", "autoinstall"),
    ("link", "PM2's paid cloud service"),
    ("unlink", "PM2's paid cloud service"),
    ("plus", "PM2's paid cloud service"),
    ("login", "PM2's paid cloud service"),
    ("register", "PM2's paid cloud service"),
    ("logout", "PM2's paid cloud service"),
    ("open", "PM2's paid cloud service"),
    ("profile:cpu", "profiling"),
    ("profile:mem", "profiling"),
];

/// An unknown command, or a PM2 command not offered here: each says which.
fn unknown_command(name: &str) -> Failure {
    match NOT_BUILT.iter().find(|(n, _)| *n == name) {
        Some((n, what)) => Failure::Error(format!(
            "`pm2 {n}` is a PM2 command that this pm2 does not implement yet ({what})"
        )),
        None => Failure::Plain(format!(
            "{}Unknown command: {name}\n\n{}",
            output::red("[PM2][ERROR] "),
            crate::USAGE
        )),
    }
}

/// Runs one command: with `--no-daemon`, in the foreground beside a
/// supervisor of its own.
pub async fn dispatch(command: Command, ctx: &mut Ctx) -> Outcome {
    if ctx.flags.no_daemon {
        ctx.flags.no_daemon = false;
        return foreground::run(command, ctx).await;
    }
    run(command, ctx).await
}

/// Runs one command.
pub async fn run(command: Command, ctx: &mut Ctx) -> Outcome {
    use Command as C;
    if matches!(
        command,
        C::Jlist | C::Prettylist | C::Pid { .. } | C::Id { .. } | C::Env { .. }
    ) {
        ctx.channel = Channel::Stderr;
    }
    match command {
        C::Start { targets, args } => start::start(ctx, &targets, &args).await,
        C::StartOrRestart { file } => {
            start::start_or(ctx, &file, pm2_client::Action::Restart).await
        }
        C::StartOrReload { file } => start::start_or(ctx, &file, pm2_client::Action::Reload).await,
        C::StartOrGracefulReload { file } => {
            start::start_or(ctx, &file, pm2_client::Action::GracefulReload).await
        }
        C::Stop { targets } => actions::act(ctx, pm2_client::Action::Stop, &targets).await,
        C::Restart { targets } => actions::act(ctx, pm2_client::Action::Restart, &targets).await,
        C::Reload { targets } => actions::act(ctx, pm2_client::Action::Reload, &targets).await,
        C::GracefulReload { targets } => {
            actions::act(ctx, pm2_client::Action::GracefulReload, &targets).await
        }
        C::Delete { targets } => actions::act(ctx, pm2_client::Action::Delete, &targets).await,
        C::Reset { target } => actions::reset(ctx, &target).await,
        C::Scale { app, count } => actions::scale(ctx, &app, &count).await,
        C::SendSignal { signal, target } => actions::send_signal(ctx, &signal, &target).await,
        C::Trigger {
            target,
            action,
            param,
        } => trigger::trigger(ctx, &target, &action, param).await,
        C::List => info::list(ctx).await,
        C::Jlist => info::jlist(ctx).await,
        C::Prettylist => info::prettylist(ctx).await,
        C::Describe { target } => info::describe(ctx, &target).await,
        C::Env { id } => info::env(ctx, &id).await,
        C::Pid { app } => info::pid(ctx, app.as_deref()).await,
        C::Id { app } => info::id(ctx, &app).await,
        C::Logs(args) => logs::logs(ctx, &args).await,
        C::Flush { targets } => daemon::flush(ctx, &targets).await,
        C::ReloadLogs => daemon::reload_logs(ctx).await,
        C::Ping => daemon::ping(ctx).await,
        C::Report => info::report(ctx).await,
        C::Monit => monit::run(ctx).await,
        C::Kill => daemon::kill(ctx).await,
        C::Update => daemon::update(ctx).await,
        C::Save => daemon::save(ctx).await,
        C::Resurrect => daemon::resurrect(ctx).await,
        C::Cleardump => daemon::cleardump(ctx).await,
        C::Init { mode } => start::init(ctx, mode.as_deref()),
        C::Startup { platform } => startup::startup(ctx, platform.as_deref()),
        C::Unstartup { platform } => startup::unstartup(ctx, platform.as_deref()),
        C::Serve(args) => start::serve(ctx, &args).await,
        C::Install { spec, tarball } => modules::install(ctx, &spec, tarball).await,
        C::Uninstall { name } => modules::uninstall(ctx, &name).await,
        C::ModuleUpdate { name } => modules::update(ctx, &name).await,
        C::Inspect { target } => actions::inspect(ctx, &target).await,
        C::Monitor { target } => actions::monitor_state(ctx, true, target.as_deref()).await,
        C::Unmonitor { target } => actions::monitor_state(ctx, false, target.as_deref()).await,
        C::ModuleLaunchAll => modules::launch_all(ctx).await,
        C::ModuleGenerate { name } => modules::generate(ctx, name.as_deref()),
        C::Package { dir } => modules::package(ctx, dir.as_deref()),
        C::Publish { dir, dry_run } => modules::publish(ctx, dir.as_deref(), dry_run),
        C::Set { key, value } => modules::set_command(ctx, key, value).await,
        C::Multiset { pairs } => modules::set(ctx, modules::multiset_pairs(&pairs)?).await,
        C::Unset { key } => modules::unset(ctx, &key).await,
        C::Get { key } => modules::get(key.as_deref()),
        C::Conf { key, value } => {
            modules::conf_command(ctx, key.as_deref(), value.as_deref()).await
        }
        C::Web {
            port,
            host,
            new_token,
            env,
        } => {
            let args = web::WebArgs {
                port: port.as_deref(),
                host: host.as_deref(),
                env,
                new_token,
            };
            web::web(ctx, args).await
        }
        C::Attach { id, separator } => attach::attach(ctx, &id, separator.as_deref()).await,
        C::Examples => {
            examples::print();
            Ok(())
        }
        C::Other(words) if words.first().is_some_and(|w| w == "deploy") => {
            deploy::deploy(ctx, &words[1..])
        }
        C::Other(words) => Err(unknown_command(words.first().map_or("", String::as_str))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_like_pm2s_messages() {
        assert_eq!(ids_text("web", &[0, 2]), "[ 0, 2 ]");
        assert_eq!(ids_text("2", &[2]), "[ '2' ]");
    }
}
