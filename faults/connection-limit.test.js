'use strict';
// rpc.sock holds a bounded number of connections: past the limit new ones are
// closed at once (and logged, rate-limited), and it serves again once
// connections are released.

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, rpc, connect, waitFor, pm2LogLines } = require('./support');

const LIMIT = 1024;
const OPENED = LIMIT + 100;

function descriptorLimit() {
  const m = /^Max open files\s+(\d+)/m.exec(require('fs').readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : 0;
}

test('connections past the limit are closed and the daemon serves once they go', {
  skip: descriptorLimit() < OPENED + 100 ? `needs ${OPENED + 100} descriptors (ulimit -n)` : false,
}, async (t) => {
  const home = makeHome('faults-conn-limit');
  t.after(() => cleanupHome(home));
  execFileSync(cli, ['ping'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore' });

  const held = [];
  t.after(() => held.forEach((s) => s.destroy()));
  let closedByDaemon = 0;
  for (let i = 0; i < OPENED; i++) {
    const s = await connect(path.join(home, 'rpc.sock'));
    s.on('error', () => {});
    s.resume();
    s.on('close', () => { if (!s.releasing) closedByDaemon++; });
    held.push(s);
  }
  await waitFor(() => closedByDaemon >= OPENED - LIMIT, { what: `${OPENED - LIMIT} connections closed by the daemon` });
  assert.ok(pm2LogLines(home).some((l) => l.includes(`refusing a connection to rpc.sock: ${LIMIT} already open`)));

  for (const s of held) { s.releasing = true; s.destroy(); }
  const reply = await waitFor(() => rpc(home, 'ping', [], 1000), { what: 'ping once the connections are gone' });
  assert.deepStrictEqual(reply.args, [{ msg: 'pong' }]);
  assert.strictEqual(closedByDaemon, OPENED - LIMIT, 'the connections within the limit stayed open');
});
