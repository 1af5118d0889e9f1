'use strict';
// Supervision through require('pm2') against a real daemon: restarts, the
// unstable-restart limit, delays, the stop sequence, env, interpreters.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { makeHome, waitFor, isAlive, cleanupHome, readPid, root } = require('./support/home');

const home = makeHome('supervision');
const apps = path.join(__dirname, 'apps');
const PM2 = require(root).custom;
const pm2 = new PM2({ pm2_home: home });

test.before(() => pm2.connect());
test.after(async () => {
  try { await pm2.disconnect(); } catch {}
  cleanupHome(home);
});

async function proc(name) {
  const list = await pm2.list();
  return list.find((p) => p.name === name);
}

function startsOf(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}

test('an app that keeps crashing is restarted until max_restarts, then errored', async () => {
  const starts = path.join(home, 'crash-starts');
  const bus = await pm2.launchBus();
  const overlimit = new Promise((resolve) => bus.on('process:event', (e) => e.event === 'restart overlimit' && resolve(e)));
  // min_uptime well above a Node start on a loaded machine, so each crash counts as unstable.
  await pm2.start({ script: path.join(apps, 'crash.js'), name: 'crash', max_restarts: 3, min_uptime: 5000, env: { STARTS_FILE: starts } });
  const ev = await overlimit;
  assert.strictEqual(ev.process.name, 'crash');
  const p = await waitFor(async () => { const p = await proc('crash'); return p.pm2_env.status === 'errored' && p; }, { what: 'errored' });
  assert.strictEqual(p.pid, 0);
  assert.strictEqual(startsOf(starts).length, 3, 'started 3 times in all');
  assert.strictEqual(p.pm2_env.restart_time, 2);
  bus.close();
  await pm2.delete('crash');
});

test('restart_delay holds the app in "waiting restart" before the next start', async () => {
  const starts = path.join(home, 'delay-starts');
  await pm2.start({ script: path.join(apps, 'crash.js'), name: 'delayed', restart_delay: 400, env: { STARTS_FILE: starts } });
  await waitFor(async () => (await proc('delayed')).pm2_env.status === 'waiting restart', { what: 'waiting restart' });
  await waitFor(() => startsOf(starts).length >= 2, { what: 'second start' });
  const [a, b] = startsOf(starts);
  assert.ok(b - a >= 380, `second start ${b - a} ms after the first`);
  await pm2.delete('delayed');
  assert.strictEqual(await proc('delayed'), undefined);
});

test('autorestart:false leaves a crashed app stopped', async () => {
  const starts = path.join(home, 'once-starts');
  await pm2.start({ script: path.join(apps, 'crash.js'), name: 'once', autorestart: false, env: { STARTS_FILE: starts } });
  await waitFor(async () => (await proc('once')).pm2_env.status === 'stopped', { what: 'stopped' });
  assert.strictEqual(startsOf(starts).length, 1);
  assert.strictEqual((await proc('once')).pm2_env.exit_code, 1);
  await pm2.delete('once');
});

test('an app ended by the SIGINT of a stop is recorded with exit code 0, as in PM2', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'plainstop' });
  await waitFor(async () => (await proc('plainstop')).pm2_env.status === 'online', { what: 'online' });
  await pm2.stop('plainstop');
  const p = await proc('plainstop');
  assert.strictEqual(p.pm2_env.status, 'stopped');
  assert.strictEqual(p.pm2_env.exit_code, 0);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  assert.match(log, /App \[plainstop:\d+\] exited with code \[0\] via signal \[SIGINT\]/);
  await pm2.delete('plainstop');
});

test('stop sends SIGINT to the tree, then SIGKILL after kill_timeout', async () => {
  const childPidFile = path.join(home, 'grandchild.pid');
  await pm2.start({ script: path.join(apps, 'stubborn.js'), name: 'stubborn', kill_timeout: 300, env: { CHILD_PID_FILE: childPidFile } });
  const grandchild = await waitFor(() => readPid(childPidFile), { what: 'grandchild pid' });
  const { pid } = await proc('stubborn');
  const t0 = Date.now();
  await pm2.stop('stubborn');
  const took = Date.now() - t0;
  assert.ok(took >= 280, `stop waited for kill_timeout (${took} ms)`);
  assert.ok(!isAlive(pid), 'app killed');
  await waitFor(() => !isAlive(grandchild), { what: 'grandchild killed' });
  assert.strictEqual((await proc('stubborn')).pm2_env.status, 'stopped');
  await pm2.delete('stubborn');
});

