// Types for require('pm2'): an instance of the API class, with the class itself as `.custom`.
// Every method takes PM2's callback; without one it returns a Promise of the same result.

declare namespace pm2 {
  // Callbacks are declared through a method so that their parameters compare
  // bivariantly: code written against PM2's own types, whose callbacks take
  // `err: Error`, compiles under --strict as well as code that checks for null.
  type Callback<T = void> = { bivarianceHack(err: Error | null, result: T): void }['bivarianceHack'];
  type ErrCallback = { bivarianceHack(err: Error | null): void }['bivarianceHack'];

  /** An id, a name, a namespace, 'all', '/regex/' — or, for stop/restart/reload/delete, an ecosystem file. */
  type Target = string | number;

  type ProcessStatus =
    | 'online'
    | 'stopping'
    | 'stopped'
    | 'launching'
    | 'errored'
    | 'waiting restart'
    | 'one-launch-status';

  type ExecMode = 'fork_mode' | 'cluster_mode' | 'fork' | 'cluster';

  interface ConstructorOptions {
    /** Base directory for resolving scripts (default: process.cwd()). */
    cwd?: string;
    /** PM2_HOME of this instance (default: $PM2_HOME or ~/.pm2). Not with `independent`. */
    pm2_home?: string;
    /** A fresh /tmp/<16 hex> home, supervised in this process unless `daemon_mode` is given. */
    independent?: boolean;
    /** false: run the supervisor inside this process (default true). */
    daemon_mode?: boolean;
    public_key?: string;
    secret_key?: string;
    machine_name?: string;
  }

  /** App options as in an ecosystem file or `pm2.start({...})` (PM2's option names). */
  interface StartOptions {
    /** Process name (default: the script's basename without extension). */
    name?: string;
    /** Script, binary or command to run. */
    script?: string;
    /** Aliases of `script`. */
    cmd?: string;
    command?: string;
    /** Arguments passed to the script. */
    args?: string | string[];
    /** Working directory of the app; scripts resolve against it. */
    cwd?: string;
    namespace?: string;
    /** Interpreter (node, bun, python3, bash, none…); by default chosen from the extension. */
    interpreter?: string;
    exec_interpreter?: string;
    /** Arguments for the interpreter (e.g. node flags). */
    interpreter_args?: string | string[];
    node_args?: string | string[];
    /** Defaults to cluster_mode when `instances` is set and the interpreter is node. */
    exec_mode?: ExecMode;
    /** Number of instances; 'max' or 0 for one per CPU, -N for CPUs minus N. */
    instances?: number | 'max' | string;
    /** Environment of the app, merged over the client's environment. */
    env?: Record<string, string | number | boolean>;
    /** Drops client environment variables: all (true), one name, or names containing any of these. */
    filter_env?: boolean | string | string[];
    /** Sets PORT. */
    port?: number | string;
    /** Restart when the app's RSS exceeds this ('200M', '1G', or bytes). */
    max_memory_restart?: string | number;
    max_restarts?: number;
    /** ms, or '2s': a restart sooner than this after launch counts as unstable. */
    min_uptime?: number | string;
    restart_delay?: number;
    exp_backoff_restart_delay?: number;
    autorestart?: boolean;
    autostart?: boolean;
    /** Exit codes that do not trigger a restart. */
    stop_exit_codes?: number | number[];
    /** Cron pattern for periodic restarts. */
    cron_restart?: string;
    cron?: string;
    /** Watch cwd (true) or these paths, restarting on changes. */
    watch?: boolean | string | string[];
    ignore_watch?: string | string[];
    watch_delay?: number;
    watch_options?: Record<string, unknown>;
    /** ms to wait after the stop signal before SIGKILL (default 1600). */
    kill_timeout?: number;
    kill_retry_time?: number;
    /** Stop with the IPC message 'shutdown' instead of a signal. */
    shutdown_with_message?: boolean;
    /** Online only after the app calls process.send('ready'). */
    wait_ready?: boolean;
    /** ms to wait for 'ready' or 'listening' (default 3000). */
    listen_timeout?: number;
    /** Signal the whole process tree on stop (default true). */
    treekill?: boolean;
    out_file?: string;
    output?: string;
    error_file?: string;
    error?: string;
    /** Combined log file; true for <name>.log. */
    log_file?: string | boolean;
    log?: string | boolean;
    pid_file?: string;
    pid?: string;
    merge_logs?: boolean;
    combine_logs?: boolean;
    log_date_format?: string;
    log_type?: 'json' | string;
    /** Prefix log lines with a timestamp. */
    time?: boolean;
    disable_logs?: boolean;
    /** Environment variable holding the instance number (default NODE_APP_INSTANCE). */
    instance_var?: string;
    increment_var?: string;
    source_map_support?: boolean;
    disable_source_map_support?: boolean;
    pmx?: boolean;
    automation?: boolean;
    vizion?: boolean;
    user?: string;
    uid?: string | number;
    gid?: string | number;
    windowsHide?: boolean;
    append_env_to_name?: boolean;
    /** Start even when the same script already runs. */
    force?: boolean;
    /** `env_<name>` blocks, selected with the `env` option of start/restart. */
    [env_name: `env_${string}`]: Record<string, string | number | boolean> | undefined;
    /** Any other PM2 option; camelCase spellings of the above are accepted too. */
    [option: string]: unknown;
  }

