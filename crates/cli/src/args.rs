//! The command line, as PM2's: program-wide options that may appear anywhere,
//! then a command with its own positionals. Everything after `--` goes to the
//! started script.
//!
//! [`parse`] reads it in two passes so that start-up stays in the tens of
//! microseconds: clap's `global` options would be copied into all thirty
//! commands on every run (about half a millisecond); instead a first pass takes
//! the options before the command and finds the command's name, and a second
//! pass parses only that command, with the options, the earlier ones moved after
//! its name (options mean the same wherever they stand).

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

/// Reads a command line (`argv[0]` first).
pub fn parse<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let starts_with_dash = |a: &OsString| a.as_encoded_bytes().first() == Some(&b'-');
    // The usual `pm2 <command> …` needs no first pass.
    let (first_flags, name, before, rest): (Option<Flags>, String, &[OsString], Vec<OsString>) =
        match argv.get(1) {
            Some(a) if !starts_with_dash(a) => (
                None,
                a.to_string_lossy().into_owned(),
                &[],
                argv[2..].to_vec(),
            ),
            _ => {
                let first = Flags::augment_args(
                    clap::Command::new("pm2")
                        .bin_name("pm2")
                        .disable_version_flag(true)
                        .disable_help_flag(true)
                        .arg(
                            clap::Arg::new("help")
                                .short('h')
                                .long("help")
                                .action(clap::ArgAction::SetTrue),
                        )
                        .allow_external_subcommands(true),
                );
                let m = first.try_get_matches_from(&argv)?;
                if m.get_flag("help") {
                    return Err(Cli::command()
                        .try_get_matches_from(["pm2", "--help"])
                        .unwrap_err());
                }
                let flags = Flags::from_arg_matches(&m)?;
                let Some((name, sub)) = m.subcommand() else {
                    return Ok(Cli {
                        flags,
                        command: None,
                    });
                };
                let rest: Vec<OsString> = sub
                    .get_many::<OsString>("")
                    .map(|v| v.cloned().collect())
                    .unwrap_or_default();
                let before = &argv[1..argv.len() - rest.len() - 1];
                (Some(flags), name.to_string(), before, rest)
            }
        };
    let Some(command) = Cli::command().find_subcommand(&name).cloned() else {
        let mut words = vec![name];
        words.extend(rest.iter().map(|w| w.to_string_lossy().into_owned()));
        return Ok(Cli {
            flags: first_flags.unwrap_or_default(),
            command: Some(Command::Other(words)),
        });
    };
    // Without any option, the command's own arguments are all there is to read.
    let with_flags = !before.is_empty() || rest.iter().any(starts_with_dash);
    let command = if with_flags {
        Flags::augment_args(command)
    } else {
        command
    };
    let second = clap::Command::new("pm2")
        .bin_name("pm2")
        .disable_version_flag(true)
        .subcommand(command);
    let mut argv2 = vec![argv[0].clone(), OsString::from(name.clone())];
    // `stop` and `restart` take `--watch` as a switch (turn watching off,
    // toggle it), as PM2's do: it must not swallow the target that follows.
    let switch_only = matches!(name.as_str(), "stop" | "restart");
    let is_watch = |a: &OsString| switch_only && a == "--watch";
    // `web --env` is a switch too (show the apps' env), not the ecosystem's
    // `--env <name>`: it must not swallow the port that follows.
    let is_web_env = |a: &OsString| name == "web" && a == "--env";
    let is_switch = |a: &OsString| is_watch(a) || is_web_env(a);
    argv2.extend(before.iter().filter(|a| !is_switch(a)).cloned());
    let watch_switch = before.iter().chain(&rest).any(is_watch);
    let web_env = before.iter().chain(&rest).any(is_web_env);
    argv2.extend(rest.into_iter().filter(|a| !is_switch(a)));
    if watch_switch {
        argv2.push(OsString::from("--watch"));
    }
    let m = second.try_get_matches_from(argv2)?;
    let mut command = Command::from_arg_matches(&m)?;
    if let Command::Web { env, .. } = &mut command {
        *env = web_env;
    }
    let flags = match m.subcommand() {
        Some((_, sub)) if with_flags => Flags::from_arg_matches(sub)?,
        _ => Flags::default(),
    };
    Ok(Cli {
        flags,
        command: Some(command),
    })
}

