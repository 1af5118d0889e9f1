'use strict';
// Bad connections are logged rate-limited: a burst of garbage adds a few
// lines to pm2.log that still account for every connection closed.

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, connect, pm2LogLines, waitFor } = require('./support');

test('500 garbage connections add only a few lines to pm2.log', async (t) => {
  const home = makeHome('faults-garbage');
  t.after(() => cleanupHome(home));
  execFileSync(cli, ['ping'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore' });
  const before = pm2LogLines(home).length;

  const total = 500;
  for (let sent = 0; sent < total; sent += 50) {
    await Promise.all(Array.from({ length: 50 }, async () => {
      const s = await connect(path.join(home, 'rpc.sock'));
      s.on('error', () => {});
      s.resume();
      const closed = new Promise((resolve) => s.on('close', resolve));
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await closed; // the daemon closes it
    }));
  }

  // Every closed connection is in the log: one line each, or in a summary's count.
  const counted = () => pm2LogLines(home).slice(before).reduce((n, l) => {
    if (l.includes('closing an RPC connection')) return n + 1;
    const m = /(\d+) more bad RPC connections closed/.exec(l);
    return m ? n + Number(m[1]) : n;
  }, 0);
  await waitFor(() => counted() === total, { timeout: 5000, what: `pm2.log to account for ${total} bad connections` });
  const added = pm2LogLines(home).slice(before);
  assert.ok(added.length <= 10, `pm2.log grew by ${added.length} lines:\n${added.slice(0, 20).join('\n')}`);
});
