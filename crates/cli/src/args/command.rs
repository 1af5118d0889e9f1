//! The commands, with their own positionals and options.

use clap::{Args, Subcommand};

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
