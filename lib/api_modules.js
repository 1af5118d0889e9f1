'use strict';
// The module methods of PM2's API class: install, uninstall, configuration
// (set/unset/get/conf/multiset), generateModuleSample, package, publish. Each
// runs the native command, which holds the logic once for the CLI and the API
// (npm, module_conf.json under its lock, relaunching modules); what a method
// returns is read back from PM2_HOME afterwards.

const fs = require('fs');
const path = require('path');

function install(PM2, { settle, runCli, splitCallback }) {
  const proto = PM2.prototype;

  /** module_conf.json of this instance's PM2_HOME (`{}` when missing). */
  function readConf(api) {
    try {
      return JSON.parse(fs.readFileSync(path.join(api.pm2_home, 'module_conf.json'), 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return {};
      throw err;
    }
  }
  function valueAt(conf, key) {
    return String(key).split(/[:.]/).reduce((node, part) => (node == null ? undefined : node[part]), conf);
  }
  function moduleName(spec) {
    let s = String(spec).replace(/\/+$/, '').split('#')[0];
    s = s.split('/').pop().replace(/\.git$/, '').replace(/(-\d[^-]*)?\.(tgz|tar\.gz)$/, '');
    const at = s.indexOf('@');
    return at > 0 ? s.slice(0, at) : s;
  }
  const self = (api) => api;
  const isTarball = (spec, opts) => Boolean(opts.tarball) || /\.(tgz|tar\.gz)$/.test(String(spec));
  const realpath = (file) => {
    try {
      return fs.realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  };
  /** The module a tarball was just installed as: the name inside it, as registered. */
  function tarballModule(api, spec) {
    const file = realpath(path.resolve(api.cwd, String(spec)));
    const entries = Object.entries(readConf(api)['tar-modules'] || {})
      .filter(([, e]) => e && typeof e.install_url === 'string' && realpath(e.install_url) === file)
      .sort(([, a], [, b]) => (b.installed_at || 0) - (a.installed_at || 0));
    return entries.length ? entries[0][0] : null;
  }
  /** `<name>-<version>.tgz` as `pm2 package` names it (`@scope/name` gives `scope-name`). */
  function tarballName(pkg) {
    return `${String(pkg.name).replace(/^@/, '').replace('/', '-')}-${pkg.version || '0.0.0'}.tgz`;
  }

  /** install(module, [opts {tarball}], cb): cb(err, processes of the module). */
  proto.install = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [spec, opts = {}] = args;
    if (!spec) return settle(Promise.reject(new Error('install needs a module name, a .tgz file or a folder')), cb);
    const cli = ['install', String(spec)];
    if (opts.tarball) cli.push('--tarball');
    const api = self(this);
    const p = runCli(api, cli).then(async () => {
      let name = (isTarball(spec, opts) && tarballModule(api, spec)) || moduleName(spec);
      const dir = path.resolve(api.cwd, String(spec));
      try {
        name = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name || name;
      } catch {
        // An npm spec or a tarball: its canonical name.
      }
      const list = await api.list();
      return list.filter((p) => p.name === name || p.name.startsWith(`${name}:`));
    });
    return settle(p, cb);
  };

  /** uninstall(module | 'all' | '.', cb) */
  proto.uninstall = function (name, cb) {
    return settle(runCli(this, ['uninstall', String(name)]).then(() => ({ success: true })), cb);
  };

  /** deleteModule(module, cb): deletes the module's process (it stays installed). */
  proto.deleteModule = function (name, cb) {
    return this.delete(name, cb);
  };

  /** launchAll(CLI, cb): starts every installed module not running. */
  proto.launchAll = function (...rest) {
    const { cb } = splitCallback(rest);
    return settle(runCli(this, ['module:launch-all']).then(() => ({ success: true })), cb);
  };

  /** set(key, value, cb): stores `<module>:<key>` and restarts the module. cb(err, conf). */
  proto.set = function (key, value, cb) {
    const api = this;
    return settle(runCli(api, ['set', String(key), String(value)]).then(() => readConf(api)), cb);
  };

  /** multiset("k1 v1 k2 v2", cb) */
  proto.multiset = function (serial, cb) {
    const api = this;
    return settle(runCli(api, ['multiset', String(serial)]).then(() => readConf(api)), cb);
  };

  /** unset(key, cb) */
  proto.unset = function (key, cb) {
    const api = this;
    return settle(runCli(api, ['unset', String(key)]).then(() => readConf(api)), cb);
  };

  /** get([key], cb): cb(err, value), or the whole configuration without a key. */
  proto.get = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [key] = args;
    const p = Promise.resolve().then(() => {
      const conf = readConf(this);
      if (key === undefined || key === null) return conf;
      const value = valueAt(conf, key);
      if (value === undefined) throw new Error(`Key ${key} is not set`);
      return value;
    });
    return settle(p, cb);
  };

  /** conf([key], [value], cb): with a value, a set; else like get. */
  proto.conf = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [key, value] = args;
    if (value !== undefined && value !== null) return this.set(key, value, cb);
    if (key !== undefined && key !== null && !/[:.]/.test(String(key))) {
      return settle(Promise.resolve().then(() => readConf(this)[key]), cb);
    }
    return this.get(...args, cb);
  };

  /** generateModuleSample(name, cb): a sample module in `<cwd>/<name>`. */
  proto.generateModuleSample = function (name, cb) {
    const dir = path.join(this.cwd, String(name));
    return settle(runCli(this, ['module:generate', String(name)]).then(() => ({ success: true, path: dir })), cb);
  };

  /** package([folder], cb): builds `<name>-<version>.tgz` in cwd. */
  proto.package = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const folder = args[0] ? String(args[0]) : '.';
    const api = this;
    const p = runCli(api, ['package', folder]).then(() => {
      const pkg = JSON.parse(fs.readFileSync(path.resolve(api.cwd, folder, 'package.json'), 'utf8'));
      return { success: true, file: path.join(api.cwd, tarballName(pkg)) };
    });
    return settle(p, cb);
  };

  /** publish([folder], [opts {dryRun}], cb): bumps the patch version, then npm publish. */
  proto.publish = function (...rest) {
    const { args, cb } = splitCallback(rest);
    const [folder, opts = {}] = args;
    const cli = ['publish'];
    if (folder) cli.push(String(folder));
    if (opts.dryRun || opts.dry_run) cli.push('--dry-run');
    return settle(runCli(this, cli).then(() => ({ success: true })), cb);
  };
}

module.exports = { install };