  /** Options of start() with a config file or object. */
  interface ConfigStartOptions {
    /** Selects `env_<name>` of each app (the CLI's --env). */
    env?: string;
    /** Only these app names ('a,b' or an array). */
    only?: string | string[];
    force?: boolean;
  }

  /** An ecosystem: `{apps: [...]}`, an array of apps, or one app. */
  interface Ecosystem {
    apps: StartOptions | StartOptions[];
    deploy?: Record<string, { env?: Record<string, string | number | boolean>; [key: string]: unknown }>;
    [key: string]: unknown;
  }

  interface ActionOptions {
    /** Refresh the app's environment from this process's (the CLI's --update-env). */
    updateEnv?: boolean;
    /** An env name (with an ecosystem target) or variables to merge into the app's env. */
    env?: string | Record<string, string | number | boolean>;
    /** Only these app names of an ecosystem target. */
    only?: string | string[];
    /** Other app options to update on the process. */
    [option: string]: unknown;
  }

  interface AxmAction {
    action_name: string;
    action_type?: string;
    arity?: number;
    opts?: unknown;
  }

  interface AxmMetric {
    value: unknown;
    type?: string;
    unit?: string;
    historic?: boolean;
    [key: string]: unknown;
  }

  /** The process's state and configuration; app env variables also appear at the top level. */
  interface Pm2Env {
    name: string;
    namespace: string;
    pm_id: number;
    status: ProcessStatus;
    restart_time: number;
    unstable_restarts: number;
    /** Time of the last launch (ms since epoch). */
    pm_uptime: number;
    created_at: number;
    pm_exec_path: string;
    pm_cwd: string;
    exec_interpreter: string;
    exec_mode: 'fork_mode' | 'cluster_mode';
    instances?: number;
    node_args: string[];
    args?: string[];
    pm_out_log_path: string;
    pm_err_log_path: string;
    pm_log_path?: string;
    pm_pid_path: string;
    merge_logs: boolean;
    autorestart: boolean;
    autostart: boolean;
    watch: boolean | string[];
    treekill: boolean;
    vizion: boolean;
    pmx: boolean;
    automation: boolean;
    instance_var: string;
    filter_env: boolean | string | string[];
    kill_retry_time: number;
    windowsHide: boolean;
    username: string;
    unique_id: string;
    version: string;
    node_version?: string;
    exit_code?: number;
    prev_restart_delay?: number;
    NODE_APP_INSTANCE?: number;
    km_link?: boolean;
    vizion_running?: boolean;
    _km_monitored?: boolean;
    pmx_module?: boolean;
    axm_actions: AxmAction[];
    axm_monitor: Record<string, AxmMetric>;
    axm_options: Record<string, unknown>;
    axm_dynamic: Record<string, unknown>;
    versioning?: Record<string, unknown> | null;
    /** The app's environment. */
    env: Record<string, string>;
    [key: string]: unknown;
  }

