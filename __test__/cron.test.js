'use strict';
// `cron_restart`: the app restarts at each matching time (6-field patterns
// with seconds, as PM2's croner), pm2.log says so, a stopped app stays
// stopped, and a bad pattern is refused at start with its text.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, cleanupHome, cli, root } = require('./support/home');

const home = makeHome('cron');
const apps = path.join(__dirname, 'apps');
const env = { ...process.env, PM2_HOME: home };
const PM2 = require(root).custom;
const pm2 = new PM2({ pm2_home: home });

function run(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: apps, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function proc(name) {
  return (await pm2.list()).find((p) => p.name === name);
}

function pm2Log() {
  return fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
}

/** Asserts that `check` stays true for `ms` (polled). */
async function holds(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    assert.ok(await check(), what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(() => pm2.connect());
test.after(async () => {
  try { await pm2.disconnect(); } catch {}
  cleanupHome(home);
});

test('cron_restart every 2 s restarts the app at least twice in 7 s, and pm2.log says so', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'cronapp', cron_restart: '*/2 * * * * *' });
  const first = await proc('cronapp');
  assert.strictEqual(first.pm2_env.cron_restart, '*/2 * * * * *');
  const p = await waitFor(async () => { const p = await proc('cronapp'); return p.pm2_env.restart_time >= 2 && p; }, { timeout: 7000, interval: 100, what: 'two cron restarts' });
  assert.notStrictEqual(p.pid, first.pid);
  const log = pm2Log();
  assert.match(log, /Registering a cron job on: \d+ \(app cronapp, cron_restart "\*\/2 \* \* \* \* \*"/);
  assert.match(log, /cron_restart "\*\/2 \* \* \* \* \*": restarting app cronapp/);
});

test('a stopped app is not restarted by cron; starting it arms the cron again', async () => {
  await pm2.stop('cronapp');
  const stopped = await proc('cronapp');
  assert.strictEqual(stopped.pm2_env.status, 'stopped');
  assert.match(pm2Log(), /Deregistering a cron job on: \d+ \(app cronapp\)/);
  await holds(async () => {
    const p = await proc('cronapp');
    return p.pm2_env.status === 'stopped' && p.pid === 0 && p.pm2_env.restart_time === stopped.pm2_env.restart_time;
  }, 4500, 'the stopped app stays stopped across two cron times');
  await pm2.restart('cronapp');
  const n = (await proc('cronapp')).pm2_env.restart_time;
  await waitFor(async () => (await proc('cronapp')).pm2_env.restart_time > n, { timeout: 5000, what: 'cron again after start' });
  await pm2.delete('cronapp');
});

test('the CLI takes --cron-restart, and refuses an invalid pattern naming it', async () => {
  const bad = run('start', 'echo.js', '--name', 'badcron', '--cron', '61 * * * *');
  assert.strictEqual(bad.code, 1);
  assert.match(bad.err, /Cron pattern error: cron_restart "61 \* \* \* \*" is not valid/);
  assert.strictEqual(await proc('badcron'), undefined);
  const ok = run('start', 'echo.js', '--name', 'clicron', '--cron-restart', '0 0 * * *');
  assert.strictEqual(ok.code, 0, ok.err);
  assert.strictEqual((await proc('clicron')).pm2_env.cron_restart, '0 0 * * *');
  assert.match(run('describe', 'clicron').out, /cron restart\s+│ 0 0 \* \* \*/);
  await pm2.delete('clicron');
});

test('require("pm2") and the daemon refuse an invalid pattern too', async () => {
  await assert.rejects(
    pm2.start({ script: path.join(apps, 'echo.js'), name: 'apicron', cron_restart: 'every day' }),
    /Cron pattern error: cron_restart "every day"/,
  );
  // A client that skips the check (any client may send `prepare`).
  const err = await new Promise((resolve) => {
    pm2.Client.executeRemote('prepare', { name: 'raw', pm_exec_path: path.join(apps, 'echo.js'), cron_restart: '* * *' }, (e) => resolve(e));
  });
  assert.ok(err, 'prepare refused');
  assert.match(String(err.message || err), /cron_restart "\* \* \*"/);
  assert.strictEqual(await proc('raw'), undefined);
  assert.strictEqual(await proc('apicron'), undefined);
});

test('a job that does its work and exits (--no-autorestart) runs again at each cron time', async () => {
  const runs = path.join(home, 'job-runs');
  const job = path.join(home, 'job.js');
  fs.writeFileSync(job, `require('fs').appendFileSync(${JSON.stringify(runs)}, Date.now() + '\\n');\n`);
  const r = run('start', job, '--name', 'job', '--cron-restart', '*/2 * * * * *', '--no-autorestart');
  assert.strictEqual(r.code, 0, r.err);
  const count = () => (fs.existsSync(runs) ? fs.readFileSync(runs, 'utf8').trim().split('\n').length : 0);
  await waitFor(async () => {
    const p = await proc('job');
    return count() >= 3 && p.pm2_env.restart_time >= 2 && p;
  }, { timeout: 9000, interval: 100, what: 'three runs of the job' });
  const p = await proc('job');
  assert.strictEqual(p.pm2_env.exit_code, 0);
  // A user's stop pauses the schedule, and the CLI says so.
  const stop = run('stop', 'job');
  assert.strictEqual(stop.code, 0, stop.err);
  assert.match(stop.out, /\[PM2\]\[WARN\] App .*job.* stopped: its CRON RESTART \*\/2 \* \* \* \* \* is paused until it is started again/);
  const n = count();
  await holds(async () => count() === n && (await proc('job')).pm2_env.status === 'stopped', 4500, 'no run after stop');
  await pm2.delete('job');
});

test('an app that errored (too many unstable restarts) is started again by its cron', async () => {
  const starts = path.join(home, 'errored-starts');
  await pm2.start({ script: path.join(apps, 'crash.js'), name: 'flaky', cron_restart: '*/2 * * * * *', max_restarts: 1, env: { STARTS_FILE: starts } });
  const count = () => (fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').trim().split('\n').length : 0);
  await waitFor(async () => (await proc('flaky')).pm2_env.status === 'errored', { what: 'errored' });
  const n = count();
  await waitFor(() => count() > n, { timeout: 5000, what: 'a start by cron after errored' });
  await pm2.delete('flaky');
});
