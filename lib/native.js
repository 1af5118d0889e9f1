'use strict';
// Loads the napi addon: the Rust client (and, in no-daemon mode, the supervisor).
// PM2_NATIVE_ADDON=<path to a .node file> overrides the lookup, for development.

const path = require('path');

function load() {
  const override = process.env.PM2_NATIVE_ADDON;
  if (override) return require(path.resolve(override));

  const platform = `${process.platform}-${process.arch}`;
  if (platform !== 'linux-x64') {
    throw new Error(
      `pm2: no native build for ${platform}; ` +
        'this package ships linux-x64 (glibc) only. ' +
        'Set PM2_NATIVE_ADDON to the path of a pm2 .node file built for this platform.'
    );
  }
  const candidates = [
    path.join(__dirname, '..', 'npm', 'linux-x64-gnu', 'pm2.linux-x64-gnu.node'),
    'pm2-linux-x64-gnu',
  ];
  const failures = [];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (err) {
      if (err && err.code !== 'MODULE_NOT_FOUND') {
        // Found but not loadable (e.g. a musl system): say which platform we are on.
        err.message = `pm2: cannot load the native addon for ${platform} (glibc): ${err.message}`;
        throw err;
      }
      failures.push(candidate);
    }
  }
  const err = new Error(
    `pm2: the native addon for linux-x64-gnu is missing (looked for ${failures.join(', ')}). ` +
      'Build it with `npm run build`, or set PM2_NATIVE_ADDON to a .node file.'
  );
  err.code = 'PM2_NATIVE_ADDON_MISSING';
  throw err;
}

module.exports = load();