  /** An entry of list() and describe(). */
  interface ProcessDescription {
    name: string;
    /** 0 when not running. */
    pid: number;
    pm_id: number;
    /** Of online processes; 0 otherwise. */
    monit: { memory: number; cpu: number };
    pm2_env: Pm2Env;
  }

  /** What stop/restart/reload/delete/reset (and a start that restarts) resolve with. */
  interface Proc {
    name: string;
    namespace: string;
    pm_id: number;
    status: ProcessStatus;
    restart_time: number;
    pm2_env: Pm2Env;
  }

  /** What a brand-new start resolves with: the daemon's view of each launched process. */
  interface StartedProcess {
    pm2_env: Pm2Env;
    [key: string]: unknown;
  }

  interface ConnectResult {
    /** This connect started a new daemon. */
    new_pm2_instance: boolean;
  }

  interface SuccessResult {
    success: boolean;
  }

  /** What `update()` did: `inPlace` when no app restarted. */
  interface UpdateResult extends SuccessResult {
    inPlace?: boolean;
    message?: string;
  }

  // ---- bus packets ----------------------------------------------------------------------

  interface PacketProcess {
    pm_id: number | string;
    name: string;
    namespace?: string;
    rev?: string | null;
    versioning?: Record<string, unknown> | null;
  }

  /** `process:event`: start, online, exit, restart overlimit, and restart/stop/reload… (manually). */
  interface ProcessEventPacket {
    event: string;
    manually: boolean;
    process: Omit<Pm2Env, 'env'>;
    at: number;
  }

  /** `log:out`, `log:err`, `log:PM2`. */
  interface LogPacket {
    process: PacketProcess;
    at: number;
    data: string;
  }

  /** `process:msg`: anything an app sends that is not `{type, data}`, e.g. 'ready'. */
  interface ProcessMsgPacket<Raw = unknown> {
    at: number;
    raw: Raw;
    process: PacketProcess;
  }

  /** An app's `{type, data}` message, published under `type` (e.g. `human:event`, `axm:reply`). */
  interface TypedPacket<Data = unknown> {
    at: number;
    data: Data;
    process: PacketProcess;
  }

  interface ExceptionData {
    message: string;
    stack: string;
    name: string;
    [key: string]: unknown;
  }

  type ExceptionPacket = TypedPacket<ExceptionData>;
  type AxmReplyPacket = TypedPacket<{ action_name?: string; return: unknown; at?: number }>;

  interface KillPacket {
    status: 'killed';
    msg: string;
  }

  interface BusPackets {
    'process:event': ProcessEventPacket;
    'process:msg': ProcessMsgPacket;
    'process:exception': ExceptionPacket;
    'log:out': LogPacket;
    'log:err': LogPacket;
    'log:PM2': LogPacket;
    'axm:reply': AxmReplyPacket;
    'human:event': TypedPacket;
    'pm2:kill': KillPacket;
  }

  type BusPacket = BusPackets[keyof BusPackets] | TypedPacket;

  /**
   * The daemon's events. A pattern is a topic where `*` matches one or more characters;
   * the texts it matched come first: `on('log:*', (type, packet) => …)`, `on('*', (event, packet) => …)`.
   */
  interface Bus {
    readonly closed: boolean;
    on<K extends keyof BusPackets>(topic: K, listener: (packet: BusPackets[K]) => void): this;
    on(pattern: 'log:*', listener: (type: 'out' | 'err' | 'PM2', packet: LogPacket) => void): this;
    on(pattern: '*', listener: (event: string, packet: BusPacket) => void): this;
    on(pattern: string, listener: (...args: any[]) => void): this;
    once<K extends keyof BusPackets>(topic: K, listener: (packet: BusPackets[K]) => void): this;
    once(pattern: string, listener: (...args: any[]) => void): this;
    /** Removes `listener` from `pattern`, every listener of `pattern`, or all listeners. */
    off(pattern?: string, listener?: (...args: any[]) => void): this;
    addListener(pattern: string, listener: (...args: any[]) => void): this;
    removeListener(pattern?: string, listener?: (...args: any[]) => void): this;
    removeAllListeners(pattern?: string): this;
    listenerCount(pattern?: string): number;
    /** Delivers `data` to this bus's own listeners (nothing is sent to the daemon). */
    emit(event: string, data?: unknown): boolean;
    /** Ends the subscription; nothing of it keeps Node alive afterwards. */
    close(): void;
  }

