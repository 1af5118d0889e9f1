// initModule(opts, cb): the module's configuration, as pmx and @pm2/io hand it
// over: package.json's `config`, then what `pm2 set <module>:<key>` stored
// (PM2 puts it in an environment variable named after the module, as JSON),
// strings that read as numbers or booleans cast. It is also reported to PM2
// (`axm_options` in `pm2 describe`). Uses `pmx` or `@pm2/io` when installed.
const fs = require('fs');
const path = require('path');

function cast(v) {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v))) return Number(v);
  return v;
}

function initModule(opts, cb) {
  if (typeof opts === 'function') [opts, cb] = [{}, opts];
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, 'package.json'), 'utf8'));
  const conf = Object.assign({}, pkg.config);
  const stored = process.env[pkg.name];
  if (stored) {
    try { Object.assign(conf, JSON.parse(stored)); } catch (_) { /* not JSON: defaults only */ }
  }
  for (const k of Object.keys(conf)) conf[k] = cast(conf[k]);
  conf.module_name = pkg.name;
  conf.module_version = pkg.version;
  if (process.send) {
    process.send({ type: 'axm:option:configuration', data: Object.assign({}, opts, { module_conf: conf }, conf) });
  }
  if (cb) cb(null, conf);
  return conf;
}

module.exports = { initModule };
