'use strict';
// Installs the real pm2 7 from npm once into a cache folder, so tests can
// drive this project's daemon with PM2's own client.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const VERSION = '7.0.4';
const cacheDir = process.env.PM2_REFERENCE_DIR || path.join(os.tmpdir(), `pm2-reference-${VERSION}`);

function referencePm2() {
  const pkg = path.join(cacheDir, 'node_modules', 'pm2');
  if (!fs.existsSync(path.join(pkg, 'package.json'))) {
    fs.mkdirSync(cacheDir, { recursive: true });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', cacheDir, `pm2@${VERSION}`], {
      stdio: 'inherit',
      timeout: 300000,
    });
  }
  return { pkg, bin: path.join(cacheDir, 'node_modules', '.bin', 'pm2') };
}

module.exports = { referencePm2, VERSION };
