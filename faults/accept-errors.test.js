'use strict';
// A failed accept() must not close a listener: a daemon at its descriptor
// limit keeps both sockets open and serves again once descriptors are free.

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, rpc, connect, readFrames, waitFor, pm2LogLines } = require('./support');

test('rpc.sock and pub.sock keep accepting after the daemon ran out of descriptors', async (t) => {
  const home = makeHome('faults-accept');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home };
  // The hard limit too: the daemon may raise its soft limit up to the hard one.
  execFileSync('prlimit', ['--nofile=64:64', cli, 'ping'], { env });

  const held = [];
  t.after(() => held.forEach((s) => s.destroy()));
  // More connections than the daemon has descriptors: the last ones wait in
  // the backlog while accept() fails with EMFILE.
  for (let i = 0; i < 100; i++) held.push(await connect(path.join(home, 'rpc.sock')));
  const subscriber = await connect(path.join(home, 'pub.sock'));
  held.push(subscriber);
  const events = [];
  readFrames(subscriber, (args) => events.push(args[0].toString()));
  await waitFor(() => pm2LogLines(home).some((l) => l.includes('accept on rpc.sock failed')), { what: 'a failed accept on rpc.sock' });
  await waitFor(() => pm2LogLines(home).some((l) => l.includes('accept on pub.sock failed')), { what: 'a failed accept on pub.sock' });

  held.filter((s) => s !== subscriber).forEach((s) => s.destroy());
  const reply = await waitFor(() => rpc(home, 'ping', [], 1000), { what: 'ping after the descriptors came back' });
  assert.deepStrictEqual(reply.args, [{ msg: 'pong' }]);

  // The subscriber that waited in pub.sock's backlog is served: bad RPC
  // connections make the daemon publish log:PM2 lines (sent until one arrives,
  // as the subscriber is accepted at the listener's next retry).
  await waitFor(async () => {
    const bad = await connect(path.join(home, 'rpc.sock'));
    bad.on('error', () => {});
    bad.end('GET / HTTP/1.1\r\n\r\n');
    return events.includes('s:log:PM2');
  }, { interval: 200, what: 'a log:PM2 event on the subscriber that waited' });

  const acceptLines = pm2LogLines(home).filter((l) => /accept on|failed accepts on/.test(l));
  assert.ok(acceptLines.length <= 8, `accept errors are rate-limited in pm2.log, got ${acceptLines.length} lines:\n${acceptLines.join('\n')}`);
});
