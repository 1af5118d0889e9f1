'use strict';
// The programmatic API: PM2's class, its callback signatures and result shapes,
// over the Rust client in the napi addon. Every method takes PM2's callback and,
// when none is given, returns a Promise instead.
//
// Targets are an id (number or numeric string), a name, a namespace, 'all', or
// '/regex/'; for stop/restart/reload/delete also an ecosystem file, whose apps
// are acted on one by one.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const native = require('./native');
const { Bus } = require('./bus');
const { defaultHome, pathsFor } = require('./home_layout');

const CONFIG_FILE = /\.(json5?|ya?ml)$|\.config\.[cm]?js$/i;
// Options that steer an operation rather than describe an app.
const OPERATION_KEYS = ['force', 'only', 'parallel', 'updateEnv', 'update_env', 'rawArgs', 'commands'];

class PM2 {
  /**
   * @param {{pm2_home?: string, cwd?: string, daemon_mode?: boolean, independent?: boolean,
   *          public_key?: string, secret_key?: string, machine_name?: string}} [opts]
   */
  constructor(opts = {}) {
    if (opts.pm2_home && opts.independent) {
      throw new Error('pm2_home and independent cannot be used together');
    }
    this.cwd = opts.cwd ? path.resolve(opts.cwd) : process.cwd();
    if (opts.pm2_home) this.pm2_home = path.resolve(opts.pm2_home);
    else if (opts.independent) this.pm2_home = path.join('/tmp', crypto.randomBytes(8).toString('hex'));
    else this.pm2_home = defaultHome();
    // An independent instance runs its supervisor in this process unless told otherwise.
    this.daemon_mode = opts.daemon_mode === undefined ? !opts.independent : Boolean(opts.daemon_mode);
    this.public_key = opts.public_key || process.env.PM2_PUBLIC_KEY || process.env.KEYMETRICS_PUBLIC || null;
    this.secret_key = opts.secret_key || process.env.PM2_SECRET_KEY || process.env.KEYMETRICS_SECRET || null;
    this.machine_name = opts.machine_name || process.env.PM2_MACHINE_NAME || process.env.INSTANCE_NAME || null;
    this._conf = pathsFor(this.pm2_home);
    this.pm2_configuration = readModuleConf(this._conf.PM2_MODULE_CONF_FILE).pm2 || {};

    this._native = null; // the connected NativeClient
    this._connecting = null; // the shared promise of a connection under way
    this._launched = false; // the last connection started a daemon
    this._buses = new Set();

    const api = this;
    this.Client = {
      get daemon_mode() {
        return api.daemon_mode;
      },
      set daemon_mode(v) {
        api.daemon_mode = Boolean(v);
      },
      get pm2_home() {
        return api.pm2_home;
      },
      conf: this._conf,
      /** executeRemote(method, [...args], cb(err, ...results)): a raw RPC to the daemon. */
      executeRemote(method, ...rest) {
        const cb = typeof rest[rest.length - 1] === 'function' ? rest.pop() : undefined;
        const p = api._connect().then((c) => c.call(method, JSON.stringify(rest)).then(parseJson));
        if (!cb) return p.then((args) => (Array.isArray(args) ? args[0] : args));
        p.then(
          (args) => process.nextTick(cb, null, ...(Array.isArray(args) ? args : [args])),
          (err) => process.nextTick(cb, toError(err))
        );
      },
      getExposedMethods(cb) {
        const p = api._connect().then((c) => {
          if (typeof c.methods !== 'function') throw new Error('getExposedMethods is not supported');
          return c.methods().then(parseJson);
        });
        return settle(p, cb);
      },
      close(cb) {
        return api.disconnect(cb);
      },
    };
  }

  // ---- connection ------------------------------------------------------------------------

  /** connect([noDaemonMode], cb(err, {new_pm2_instance})) */
  connect(noDaemonMode, cb) {
    if (typeof noDaemonMode === 'function') {
      cb = noDaemonMode;
      noDaemonMode = undefined;
    }
    if (noDaemonMode === true && !this._native && !this._connecting) this.daemon_mode = false;
    const already = this._native !== null;
    const p = this._connect().then(() => {
      // As PM2's client socket does, a connection keeps Node alive until
      // disconnect (modules that only wait on the daemon rely on it).
      if (!this._keepAlive) this._keepAlive = setInterval(() => {}, 1 << 30);
      return { new_pm2_instance: already ? false : this._launched };
    });
    return settle(p, cb);
  }

