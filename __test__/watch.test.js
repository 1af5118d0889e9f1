'use strict';
// `watch`: a change under a watched app's folder restarts it once (a burst
// of changes too), ignored trees do not, and stop/delete/`--watch` switches
// turn the watcher off and on. Through the CLI and require('pm2').

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, cleanupHome, readPid, cli, root } = require('./support/home');
const { referencePm2 } = require('./support/pm2-reference');

const home = makeHome('watch');
// The apps live outside PM2_HOME (one test puts one inside it, as modules are).
const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-watch-app-'));
const env = { ...process.env, PM2_HOME: home };
const APP = "console.log('up', process.pid); setInterval(() => {}, 1000);\n";
fs.writeFileSync(path.join(appDir, 'app.js'), APP);

const PM2 = require(root).custom;
const api = new PM2({ pm2_home: home });

function pm2(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: appDir, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function jlist() {
  const r = pm2('jlist');
  assert.strictEqual(r.code, 0, r.err);
  return JSON.parse(r.out);
}

function proc(name) {
  return jlist().find((p) => p.name === name);
}

/** The `watching` cell of `pm2 ls` for an app. */
function watchingCell(name) {
  const line = pm2('ls').out.split('\n').find((l) => l.includes(` ${name} `));
  assert.ok(line, `no row for ${name}`);
  const cells = line.split('│').map((c) => c.trim()).filter(Boolean);
  return cells[cells.length - 1];
}

function touch(file) {
  const t = new Date();
  fs.utimesSync(file, t, t);
}

/** Asserts that `check` stays true for `ms` (polled): what must not happen, does not. */
async function holds(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!check()) {
      const procs = jlist().map((p) => ({ id: p.pm_id, name: p.name, status: p.pm2_env.status, restarts: p.pm2_env.restart_time, unstable: p.pm2_env.unstable_restarts, exit: p.pm2_env.exit_code }));
      const errLogs = fs.readdirSync(path.join(home, 'logs')).filter((f) => /error/.test(f)).map((f) => `${f}: ${fs.readFileSync(path.join(home, 'logs', f), 'utf8').slice(-600)}`);
      assert.fail(`${what}; ${JSON.stringify(procs)}; ${errLogs.join('\n')}; pm2.log ends with:\n${pm2Log().split('\n').slice(-12).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pm2Log() {
  return fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
}

/** How many times a watcher of `name` was set up (logged once its tree is watched). */
function watcherStarts(name) {
  return (pm2Log().match(new RegExp(`Start watching ${name}$`, 'gm')) || []).length;
}

async function watcherStarted(name, count) {
  await waitFor(() => watcherStarts(name) >= count, { what: `watcher ${count} of ${name}` });
}

test.before(() => api.connect());
test.after(async () => {
  try { await api.disconnect(); } catch {}
  cleanupHome(home);
  fs.rmSync(appDir, { recursive: true, force: true });
});

test('start --watch; touch app.js restarts the app, logged in pm2.log and on the bus', async () => {
  const r = pm2('start', 'app.js', '--watch', '--name', 'w');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(watchingCell('w'), 'enabled');
  const first = proc('w');
  assert.strictEqual(first.pm2_env.watch, true);
  const bus = await api.launchBus();
  const logged = new Promise((resolve) => bus.on('log:PM2', (p) => /Change detected/.test(p.data) && resolve(p.data)));
  await watcherStarted('w', 1);
  touch(path.join(appDir, 'app.js'));
  const p = await waitFor(() => { const p = proc('w'); return p.pm2_env.restart_time === 1 && p.pm2_env.status === 'online' && p; }, { what: 'a restart' });
  assert.notStrictEqual(p.pid, first.pid);
  // A line ending with a newline, as PM2 publishes it.
  assert.strictEqual(await logged, 'Change detected on path app.js for app w - restarting\n');
  assert.match(pm2Log(), /PM2 log: Change detected on path app\.js for app w - restarting/);
  bus.close();
});

test('a burst of 50 quick writes restarts the app once', async () => {
  const before = proc('w').pm2_env.restart_time;
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(appDir, 'data.json'), JSON.stringify({ i }));
  await waitFor(() => proc('w').pm2_env.restart_time === before + 1, { what: 'one restart' });
  await holds(() => proc('w').pm2_env.restart_time === before + 1, 1500, 'no second restart');
  assert.strictEqual(proc('w').pm2_env.status, 'online');
});

test('changes in node_modules and dotfiles do not restart the app', async () => {
  const before = proc('w').pm2_env.restart_time;
  fs.mkdirSync(path.join(appDir, 'node_modules', 'pkg'), { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(appDir, 'node_modules', 'pkg', `f${i}.js`), 'x');
  fs.writeFileSync(path.join(appDir, '.env'), 'A=1');
  fs.mkdirSync(path.join(appDir, '.git'), { recursive: true });
  fs.writeFileSync(path.join(appDir, '.git', 'HEAD'), 'ref');
  await holds(() => proc('w').pm2_env.restart_time === before, 1500, 'no restart for ignored paths');
  // The watcher is still there: a real change restarts the app.
  touch(path.join(appDir, 'app.js'));
  await waitFor(() => proc('w').pm2_env.restart_time === before + 1, { what: 'a restart' });
});

test('stop turns watching off, as PM2\'s client does: a later start does not watch again', async () => {
  assert.strictEqual(pm2('stop', 'w').code, 0);
  assert.strictEqual(proc('w').pm2_env.status, 'stopped');
  assert.strictEqual(proc('w').pm2_env.watch, false);
  touch(path.join(appDir, 'app.js'));
  await holds(() => proc('w').pm2_env.status === 'stopped', 1500, 'a change does not start a stopped app');
  assert.match(pm2Log(), /Stop watching w/);
  assert.strictEqual(pm2('start', 'w').code, 0);
  await waitFor(() => proc('w').pm2_env.status === 'online', { what: 'online' });
  assert.strictEqual(proc('w').pm2_env.watch, false);
  assert.strictEqual(watchingCell('w'), 'disabled');
  const before = proc('w').pm2_env.restart_time;
  touch(path.join(appDir, 'app.js'));
  await holds(() => proc('w').pm2_env.restart_time === before, 1500, 'not watched after the stop');
});

test('stop --watch turns watching off; restart --watch toggles it', async () => {
  const r = pm2('stop', '--watch', 'w');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(proc('w').pm2_env.watch, false);
  assert.strictEqual(watchingCell('w'), 'disabled');
  assert.strictEqual(pm2('start', 'w').code, 0);
  await waitFor(() => proc('w').pm2_env.status === 'online', { what: 'online' });
  let before = proc('w').pm2_env.restart_time;
  touch(path.join(appDir, 'app.js'));
  await holds(() => proc('w').pm2_env.restart_time === before, 1500, 'not watched any more');

  assert.strictEqual(pm2('restart', 'w', '--watch').code, 0);
  assert.strictEqual(proc('w').pm2_env.watch, true);
  assert.strictEqual(watchingCell('w'), 'enabled');
  await watcherStarted('w', 2);
  before = proc('w').pm2_env.restart_time;
  touch(path.join(appDir, 'app.js'));
  await waitFor(() => proc('w').pm2_env.restart_time === before + 1, { what: 'watched again' });

  assert.strictEqual(pm2('restart', '--watch', 'w').code, 0);
  assert.strictEqual(watchingCell('w'), 'disabled');
  before = proc('w').pm2_env.restart_time;
  touch(path.join(appDir, 'app.js'));
  await holds(() => proc('w').pm2_env.restart_time === before, 1500, 'toggled off');
});

test('delete stops the watcher', async () => {
  assert.strictEqual(pm2('restart', 'w', '--watch').code, 0);
  assert.strictEqual(pm2('delete', 'w').code, 0);
  touch(path.join(appDir, 'app.js'));
  await holds(() => jlist().length === 0, 1200, 'a deleted app stays deleted');
});

test("PM2's own CLI (pm2 7) gets PM2's watch switches from this daemon", async () => {
  const ref = (...args) => {
    const r = spawnSync(referencePm2().bin, args, { env, encoding: 'utf8', cwd: appDir, timeout: 30000 });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout;
  };
  ref('start', 'app.js', '--watch', '--name', 'ref');
  assert.strictEqual(proc('ref').pm2_env.watch, true);
  await watcherStarted('ref', 1);
  touch(path.join(appDir, 'app.js'));
  await waitFor(() => proc('ref').pm2_env.restart_time === 1, { what: 'a restart' });
  // PM2's client calls stopWatch before every stop: watching goes off, as with PM2.
  ref('stop', 'ref');
  assert.strictEqual(proc('ref').pm2_env.watch, false);
  // And toggles it on `restart --watch`.
  ref('restart', 'ref', '--watch');
  assert.strictEqual(proc('ref').pm2_env.watch, true);
  await watcherStarted('ref', 2);
  const before = proc('ref').pm2_env.restart_time;
  touch(path.join(appDir, 'app.js'));
  await waitFor(() => proc('ref').pm2_env.restart_time === before + 1, { what: 'watched again' });
  ref('delete', 'ref');
});

test('watch paths, ignore_watch and watch_delay through require("pm2")', async () => {
  fs.mkdirSync(path.join(appDir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(appDir, 'src', 'a.js'), '1');
  await api.start({ script: 'app.js', cwd: appDir, name: 'paths', watch: ['src'], ignore_watch: ['*.tmp'], watch_delay: 600 });
  await watcherStarted('paths', 1);
  assert.strictEqual(watchingCell('paths'), 'enabled');
  fs.writeFileSync(path.join(appDir, 'src', 'b.tmp'), 'x');
  touch(path.join(appDir, 'app.js'));
  await holds(() => proc('paths').pm2_env.restart_time === 0, 1200, 'outside the paths or ignored');
  // A folder made after the start is watched too.
  fs.mkdirSync(path.join(appDir, 'src', 'lib'));
  await waitFor(() => proc('paths').pm2_env.restart_time === 1, { what: 'a restart for the new folder' });
  const t0 = Date.now();
  fs.writeFileSync(path.join(appDir, 'src', 'lib', 'c.js'), '2');
  await waitFor(() => proc('paths').pm2_env.restart_time === 2, { what: 'a restart' });
  assert.ok(Date.now() - t0 >= 550, `watch_delay waited ${Date.now() - t0} ms`);
  await api.delete('paths');
});

test('an ecosystem file passes watch, ignore_watch and watch_delay to the daemon', async () => {
  const eco = path.join(appDir, 'eco.config.json');
  fs.writeFileSync(eco, JSON.stringify({ apps: [{ name: 'eco', script: 'app.js', watch: ['src'], ignore_watch: ['*.tmp'], watch_delay: '200ms' }] }));
  const r = pm2('start', 'eco.config.json');
  assert.strictEqual(r.code, 0, r.err);
  const env = proc('eco').pm2_env;
  assert.deepStrictEqual([env.watch, env.ignore_watch, env.watch_delay], [['src'], ['*.tmp'], 200]);
  assert.strictEqual(watchingCell('eco'), 'enabled');
  await watcherStarted('eco', 1);
  fs.writeFileSync(path.join(appDir, 'src', 'eco.js'), 'x');
  await waitFor(() => proc('eco').pm2_env.restart_time === 1, { what: 'a restart' });
  assert.match(pm2Log(), /Change detected on path src\/eco\.js for app eco - restarting/);
  assert.strictEqual(pm2('delete', 'eco.config.json').code, 0);
  fs.rmSync(eco);
});

test('watch_options.usePolling restarts on a change too', async () => {
  await api.start({ script: 'app.js', cwd: appDir, name: 'poll', watch: true, watch_options: { usePolling: true, interval: 100 } });
  await watcherStarted('poll', 1);
  await new Promise((r) => setTimeout(r, 300)); // the first poll records the tree
  fs.writeFileSync(path.join(appDir, 'app.js'), APP + '// edited\n');
  await waitFor(() => proc('poll').pm2_env.restart_time === 1, { what: 'a restart' });
  await api.delete('poll');
});

test('a bad ignore_watch pattern is refused at start, naming it', async () => {
  await assert.rejects(
    api.start({ script: 'app.js', cwd: appDir, name: 'bad', watch: true, ignore_watch: ['a[b'] }),
    /ignore_watch: invalid pattern "a\[b"/,
  );
  assert.strictEqual(proc('bad'), undefined);
});

test('a watcher on 10,000 files costs the daemon no CPU while nothing changes', async () => {
  const big = path.join(appDir, 'big');
  for (let d = 0; d < 100; d++) {
    const dir = path.join(big, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(dir, `f${f}.js`), '');
  }
  // pmx: false: the app's metrics agent would message the daemon every second; this measures the watcher.
  await api.start({ script: 'app.js', cwd: appDir, name: 'big', watch: ['big'], pmx: false });
  await watcherStarted('big', 1);
  touch(path.join(big, 'd99', 'f99.js'));
  await waitFor(() => { const p = proc('big').pm2_env; return p.restart_time === 1 && p.status === 'online'; }, { what: 'a restart' })
    .catch((e) => { throw new Error(`${e.message}; ${JSON.stringify(proc('big').pm2_env.restart_time)} ${proc('big').pm2_env.status}; pm2.log: ${pm2Log().split('\n').slice(-15).join('\n')}`); });
  const daemon = readPid(path.join(home, 'pm2.pid'));
  const cpu = () => {
    const f = fs.readFileSync(`/proc/${daemon}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
  };
  await new Promise((r) => setTimeout(r, 1000)); // the restart settles
  const before = cpu();
  await new Promise((r) => setTimeout(r, 3000)); // the measured idle window
  const used = cpu() - before;
  assert.ok(used <= 1, `the daemon used ${used} ticks of CPU in 3 s of idle watching`);
  await api.delete('big');
});

