'use strict';
// Many clients restarting the same apps at once: every request gets its
// answer, a later `stop all` is final, and `kill` leaves no app process
// behind. Runs in the PID namespace: a faulty daemon leaves orphans.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { cli, daemonHome, daemonPid, rpc, list, pm2, processesOf, isAlive, waitFor, writeApp, needsPidNamespace } = require('./support');

const APPS = 10;
const RESTARTS = 100;
const REPLY_MS = 20000;

/** Starts APPS idle apps named s0..s9; returns their pm_ids. */
async function startIdleApps(home) {
  const ids = [];
  for (let k = 0; k < APPS; k++) {
    const reply = await rpc(home, 'prepare', [{
      name: `s${k}`, script: 'sleep', pm_exec_path: 'sleep', args: ['1000'], exec_interpreter: 'none',
      exec_mode: 'fork_mode', autorestart: true, kill_timeout: 3000, env: { PM2_HOME: home },
    }]);
    assert.ok(!reply.error, `start s${k}: ${reply.error && JSON.stringify(reply.error)}`);
    ids.push(reply.args[0][0].pm2_env.pm_id);
  }
  return ids;
}

/** Sends every call on its own connection at once; resolves with the ones that got no reply. */
async function unanswered(home, calls) {
  const outcomes = await Promise.allSettled(calls.map(([method, args]) => rpc(home, method, args, REPLY_MS)));
  return outcomes
    .map((o, i) => ({ o, call: calls[i] }))
    .filter(({ o }) => o.status === 'rejected')
    .map(({ o, call }) => `${call[0]}(${JSON.stringify(call[1])}): ${o.reason.message}`);
}

/** The pids of the app processes (every process of the home but the daemon). */
function appPids(home, daemon = daemonPid(home)) {
  return processesOf(home).filter((pid) => pid !== daemon);
}

