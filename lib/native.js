'use strict';
// Loads the napi addon: the Rust client (and, in no-daemon mode, the supervisor).
// PM2_NATIVE_ADDON=<path to a .node file> overrides the lookup, for development.

const path = require('path');
const { platformKey, nativeDir, missingMessage } = require('./platform');

function load() {
  const override = process.env.PM2_NATIVE_ADDON;
  if (override) return require(path.resolve(override));

  const key = platformKey();
  const dir = nativeDir(key);
  if (!dir) {
    const err = new Error(missingMessage(key));
    err.code = 'PM2_NATIVE_ADDON_MISSING';
    throw err;
  }
  const file = path.join(dir, `pm2.${key}.node`);
  try {
    return require(file);
  } catch (err) {
    // Found but not loadable (a build for another libc, a corrupt file): say
    // which platform we are on and which file failed.
    err.message = `pm2: cannot load the native addon for ${key} (${file}): ${err.message}`;
    throw err;
  }
}

module.exports = load();