test('an app under PM2_HOME (as a module is) is watched; what the daemon writes there is not a change', async () => {
  const dir = path.join(home, 'modules', 'homeapp');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app.js'), "setInterval(() => console.log('tick'), 20);\n");
  // Watching PM2_HOME as a whole: its logs, pid files and pm2.log change all the time.
  await api.start({ script: path.join(dir, 'app.js'), name: 'homeapp', cwd: dir, watch: [home] });
  await watcherStarted('homeapp', 1);
  const outLog = proc('homeapp').pm2_env.pm_out_log_path;
  await waitFor(() => fs.existsSync(outLog) && fs.statSync(outLog).size > 200, { what: 'the app logging' });
  await holds(() => proc('homeapp').pm2_env.restart_time === 0, 1500, 'no restart for the daemon\'s own files');
  touch(path.join(dir, 'app.js'));
  await waitFor(() => proc('homeapp').pm2_env.restart_time === 1, { what: 'a restart for the app\'s file' });
  assert.match(pm2Log(), /Change detected on path .*app\.js for app homeapp - restarting/);
  await api.delete('homeapp');
});

test("an editor's save (temp file renamed over the file) is reported under the file's name", async () => {
  const r = pm2('start', 'app.js', '--watch', '--name', 'edited');
  assert.strictEqual(r.code, 0, r.err);
  await watcherStarted('edited', 1);
  const temp = path.join(appDir, 'app.js.tmp-4913');
  fs.writeFileSync(temp, APP);
  fs.renameSync(temp, path.join(appDir, 'app.js'));
  await waitFor(() => proc('edited').pm2_env.restart_time === 1, { what: 'a restart' });
  const lines = pm2Log().split('\n').filter((l) => /Change detected on path .* for app edited/.test(l));
  assert.deepStrictEqual(lines.map((l) => l.replace(/^.*PM2 log: /, '')), ['Change detected on path app.js for app edited - restarting']);
  assert.strictEqual(pm2('delete', 'edited').code, 0);
});
