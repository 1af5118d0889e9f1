'use strict';
// Descendants of an app must not escape a stop: shell background jobs,
// double-forked processes reparented away from the app's tree, processes
// whose name is not UTF-8, and (where the daemon runs apps in cgroups)
// processes that started a session of their own. PM2 leaves such orphans
// (PM2 issue #6084). `pm2 delete` and `pm2 kill` must leave nothing either,
// while a crash leaves the app's descendants running, as in PM2.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, cli, waitFor, isAlive, killQuietly, needsPidNamespace, slow } = require('./support');

// One process of each kind a stop must reach; each writes its pid to a file
// in $1. `stubborn` makes everything ignore SIGINT (the stop then needs its
// SIGKILL stage); `crash` exits once all are started.
const APP = String.raw`#!/bin/bash
dir="$1"
[ "$2" = stubborn ] && trap '' INT
# A background job of a non-interactive shell: it ignores SIGINT.
sleep 1000 &
echo $! > "$dir/background"
# A double fork: the middle shell exits, its sleep is reparented out of the tree.
sh -c 'sleep 1000 & echo $! > "$1/double-forked"' sh "$dir"
# A sleep named with the bytes 0xff 0xfe, in a process group of its own (job
# control): only a /proc scan that reads such names finds it.
bad="$dir/$(printf '\377\376')"
cp "$(command -v sleep)" "$bad"
set -m
"$bad" 1000 &
echo $! > "$dir/non-utf8"
set +m
# A double fork that starts a session of its own: only a cgroup holds it.
sh -c 'setsid sh -c "echo \$\$ > \"\$1/own-session.tmp\"; mv \"\$1/own-session.tmp\" \"\$1/own-session\"; exec sleep 1000" sh "$1" &' sh "$dir"
while [ ! -s "$dir/own-session" ]; do sleep 0.02; done
echo $$ > "$dir/main"
[ "$2" = crash ] && exit 1
wait
`;

const KINDS = ['background', 'double-forked', 'non-utf8', 'own-session'];