  interface DataPacket {
    id?: number | string;
    topic: string | boolean;
    data: unknown;
    [key: string]: unknown;
  }

  interface MsgProcessOptions {
    id?: number;
    name?: string;
    msg: string;
    opts?: unknown;
    uuid?: string;
  }

  interface Paths {
    PM2_HOME: string;
    DEFAULT_LOG_PATH: string;
    DEFAULT_PID_PATH: string;
    DEFAULT_MODULE_PATH: string;
    PM2_LOG_FILE_PATH: string;
    PM2_PID_FILE_PATH: string;
    DUMP_FILE_PATH: string;
    DUMP_BACKUP_FILE_PATH: string;
    DAEMON_RPC_PORT: string;
    DAEMON_PUB_PORT: string;
    PM2_MODULE_CONF_FILE: string;
  }

  interface Client {
    daemon_mode: boolean;
    readonly pm2_home: string;
    conf: Paths;
    /** A raw RPC: the callback gets the daemon's reply arguments. */
    executeRemote(method: string, ...argsAndCallback: any[]): Promise<any> | void;
    getExposedMethods(cb: Callback<Record<string, unknown>>): void;
    getExposedMethods(): Promise<Record<string, unknown>>;
    close(cb?: ErrCallback): Promise<void> | void;
  }

  type API = PM2API;
}

declare class PM2API {
  constructor(opts?: pm2.ConstructorOptions);

  readonly pm2_home: string;
  readonly cwd: string;
  daemon_mode: boolean;
  readonly Client: pm2.Client;
  readonly _conf: pm2.Paths;
  pm2_configuration: Record<string, unknown>;

  /** Connects to the daemon of pm2_home, starting it if needed; connect(true): supervise in this process. */
  connect(cb: pm2.Callback<pm2.ConnectResult>): void;
  connect(noDaemonMode: boolean, cb: pm2.Callback<pm2.ConnectResult>): void;
  connect(noDaemonMode?: boolean): Promise<pm2.ConnectResult>;

  /** Closes the connection and every bus; the script can then exit. */
  disconnect(cb: pm2.ErrCallback): void;
  disconnect(): Promise<void>;
  close(cb: pm2.ErrCallback): void;
  close(): Promise<void>;
  /** Kills the daemon and deletes this instance's home (refused for a `.pm2` home). */
  destroy(cb: pm2.Callback<pm2.SuccessResult>): void;
  destroy(): Promise<pm2.SuccessResult>;

  /** Starts apps: an options object, a script (+ options), an ecosystem file or object. */
  start(options: pm2.StartOptions, cb: pm2.Callback<pm2.StartedProcess[] | pm2.Proc[]>): void;
  start(script: string, cb: pm2.Callback<pm2.StartedProcess[] | pm2.Proc[]>): void;
  start(
    scriptOrConfig: string | pm2.StartOptions | pm2.Ecosystem | pm2.StartOptions[],
    options: pm2.StartOptions | pm2.ConfigStartOptions,
    cb: pm2.Callback<pm2.StartedProcess[] | pm2.Proc[]>
  ): void;
  start(
    scriptOrConfig: string | number | pm2.StartOptions | pm2.Ecosystem | pm2.StartOptions[],
    options?: pm2.StartOptions | pm2.ConfigStartOptions
  ): Promise<pm2.StartedProcess[] | pm2.Proc[]>;

