'use strict';
// Minor finding: `sendLineToStdin` to an app that does not read its stdin
// never replied and held that app's stdin. It is bounded and replies.

const test = require('node:test');
const assert = require('node:assert');
const { daemonHome, pm2, rpc, writeApp, list } = require('./support');

test('sendLineToStdin to an app that never reads replies with an error in bounded time', async (t) => {
  const home = daemonHome(t, 'faults-stdin');
  const app = writeApp(home, 'deaf.js', 'setInterval(() => {}, 1000);');
  assert.strictEqual(pm2(home, ['start', app, '--name', 'deaf']).code, 0);
  const [p] = await list(home);
  // More than a pipe holds (64 KiB): the write cannot complete.
  const line = 'x'.repeat(256 * 1024);
  const t0 = Date.now();
  const first = await rpc(home, 'sendLineToStdin', [{ pm_id: p.pm_id, line }], 15000);
  assert.match(String(first.error), /does not read its stdin/);
  assert.ok(Date.now() - t0 < 10000);
  // The next call is not stuck behind the first.
  const second = await rpc(home, 'sendLineToStdin', [{ pm_id: p.pm_id, line: 'short' }], 15000);
  assert.match(String(second.error), /does not read its stdin/);
  assert.deepStrictEqual((await rpc(home, 'ping')).args, [{ msg: 'pong' }]);
});

test('an app that reads its stdin gets the line', async (t) => {
  const home = daemonHome(t, 'faults-stdin-ok');
  const app = writeApp(home, 'echo.js', "process.stdin.on('data', (d) => process.send({ type: 'got', data: { line: String(d) } }));");
  assert.strictEqual(pm2(home, ['start', app, '--name', 'ear']).code, 0);
  const [p] = await list(home);
  const r = await rpc(home, 'sendLineToStdin', [{ pm_id: p.pm_id, line: 'hello' }]);
  assert.deepStrictEqual(r.args, [{ success: true }]);
});