  /** Closes the sockets and every bus: afterwards nothing of pm2 keeps Node alive. */
  disconnect(cb) {
    return settle(this._disconnect().then(() => undefined), cb);
  }

  close(cb) {
    return this.disconnect(cb);
  }

  /** Stops the daemon, then deletes this instance's PM2_HOME (never a `.pm2` home). */
  destroy(cb) {
    const p = this._killDaemon().then(() => {
      const home = this.pm2_home;
      if (home.split(path.sep).includes('.pm2')) {
        throw new Error(`destroy refuses to delete a .pm2 home (${home})`);
      }
      if (!fs.existsSync(path.join(home, 'module_conf.json'))) {
        throw new Error(`${home} does not look like a PM2 home (no module_conf.json)`);
      }
      fs.rmSync(home, { recursive: true, force: true });
      return { success: true };
    });
    return settle(p, cb);
  }

  _connect() {
    if (this._native) return Promise.resolve(this._native);
    if (!this._connecting) {
      const pending = native
        .connect({ home: this.pm2_home, daemonMode: this.daemon_mode, env: this._daemonEnv() })
        .then(
          (client) => {
            this._native = client;
            this._launched = Boolean(client.launchedDaemon);
            this._connecting = null;
            return client;
          },
          (err) => {
            this._connecting = null;
            throw toError(err);
          }
        );
      this._connecting = pending;
    }
    return this._connecting;
  }

  _disconnect() {
    if (this._keepAlive) {
      clearInterval(this._keepAlive);
      this._keepAlive = null;
    }
    const release = () => {
      for (const bus of [...this._buses]) bus.close();
      this._buses.clear();
      const client = this._native;
      this._native = null;
      if (client) client.close();
    };
    const pending = this._connecting;
    if (pending) return pending.then(release, release);
    release();
    return Promise.resolve();
  }

  _run(fn) {
    return this._connect().then(fn);
  }

  _daemonEnv() {
    const env = clientEnv();
    env.PM2_HOME = this.pm2_home;
    if (this.public_key) env.PM2_PUBLIC_KEY = this.public_key;
    if (this.secret_key) env.PM2_SECRET_KEY = this.secret_key;
    if (this.machine_name) env.PM2_MACHINE_NAME = this.machine_name;
    return env;
  }

  _call(method, ...args) {
    return this._run((c) => c.call(method, JSON.stringify(args))).then((json) => {
      const reply = parseJson(json);
      return Array.isArray(reply) ? reply[0] : reply;
    });
  }

  // ---- starting ----------------------------------------------------------------------------

  /**
   * start(options, cb) | start(script, cb) | start(script, options, cb)
   * | start(configFile, [{env, only, force}], cb) | start(configObject, [{env, only, force}], cb)
   */
  start(cmd, opts, cb) {
    if (typeof opts === 'function') {
      cb = opts;
      opts = undefined;
    }
    return settle(this._start(cmd, opts || {}), cb);
  }

  async _start(cmd, opts) {
    if (cmd !== null && typeof cmd === 'object') return this._startConfig(cmd, opts);
    if (typeof cmd === 'number') cmd = String(cmd);
    if (typeof cmd !== 'string' || cmd === '') {
      throw new Error('start needs a script, a config file or an options object');
    }
    if (CONFIG_FILE.test(cmd)) return this._startConfig(await loadConfigFile(path.resolve(this.cwd, cmd)), opts);
    return this._startScript(cmd, opts);
  }

  async _startScript(script, opts) {
    const client = await this._connect();
    const app = { ...opts };
    let envName;
    if (typeof app.env === 'string') {
      envName = app.env;
      delete app.env;
    }
    // A name, id or namespace that is already running is restarted, as PM2 does.
    const list = parseJson(await client.list());
    if (list.some((p) => matchesExisting(p, script))) {
      return this._act('restart', script, opts);
    }
    const force = Boolean(app.force);
    for (const k of OPERATION_KEYS) delete app[k];
    app.script = script;
    const startOpts = { cwd: this.cwd, env: clientEnv(), force, restartExisting: false };
    if (envName !== undefined) startOpts.envName = envName;
    return startResult(await client.start(JSON.stringify([app]), JSON.stringify(startOpts)));
  }

