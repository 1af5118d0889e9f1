'use strict';
// Concurrent resurrects and starts never duplicate apps. Two `pm2 resurrect`
// at once (a boot unit and a user) each listed the processes, saw none, and
// started every app of the dump: each app ran twice, and the next `save`
// kept the copies. Parallel `start app.js --name same` made several copies
// the same way. The daemon now checks and creates in one step.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { daemonHome, pm2, list, writeApp, cli, root } = require('./support');

/** Runs the CLI `n` times at once with `args(i)`; resolves with every `{code, out, err}`. */
function parallel(home, n, args) {
  const runs = Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
    const child = spawn(cli, args(i), { env: { ...process.env, PM2_HOME: home }, cwd: home });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  }));
  return Promise.all(runs);
}

/** Each name with how many processes have it. */
function counts(procs) {
  const by = {};
  for (const p of procs) by[p.name] = (by[p.name] || 0) + 1;
  return by;
}

/**
 * Saves three apps (`a` in cluster mode with 2 instances) and stops the
 * daemon: the clients that run next find none, as at boot, and all reach the
 * new one at the same moment.
 */
function saveThree(home) {
  const scripts = ['a', 'b', 'c'].map((n) => writeApp(home, `${n}.js`, 'setInterval(() => {}, 1000);'));
  assert.strictEqual(pm2(home, ['start', scripts[0], '-i', '2']).code, 0);
  for (const s of scripts.slice(1)) assert.strictEqual(pm2(home, ['start', s]).code, 0);
  assert.strictEqual(pm2(home, ['save']).code, 0);
  assert.strictEqual(pm2(home, ['kill']).code, 0);
}

const SAVED = { a: 2, b: 1, c: 1 };
/** Rounds of the races that do not lose every time on a faulty daemon. */
const ROUNDS = 4;

function dumpCounts(home) {
  return counts(JSON.parse(fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8')));
}

test('10 concurrent pm2 resurrect start each saved app once', async (t) => {
  const home = daemonHome(t, 'faults-resurrect-race');
  saveThree(home);
  const runs = await parallel(home, 10, () => ['resurrect']);
  for (const r of runs) assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual(counts(await list(home)), SAVED);
  // Those that found the apps there started nothing: one run restored each.
  const restored = runs.map((r) => (r.out.match(/Process .* restored/g) || []).length);
  assert.strictEqual(restored.reduce((a, b) => a + b, 0), 4, `restored lines per run: ${restored}`);
  assert.strictEqual(pm2(home, ['save']).code, 0);
  assert.deepStrictEqual(dumpCounts(home), SAVED);
});

test('20 saves and 20 resurrects at once leave no duplicate, running or saved', async (t) => {
  const home = daemonHome(t, 'faults-save-resurrect');
  saveThree(home);
  // The race is one of timing: a few rounds make a comeback show.
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) assert.strictEqual(pm2(home, ['kill']).code, 0);
    const runs = await parallel(home, 40, (i) => [i % 2 ? 'save' : 'resurrect']);
    for (const r of runs) assert.strictEqual(r.code, 0, r.err);
    assert.deepStrictEqual(counts(await list(home)), SAVED, `round ${round}`);
    assert.deepStrictEqual(dumpCounts(home), SAVED, `round ${round}`);
  }
});

test('10 parallel start --name same make one app; the others are told it runs', async (t) => {
  const home = daemonHome(t, 'faults-start-race');
  const script = writeApp(home, 'same.js', 'setInterval(() => {}, 1000);');
  for (let round = 0; round < ROUNDS; round++) {
    assert.strictEqual(pm2(home, ['kill']).code, 0);
    const runs = await parallel(home, 10, () => ['start', script, '--name', 'same']);
    const started = runs.filter((r) => r.code === 0);
    const refused = runs.filter((r) => r.code !== 0);
    assert.strictEqual(started.length, 1, `round ${round}: ${runs.map((r) => r.err).join('\n')}`);
    for (const r of refused) assert.match(r.err, /Script already launched, add -f option to force re-execution/);
    assert.deepStrictEqual(counts(await list(home)), { same: 1 }, `round ${round}`);
  }

  // Stopped, the same start brings that process back instead of a second
  // one; the starts that find it running again are told so.
  assert.strictEqual(pm2(home, ['stop', 'same']).code, 0);
  const again = await parallel(home, 5, () => ['start', script, '--name', 'same']);
  assert.ok(again.some((r) => r.code === 0), again.map((r) => r.err).join('\n'));
  for (const r of again.filter((r) => r.code !== 0)) assert.match(r.err, /Script already launched/);
  const procs = await list(home);
  assert.deepStrictEqual(counts(procs), { same: 1 });
  assert.strictEqual(procs[0].pm2_env.status, 'online');
});

test('10 parallel pm2 start of one ecosystem file start each app once', async (t) => {
  const home = daemonHome(t, 'faults-eco-race');
  const apps = ['web', 'worker'].map((name) => ({ name, script: writeApp(home, `${name}.js`, 'setInterval(() => {}, 1000);') }));
  const file = path.join(home, 'apps.config.json');
  fs.writeFileSync(file, JSON.stringify({ apps }));
  for (let round = 0; round < ROUNDS; round++) {
    assert.strictEqual(pm2(home, ['kill']).code, 0);
    const runs = await parallel(home, 10, () => ['start', file]);
    for (const r of runs) assert.strictEqual(r.code, 0, r.err);
    assert.deepStrictEqual(counts(await list(home)), { web: 1, worker: 1 }, `round ${round}`);
  }
});

test('concurrent API resurrects and ecosystem starts create each app once', async (t) => {
  const home = daemonHome(t, 'faults-api-race');
  saveThree(home);
  const PM2 = require(root).custom;
  const apis = Array.from({ length: 5 }, () => new PM2({ pm2_home: home }));
  await Promise.all(apis.map((api) => api.connect()));
  t.after(() => apis.forEach((api) => api.disconnect()));
  const started = await Promise.all(apis.map((api) => api.resurrect()));
  assert.strictEqual(started.flat().length, 4, 'one resurrect started each process');
  assert.deepStrictEqual(counts(await list(home)), SAVED);

  const eco = { apps: [{ name: 'eco', script: path.join(home, 'b.js') }] };
  await Promise.all(apis.map((api) => api.start(eco)));
  assert.strictEqual(counts(await list(home)).eco, 1);
});
