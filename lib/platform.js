'use strict';
// Which native build this Node runs on, and where its files are: the addon,
// the daemon and the CLI live in one folder per platform, named as napi-rs
// names them (linux-x64-gnu, linux-arm64-musl, darwin-arm64, …). That folder
// is npm/<platform>/ in a checkout (or a package packed from one), else the
// installed optional dependency pm2-<platform>.

const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');

/** The platforms a package is published for (each has npm/<platform>/package.json). */
const SUPPORTED = [
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
];

/** True when this Node runs on musl (Alpine) rather than glibc. */
function isMusl() {
  // The C library this very process mapped: cheap and exact (process.report
  // says it too, but takes tens of milliseconds to build its report).
  try {
    return fs.readFileSync('/proc/self/maps', 'utf8').includes('/ld-musl-');
  } catch {
    const header = process.report && process.report.getReport().header;
    return !(header && header.glibcVersionRuntime);
  }
}

/** napi-rs's name for this platform: `<os>-<arch>[-<libc>]`. */
function platformKey() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  return `${base}-${isMusl() ? 'musl' : 'gnu'}`;
}

/**
 * The folder holding this platform's native files, or null: npm/<key>/ when
 * it has the addon, else the installed pm2-<key> package.
 */
function nativeDir(key = platformKey()) {
  const local = path.join(root, 'npm', key);
  if (fs.existsSync(path.join(local, `pm2.${key}.node`))) return local;
  try {
    return path.dirname(require.resolve(`pm2-${key}/package.json`, { paths: [root] }));
  } catch {
    return null;
  }
}

/** Why there is no native build here, and what to do about it. */
function missingMessage(key = platformKey()) {
  const supported = SUPPORTED.includes(key);
  return (
    `pm2: no native build for ${key} ` +
    (supported
      ? `(the optional dependency pm2-${key} is not installed: was npm run with --no-optional or --omit=optional?). `
      : `(published builds: ${SUPPORTED.join(', ')}). `) +
    'To build from source, install a Rust toolchain (https://rustup.rs) and run `npm run build` ' +
    'in a clone of this package, or set PM2_NATIVE_ADDON to a pm2 .node file built for this platform.'
  );
}

module.exports = { SUPPORTED, isMusl, platformKey, nativeDir, missingMessage, root };