function pm2(env, ...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', timeout: 20000 });
  assert.strictEqual(r.status, 0, `pm2 ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The cgroup v2 path of `pid` (its `0::` line), or null. */
function cgroupOf(pid) {
  try {
    const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : null;
  } catch {
    return null;
  }
}

/**
 * Starts the app in a fresh PM2_HOME and waits until all its processes run.
 * Returns the pids by kind, the main pid, and the daemon's cgroup directory
 * as pm2.log reports it (null when it runs apps without cgroups).
 */
async function startApp(t, { mode = '', env: extraEnv = {}, options = [] } = {}) {
  const home = makeHome('descendants');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-descendants-pids-'));
  const env = { ...process.env, PM2_HOME: home, ...extraEnv };
  const pids = {};
  t.after(() => {
    cleanupHome(home);
    for (const pid of Object.values(pids)) killQuietly(pid);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const script = path.join(dir, 'descendants.sh');
  fs.writeFileSync(script, APP, { mode: 0o755 });
  const args = ['start', script, '--name', 'descendants', ...options, '--', dir];
  if (mode) args.push(mode);
  pm2(env, ...args);
  // `main` is written last, by `echo`: it exists (empty) before its line does.
  await waitFor(() => /\d\n$/.test(readIfThere(path.join(dir, 'main'))), { what: 'the app to start its processes' });
  for (const kind of [...KINDS, 'main']) {
    const text = fs.readFileSync(path.join(dir, kind), 'utf8');
    const pid = Number(text);
    assert.ok(Number.isInteger(pid) && pid > 1, `${kind} names a pid: ${JSON.stringify(text)}`);
    pids[kind] = pid;
  }
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  const m = /apps run in cgroups under (\S+):/.exec(log);
  const cgroupDir = m ? m[1] : null;
  t.diagnostic(cgroupDir ? `cgroup mode: ${cgroupDir}` : `no cgroups: ${/apps run without cgroups \(([^)]*)\)/.exec(log)?.[1]}`);
  return { home, env, dir, pids, cgroupDir };
}

function readIfThere(file) {
  try { return fs.readFileSync(file, 'utf8'); } catch { return ''; }
}

/** Asserts the processes of `kinds` are alive and the name of the non-UTF-8 one really is. */
function assertRunning(pids, kinds = KINDS) {
  for (const kind of kinds) assert.ok(isAlive(pids[kind]), `${kind} (${pids[kind]}) runs`);
  const stat = fs.readFileSync(`/proc/${pids['non-utf8']}/stat`);
  assert.ok(stat.includes(Buffer.from([0x28, 0xff, 0xfe, 0x29])), `name is (\\xff\\xfe): ${stat}`);
}

/** Asserts, in cgroup mode, that the app and its escaped process share the app's cgroup. */
function assertConfined({ pids, cgroupDir }) {
  if (!cgroupDir) return;
  const cg = cgroupOf(pids.main);
  assert.match(cg, /\/pm2-\d+-\d+-[0-9a-f]{8}\/0\/\d+$/, `the app runs in its cgroup: ${cg}`);
  assert.strictEqual(cgroupOf(pids['own-session']), cg, 'the setsid process stays in the app cgroup');
  assert.ok(cgroupDir.endsWith(cg.replace(/\/0\/\d+$/, '')), `${cg} is under ${cgroupDir}`);
}

/** Waits until every process of `kinds` is gone (no /proc entry, or a zombie). */
async function assertGone(pids, kinds, what) {
  try {
    await waitFor(() => kinds.every((k) => !isAlive(pids[k])), { timeout: 5000, what });
  } catch (e) {
    const left = kinds.filter((k) => isAlive(pids[k])).map((k) => `${k} (${pids[k]})`);
    assert.fail(`${what}: still running: ${left.join(', ')}`);
  }
}

/** The kinds a stop must reach: all of them with cgroups, all but the setsid one without. */
function reachable(cgroupDir, t) {
  if (cgroupDir) return [...KINDS, 'main'];
  t.diagnostic('no cgroups: not asserting that the setsid process is killed');
  return [...KINDS.filter((k) => k !== 'own-session'), 'main'];
}

test('pm2 stop kills background jobs, double forks, non-UTF-8 names and (with cgroups) setsid escapees', needsPidNamespace, async (t) => {
  const app = await startApp(t);
  assertRunning(app.pids);
  assertConfined(app);
  pm2(app.env, 'stop', 'descendants');
  await assertGone(app.pids, reachable(app.cgroupDir, t), 'after pm2 stop');
  if (app.cgroupDir) {
    await waitFor(() => !fs.existsSync(path.join(app.cgroupDir, '0')), { timeout: 5000, what: "the app's cgroup to be removed" });
  }
});

test('pm2 stop of an app that ignores the stop signal kills everything at kill_timeout', { ...needsPidNamespace, ...slow }, async (t) => {
  const app = await startApp(t, { mode: 'stubborn', options: ['--kill-timeout', '300'] });
  assertRunning(app.pids);
  pm2(app.env, 'stop', 'descendants');
  await assertGone(app.pids, reachable(app.cgroupDir, t), 'after pm2 stop with SIGINT ignored');
});

test('without cgroups pm2 stop still reaches the tree, group and session', { ...needsPidNamespace, ...slow }, async (t) => {
  const app = await startApp(t, { env: { PM2_APP_CGROUPS: 'false' } });
  assert.strictEqual(app.cgroupDir, null, 'PM2_APP_CGROUPS=false turns cgroups off');
  assertRunning(app.pids);
  pm2(app.env, 'stop', 'descendants');
  await assertGone(app.pids, reachable(null, t), 'after pm2 stop without cgroups');
  t.diagnostic(`without cgroups the setsid process ${isAlive(app.pids['own-session']) ? 'survives' : 'is gone'}`);
});

test('pm2 delete leaves nothing running', { ...needsPidNamespace, ...slow }, async (t) => {
  const app = await startApp(t);
  assertRunning(app.pids);
  pm2(app.env, 'delete', 'descendants');
  await assertGone(app.pids, reachable(app.cgroupDir, t), 'after pm2 delete');
  if (app.cgroupDir) {
    await waitFor(() => !fs.existsSync(path.join(app.cgroupDir, '0')), { timeout: 5000, what: "the app's cgroup to be removed" });
  }
});

test('pm2 kill leaves nothing running, nor the daemon cgroup', needsPidNamespace, async (t) => {
  const app = await startApp(t);
  assertRunning(app.pids);
  pm2(app.env, 'kill');
  await assertGone(app.pids, reachable(app.cgroupDir, t), 'after pm2 kill');
  if (app.cgroupDir) assert.ok(!fs.existsSync(app.cgroupDir), `${app.cgroupDir} is removed`);
});

test('a crash leaves the descendants running; a stop afterwards kills them (with cgroups)', { ...needsPidNamespace, ...slow }, async (t) => {
  const app = await startApp(t, { mode: 'crash', options: ['--no-autorestart'] });
  await waitFor(() => {
    const list = JSON.parse(pm2(app.env, 'jlist'));
    return list.length === 1 && list[0].pm2_env.status === 'stopped';
  }, { what: 'the crashed app to be stopped' });
  assertRunning(app.pids);
  if (!app.cgroupDir) {
    t.diagnostic('no cgroups: what a crash leaves is out of reach of a later stop');
    return;
  }
  pm2(app.env, 'stop', 'descendants');
  await assertGone(app.pids, KINDS, 'after pm2 stop of the crashed app');
  await waitFor(() => !fs.existsSync(path.join(app.cgroupDir, '0')), { timeout: 5000, what: "the app's cgroup to be removed" });
});
