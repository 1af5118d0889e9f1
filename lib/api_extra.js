'use strict';
// The rest of PM2's API class: the methods that print (they run the native CLI,
// which holds PM2's layouts), the internal entry points scripts reach for, and
// the methods this package does not offer, which answer through their callback
// with an error that says so instead of being undefined.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const { nativeDir, missingMessage } = require('./platform');

/** This platform's native CLI. */
function cliPath() {
  const dir = nativeDir();
  if (!dir) throw new Error(missingMessage());
  return path.join(dir, 'pm2-cli');
}

// Methods that only make sense with PM2's paid cloud service.
const CLOUD = [
  'link', 'unlink', 'openDashboard', 'agentInfos', 'killAgent', 'linkManagement',
  'remote', 'remoteV2', 'minimumSetup', 'clearSetup', 'profile', 'monitorState',
];

// Methods of PM2's class not built in this package yet, with what they belong to.
const NOT_BUILT = {
  pullAndRestart: 'git versioning', pullAndReload: 'git versioning',
  pullCommitId: 'git versioning', forward: 'git versioning', backward: 'git versioning',
  logrotate: 'log rotation (use the pm2-logrotate module)', boilerplate: 'boilerplates', autoinstall: 'autoinstall',
};

/** The last argument when it is a function (PM2's callback), and the others. */
function splitCallback(args) {
  const list = [...args];
  const cb = typeof list[list.length - 1] === 'function' ? list.pop() : undefined;
  return { args: list, cb };
}

/** An error through the callback (on the next tick, as PM2 calls back) or a rejected promise. */
function fail(message, cb) {
  const err = new Error(message);
  if (cb) return void process.nextTick(cb, err);
  return Promise.reject(err);
}

