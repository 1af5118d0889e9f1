'use strict';
// A process list larger than the 64 MB frame limit of requests: clients take
// any reply the daemon sends, so `jlist`, `ls` and `kill` still work.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, rpc, slow } = require('./support');

const MB = 1024 * 1024;

test('a process list over 64 MB still lists and kills', slow, async (t) => {
  const home = makeHome('faults-big-list');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home };
  execFileSync(cli, ['ping'], { env, stdio: 'ignore' });
  const app = path.join(home, 'idle.js');
  fs.writeFileSync(app, 'setInterval(() => {}, 1000);\n');

  // Stopped apps with a 1 MB env each: no process runs, the list is large.
  const apps = 40;
  const big = 'x'.repeat(MB);
  for (let i = 0; i < apps; i++) {
    const reply = await rpc(home, 'prepare', [{ name: `big${i}`, pm_exec_path: app, autostart: false, env: { BIG: big } }], 30000);
    assert.ok(!reply.error, `prepare ${i}: ${JSON.stringify(reply.error)}`);
  }

  const out = execFileSync(cli, ['jlist'], { env, maxBuffer: 1024 * MB });
  t.diagnostic(`jlist printed ${(out.length / MB).toFixed(1)} MB`);
  assert.ok(out.length > 64 * MB, `the list is ${(out.length / MB).toFixed(1)} MB, meant to pass 64 MB`);
  const list = JSON.parse(out);
  assert.strictEqual(list.length, apps);
  assert.ok(list.every((p) => p.pm2_env.status === 'stopped'));

  execFileSync(cli, ['ls'], { env, stdio: 'ignore', maxBuffer: 1024 * MB });
  execFileSync(cli, ['kill'], { env, stdio: 'ignore' });
  assert.ok(!fs.existsSync(path.join(home, 'rpc.sock')), 'the daemon is gone after kill');
});
