'use strict';
// Runs the native CLI under a given name (pm2, pm2-runtime, pm2-docker) with
// this process's arguments and stdio, passes on the signals a supervisor of
// this process sends, and exits as the CLI does. The `pm2` commands npm links
// on PATH normally run the CLI directly (scripts/link-bins.js); this is the
// way through Node, for `node node_modules/pm2/bin/pm2` and installs whose
// bins could not be linked.

const path = require('path');
const { spawn } = require('child_process');
const { platformKey, nativeDir, missingMessage } = require('./platform');

module.exports = function runNative(name) {
  const key = platformKey();
  const dir = nativeDir(key);
  if (!dir) {
    console.error(missingMessage(key));
    process.exit(1);
  }
  const exe = path.join(dir, 'pm2-cli');
  const child = spawn(exe, process.argv.slice(2), { argv0: name, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (err) => {
    console.error(`${name}: cannot run ${exe}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, as a shell would report it.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    else process.exit(code === null ? 1 : code);
  });
};