/** Runs the CLI without blocking, so requests sent meanwhile go out. */
function pm2Async(home, args) {
  return new Promise((resolve) => {
    const child = spawn(cli, args, { env: { ...process.env, PM2_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('parallel restarts of the same apps are all answered; stop all stays stopped; kill leaves nothing', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-restarts');
  const ids = await startIdleApps(home);

  const restarts = Array.from({ length: RESTARTS }, (_, k) => ['restartProcessId', [{ id: ids[k % APPS] }]]);
  assert.deepStrictEqual(await unanswered(home, restarts), []);

  let procs = await list(home);
  assert.ok(procs.every((p) => p.pm2_env.status === 'online'), 'every app is online after the restarts');
  // Restarts of one app that overlap coalesce: never more than one per request.
  const total = procs.reduce((n, p) => n + p.pm2_env.restart_time, 0);
  assert.ok(total >= 1 && total <= RESTARTS, `restart_time total ${total}`);
  // One child per app: ten app processes.
  await waitFor(() => appPids(home).length === APPS, { what: `${APPS} app processes (have ${appPids(home).length})` });

  const stop = pm2(home, ['stop', 'all']);
  assert.strictEqual(stop.code, 0, stop.err);
  assert.deepStrictEqual(appPids(home), [], 'no app process after stop all');
  // Nothing is left to bring an app back: it stays stopped a while later.
  await new Promise((r) => setTimeout(r, 500));
  procs = await list(home);
  assert.deepStrictEqual(procs.map((p) => p.pm2_env.status), Array(APPS).fill('stopped'));
  assert.deepStrictEqual(appPids(home), []);
});

test('restarts, stops and starts interleaved: all answered, the last stop is final, kill leaves no process', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-restarts-mixed');
  const ids = await startIdleApps(home);
  const kinds = ['restartProcessId', 'restartProcessId', 'stopProcessId', 'startProcessId', 'reloadProcessId'];
  const calls = Array.from({ length: RESTARTS }, (_, k) => {
    const method = kinds[(k * 7) % kinds.length];
    const id = ids[k % APPS];
    return [method, [method === 'stopProcessId' || method === 'startProcessId' ? id : { id }]];
  });
  assert.deepStrictEqual(await unanswered(home, calls), []);
  // Every app has at most one process.
  const pids = appPids(home);
  assert.ok(pids.length <= APPS, `${pids.length} app processes for ${APPS} apps`);

  // Restarts racing with the stops of `stop all`: the stop comes last, and wins.
  const racing = unanswered(home, ids.map((id) => ['restartProcessId', [{ id }]]));
  const stop = await pm2Async(home, ['stop', 'all']);
  assert.strictEqual(stop.code, 0, stop.err);
  assert.deepStrictEqual(await racing, []);
  const survivors = appPids(home);
  const procs = await list(home);
  const running = procs.filter((p) => p.pm2_env.status !== 'stopped').map((p) => p.name);
  // A restart answered after the stop's reply may have started its app again
  // (it came later); what must hold is one process per running app.
  assert.ok(survivors.length <= running.length, `${survivors.length} processes for ${running.length} running apps`);

  const daemon = daemonPid(home);
  // A restart in flight while the daemon goes down must not leave a process.
  const late = unanswered(home, ids.map((id) => ['restartProcessId', [{ id }]]));
  const kill = await pm2Async(home, ['kill']);
  assert.strictEqual(kill.code, 0, kill.err);
  await late;
  await waitFor(() => !isAlive(daemon), { what: 'daemon gone' });
  assert.deepStrictEqual(appPids(home, daemon), [], 'no app process survives kill');
});

test('a request that outlasts PM2_RPC_TIMEOUT fails the command and says so; the daemon still carries it out', async (t) => {
  const home = daemonHome(t, 'faults-rpc-timeout');
  // Ignores the kill signal: its stop takes kill_timeout, then SIGKILL.
  const ready = path.join(home, 'ready');
  const script = writeApp(home, 'stubborn.js', `process.on('SIGINT', () => {});
require('fs').writeFileSync(${JSON.stringify(ready)}, String(process.pid));
setInterval(() => {}, 1e6);
`);
  const start = pm2(home, ['start', script, '--name', 'stubborn', '--kill-timeout', '2000']);
  assert.strictEqual(start.code, 0, start.err);
  await waitFor(() => fs.existsSync(ready), { what: 'the app ignores SIGINT' });
  const stop = pm2(home, ['stop', 'stubborn'], { env: { PM2_RPC_TIMEOUT: '300' } });
  assert.notStrictEqual(stop.code, 0);
  assert.match(stop.out + stop.err, /did not answer stopProcessId within 0\.3 s \(PM2_RPC_TIMEOUT/);
  await waitFor(async () => (await list(home))[0].pm2_env.status === 'stopped', { what: 'stopped after the kill timeout' });
  const bad = pm2(home, ['ls'], { env: { PM2_RPC_TIMEOUT: 'soon' } });
  assert.notStrictEqual(bad.code, 0);
  assert.match(bad.out + bad.err, /PM2_RPC_TIMEOUT must be a number of milliseconds above 0, not "soon"/);
});

test('a stop sent while a restart waits for the old process is final', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-stop-wins');
  // Takes a moment to exit, so the stop arrives while the restart waits.
  const ready = path.join(home, 'ready');
  const script = writeApp(home, 'slow-exit.js', `process.on('SIGINT', () => setTimeout(() => process.exit(0), 300));
require('fs').writeFileSync(${JSON.stringify(ready)}, String(process.pid));
setInterval(() => {}, 1e6);
`);
  const started = await rpc(home, 'prepare', [{ name: 'slow', script, pm_exec_path: script, exec_mode: 'fork_mode', env: { PM2_HOME: home } }]);
  const id = started.args[0][0].pm2_env.pm_id;
  await waitFor(() => fs.existsSync(ready), { what: 'the app handles SIGINT' });
  const restart = rpc(home, 'restartProcessId', [{ id }], REPLY_MS);
  await waitFor(async () => (await list(home))[0].pm2_env.status === 'stopping', { interval: 5, what: 'stopping' });
  const stop = await rpc(home, 'stopProcessId', [id], REPLY_MS);
  assert.ok(!stop.error, JSON.stringify(stop.error));
  assert.strictEqual(stop.args[0].pm2_env.status, 'stopped');
  const restarted = await restart;
  assert.match(JSON.stringify(restarted.error), /not restarted: a stop came after the restart/);
  assert.strictEqual((await list(home))[0].pm2_env.status, 'stopped');
  assert.deepStrictEqual(appPids(home), [], 'no app process after the stop');
});
