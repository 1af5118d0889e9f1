'use strict';
// A tmux server of a test file's own (its own socket), so no other session
// on the machine is touched.

const { spawnSync } = require('child_process');

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** `tmux(...args)` on the server named after `name` and this process. */
function tmuxServer(name) {
  const socket = `pm2-${name}-test-${process.pid}`;
  return (...args) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10000 });
}

module.exports = { hasTmux, tmuxServer };
