'use strict';
// connect(true): the supervisor runs inside the calling script, and its apps
// go away with it; disconnect() lets a script exit.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, isAlive, cleanupHome, root } = require('./support/home');

test('connect(true) supervises in-process; the app dies with the script', async () => {
  const home = makeHome('nodaemon');
  try {
    const script = `
      const PM2 = require(${JSON.stringify(root)}).custom;
      const pm2 = new PM2({ pm2_home: ${JSON.stringify(home)} });
      pm2.connect(true, (err) => {
        if (err) throw err;
        pm2.start({ script: ${JSON.stringify(path.join(__dirname, 'apps', 'echo.js'))}, name: 'inproc' }, async (err) => {
          if (err) throw err;
          const [p] = await pm2.list();
          console.log(JSON.stringify({ pid: p.pid, status: p.pm2_env.status, daemon_mode: pm2.daemon_mode, client_mode: pm2.Client.daemon_mode }));
          pm2.disconnect();
        });
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.strictEqual(seen.status, 'online');
    assert.strictEqual(seen.daemon_mode, false);
    assert.strictEqual(seen.client_mode, false);
    assert.ok(!fs.existsSync(path.join(home, 'pm2.pid')), 'no daemon was started');
    await waitFor(() => !isAlive(seen.pid), { what: 'the app to die with the script' });
  } finally {
    cleanupHome(home);
  }
});

test('disconnect() lets a daemon-mode script exit on its own', () => {
  const home = makeHome('exit');
  try {
    const script = `
      const pm2 = new (require(${JSON.stringify(root)}).custom)({ pm2_home: ${JSON.stringify(home)} });
      pm2.connect((err) => {
        if (err) throw err;
        pm2.launchBus((err, bus) => {
          pm2.list((err, list) => { console.log('listed', list.length); pm2.disconnect(); });
        });
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000 });
    assert.strictEqual(r.signal, null, 'exited by itself, not by the timeout');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /listed 0/);
  } finally {
    cleanupHome(home);
  }
});