  async _startConfig(config, opts) {
    const client = await this._connect();
    const envName = typeof opts.env === 'string' ? opts.env : undefined;
    const apps = appsOf(config, envName);
    const startOpts = {
      cwd: this.cwd,
      env: clientEnv(),
      force: Boolean(opts.force),
      only: onlyList(opts.only),
      // Ecosystem apps that already run by name are restarted with their new options.
      restartExisting: true,
    };
    if (envName !== undefined) startOpts.envName = envName;
    return startResult(await client.start(JSON.stringify(apps), JSON.stringify(startOpts)));
  }

  // ---- acting on processes -----------------------------------------------------------------

  stop(proc, cb) {
    return settle(this._act('stop', proc, {}), cb);
  }

  /** restart(target, [{updateEnv, env, ...attributes}], cb) */
  restart(proc, opts, cb) {
    if (typeof opts === 'function') {
      cb = opts;
      opts = undefined;
    }
    return settle(this._act('restart', proc, opts || {}), cb);
  }

  /** reload(target, [{updateEnv, env, ...attributes}], cb): zero-downtime in cluster mode. */
  reload(proc, opts, cb) {
    if (typeof opts === 'function') {
      cb = opts;
      opts = undefined;
    }
    return settle(this._act('reload', proc, opts || {}), cb);
  }

  /** gracefulReload(target, [opts], cb): a reload whose old processes get the 'shutdown' message. */
  gracefulReload(proc, opts, cb) {
    if (typeof opts === 'function') {
      cb = opts;
      opts = undefined;
    }
    return settle(this._act('gracefulReload', proc, opts || {}), cb);
  }

  /** delete(target, [jsonVia], cb); jsonVia 'pipe': `target` is the JSON text of an ecosystem. */
  delete(proc, jsonVia, cb) {
    if (typeof jsonVia === 'function') {
      cb = jsonVia;
      jsonVia = undefined;
    }
    const p =
      jsonVia === 'pipe' && typeof proc === 'string'
        ? new Promise((resolve) => resolve(JSON.parse(proc))).then((conf) => this._act('delete', conf, {}))
        : this._act('delete', proc, {});
    return settle(p, cb);
  }

  /** reset(target, cb): restart counters back to 0. */
  reset(proc, cb) {
    return settle(this._act('reset', proc, {}), cb);
  }

  async _act(action, proc, opts) {
    if (proc !== null && typeof proc === 'object') return this._actOnConfig(action, proc, opts);
    if (typeof proc === 'number') proc = String(proc);
    if (typeof proc !== 'string' || proc === '') throw new Error(NOT_FOUND);
    if (CONFIG_FILE.test(proc)) {
      return this._actOnConfig(action, await loadConfigFile(path.resolve(this.cwd, proc)), opts);
    }
    const client = await this._connect();
    // A reload answers with the processes it retired, as PM2's does.
    const before = action === 'reload' || action === 'gracefulReload' ? parseJson(await client.list()) : null;
    let result;
    try {
      result = actionResult(await client.action(action, proc, JSON.stringify(this._actionOpts(opts))));
    } catch (err) {
      // PM2's API names no target in this error.
      throw isNotFound(err) ? new Error(NOT_FOUND) : err;
    }
    return before ? retiredBy(result, before) : result;
  }

  _actionOpts(opts) {
    const { env, ...rest } = opts || {};
    const out = { updateEnv: Boolean(rest.updateEnv || rest.update_env), env: clientEnv(), cwd: this.cwd };
    if (typeof env === 'string') out.envName = env;
    else if (env && typeof env === 'object') rest.env = env;
    for (const k of OPERATION_KEYS) delete rest[k];
    if (Object.keys(rest).length) out.overrides = rest;
    return out;
  }

