'use strict';
// Major finding 4: the single-threaded daemon froze on a FIFO, at a log path
// or as a package.json in a parent of an app's cwd (planted by another user,
// who could also choose the reported version). Nothing the daemon opens for
// an app can block it; what is not a regular file is refused.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { daemonHome, pm2, list, rpc, writeApp } = require('./support');

const mkfifo = (p) => execFileSync('mkfifo', [p]);

/** Resolves with the ms a ping takes; fails past `ms`. */
async function pingMs(home, ms = 2000) {
  const t0 = Date.now();
  await rpc(home, 'ping', [], ms);
  return Date.now() - t0;
}

test('a FIFO as an app\'s log file ends that app errored, and the daemon keeps answering', async (t) => {
  const home = daemonHome(t, 'faults-fifo-log');
  const app = writeApp(home, 'idle.js', 'setInterval(() => {}, 1000);');
  const fifo = path.join(home, 'out.fifo');
  mkfifo(fifo);
  const r = pm2(home, ['start', app, '--name', 'piped', '-o', fifo]);
  assert.ok(await pingMs(home) < 1000, 'the daemon answers');
  const [p] = await list(home);
  assert.strictEqual(p.pm2_env.status, 'errored', r.out + r.err);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  assert.match(log, /cannot open log file .*out\.fifo: .*is a FIFO, not a regular file/);
  // reloadLogs reopens every file: it must not block either.
  pm2(home, ['reloadLogs']);
  assert.ok(await pingMs(home) < 1000);
});

test('a FIFO as pid_file is refused without blocking', async (t) => {
  const home = daemonHome(t, 'faults-fifo-pid');
  const app = writeApp(home, 'idle.js', 'setInterval(() => {}, 1000);');
  const fifo = path.join(home, 'app.pid.fifo');
  mkfifo(fifo);
  const r = await rpc(home, 'prepare', [{ name: 'pidfifo', script: app, pm_exec_path: app, pm_pid_path: fifo }], 5000);
  assert.ok(!r.error, r.error);
  assert.ok(await pingMs(home) < 1000);
  await pm2(home, ['delete', 'all']);
});

test('a package.json FIFO above the cwd neither blocks nor names the version', async (t) => {
  const home = daemonHome(t, 'faults-fifo-pkg');
  const dir = path.join(home, 'proj', 'src');
  fs.mkdirSync(dir, { recursive: true });
  mkfifo(path.join(home, 'proj', 'package.json'));
  const app = writeApp(dir, 'idle.js', 'setInterval(() => {}, 1000);');
  const r = pm2(home, ['start', app, '--name', 'pkgfifo'], { timeout: 10000, cwd: dir });
  assert.strictEqual(r.code, 0, r.err);
  assert.ok(await pingMs(home) < 1000);
  const [p] = await list(home);
  assert.strictEqual(p.pm2_env.status, 'online');
  assert.strictEqual(p.pm2_env.version, 'N/A');
});

test('a package.json owned by another user does not choose the reported version', { skip: process.getuid() !== 0 && 'needs root to chown' }, async (t) => {
  const home = daemonHome(t, 'faults-pkg-owner');
  const proj = path.join(home, 'proj');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ version: '6.6.6' }));
  fs.chownSync(path.join(proj, 'package.json'), 65534, 65534);
  const app = writeApp(proj, 'idle.js', 'setInterval(() => {}, 1000);');
  assert.strictEqual(pm2(home, ['start', app, '--name', 'foreign'], { cwd: proj }).code, 0);
  const [p] = await list(home);
  assert.notStrictEqual(p.pm2_env.version, '6.6.6');
  // The owner's own package.json is read as before.
  fs.chownSync(path.join(proj, 'package.json'), process.getuid(), process.getgid());
  assert.strictEqual(pm2(home, ['start', app, '--name', 'own'], { cwd: proj }).code, 0);
  const own = (await list(home)).find((x) => x.name === 'own');
  assert.strictEqual(own.pm2_env.version, '6.6.6');
});
