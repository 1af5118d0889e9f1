//! The options every command takes, wherever they stand on the line.

use clap::Args;

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
