'use strict';
// A client that pipelines requests and never reads its replies must not grow
// the daemon: it stops being read, and the other clients are served meanwhile.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, call, rpc, connect, daemonPid, rssBytes, waitFor } = require('./support');

const MB = 1024 * 1024;

test('a client flooding unread getMonitorData calls leaves the daemon bounded and responsive', async (t) => {
  const home = makeHome('faults-flood');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home };
  const app = path.join(home, 'idle.js');
  fs.writeFileSync(app, 'setInterval(() => {}, 1000);\n');
  for (const name of ['a', 'b', 'c']) execFileSync(cli, ['start', app, '--name', name], { env, stdio: 'ignore' });
  const pid = daemonPid(home);
  const baseline = rssBytes(pid);

  const flooder = await connect(path.join(home, 'rpc.sock'));
  t.after(() => flooder.destroy());
  flooder.pause();
  // 20,000 calls in writes of 100, so the bytes still unsent show how far the daemon read.
  const batches = Array.from({ length: 200 }, (_, b) =>
    Buffer.concat(Array.from({ length: 100 }, (_, i) => call('getMonitorData', [{}], `flood:${b}:${i}`))));
  const floodBytes = batches.reduce((n, b) => n + b.length, 0);
  for (const b of batches) flooder.write(b);

  // Until the daemon stops reading the flooder (its bytes stop going out) or
  // has read it all, sample the daemon's RSS and time another client's pings.
  let peak = baseline;
  const pings = [];
  const delivered = () => floodBytes - flooder.writableLength;
  let last = -1;
  let steadySince = Date.now();
  await waitFor(async () => {
    peak = Math.max(peak, rssBytes(pid));
    const t0 = Date.now();
    const answered = await rpc(home, 'ping', [], 5000).then(() => true, () => false);
    pings.push(answered ? Date.now() - t0 : Infinity); // Infinity: no reply
    peak = Math.max(peak, rssBytes(pid));
    const now = delivered();
    if (now !== last) { last = now; steadySince = Date.now(); }
    return Date.now() - steadySince > 500 && pings.length >= 10;
  }, { timeout: 20000, interval: 20, what: 'the flooder to be stalled or read in full' });

  const grew = (peak - baseline) / MB;
  t.diagnostic(`daemon RSS ${(baseline / MB).toFixed(1)} MB → peak ${(peak / MB).toFixed(1)} MB; ` +
    `flooder delivered ${delivered()} of ${floodBytes} bytes; ping max ${Math.max(...pings)} ms over ${pings.length}`);
  assert.ok(grew < 64, `daemon RSS grew ${grew.toFixed(1)} MB under the flood`);
  assert.ok(Math.max(...pings) < 500, `another client's ping took up to ${Math.max(...pings)} ms`);
  assert.ok(delivered() < floodBytes, 'the daemon stopped reading the flooder');

  flooder.destroy();
  assert.deepStrictEqual((await rpc(home, 'ping')).args, [{ msg: 'pong' }]);
});
