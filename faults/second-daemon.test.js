'use strict';
// Critical finding 2 (client side): when the daemon was alive but not
// reachable on rpc.sock, the next `pm2 ls` started a second daemon with an
// empty list for the same PM2_HOME. The pid file and the process are checked.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { daemonHome, daemonPid, pm2, isAlive, processesOf } = require('./support');

test('no second daemon is started beside a live one that does not answer', async (t) => {
  const home = daemonHome(t, 'faults-twin');
  const first = daemonPid(home);
  // The daemon stays alive, but nobody can reach it any more.
  fs.unlinkSync(path.join(home, 'rpc.sock'));
  const r = pm2(home, ['ls']);
  assert.notStrictEqual(r.code, 0);
  assert.match(r.err, new RegExp(`a PM2 daemon \\(pid ${first}\\) is running for .* but does not answer`));
  assert.ok(isAlive(first));
  const daemons = processesOf(home).filter((pid) => {
    try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pm2-daemon'); } catch { return false; }
  });
  assert.deepStrictEqual(daemons, [first], 'still exactly one daemon');
  assert.strictEqual(daemonPid(home), first, 'pm2.pid untouched');
});
