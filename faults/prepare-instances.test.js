'use strict';
// Major finding 5: `prepare` with a large `instances` count stalled every
// client, roughly cubically (4000 stopped instances: 13 s). It is linear,
// other clients are served while it runs, and absurd counts are refused.

const test = require('node:test');
const assert = require('node:assert');
const { daemonHome, rpc } = require('./support');

test('4000 stopped instances are created quickly while other clients are served', async (t) => {
  const home = daemonHome(t, 'faults-instances');
  const app = { name: 'many', script: '/bin/true', pm_exec_path: '/bin/true', exec_interpreter: 'none', instances: 4000, autostart: false };
  const t0 = Date.now();
  const prepared = rpc(home, 'prepare', [app], 60000);
  // Pings sent while the prepare runs are answered in between its batches.
  const pings = [];
  for (let i = 0; i < 5; i++) {
    const s = Date.now();
    await rpc(home, 'ping', [], 60000);
    pings.push(Date.now() - s);
  }
  const reply = await prepared;
  const took = Date.now() - t0;
  assert.ok(!reply.error, reply.error);
  assert.strictEqual(reply.args[0].length, 4000);
  const ids = reply.args[0].map((p) => p.pm_id);
  assert.deepStrictEqual(ids, [...Array(4000).keys()]);
  const instances = new Set(reply.args[0].map((p) => p.pm2_env.NODE_APP_INSTANCE));
  assert.strictEqual(instances.size, 4000, 'each instance has its own number');
  assert.ok(took < 5000, `4000 instances took ${took} ms`);
  assert.ok(Math.max(...pings) < 1000, `pings during the prepare: ${pings.join(', ')} ms`);
});

test('an absurd instance count is refused with a clear error, and nothing is created', async (t) => {
  const home = daemonHome(t, 'faults-instances-absurd');
  const reply = await rpc(home, 'prepare', [{ name: 'x', script: '/bin/true', pm_exec_path: '/bin/true', instances: 1e9 }]);
  assert.match(String(reply.error), /instances: 1000000000 is more than 4096 processes for one app/);
  assert.deepStrictEqual((await rpc(home, 'getMonitorData', [{}])).args[0], []);
});