  // An ecosystem as a target: each of its apps by name. Restart and reload update the
  // apps with their options from the file and start the ones not running yet.
  async _actOnConfig(action, config, opts) {
    const client = await this._connect();
    const envName = typeof opts.env === 'string' ? opts.env : undefined;
    const only = onlyList(opts.only);
    const apps = appsOf(config, envName).filter((app) => only.length === 0 || only.includes(appName(app)));
    const env = clientEnv();
    const results = [];
    let missing = null;
    for (const app of apps) {
      const name = appName(app);
      const actOpts = { updateEnv: true, env, cwd: this.cwd };
      if (envName !== undefined) actOpts.envName = envName;
      if (action === 'restart' || action === 'reload' || action === 'gracefulReload') actOpts.overrides = app;
      try {
        results.push(...actionResult(await client.action(action, name, JSON.stringify(actOpts))));
      } catch (err) {
        if (!isNotFound(err)) throw toError(err);
        if (action === 'restart' || action === 'reload' || action === 'gracefulReload') {
          const startOpts = { cwd: this.cwd, env, restartExisting: true };
          if (envName !== undefined) startOpts.envName = envName;
          results.push(...startResult(await client.start(JSON.stringify([app]), JSON.stringify(startOpts))));
        } else if (!missing) {
          missing = toError(err);
        }
      }
    }
    if (results.length === 0 && missing) throw missing;
    return results;
  }

  /** scale(name, n | '+n' | '-n', cb): duplicates or deletes instances of an app. */
  scale(name, number, cb) {
    const p = this._run(async (client) => {
      const procs = parseJson(await client.list()).filter((p) => p.name === name);
      if (procs.length === 0) throw new Error(`Process or Namespace ${name} not found`);
      const text = String(number).trim();
      const n = Number(text);
      if (!Number.isInteger(n)) throw new Error(`Invalid scale value: ${number}`);
      const target = /^[+-]/.test(text) ? procs.length + n : n;
      if (target < 1) throw new Error(`Cannot scale ${name} below 1 instance`);
      for (let i = procs.length; i < target; i++) {
        const added = [].concat(await this._call('duplicateProcessId', procs[0].pm_id));
        // Announced as PM2's client does: `start` on the bus, after `online`.
        for (const p of added.filter((x) => x && x.pm_id !== undefined)) {
          await this._call('notifyByProcessId', { id: p.pm_id, action_name: 'start', manually: true });
        }
      }
      // The oldest instances go, as in PM2: the newest ones stay.
      const surplus = procs.sort((a, b) => a.pm_id - b.pm_id).slice(0, Math.max(0, procs.length - target));
      for (const p of surplus) await client.action('delete', String(p.pm_id), '{}');
      return parseJson(await client.list()).filter((p) => p.name === name);
    });
    return settle(p, cb);
  }

  // ---- reading -----------------------------------------------------------------------------

  /** list([opts], cb): every process, ordered by pm_id. */
  list(opts, cb) {
    if (typeof opts === 'function') cb = opts;
    return settle(this._run((c) => c.list()).then(parseJson), cb);
  }

  /** describe(id | name, cb): the matching processes; an empty array when none matches. */
  describe(proc, cb) {
    const p = this._run((c) => c.list()).then((json) => {
      const key = String(proc);
      const byId = /^\d+$/.test(key);
      return parseJson(json).filter((p) => (byId ? String(p.pm_id) === key : p.name === key));
    });
    return settle(p, cb);
  }

  /** getProcessIdByName(name, cb(err, ids)) */
  getProcessIdByName(name, cb) {
    const p = this._run((c) => c.list()).then((json) =>
      parseJson(json)
        .filter((p) => p.name === name)
        .map((p) => p.pm_id)
    );
    return settle(p, cb);
  }

  /** getPID([name], cb(err, pids)): pids of the app, or of every process. */
  getPID(name, cb) {
    if (typeof name === 'function') {
      cb = name;
      name = undefined;
    }
    const p = this._run((c) => c.list()).then((json) =>
      parseJson(json)
        .filter((p) => name === undefined || name === null || p.name === name)
        .map((p) => p.pid)
    );
    return settle(p, cb);
  }

  ping(cb) {
    return settle(this._call('ping'), cb);
  }