#[derive(Parser, Debug)]
#[command(
    name = "pm2",
    bin_name = "pm2",
    about = "Production process manager for Node.js apps, with a built-in load balancer",
    disable_version_flag = true,
    disable_help_subcommand = true,
    override_usage = "pm2 [options] <command>"
)]
pub struct Cli {
    #[command(flatten)]
    pub flags: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Options shared by every command (PM2 declares them program-wide). No doc
// comment here: clap would make it the `about` of every command.
#[derive(Args, Debug, Default, Clone)]
pub struct Flags {
    /// print version
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// hide all messages
    #[arg(short = 's', long)]
    pub silent: bool,
    /// display a compacted list without formatting
    #[arg(short = 'm', long = "mini-list")]
    pub mini_list: bool,
    /// skip colors
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// sort process list by field (name, id, pid, memory, cpu, status, uptime, restarts), optionally :asc or :desc
    #[arg(long, value_name = "field_name:sort")]
    pub sort: Option<String>,

    /// set a name for the process
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// set a namespace for the process
    #[arg(long)]
    pub namespace: Option<String>,
    /// run the app from this directory
    #[arg(long, value_name = "path")]
    pub cwd: Option<String>,
    /// specify log file for stdout
    #[arg(short = 'o', long, value_name = "path")]
    pub output: Option<String>,
    /// specify log file for stderr
    #[arg(short = 'e', long, value_name = "path")]
    pub error: Option<String>,
    /// specify log file which gathers both stdout and stderr
    #[arg(short = 'l', long, value_name = "path", num_args = 0..=1, default_missing_value = "")]
    pub log: Option<String>,
    /// specify pid file
    #[arg(short = 'p', long, value_name = "pid")]
    pub pid: Option<String>,