test('the app gets the client env, its own env and the pm2_env fields; args and title are set', async () => {
  const out = path.join(home, 'env.json');
  process.env.FROM_CLIENT = 'yes';
  await pm2.start({ script: path.join(apps, 'env-dump.js'), name: 'envy', args: ['--port', '8080'], env: { OUT_FILE: out, MINE: '1' } });
  delete process.env.FROM_CLIENT;
  const seen = await waitFor(() => fs.existsSync(out) && JSON.parse(fs.readFileSync(out, 'utf8')), { what: 'env dump' });
  assert.strictEqual(seen.env.FROM_CLIENT, 'yes');
  assert.strictEqual(seen.env.MINE, '1');
  assert.strictEqual(seen.env.name, 'envy');
  assert.strictEqual(seen.env.pm_id, String((await proc('envy')).pm_id));
  assert.strictEqual(seen.env.NODE_APP_INSTANCE, '0');
  assert.strictEqual(seen.env.status, 'launching', 'a child starts while its process is launching, as under PM2');
  const order = Object.keys(seen.env).filter((k) => ['FROM_CLIENT', 'OUT_FILE', 'MINE'].includes(k));
  assert.deepStrictEqual(order, ['FROM_CLIENT', 'OUT_FILE', 'MINE'], 'the client env, then the app env, each in its own order');
  assert.strictEqual(seen.env.pm_exec_path, path.join(apps, 'env-dump.js'));
  assert.deepStrictEqual(seen.argv, ['--port', '8080']);
  assert.strictEqual(seen.title, `node ${path.join(apps, 'env-dump.js')}`);
  const p = await proc('envy');
  assert.strictEqual(p.pm2_env.MINE, '1', 'env is flattened onto pm2_env');
  assert.strictEqual(p.pm2_env.env.MINE, '1');
  assert.match(p.pm2_env.unique_id, /^[0-9a-f-]{36}$/);
  assert.ok(!('prev_restart_delay' in p.pm2_env) && !('_km_monitored' in p.pm2_env), 'fields PM2 sets only later');
  await pm2.delete('envy');
});

test('python and bash scripts run under their interpreters, binaries with interpreter none', async () => {
  await pm2.start({ script: path.join(apps, 'hello.py'), name: 'py' });
  await pm2.start({ script: path.join(apps, 'hello.sh'), name: 'sh' });
  await pm2.start({ script: 'sleep', args: ['30'], name: 'bin', interpreter: 'none' });
  const log = (n) => path.join(home, 'logs', `${n}-out.log`);
  await waitFor(() => fs.existsSync(log('py')) && /python says hi \d+/.test(fs.readFileSync(log('py'), 'utf8')), { what: 'python output' });
  await waitFor(() => fs.existsSync(log('sh')) && /bash says hi \d+/.test(fs.readFileSync(log('sh'), 'utf8')), { what: 'bash output' });
  const list = await pm2.list();
  const interp = Object.fromEntries(list.map((p) => [p.name, p.pm2_env.exec_interpreter]));
  assert.match(interp.py, /python/);
  assert.match(interp.sh, /bash/);
  assert.strictEqual(interp.bin, 'none');
  for (const p of list) assert.ok(isAlive(p.pid), `${p.name} runs`);
  await pm2.delete('all');
  assert.deepStrictEqual(await pm2.list(), []);
});

test('pm_ids are allocated in order and start again from 0 when the table empties', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'a' });
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'b', force: true });
  const ids = (await pm2.list()).map((p) => p.pm_id);
  assert.strictEqual(ids.length, 2);
  assert.ok(ids[1] > ids[0]);
  await pm2.delete('all');
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'c' });
  assert.deepStrictEqual((await pm2.list()).map((p) => p.pm_id), [0]);
  await pm2.delete('all');
});

test('a file that cannot be executed ends errored, not restarted, with the reason in its error log', async () => {
  const file = path.join(home, 'not-a-program.txt');
  fs.writeFileSync(file, 'plain text\n', { mode: 0o644 });
  await pm2.start({ script: file, name: 'noexec', interpreter: 'none' });
  await waitFor(async () => (await proc('noexec')).pm2_env.status === 'errored', { what: 'errored' });
  const p = await proc('noexec');
  assert.strictEqual(p.pm2_env.restart_time, 0);
  const errLog = fs.readFileSync(path.join(home, 'logs', 'noexec-error.log'), 'utf8');
  assert.match(errLog, /failed to launch .*not-a-program\.txt: Permission denied/);
  await pm2.delete('noexec');
});

test('a deleted app\'s stop timer never reaches the next app that gets its pm_id', async () => {
  // The first app's stop arms a kill timer (kill_timeout); the table empties, so the next
  // app is pm_id 0 again: that timer must not SIGKILL it.
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'gone', kill_timeout: 300 });
  await pm2.delete('gone');
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'next' });
  const first = await proc('next');
  assert.strictEqual(first.pm_id, 0);
  await waitFor(async () => Date.now() - (await proc('next')).pm2_env.pm_uptime > 900, { what: 'past the old timer' });
  const later = await proc('next');
  assert.strictEqual(later.pid, first.pid, 'still the same process');
  assert.strictEqual(later.pm2_env.restart_time, 0);
  assert.strictEqual(later.pm2_env.status, 'online');
  await pm2.delete('next');
});

test("a pm_id used again after a delete is not hit by its former app's pending kill timeout", async () => {
  // The old app dies at once on SIGINT; its kill timeout stays pending for 2.5 s.
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'old', kill_timeout: 2500 });
  const oldId = (await proc('old')).pm_id;
  await pm2.delete('old');
  if ((await pm2.list()).length !== 0) return; // the id is reused only when the table empties
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'new' });
  const fresh = await proc('new');
  assert.strictEqual(fresh.pm_id, oldId);
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    const p = await proc('new');
    assert.ok(p.pm2_env.status === 'online' && p.pid === fresh.pid && p.pm2_env.restart_time === 0, `the new app was hit: ${p.pm2_env.status}, restarts ${p.pm2_env.restart_time}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await pm2.delete('new');
});