  getVersion(cb) {
    return settle(this._call('getVersion'), cb);
  }

  // ---- daemon and persistence --------------------------------------------------------------

  /** killDaemon(cb): deletes every process, stops the daemon and releases this client. */
  killDaemon(cb) {
    return settle(this._killDaemon(), cb);
  }

  kill(cb) {
    return this.killDaemon(cb);
  }

  async _killDaemon() {
    const client = await this._connect();
    await client.killDaemon();
    await this._disconnect();
    return { success: true };
  }

  /**
   * update(cb): saves the list, then has this package's daemon exec the
   * installed daemon binary in place (no app restarts); with PM2's Node
   * daemon, or where that cannot be, restarts the daemon (with this
   * process's env) and resurrects.
   */
  update(cb) {
    const p = (async () => {
      const client = await this._connect();
      await client.dump(false).catch(() => {});
      const inPlace = JSON.parse(await client.updateInPlace(clientEnv()));
      if (inPlace.outcome === 'replaced' || inPlace.outcome === 'upToDate' || inPlace.outcome === 'fellBack') {
        // The exec closed this connection.
        await this._disconnect();
        await this._connect();
        if (inPlace.outcome === 'fellBack') await this._run((c) => c.resurrect()).catch(() => {});
        return { success: true, inPlace: inPlace.outcome !== 'fellBack', message: inPlace.message };
      }
      await this._killDaemon();
      await this._connect();
      await this._run((c) => c.resurrect()).catch(() => {});
      return { success: true };
    })();
    return settle(p, cb);
  }

  /** dump([force], cb): saves the process list to dump.pm2. */
  dump(force, cb) {
    if (typeof force === 'function') {
      cb = force;
      force = false;
    }
    return settle(
      this._run((c) => c.dump(Boolean(force))).then(() => ({ success: true })),
      cb
    );
  }

  /** resurrect(cb): starts the saved apps not running; one that fails is reported and the rest start. */
  resurrect(cb) {
    const run = this._run((c) => c.resurrect()).then((text) => {
      const { started, failed } = parseJson(text);
      for (const f of failed) console.error(`[PM2][ERROR] App ${f.name} could not be restored: ${f.error}`);
      return started;
    });
    return settle(run, cb);
  }

  // ---- logs --------------------------------------------------------------------------------

  /** flush([target], cb): empties the log files of the target (all when omitted). */
  flush(target, cb) {
    if (typeof target === 'function') {
      cb = target;
      target = undefined;
    }
    const t = target === undefined || target === null || target === 'all' ? null : String(target);
    return settle(
      this._run((c) => c.flush(t)).then(() => ({ success: true })),
      cb
    );
  }

  reloadLogs(cb) {
    return settle(
      this._run((c) => c.reloadLogs()).then(() => ({ success: true })),
      cb
    );
  }

  // ---- bus and messages --------------------------------------------------------------------

  /** launchBus(cb(err, bus, socket)): subscribes to the daemon's events. */
  launchBus(cb) {
    const p = this._launchBus();
    if (typeof cb !== 'function') return p;
    p.then(
      (bus) => process.nextTick(cb, null, bus, bus),
      (err) => process.nextTick(cb, toError(err))
    );
  }

  async _launchBus() {
    const client = await this._connect();
    const bus = new Bus();
    bus._handle = await client.launchBus((a, b, c) => {
      // Tolerates an error-first callback convention from the addon.
      if (c !== undefined && (a === null || a === undefined)) bus._dispatch(b, c);
      else bus._dispatch(a, b);
    });
    if (this._native !== client) {
      bus.close(); // disconnected while subscribing
      throw new Error('pm2 was disconnected while the bus was being launched');
    }
    bus._onClose = () => this._buses.delete(bus);
    this._buses.add(bus);
    return bus;
  }

  /** sendDataToProcessId(id, packet, cb) | sendDataToProcessId(packet, cb) with packet.id */
  sendDataToProcessId(id, packet, cb) {
    if (id !== null && typeof id === 'object' && (typeof packet === 'function' || packet === undefined)) {
      cb = packet;
      packet = id;
    } else if (packet !== null && typeof packet === 'object') {
      packet.id = id;
    }
    return settle(this._call('sendDataToProcessId', packet), cb);
  }