    /// set a specific interpreter to use for executing the app
    #[arg(long)]
    pub interpreter: Option<String>,
    /// set arguments to pass to the interpreter
    #[arg(
        long = "interpreter-args",
        visible_alias = "node-args",
        allow_hyphen_values = true
    )]
    pub interpreter_args: Option<String>,

    /// specify log output style (raw by default, json optional)
    #[arg(long = "log-type")]
    pub log_type: Option<String>,
    /// add custom prefix timestamp to logs
    #[arg(long = "log-date-format", value_name = "date format")]
    pub log_date_format: Option<String>,
    /// enable time logging
    #[arg(long)]
    pub time: bool,
    /// disable all logs storage
    #[arg(long = "disable-logs")]
    pub disable_logs: bool,
    /// merge logs from different instances but keep error and out separated
    #[arg(long = "merge-logs")]
    pub merge_logs: bool,
    /// filter out outgoing global values that contain provided strings
    #[arg(long = "filter-env", value_name = "envs")]
    pub filter_env: Vec<String>,

    /// specify which set of environment variables from ecosystem file must be injected
    #[arg(long, value_name = "environment_name")]
    pub env: Option<String>,
    /// force an update of the environment with restart/reload
    #[arg(short = 'a', long = "update-env")]
    pub update_env: bool,
    /// force actions
    #[arg(short = 'f', long)]
    pub force: bool,

    /// launch [number] instances (for networked app) (load balanced)
    #[arg(short = 'i', long, value_name = "number", allow_hyphen_values = true)]
    pub instances: Option<String>,
    /// number of parallel actions (for restart/reload)
    #[arg(long, value_name = "number")]
    pub parallel: Option<std::num::NonZeroUsize>,

    /// shutdown an application with process.send('shutdown') instead of process.kill(pid, SIGINT)
    #[arg(long = "shutdown-with-message")]
    pub shutdown_with_message: bool,
    /// delay before sending final SIGKILL signal to process
    #[arg(short = 'k', long = "kill-timeout", value_name = "delay")]
    pub kill_timeout: Option<String>,
    /// listen timeout on application reload
    #[arg(long = "listen-timeout", value_name = "delay")]
    pub listen_timeout: Option<String>,
    /// make application wait for process.send('ready')
    #[arg(long = "wait-ready")]
    pub wait_ready: bool,
    /// restart the app if an amount of memory is exceeded (in bytes, or with K/M/G)
    #[arg(long = "max-memory-restart", value_name = "memory")]
    pub max_memory_restart: Option<String>,
    /// specify a delay between restarts (in milliseconds)
    #[arg(long = "restart-delay", value_name = "delay")]
    pub restart_delay: Option<String>,
    /// specify a delay between restarts that grows exponentially (in milliseconds)
    #[arg(long = "exp-backoff-restart-delay", value_name = "delay")]
    pub exp_backoff_restart_delay: Option<String>,
    /// only restart the script N times
    #[arg(long = "max-restarts", value_name = "count")]
    pub max_restarts: Option<String>,
    /// the app must stay up this long to count as started
    #[arg(long = "min-uptime", value_name = "time")]
    pub min_uptime: Option<String>,
    /// exit codes that should not trigger a restart
    #[arg(long = "stop-exit-codes", value_name = "exit_codes", num_args = 1.., allow_negative_numbers = true)]
    pub stop_exit_codes: Vec<String>,
    /// do not automatically restart the app
    #[arg(long = "no-autorestart")]
    pub no_autorestart: bool,
    /// add an app without starting it
    #[arg(long = "no-autostart")]
    pub no_autostart: bool,
    /// restart the app on a cron pattern
    #[arg(
        short = 'c',
        long = "cron",
        visible_alias = "cron-restart",
        value_name = "cron_pattern"
    )]
    pub cron: Option<String>,

    /// execute a program using the fork system
    #[arg(short = 'x', long = "execute-command")]
    pub execute_command: bool,
    /// run the app with this user id
    #[arg(long)]
    pub uid: Option<String>,
    /// run the app with this group id
    #[arg(long)]
    pub gid: Option<String>,
    /// define user when generating startup script
    #[arg(short = 'u', long, value_name = "username")]
    pub user: Option<String>,

    /// watch the application folder (or these paths) for changes
    #[arg(long, value_name = "paths", num_args = 0..=1, default_missing_value = "")]
    pub watch: Option<String>,
    /// list of paths to ignore (name or regex)
    #[arg(long = "ignore-watch", value_name = "folders|files")]
    pub ignore_watch: Option<String>,
    /// specify a restart delay after changing files (--watch-delay 4 (in sec) or 4000ms)
    #[arg(long = "watch-delay", value_name = "delay")]
    pub watch_delay: Option<String>,
    /// watch only these file extensions
    #[arg(long, value_name = "extensions")]
    pub ext: Option<String>,

    /// define home path when generating startup script
    #[arg(long, value_name = "home path")]
    pub hp: Option<String>,
    /// define service name when generating startup script
    #[arg(long = "service-name", value_name = "name")]
    pub service_name: Option<String>,
    /// wait for network access on startup
    #[arg(long = "wait-ip")]
    pub wait_ip: bool,

    /// write configuration in local folder
    #[arg(short = 'w', long)]
    pub write: bool,
    /// run pm2 daemon in the foreground if it doesn't exist already
    #[arg(long = "no-daemon")]
    pub no_daemon: bool,
    /// with json declaration, allow to only act on one application
    #[arg(long, value_name = "application-name")]
    pub only: Option<String>,
    /// start an app without vizion feature (versioning control)
    #[arg(long = "no-vizion")]
    pub no_vizion: bool,
    /// only kill the main process, not detached children
    #[arg(long = "no-treekill")]
    pub no_treekill: bool,
    /// start an app without pmx
    #[arg(long = "no-pmx")]
    pub no_pmx: bool,
    /// start an app without pmx
    #[arg(long = "no-automation")]
    pub no_automation: bool,
    /// force source map support
    #[arg(long = "source-map-support")]
    pub source_map_support: bool,
    /// force source map support off
    #[arg(long = "disable-source-map-support")]
    pub disable_source_map_support: bool,
    /// enable transaction tracing with km
    #[arg(long)]
    pub trace: bool,
    /// disable transaction tracing with km
    #[arg(long = "disable-trace")]
    pub disable_trace: bool,
    /// enable v8 data collecting
    #[arg(long)]
    pub v8: bool,
    /// enable event-loop-inspector dump in pmx
    #[arg(long = "event-loop-inspector")]
    pub event_loop_inspector: bool,
    /// enable all deep monitoring probes
    #[arg(long = "deep-monitoring")]
    pub deep_monitoring: bool,
    /// attach logging after your start/restart/stop/reload
    #[arg(long)]
    pub attach: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// start and daemonize an app (script, ecosystem file, or an existing name/id/namespace)
    Start {
        targets: Vec<String>,
        /// arguments for the script
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// stop a process
    Stop {
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// restart a process
    Restart {
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// reload processes (note that its for app using HTTP/HTTPS)
    Reload {
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// reload processes, sending them the shutdown message first
    #[command(name = "gracefulReload")]
    GracefulReload {
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// stop and delete a process from pm2 process list
    #[command(alias = "del")]
    Delete {
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// start or restart the apps of an ecosystem file
    #[command(name = "startOrRestart")]
    StartOrRestart { file: String },
    /// start or gracefully reload the apps of an ecosystem file
    #[command(name = "startOrReload")]
    StartOrReload { file: String },
    /// start or gracefully reload the apps of an ecosystem file
    #[command(name = "startOrGracefulReload")]
    StartOrGracefulReload { file: String },
    /// scale up/down a process in cluster mode depending on total_number param
    Scale {
        #[arg(value_name = "name")]
        app: String,
        #[arg(allow_hyphen_values = true)]
        count: String,
    },
    /// serve a directory over http via port
    #[command(visible_alias = "expose")]
    Serve(ServeArgs),
    /// serve the process list (JSON at /) and Prometheus metrics (/metrics) from the daemon, without the apps' env; `web stop` stops it
    #[command(
        after_help = "The apps' environment is left out of what the web interface serves unless `pm2 web --env`\n(a switch here): then it is served too, to requests that carry the token in PM2_HOME/web.token\n(`Authorization: Bearer <token>` or `?token=<token>`), and only to them."
    )]
    Web {
        /// the port (default 9615, or PM2_API_PORT), or `stop`
        #[arg(value_name = "port|stop")]
        port: Option<String>,
        /// the address to listen on (default 127.0.0.1, or PM2_API_IPADDR)
        #[arg(long)]
        host: Option<String>,
        /// replace the token in PM2_HOME/web.token (the old one stops working)
        #[arg(long = "new-token")]
        new_token: bool,
        /// `--env`, read as a switch by `parse` (the program-wide `--env` takes a value).
        #[arg(skip)]
        env: bool,
    },
    /// list all processes
    #[command(visible_aliases = ["ls", "l", "ps", "status"])]
    List,
    /// list all processes in JSON format
    Jlist,
    /// print json in a prettified JSON
    Prettylist,
    /// describe all parameters of a process
    #[command(visible_aliases = ["desc", "info", "show"])]
    Describe { target: String },
    /// list all environment variables of a process id
    Env { id: String },
    /// stream logs file. Default stream all logs
    #[command(visible_alias = "log")]
    Logs(LogsArgs),
    /// flush logs
    Flush { targets: Vec<String> },
    /// reload all logs
    #[command(name = "reloadLogs")]
    ReloadLogs,
    /// ping pm2 daemon - if not up it will launch it
    Ping,
    /// a terminal dashboard: processes, their logs, metrics and metadata
    #[command(visible_aliases = ["dashboard", "dash"])]
    Monit,
    /// print a diagnostic report: versions, daemon, system, security, processes, recent daemon log
    Report,
    /// kill daemon
    Kill,
    /// in-memory pm2 update (dump, kill, relaunch the daemon, resurrect)
    #[command(alias = "updatePM2")]
    Update,
    /// dump all processes for resurrecting them later
    #[command(visible_alias = "dump")]
    Save,
    /// resurrect previously dumped processes
    Resurrect,
    /// empty the dump file
    Cleardump,
    /// enable the pm2 startup hook (systemd, upstart, launchd, openrc, rcd, systemv)
    Startup {
        #[arg(value_name = "platform")]
        platform: Option<String>,
    },
    /// disable the pm2 startup hook
    Unstartup {
        #[arg(value_name = "platform")]
        platform: Option<String>,
    },
    /// generate an ecosystem.config.js starter file ("simple" for the shortest)
    #[command(visible_alias = "ecosystem")]
    Init {
        #[arg(value_name = "mode")]
        mode: Option<String>,
    },
    /// return pid of [app_name] or all
    Pid {
        #[arg(value_name = "name")]
        app: Option<String>,
    },
    /// get process id by name
    Id {
        #[arg(value_name = "name")]
        app: String,
    },
    /// reset counters for process
    Reset { target: String },
    /// send a system signal to the target process
    #[command(name = "sendSignal")]
    SendSignal { signal: String, target: String },
    /// install or update a module (npm name[@version], a .tgz file, or a folder: development mode)
    #[command(alias = "module:install")]
    Install {
        #[arg(value_name = "module|folder|file.tgz")]
        spec: String,
        /// the module is a tarball
        #[arg(long)]
        tarball: bool,
    },
    /// stop and uninstall a module (a name, all, or . for the module of this folder)
    #[command(alias = "module:uninstall")]
    Uninstall {
        #[arg(id = "module", value_name = "module")]
        name: String,
    },
    /// update a module from where it was installed
    #[command(name = "module:update")]
    ModuleUpdate {
        #[arg(id = "module", value_name = "module")]
        name: String,
    },
    /// open the Node.js inspector of a process (chrome://inspect)
    Inspect {
        #[arg(value_name = "name|id")]
        target: String,
    },
    /// mark a process as monitored (the `_km_monitored` flag of its pm2_env)
    Monitor {
        #[arg(value_name = "name")]
        target: Option<String>,
    },
    /// clear the monitored mark of a process
    Unmonitor {
        #[arg(value_name = "name")]
        target: Option<String>,
    },
    /// start every installed module that is not running
    #[command(name = "module:launch-all", hide = true)]
    ModuleLaunchAll,
    /// generate a sample module in ./<name>
    #[command(name = "module:generate")]
    ModuleGenerate {
        #[arg(id = "module", value_name = "name")]
        name: Option<String>,
    },
    /// build a tarball module (<name>-<version>.tgz) from a folder
    Package {
        #[arg(value_name = "folder")]
        dir: Option<String>,
    },
    /// bump the patch version of a module and publish it with npm
    #[command(alias = "module:publish")]
    Publish {
        #[arg(value_name = "folder")]
        dir: Option<String>,
        /// let npm check everything without publishing
        #[arg(long = "dry-run")]
        dry_run: bool,
    },
    /// set a configuration value for a module or app (<module>:<key> <value>); without a key, edit module_conf.json in $EDITOR
    Set {
        #[arg(value_name = "key")]
        key: Option<String>,
        #[arg(value_name = "value", allow_hyphen_values = true)]
        value: Option<String>,
    },
    /// set several values: "key1 value1 key2 value2"
    Multiset {
        #[arg(value_name = "pairs")]
        pairs: String,
    },
    /// remove a configuration value (or a whole module's section)
    Unset {
        #[arg(value_name = "key")]
        key: String,
    },
    /// get a configuration value (all of them without a key)
    Get {
        #[arg(value_name = "key")]
        key: Option<String>,
    },
    /// show the configuration of every module, or of one; with a value, set it
    #[command(alias = "config")]
    Conf {
        #[arg(value_name = "key")]
        key: Option<String>,
        #[arg(value_name = "value", allow_hyphen_values = true)]
        value: Option<String>,
    },
    /// trigger process action
    Trigger {
        #[arg(value_name = "id|proc_name|namespace|all")]
        target: String,
        #[arg(value_name = "action_name")]
        action: String,
        #[arg(value_name = "params")]
        param: Option<String>,
    },
    /// attach stdin/stdout to the application identified by <pm_id> (Ctrl-C detaches)
    Attach {
        #[arg(value_name = "pm_id")]
        id: String,
        /// ends each line sent (a newline by default)
        #[arg(value_name = "separator", allow_hyphen_values = true)]
        separator: Option<String>,
    },
    /// display pm2 usage examples
    Examples,
    #[command(external_subcommand)]
    Other(Vec<String>),
}

#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// the folder to serve (default: the current one)
    pub path: Option<String>,
    /// the port (default 8080)
    pub port: Option<String>,
    /// the port, when not given after the path
    #[arg(long = "port", id = "port_option", value_name = "port")]
    pub port_option: Option<String>,
    /// serve index.html for every path that is not a file (single-page apps)
    #[arg(long)]
    pub spa: bool,
    /// the page served for / (default /index.html)
    #[arg(long)]
    pub homepage: Option<String>,
    /// require HTTP basic authentication with this user name
    #[arg(long = "basic-auth-username")]
    pub basic_auth_username: Option<String>,
    /// and this password
    #[arg(long = "basic-auth-password")]
    pub basic_auth_password: Option<String>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct LogsArgs {
    /// process id, name or namespace (default: all)
    pub target: Option<String>,
    /// output the last N lines, instead of the last 15 by default
    #[arg(long, default_value_t = 15)]
    pub lines: usize,
    /// output logs in json format
    #[arg(long)]
    pub json: bool,
    /// output logs formatted like key=val
    #[arg(long)]
    pub format: bool,
    /// raw output
    #[arg(long)]
    pub raw: bool,
    /// only shows error output
    #[arg(long)]
    pub err: bool,
    /// only shows standard output
    #[arg(long)]
    pub out: bool,
    /// print logs and exit without streaming
    #[arg(long)]
    pub nostream: bool,
    /// add timestamps (default format YYYY-MM-DD-HH:mm:ss)
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "format")]
    pub timestamp: Option<String>,
    /// highlight the given value
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "value")]
    pub highlight: Option<String>,
}

#[cfg(test)]
mod tests;