  stop(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  stop(target: pm2.Target): Promise<pm2.Proc[]>;

  restart(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  restart(target: pm2.Target, options: pm2.ActionOptions, cb: pm2.Callback<pm2.Proc[]>): void;
  restart(target: pm2.Target, options?: pm2.ActionOptions): Promise<pm2.Proc[]>;

  reload(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  reload(target: pm2.Target, options: pm2.ActionOptions, cb: pm2.Callback<pm2.Proc[]>): void;
  reload(target: pm2.Target, options?: pm2.ActionOptions): Promise<pm2.Proc[]>;
  /** A reload whose old processes are sent the 'shutdown' message. */
  gracefulReload(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  gracefulReload(target: pm2.Target, options: pm2.ActionOptions, cb: pm2.Callback<pm2.Proc[]>): void;
  gracefulReload(target: pm2.Target, options?: pm2.ActionOptions): Promise<pm2.Proc[]>;

  delete(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  delete(target: pm2.Target, jsonVia: string, cb: pm2.Callback<pm2.Proc[]>): void;
  delete(target: pm2.Target, jsonVia?: string): Promise<pm2.Proc[]>;

  /** Sets restart_time and unstable_restarts back to 0. */
  reset(target: pm2.Target, cb: pm2.Callback<pm2.Proc[]>): void;
  reset(target: pm2.Target): Promise<pm2.Proc[]>;

  /** Scales an app to n instances, or by '+n' / '-n'. */
  scale(name: string, n: number | string, cb: pm2.Callback<pm2.ProcessDescription[]>): void;
  scale(name: string, n: number | string): Promise<pm2.ProcessDescription[]>;

  list(cb: pm2.Callback<pm2.ProcessDescription[]>): void;
  list(options: unknown, cb: pm2.Callback<pm2.ProcessDescription[]>): void;
  list(options?: unknown): Promise<pm2.ProcessDescription[]>;

  /** The processes with this id or name; [] when none. */
  describe(target: pm2.Target, cb: pm2.Callback<pm2.ProcessDescription[]>): void;
  describe(target: pm2.Target): Promise<pm2.ProcessDescription[]>;

  getProcessIdByName(name: string, cb: pm2.Callback<number[]>): void;
  getProcessIdByName(name: string): Promise<number[]>;

  getPID(cb: pm2.Callback<number[]>): void;
  getPID(name: string, cb: pm2.Callback<number[]>): void;
  getPID(name?: string): Promise<number[]>;

  ping(cb: pm2.Callback<{ msg: 'pong' }>): void;
  ping(): Promise<{ msg: 'pong' }>;

  /** The daemon's version. */
  getVersion(cb: pm2.Callback<string>): void;
  getVersion(): Promise<string>;

  /** Deletes every process and stops the daemon. */
  killDaemon(cb: pm2.Callback<pm2.SuccessResult>): void;
  killDaemon(): Promise<pm2.SuccessResult>;
  kill(cb: pm2.Callback<pm2.SuccessResult>): void;
  kill(): Promise<pm2.SuccessResult>;

  /**
   * Saves the list, then has this package's daemon exec the installed daemon
   * binary in place (no app restarts: `inPlace` true); with PM2's Node daemon,
   * or where that cannot be, restarts the daemon (with this process's
   * environment) and resurrects.
   */
  update(cb: pm2.Callback<pm2.UpdateResult>): void;
  update(): Promise<pm2.UpdateResult>;

  /** Saves the process list to dump.pm2 (force: even when empty). */
  dump(cb: pm2.Callback<pm2.SuccessResult>): void;
  dump(force: boolean, cb: pm2.Callback<pm2.SuccessResult>): void;
  dump(force?: boolean): Promise<pm2.SuccessResult>;

  /** Starts the apps saved in dump.pm2 that are not running. */
  resurrect(cb: pm2.Callback<pm2.StartedProcess[]>): void;
  resurrect(): Promise<pm2.StartedProcess[]>;

  /** Empties the log files of a process, or all of them. */
  flush(cb: pm2.Callback<pm2.SuccessResult>): void;
  flush(target: pm2.Target, cb: pm2.Callback<pm2.SuccessResult>): void;
  flush(target?: pm2.Target): Promise<pm2.SuccessResult>;

  /** Reopens every log file (after an external rotation). */
  reloadLogs(cb: pm2.Callback<pm2.SuccessResult>): void;
  reloadLogs(): Promise<pm2.SuccessResult>;

  /** Subscribes to the daemon's events. */
  launchBus(cb: { bivarianceHack(err: Error | null, bus: pm2.Bus, socket: pm2.Bus): void }['bivarianceHack']): void;
  launchBus(): Promise<pm2.Bus>;

  /** Sends a packet to an app (received with process.on('message')); needs topic and data. */
  sendDataToProcessId(id: number | string, packet: pm2.DataPacket, cb: pm2.Callback<{ success: boolean; data: pm2.DataPacket }>): void;
  sendDataToProcessId(packet: pm2.DataPacket & { id: number | string }, cb: pm2.Callback<{ success: boolean; data: pm2.DataPacket }>): void;
  sendDataToProcessId(id: number | string, packet: pm2.DataPacket): Promise<{ success: boolean; data: pm2.DataPacket }>;
  sendDataToProcessId(packet: pm2.DataPacket & { id: number | string }): Promise<{ success: boolean; data: pm2.DataPacket }>;

  sendSignalToProcessName(signal: string | number, name: string, cb: pm2.Callback<unknown>): void;
  sendSignalToProcessName(signal: string | number, name: string): Promise<unknown>;
  sendSignalToProcessId(signal: string | number, id: number | string, cb: pm2.Callback<unknown>): void;
  sendSignalToProcessId(signal: string | number, id: number | string): Promise<unknown>;

  /** Writes a line (plus separator, default '\n') to a fork-mode app's stdin. */
  sendLineToStdin(pmId: number | string, line: string, cb: pm2.Callback<unknown>): void;
  sendLineToStdin(pmId: number | string, line: string, separator: string, cb: pm2.Callback<unknown>): void;
  sendLineToStdin(pmId: number | string, line: string, separator?: string): Promise<unknown>;

  /** Triggers an action registered by apps; resolves with the daemon's answer ({process_count}). */
  msgProcess(options: pm2.MsgProcessOptions, cb: pm2.Callback<unknown>): void;
  msgProcess(options: pm2.MsgProcessOptions): Promise<unknown>;

  /** Runs an app action on the target's processes and gathers one axm:reply per process. */
  trigger(target: pm2.Target, action: string, cb: pm2.Callback<pm2.AxmReplyPacket[]>): void;
  trigger(target: pm2.Target, action: string, params: unknown, cb: pm2.Callback<pm2.AxmReplyPacket[]>): void;
  trigger(target: pm2.Target, action: string, params?: unknown): Promise<pm2.AxmReplyPacket[]>;

  launchModules(cb: pm2.ErrCallback): void;
  launchModules(): Promise<void>;

  /** Ends the process when used as the CLI; does nothing in programmatic use. */
  exitCli(code?: number): boolean;

  /** Prints the process list as JSON and passes it on. */
  jlist(cb: pm2.Callback<pm2.ProcessDescription[]>): void;
  jlist(): Promise<pm2.ProcessDescription[]>;
  /** Print PM2's process table. */
  speedList(cb?: pm2.ErrCallback): void;
  speedList(code: number, cb?: pm2.ErrCallback): void;
  slist(cb?: pm2.ErrCallback): void;
  slist(tree: boolean, cb?: pm2.ErrCallback): void;
  /** Print the logs (printLogs ends after the tail; streamLogs follows them). */
  printLogs(target?: pm2.Target, lines?: number, raw?: boolean, timestamp?: boolean | string, exclusive?: 'out' | 'err' | false, cb?: pm2.ErrCallback): Promise<void> | void;
  streamLogs(target?: pm2.Target, lines?: number, raw?: boolean, timestamp?: boolean | string, exclusive?: 'out' | 'err' | false, cb?: pm2.ErrCallback): Promise<void> | void;
  /** Prints a process's environment. */
  env(id: number | string, cb: pm2.ErrCallback): void;
  env(id: number | string): Promise<void>;
  /** Prints the diagnostic report. */
  report(cb: pm2.ErrCallback): void;
  report(): Promise<void>;
  deepUpdate(cb: pm2.Callback<pm2.SuccessResult>): void;
  deepUpdate(): Promise<pm2.SuccessResult>;
  /** Empties dump.pm2. */
  clearDump(cb: pm2.Callback<pm2.SuccessResult>): void;
  clearDump(): Promise<pm2.SuccessResult>;
  autodump(cb: pm2.Callback<pm2.SuccessResult>): void;
  autodump(): Promise<pm2.SuccessResult>;
  /** Writes a starter ecosystem.config.js in cwd ('simple' for the shortest). */
  generateSample(cb: pm2.Callback<{ success: boolean; file: string }>): void;
  generateSample(mode: string, cb: pm2.Callback<{ success: boolean; file: string }>): void;
  generateSample(mode?: string): Promise<{ success: boolean; file: string }>;
  _startJson(file: string | pm2.Ecosystem, opts: pm2.ConfigStartOptions, action?: string, pipe?: unknown, cb?: pm2.Callback<unknown>): Promise<unknown> | void;
  actionFromJson(action: string, file: string, opts: pm2.ActionOptions, jsonVia?: unknown, cb?: pm2.Callback<pm2.Proc[]>): Promise<pm2.Proc[]> | void;
  _operate(action: string, target: pm2.Target, envs?: pm2.ActionOptions, cb?: pm2.Callback<pm2.Proc[]>): Promise<pm2.Proc[]> | void;

  /** `pm2 install`: an npm name[@version], a .tgz file (or `opts.tarball`), or a folder (development mode). */
  install(module: string, cb: pm2.Callback<pm2.Proc[]>): void;
  install(module: string, opts: { tarball?: boolean }, cb: pm2.Callback<pm2.Proc[]>): void;
  install(module: string, opts?: { tarball?: boolean }): Promise<pm2.Proc[]>;
  /** `pm2 uninstall <module|all|.>` */
  uninstall(module: string, cb: pm2.Callback<pm2.SuccessResult>): void;
  uninstall(module: string): Promise<pm2.SuccessResult>;
  /** Starts every installed module not running. */
  launchAll(cb?: pm2.Callback<pm2.SuccessResult>): Promise<pm2.SuccessResult> | void;
  /** Deletes a module's process (it stays installed). */
  deleteModule(module: string, cb: pm2.Callback<pm2.Proc[]>): void;
  deleteModule(module: string): Promise<pm2.Proc[]>;
  /** `pm2 module:generate <name>`: a sample module in `<cwd>/<name>`. */
  generateModuleSample(name: string, cb: pm2.Callback<{ success: boolean; path: string }>): void;
  generateModuleSample(name: string): Promise<{ success: boolean; path: string }>;
  /** `pm2 package [folder]`: `<name>-<version>.tgz` in cwd. */
  package(folder: string, cb: pm2.Callback<{ success: boolean; file: string }>): void;
  package(folder?: string): Promise<{ success: boolean; file: string }>;
  /** `pm2 publish [folder]`: bumps the patch version, then `npm publish` (`dryRun` passes `--dry-run`). */
  publish(folder: string, opts: { dryRun?: boolean }, cb: pm2.Callback<pm2.SuccessResult>): void;
  publish(folder?: string, opts?: { dryRun?: boolean }): Promise<pm2.SuccessResult>;
  /** `pm2 set <module>:<key> <value>`: stored in module_conf.json, the module restarted. Calls back with the whole configuration. */
  set(key: string, value: string | number | boolean, cb: pm2.Callback<Record<string, any>>): void;
  set(key: string, value: string | number | boolean): Promise<Record<string, any>>;
  /** `pm2 unset <module>:<key>` */
  unset(key: string, cb: pm2.Callback<Record<string, any>>): void;
  unset(key: string): Promise<Record<string, any>>;
  /** `pm2 get [<module>:<key>]`: one value, or the whole configuration. */
  get(cb: pm2.Callback<Record<string, any>>): void;
  get(key: string, cb: pm2.Callback<any>): void;
  get(key?: string): Promise<any>;
  /** `pm2 multiset "k1 v1 k2 v2"` */
  multiset(serial: string, cb: pm2.Callback<Record<string, any>>): void;
  multiset(serial: string): Promise<Record<string, any>>;
  /** `pm2 conf [module|key] [value]`: a module's section, a value, or (with a value) a set. */
  conf(cb: pm2.Callback<any>): void;
  conf(key: string, cb: pm2.Callback<any>): void;
  conf(key: string, value: string, cb: pm2.Callback<any>): void;
  conf(key?: string, value?: string): Promise<any>;
  /** `pm2 startup` / `pm2 unstartup` (systemd). */
  startup(platform?: string, opts?: { user?: string; hp?: string; serviceName?: string }, cb?: pm2.ErrCallback): Promise<void> | void;
  uninstallStartup(platform?: string, opts?: { user?: string; serviceName?: string }, cb?: pm2.ErrCallback): Promise<void> | void;
  /** Writes a Dockerfile in cwd that runs `script` with pm2-runtime; calls back with its path. */
  generateDockerfile(script: string, opts?: { nodeVersion?: string; fresh?: boolean }, cb?: pm2.Callback<string>): Promise<string> | void;
  /** The Dockerfile, then `docker build` and (unless mode is 'distribution') `docker run`. */
  dockerMode(script: string, opts?: { imageName?: string; nodeVersion?: string; fresh?: boolean; detach?: boolean }, mode?: 'development' | 'distribution', cb?: pm2.Callback<{ success: boolean; image: string; dockerfile: string }>): Promise<{ success: boolean; image: string; dockerfile: string }> | void;
  /** `pm2 serve`: a folder over HTTP as a managed app. */
  serve(path?: string, port?: number | string, opts?: { spa?: boolean; homepage?: string; basicAuth?: { username: string; password: string } }, cb?: pm2.ErrCallback): Promise<void> | void;
  /** `pm2 monit`: the terminal dashboard, in this process's terminal, until the user leaves it. */
  monit(cb?: pm2.ErrCallback): Promise<void> | void;
  dashboard(cb?: pm2.ErrCallback): Promise<void> | void;
  /** `pm2 inspect <app>`: opens Node's inspector (SIGUSR1) in the app's online node processes. */
  inspect(app: pm2.Target, cb?: pm2.Callback<pm2.SuccessResult>): Promise<pm2.SuccessResult> | void;
  /** `pm2 attach <pm_id> [separator]` in this process's terminal: the app's output, and stdin lines to the app, until Ctrl-C or the end of stdin. */
  attach(pmId: number | string, separator?: string, cb?: pm2.Callback<pm2.SuccessResult>): Promise<pm2.SuccessResult> | void;
  attach(pmId: number | string, cb: pm2.Callback<pm2.SuccessResult>): void;
  /** `pm2 deploy <file> …args`: args are the environment, then the command and its arguments. */
  deploy(file: string, args?: string[] | { rawArgs: string[] }, cb?: pm2.ErrCallback): Promise<void> | void;
  /**
   * Not built in this package yet, or only meaningful with PM2's paid cloud
   * service: each answers through its callback (or a rejected promise) with
   * an error that says so.
   */
  pullAndRestart(...rest: unknown[]): Promise<never> | void;
  pullAndReload(...rest: unknown[]): Promise<never> | void;
  pullCommitId(...rest: unknown[]): Promise<never> | void;
  forward(...rest: unknown[]): Promise<never> | void;
  backward(...rest: unknown[]): Promise<never> | void;
  logrotate(...rest: unknown[]): Promise<never> | void;
  boilerplate(...rest: unknown[]): Promise<never> | void;
  autoinstall(...rest: unknown[]): Promise<never> | void;
  link(...rest: unknown[]): Promise<never> | void;
  unlink(...rest: unknown[]): Promise<never> | void;
  openDashboard(...rest: unknown[]): Promise<never> | void;
  agentInfos(...rest: unknown[]): Promise<never> | void;
  killAgent(...rest: unknown[]): Promise<never> | void;
  linkManagement(...rest: unknown[]): Promise<never> | void;
  remote(...rest: unknown[]): Promise<never> | void;
  remoteV2(...rest: unknown[]): Promise<never> | void;
  minimumSetup(...rest: unknown[]): Promise<never> | void;
  clearSetup(...rest: unknown[]): Promise<never> | void;
  profile(...rest: unknown[]): Promise<never> | void;
  monitorState(...rest: unknown[]): Promise<never> | void;
}

declare const pm2: PM2API & { custom: typeof PM2API };

export = pm2;