  sendSignalToProcessName(signal, name, cb) {
    return settle(this._call('sendSignalToProcessName', { signal, process_name: name }), cb);
  }

  sendSignalToProcessId(signal, id, cb) {
    return settle(this._call('sendSignalToProcessId', { signal, process_id: toId(id) }), cb);
  }

  /** sendLineToStdin(pm_id, line, [separator], cb): writes a line to a fork-mode app's stdin. */
  sendLineToStdin(pmId, line, separator, cb) {
    if (typeof separator === 'function') {
      cb = separator;
      separator = undefined;
    }
    const packet = { pm_id: toId(pmId), line: `${line}${separator === undefined ? '\n' : separator}` };
    return settle(this._call('sendLineToStdin', packet), cb);
  }

  /** msgProcess({id | name, msg, opts?, uuid?}, cb): triggers an action inside apps. */
  msgProcess(opts, cb) {
    return settle(this._call('msgProcess', opts), cb);
  }

  /** trigger(target, action, [params], cb(err, replies)): runs an app action, gathers its axm:reply packets. */
  trigger(target, actionName, params, cb) {
    if (typeof params === 'function') {
      cb = params;
      params = undefined;
    }
    const p = (async () => {
      const bus = await this._launchBus();
      try {
        const msg = { msg: actionName, uuid: crypto.randomUUID() };
        if (params !== undefined) msg.opts = params;
        if (/^\d+$/.test(String(target))) msg.id = Number(target);
        else msg.name = target;
        const replies = [];
        let expected = Infinity;
        let done;
        const finished = new Promise((resolve) => (done = resolve));
        bus.on('axm:reply', (packet) => {
          const proc = (packet && packet.process) || {};
          const ours =
            target === 'all' ||
            String(proc.pm_id) === String(target) ||
            proc.name === target ||
            proc.namespace === target;
          if (!ours) return;
          replies.push(packet);
          if (replies.length >= expected) done();
        });
        const res = await this._call('msgProcess', msg);
        expected = res && typeof res.process_count === 'number' ? res.process_count : 1;
        if (expected === 0) throw new Error(`Action ${actionName} not found in ${target}`);
        if (replies.length < expected) await finished;
        return replies.slice(0, expected);
      } finally {
        bus.close();
      }
    })();
    return settle(p, cb);
  }

  // ---- odds and ends PM2 scripts call ------------------------------------------------------

  /** Modules are relaunched by the client when it starts a daemon; nothing to do here. */
  launchModules(cb) {
    return settle(Promise.resolve(), cb);
  }

  /** In PM2 this ends the CLI process; in programmatic use it does nothing. */
  exitCli(code) {
    if (process.env.PM2_PROGRAMMATIC === 'true' && process.env.PM2_USAGE !== 'CLI') return false;
    this._disconnect().then(() => process.exit(code || 0));
    return true;
  }
}

// ---- helpers -------------------------------------------------------------------------------

function readModuleConf(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) || {};
  } catch {
    return {};
  }
}

// Calls `cb` PM2-style (outside the promise chain, so a throwing callback is an ordinary
// uncaught exception), or hands the promise back when there is no callback.
function settle(promise, cb) {
  if (typeof cb !== 'function') return promise;
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (err) => process.nextTick(cb, toError(err))
  );
  return undefined;
}

function toError(err) {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err));
}

function parseJson(text) {
  if (text === undefined || text === null || text === '') return undefined;
  return typeof text === 'string' ? JSON.parse(text) : text;
}

// PM2's result of stop/restart/reload/delete/reset: one entry per process acted on.
function actionResult(json) {
  const procs = parseJson(json);
  if (!Array.isArray(procs)) return [];
  return procs.map((p) => {
    const env = (p && p.pm2_env) || {};
    const pick = (k) => (p[k] !== undefined ? p[k] : env[k]);
    return {
      name: pick('name'),
      namespace: pick('namespace'),
      pm_id: pick('pm_id'),
      status: pick('status'),
      restart_time: pick('restart_time'),
      pm2_env: env,
    };
  });
}

// PM2's API error for a target that names no process.
const NOT_FOUND = 'process or namespace not found';

