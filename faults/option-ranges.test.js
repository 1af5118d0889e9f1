'use strict';
// Minor finding: min_uptime, max_restarts, restart_delay and kill_timeout
// were not range-checked (kill_timeout:-1 became 0, restart_delay:1e300
// waited forever, 2^64-1 overflowed into endless restarts). Each is refused
// with an error naming it, from any client, and nothing is created.

const test = require('node:test');
const assert = require('node:assert');
const { daemonHome, rpc, pm2, writeApp } = require('./support');

test('out-of-range timer and counter options are refused by the daemon', async (t) => {
  const home = daemonHome(t, 'faults-ranges');
  const base = { name: 'r', script: '/bin/sleep', pm_exec_path: '/bin/sleep', exec_interpreter: 'none', args: ['60'] };
  const cases = [
    [{ kill_timeout: -1 }, /kill_timeout must not be negative/],
    [{ restart_delay: 1e300 }, /restart_delay is too large/],
    [{ max_restarts: 18446744073709551615 }, /max_restarts is too large/],
    [{ min_uptime: 'soon' }, /min_uptime must be a number/],
    [{ exp_backoff_restart_delay: -5 }, /exp_backoff_restart_delay must not be negative/],
  ];
  for (const [bad, expected] of cases) {
    const reply = await rpc(home, 'prepare', [{ ...base, ...bad }]);
    assert.match(String(reply.error), expected, JSON.stringify(bad));
  }
  assert.deepStrictEqual((await rpc(home, 'getMonitorData', [{}])).args[0], []);
  // A restart that carries a bad value is refused the same way.
  const ok = await rpc(home, 'prepare', [base]);
  assert.ok(!ok.error, ok.error);
  const restart = await rpc(home, 'restartProcessId', [{ id: 0, kill_timeout: -1 }]);
  assert.match(String(restart.error), /kill_timeout must not be negative/);
});

test('the CLI reports the daemon\'s range error', async (t) => {
  const home = daemonHome(t, 'faults-ranges-cli');
  const app = writeApp(home, 'idle.js', 'setInterval(() => {}, 1000);');
  const r = pm2(home, ['start', app, '--restart-delay', '1e300']);
  assert.notStrictEqual(r.code, 0);
  assert.match(r.err, /restart_delay/);
});