/** Runs the native CLI with this instance's PM2_HOME, its output on ours. */
function runCli(api, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cliPath(), args, {
      cwd: api.cwd,
      env: { ...process.env, PM2_HOME: api.pm2_home },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pm2 ${args.join(' ')} exited with code ${code}`))));
  });
}

function install(PM2, { settle }) {
  const proto = PM2.prototype;
  require('./api_modules').install(PM2, { settle, runCli, splitCallback });

  for (const name of CLOUD) {
    proto[name] = function (...rest) {
      const { cb } = splitCallback(rest);
      return fail(`${name} is not supported by this pm2: it needs PM2's paid cloud service (pm2.io)`, cb);
    };
  }
  for (const [name, what] of Object.entries(NOT_BUILT)) {
    if (proto[name]) continue;
    proto[name] = function (...rest) {
      const { cb } = splitCallback(rest);
      return fail(`${name} is not built in this pm2 yet (${what})`, cb);
    };
  }

  /** jlist(cb): prints the process list as JSON and passes it on. */
  proto.jlist = function (cb) {
    const p = this.list().then((list) => {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return list;
    });
    return settle(p, cb);
  };

  /** speedList / slist(cb): prints PM2's process table. */
  proto.speedList = function (code, cb) {
    if (typeof code === 'function') cb = code;
    return settle(runCli(this, ['ls']), cb);
  };
  proto.slist = function (tree, cb) {
    if (typeof tree === 'function') cb = tree;
    return settle(runCli(this, ['ls']), cb);
  };

  /** printLogs(target, lines, raw, timestamp, exclusive, cb) and streamLogs: `pm2 logs`. */
  function logArgs(target, lines, raw, timestamp, exclusive, stream) {
    const args = ['logs'];
    if (target !== undefined && target !== null && target !== 'all') args.push(String(target));
    if (lines !== undefined && lines !== null) args.push('--lines', String(lines));
    if (raw) args.push('--raw');
    if (timestamp) args.push(`--timestamp=${typeof timestamp === 'string' ? timestamp : ''}`);
    if (exclusive === 'out' || exclusive === 'err') args.push(`--${exclusive}`);
    if (!stream) args.push('--nostream');
    return args;
  }
  proto.printLogs = function (target, lines, raw, timestamp, exclusive, cb) {
    ({ cb } = splitCallback([...arguments]));
    return settle(runCli(this, logArgs(target, lines, raw, timestamp, exclusive, false)), cb);
  };
  proto.streamLogs = function (target, lines, raw, timestamp, exclusive, cb) {
    ({ cb } = splitCallback([...arguments]));
    return settle(runCli(this, logArgs(target, lines, raw, timestamp, exclusive, true)), cb);
  };

  /** monit(cb) / dashboard(cb): `pm2 monit` in this process's terminal, until the user leaves it. */
  proto.monit = function (cb) {
    return settle(runCli(this, ['monit']), cb);
  };
  proto.dashboard = function (cb) {
    return settle(runCli(this, ['dashboard']), cb);
  };

  /** env(id, cb): prints a process's environment. */
  proto.env = function (id, cb) {
    return settle(runCli(this, ['env', String(id)]), cb);
  };

  /** serve([path], [port], [opts], cb): `pm2 serve` (opts: spa, homepage, basicAuth {username, password}). */
  proto.serve = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [dir, port, opts = {}] = args;
    const cli = ['serve', dir || '.', String(port || 8080)];
    if (opts.spa) cli.push('--spa');
    if (opts.homepage) cli.push('--homepage', String(opts.homepage));
    if (opts.basicAuth) {
      cli.push('--basic-auth-username', String(opts.basicAuth.username), '--basic-auth-password', String(opts.basicAuth.password));
    }
    return settle(runCli(this, cli), cb);
  };

  /** startup([platform], [opts], cb) / uninstallStartup: `pm2 startup` / `pm2 unstartup` (opts: user, hp, serviceName). */
  function startupArgs(command, platform, opts = {}) {
    const args = [command];
    if (platform) args.push(String(platform));
    if (opts.user) args.push('-u', String(opts.user));
    if (opts.hp) args.push('--hp', String(opts.hp));
    if (opts.serviceName || opts.service_name) args.push('--service-name', String(opts.serviceName || opts.service_name));
    return args;
  }
  proto.startup = function (...rest) {
    const { args, cb } = splitCallback(rest);
    return settle(runCli(this, startupArgs('startup', args[0], args[1])), cb);
  };
  proto.uninstallStartup = function (...rest) {
    const { args, cb } = splitCallback(rest);
    return settle(runCli(this, startupArgs('unstartup', args[0], args[1])), cb);
  };

  /**
   * generateDockerfile(script, [opts {imageName, nodeVersion, mode, fresh}], cb): writes a
   * Dockerfile in cwd that runs the script with pm2-runtime on the official Node image
   * (kept when one exists, unless `fresh`). cb(err, path of the Dockerfile).
   */
  proto.generateDockerfile = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [script, opts = {}] = args;
    const p = Promise.resolve().then(() => writeDockerfile(this.cwd, script, opts));
    return settle(p, cb);
  };

  /**
   * dockerMode(script, [opts {imageName, nodeVersion, fresh, detach}], [mode], cb): the
   * Dockerfile above, then `docker build -t <imageName>` and `docker run` of it ('distribution'
   * mode builds only). Needs the docker command and an engine.
   */
  proto.dockerMode = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [script, opts = {}, mode = 'development'] = args;
    const api = this;
    const p = Promise.resolve().then(async () => {
      const file = writeDockerfile(api.cwd, script, opts);
      const image = opts.imageName || opts.image_name || `pm2-${path.basename(String(script)).replace(/\W+/g, '-').toLowerCase()}`;
      await runCommand('docker', ['build', '-t', image, '-f', file, api.cwd], api.cwd);
      if (mode !== 'distribution') {
        const run = ['run', '--rm', ...(opts.detach ? ['-d'] : ['-it']), image];
        await runCommand('docker', run, api.cwd);
      }
      return { success: true, image, dockerfile: file };
    });
    return settle(p, cb);
  };

  /**
   * attach(pm_id, [separator], cb): `pm2 attach` on this process's terminal: the app's output
   * here, each line typed here to the app's stdin, until Ctrl-C or the end of stdin.
   */
  proto.attach = function (pmId, separator, cb) {
    if (typeof separator === 'function') {
      cb = separator;
      separator = undefined;
    }
    const args = ['attach', String(pmId)];
    if (separator !== undefined && separator !== null) args.push(String(separator));
    return settle(runCli(this, args).then(() => ({ success: true })), cb);
  };

  /**
   * deploy(file, args, cb): `pm2 deploy <file> …args`, e.g. deploy('ecosystem.config.js',
   * ['production', 'revert', '1']). `args` may also be PM2's commander object ({ rawArgs }).
   */
  proto.deploy = function (file, commands, cb) {
    if (typeof commands === 'function') [cb, commands] = [commands, []];
    let words;
    if (commands === undefined || commands === null) words = [];
    else if (Array.isArray(commands)) words = commands.map(String);
    else if (Array.isArray(commands.rawArgs)) {
      const raw = commands.rawArgs.map(String);
      const at = raw.indexOf('deploy');
      words = at >= 0 ? raw.slice(at + 1) : [];
      if (words[0] === String(file)) words.shift();
    } else {
      return fail('deploy(file, args, cb): args must be an array of words (environment, command, …)', cb);
    }
    return settle(runCli(this, ['deploy', String(file), ...words]), cb);
  };

  /** inspect(app, cb): opens Node's inspector in the app's processes (`pm2 inspect`). */
  proto.inspect = function (app, cb) {
    return settle(runCli(this, ['inspect', String(app)]).then(() => ({ success: true })), cb);
  };

  /** report(cb): prints the diagnostic report. */
  proto.report = function (cb) {
    return settle(runCli(this, ['report']), cb);
  };

  /** deepUpdate(cb): the in-memory update (npm upgrades are npm's business). */
  proto.deepUpdate = function (cb) {
    return this.update(cb);
  };

  /** clearDump(cb): empties the dump file. */
  proto.clearDump = function (cb) {
    const p = Promise.resolve().then(() => {
      const file = this._conf.DUMP_FILE_PATH;
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.partial`;
      fs.writeFileSync(tmp, '[]', { mode: 0o600 });
      fs.renameSync(tmp, file);
      return { success: true };
    });
    return settle(p, cb);
  };

  /** autodump(cb): PM2 saves nothing here either; kept for scripts that call it. */
  proto.autodump = function (cb) {
    return settle(Promise.resolve({ success: true }), cb);
  };

  /** generateSample(mode, cb): writes a starter ecosystem.config.js in cwd (`pm2 init`). */
  proto.generateSample = function (mode, cb) {
    if (typeof mode === 'function') {
      cb = mode;
      mode = undefined;
    }
    const file = path.join(this.cwd, 'ecosystem.config.js');
    const args = mode === 'simple' ? ['init', 'simple'] : ['init'];
    return settle(runCli(this, args).then(() => ({ success: true, file })), cb);
  };

  /** _startJson(file, opts, action, [pipe], cb): an ecosystem file through start or an action. */
  proto._startJson = function (file, opts, action, pipe, cb) {
    if (typeof pipe === 'function') cb = pipe;
    if (!action || action === 'start') return this.start(file, opts, cb);
    return this.actionFromJson(action, file, opts, pipe, cb);
  };

  /** actionFromJson(action, file, opts, [jsonVia], cb): stop/restart/reload/delete the apps of a file. */
  proto.actionFromJson = function (action, file, opts, jsonVia, cb) {
    if (typeof jsonVia === 'function') cb = jsonVia;
    if (typeof opts === 'function') {
      cb = opts;
      opts = {};
    }
    const method = {
      stopProcessId: 'stop', restartProcessId: 'restart', reloadProcessId: 'reload',
      softReloadProcessId: 'reload', deleteProcessId: 'delete',
      stop: 'stop', restart: 'restart', reload: 'reload', delete: 'delete',
    }[action];
    if (!method) return fail(`actionFromJson: unknown action ${action}`, cb);
    return method === 'stop' || method === 'delete' ? this[method](file, cb) : this[method](file, opts || {}, cb);
  };

  /** _operate(action, target, [envs], cb): one of PM2's process actions by its RPC name. */
  proto._operate = function (action, target, envs, cb) {
    if (typeof envs === 'function') {
      cb = envs;
      envs = undefined;
    }
    const method = {
      stopProcessId: 'stop', restartProcessId: 'restart', reloadProcessId: 'reload',
      softReloadProcessId: 'reload', deleteProcessId: 'delete', resetMetaProcessId: 'reset',
    }[action];
    if (!method) return fail(`_operate: unknown action ${action}`, cb);
    if (method === 'restart' || method === 'reload') return this[method](target, envs || {}, cb);
    return this[method](target, cb);
  };
}

/** Writes `<cwd>/Dockerfile` for `script` run by pm2-runtime; returns its path. */
function writeDockerfile(cwd, script, opts = {}) {
  if (!script) throw new Error('generateDockerfile needs the script (or ecosystem file) to run');
  const file = path.join(cwd, 'Dockerfile');
  if (fs.existsSync(file) && !opts.fresh) return file;
  const node = opts.nodeVersion || opts.node_version || '20';
  const text = [
    `FROM node:${node}`,
    'WORKDIR /app',
    'COPY package*.json ./',
    'RUN if [ -f package.json ]; then npm install --omit=dev; fi',
    'RUN npm install -g pm2',
    'COPY . .',
    `CMD ["pm2-runtime", ${JSON.stringify(String(script))}]`,
    '',
  ].join('\n');
  fs.writeFileSync(file, text);
  return file;
}

/** Runs a command with our stdio; rejects naming it when it is missing or fails. */
function runCommand(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: 'inherit' });
    child.on('error', (err) => reject(new Error(err.code === 'ENOENT' ? `${cmd} is not installed` : `${cmd}: ${err.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with code ${code}`))));
  });
}

module.exports = { install, CLOUD, NOT_BUILT };