// PM2's result of a start: each process with `process.pid` beside its fields.
function startResult(json) {
  const procs = parseJson(json);
  if (!Array.isArray(procs)) return procs;
  return procs.map((p) => ({ ...p, process: { pid: p.pid } }));
}

// A reload's result as PM2 gives it: the processes a cluster reload retired
// (`_old_<id>`, stopped, with the env they had); a fork-mode app is restarted
// in place, so its entry is the process itself.
function retiredBy(result, before) {
  return result.map((entry) => {
    const old = before.find((p) => p.pm_id === entry.pm_id);
    const oldEnv = old && old.pm2_env;
    if (!oldEnv || oldEnv.exec_mode !== 'cluster_mode') return entry;
    const id = `_old_${entry.pm_id}`;
    return {
      name: entry.name,
      namespace: entry.namespace,
      pm_id: id,
      status: 'stopped',
      restart_time: oldEnv.restart_time,
      pm2_env: { ...oldEnv, pm_id: id, status: 'stopped' },
    };
  });
}

function clientEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === 'string') env[k] = v;
  return env;
}

function toId(id) {
  return typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id;
}

function isNotFound(err) {
  return /not found/i.test(err && err.message ? err.message : String(err));
}

function matchesExisting(proc, target) {
  if (/^\d+$/.test(target)) return String(proc.pm_id) === target;
  return proc.name === target || (proc.pm2_env && proc.pm2_env.namespace === target);
}

function onlyList(only) {
  if (only === undefined || only === null || only === '') return [];
  const items = Array.isArray(only) ? only : String(only).split(',');
  return items.map((s) => String(s).trim()).filter(Boolean);
}

function appName(app) {
  if (app.name) return String(app.name);
  const script = app.script || app.cmd || app.command || '';
  return path.basename(String(script), path.extname(String(script)));
}

// The apps of an ecosystem (`{apps}`, `{pm2}`, an array, or one app), copied so the
// caller's objects stay untouched; `deploy[envName].env` is folded under each app's env.
function appsOf(config, envName) {
  let apps;
  if (Array.isArray(config)) apps = config;
  else if (config.apps !== undefined) apps = config.apps;
  else if (config.pm2 !== undefined) apps = config.pm2;
  else apps = config;
  apps = (Array.isArray(apps) ? apps : [apps]).map((app) => ({ ...app }));
  const deployEnv = envName && config.deploy && config.deploy[envName] && config.deploy[envName].env;
  if (deployEnv && typeof deployEnv === 'object') {
    for (const app of apps) app.env = { ...deployEnv, ...(app.env || {}) };
  }
  return apps;
}

async function loadConfigFile(file) {
  if (!fs.existsSync(file)) throw new Error(`File ${file} not found`);
  if (/\.ya?ml$/i.test(file)) {
    try {
      return JSON.parse(native.parseYaml(fs.readFileSync(file, 'utf8')));
    } catch (err) {
      throw new Error(`Error parsing ${file}: ${err.message}`);
    }
  }
  if (/\.json5?$/i.test(file)) {
    const text = fs.readFileSync(file, 'utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      // JSON5 (comments, trailing commas, unquoted keys) is a subset of JS object literals.
      try {
        return require('vm').runInNewContext(`(${text}\n)`, Object.create(null), { timeout: 1000 });
      } catch {
        throw new Error(`Error parsing ${file}: ${err.message}`);
      }
    }
  }
  if (/\.mjs$/i.test(file)) return esmDefault(await importFresh(file));
  // .js / .cjs: read afresh each time, as the file may have changed since the last start.
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  try {
    return esmDefault(require(resolved));
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return esmDefault(await importFresh(file));
    throw err;
  }
}

function importFresh(file) {
  const { pathToFileURL } = require('url');
  return import(`${pathToFileURL(file).href}?t=${Date.now()}`);
}

function esmDefault(mod) {
  if (mod && (mod[Symbol.toStringTag] === 'Module' || mod.__esModule) && mod.default !== undefined) {
    return mod.default;
  }
  return mod;
}

// The printing, internal and not-offered methods of PM2's class.
require('./api_extra').install(PM2, { settle });

module.exports = PM2;
