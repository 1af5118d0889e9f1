'use strict';
// Cluster mode against a real daemon: instances of an unmodified HTTP server are Node cluster
// workers of the daemon and share its listening sockets; reloads replace them one by one
// without a failed request; scale, wait_ready/listen_timeout, crashes, several apps.
// Every request goes to 127.0.0.1 (or a unix socket in the test's PM2_HOME).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const { freePort, getJson: get } = require('./support/http');
const net = require('net');
const path = require('path');
const { execFileSync, execFile } = require('child_process');
const { promisify } = require('util');
const execFileAsync = promisify(execFile);
const { makeHome, waitFor, isAlive, cleanupHome, root, cli } = require('./support/home');

const home = makeHome('cluster');
// The daemon checks max_memory_restart every PM2_WORKER_INTERVAL ms (read at its start).
process.env.PM2_WORKER_INTERVAL = '300';
const server = path.join(__dirname, 'apps', 'cluster-server.js');
const PM2 = require(root).custom;
const pm2 = new PM2({ pm2_home: home });
let bus;
/** pm_id → port (or socket path) each instance reported when it listened, by launch. */
const listening = [];

test.before(async () => {
  await pm2.connect();
  bus = await pm2.launchBus();
  bus.on('cluster-test:listening', (m) => listening.push({ pm_id: m.process.pm_id, name: m.process.name, at: m.at, port: m.data.port }));
});
test.after(async () => {
  try { bus.close(); } catch {}
  try { await pm2.disconnect(); } catch {}
  cleanupHome(home);
});

/** A TCP port nothing listens on right now. */
/**
 * A load generator: `concurrency` loops of requests until stop() (or `maxMs`, so it is
 * bounded even if a test fails). Counts successes, failures by error code, and pids seen.
 */
function load(target, { concurrency = 8, maxMs = 60000, agent = null } = {}) {
  const stats = { ok: 0, failed: 0, errors: {}, pids: new Set() };
  let running = true;
  const deadline = Date.now() + maxMs;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running && Date.now() < deadline) {
      try {
        const r = await get(target, agent || false);
        stats.ok++;
        stats.pids.add(r.pid);
      } catch (e) {
        stats.failed++;
        stats.errors[e.code || e.message] = (stats.errors[e.code || e.message] || 0) + 1;
      }
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

async function procs(name) {
  return (await pm2.list()).filter((p) => p.name === name).sort((a, b) => a.pm_id - b.pm_id);
}

/** Waits until every instance of `name` is online and has listened since `since`. */
async function allListening(name, count, since = 0) {
  return waitFor(
    async () => {
      const list = await procs(name);
      if (list.length !== count || !list.every((p) => p.pm2_env.status === 'online')) return false;
      const ids = new Set(listening.filter((l) => l.name === name && l.at >= since).map((l) => l.pm_id));
      return list.every((p) => ids.has(p.pm_id)) && list;
    },
    { timeout: 20000, what: `${count} instances of ${name} listening` }
  );
}

/** Sends requests until `want` distinct pids answered (or `tries` requests were made). */
async function pidsAnswering(target, want, tries = 400) {
  const pids = new Set();
  const answers = [];
  for (let i = 0; i < tries && pids.size < want; i += 8) {
    const batch = await Promise.all(Array.from({ length: 8 }, () => get(target)));
    for (const r of batch) {
      pids.add(r.pid);
      answers.push(r);
    }
  }
  return { pids, answers };
}

test('4 instances of one HTTP server share its port as cluster workers of the daemon', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'api', exec_mode: 'cluster', instances: 4, env: { PORT: String(port) } });
  const list = await allListening('api', 4, since);
  assert.deepStrictEqual(list.map((p) => p.pm2_env.exec_mode), Array(4).fill('cluster_mode'));
  assert.deepStrictEqual(list.map((p) => p.pm2_env.NODE_APP_INSTANCE), [0, 1, 2, 3]);

  const { pids, answers } = await pidsAnswering(port, 4);
  assert.ok(pids.size >= 3, `requests reached ${pids.size} distinct pids`);
  const appPids = new Set(list.map((p) => p.pid));
  for (const a of answers) {
    assert.ok(appPids.has(a.pid), `answered by pid ${a.pid}, one of the app's`);
    assert.strictEqual(a.isWorker, true, 'cluster.isWorker');
    assert.ok(Number.isInteger(a.worker) && a.worker > 0, 'cluster.worker.id');
  }
  const byPid = new Map(answers.map((a) => [a.pid, a]));
  for (const p of list) {
    const a = byPid.get(p.pid);
    if (a) assert.strictEqual(a.instance, String(p.pm2_env.NODE_APP_INSTANCE));
  }

  // process.send / process.on('message') over the worker's channel.
  const pong = new Promise((resolve) => bus.on('cluster-test:pong', (m) => resolve(m)));
  await pm2.sendDataToProcessId(list[2].pm_id, { type: 'process:msg', topic: 'ping', data: { n: 7 } });
  const m = await pong;
  assert.strictEqual(m.data.pid, list[2].pid);
  assert.deepStrictEqual(m.data.got, { n: 7 });
  assert.strictEqual(m.process.pm_id, list[2].pm_id);

  // Per-instance log files.
  for (const p of list) {
    assert.match(p.pm2_env.pm_out_log_path, new RegExp(`api-out-${p.pm_id}\\.log$`));
  }
  await waitFor(() => list.every((p) => fs.existsSync(p.pm2_env.pm_out_log_path)), { what: 'per-instance logs' });

  await pm2.delete('api');
  await assert.rejects(get(port), (e) => e.code === 'ECONNREFUSED', 'deleting every instance frees the port');
});

test('listen(0) gives every instance the same port; a unix socket path is shared too', async () => {
  const since = Date.now();
  await pm2.start({ script: server, name: 'zero', instances: 3, exec_mode: 'cluster_mode', env: { PORT: '0' } });
  await allListening('zero', 3, since);
  const ports = new Set(listening.filter((l) => l.name === 'zero').map((l) => l.port));
  assert.strictEqual(ports.size, 1, `one port for all: ${[...ports]}`);
  const [port] = ports;
  assert.ok(port > 0);
  const { pids } = await pidsAnswering(port, 2);
  assert.ok(pids.size >= 2, `${pids.size} instances answered on the shared random port`);
  await pm2.delete('zero');

  const sock = path.join(home, 'api.sock');
  await pm2.start({ script: server, name: 'sock', instances: 2, exec_mode: 'cluster', env: { PORT: sock } });
  await allListening('sock', 2, since);
  const answers = await Promise.all(Array.from({ length: 8 }, () => get(sock)));
  const pids2 = new Set((await procs('sock')).map((p) => p.pid));
  assert.ok(answers.every((a) => pids2.has(a.pid) && a.isWorker));
  await pm2.stop('sock');
  assert.ok(!fs.existsSync(sock), 'stopping every instance removes the socket file');
  await pm2.delete('sock');
});

test('a host address and IPv6 loopback; a port taken by another program is EADDRINUSE in the app', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'host', instances: 2, exec_mode: 'cluster', env: { PORT: String(port), HOST: '127.0.0.1' } });
  await allListening('host', 2, since);
  assert.strictEqual((await get(port)).isWorker, true);

  let v6 = true;
  await new Promise((resolve) => {
    const s = net.createServer().on('error', () => { v6 = false; resolve(); });
    s.listen(0, '::1', () => s.close(resolve));
  });
  if (v6) {
    const port6 = await freePort();
    await pm2.start({ script: server, name: 'v6', instances: 2, exec_mode: 'cluster', env: { PORT: String(port6), HOST: '::1' } });
    await allListening('v6', 2, since);
    const body = await new Promise((resolve, reject) => {
      http.get({ host: '::1', port: port6, path: '/', agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(JSON.parse(b)));
      }).on('error', reject);
    });
    assert.strictEqual(body.isWorker, true);
    await pm2.delete('v6');
  }
  await pm2.delete('host');

  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, resolve));
  const taken = blocker.address().port;
  try {
    await pm2.start({ script: server, name: 'taken', instances: 1, exec_mode: 'cluster', max_restarts: 2, env: { PORT: String(taken) } });
    const [p] = await procs('taken');
    await waitFor(() => fs.existsSync(p.pm2_env.pm_err_log_path) && /EADDRINUSE/.test(fs.readFileSync(p.pm2_env.pm_err_log_path, 'utf8')), { what: 'EADDRINUSE in the error log' });
    const log = fs.readFileSync(p.pm2_env.pm_err_log_path, 'utf8');
    assert.match(log, /code: 'EADDRINUSE'/);
    assert.match(log, new RegExp(`port: ${taken}`));
  } finally {
    await pm2.delete('taken');
    blocker.close();
  }
});

test('reload replaces every instance one by one under load with zero failed requests', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'web', instances: 4, exec_mode: 'cluster', env: { PORT: String(port) } });
  const before = await allListening('web', 4, since);
  const gen = load(port, { concurrency: 8 });
  await waitFor(() => gen.stats.ok >= 200, { what: 'load running' });
  for (let i = 0; i < 3; i++) await pm2.reload('web');
  const okBeforeEnd = gen.stats.ok;
  await waitFor(() => gen.stats.ok >= okBeforeEnd + 200, { what: 'load after the reloads' });
  const stats = await gen.stop();
  const after = await procs('web');
  assert.strictEqual(stats.failed, 0, `failed requests: ${JSON.stringify(stats.errors)} of ${stats.ok + stats.failed}`);
  assert.ok(stats.ok > 1000, `${stats.ok} requests served`);
  assert.deepStrictEqual(after.map((p) => p.pm_id), before.map((p) => p.pm_id), 'pm_ids stay');
  assert.deepStrictEqual(after.map((p) => p.pm2_env.restart_time), [3, 3, 3, 3]);
  assert.ok(after.every((p) => p.pm2_env.status === 'online'));
  const oldPids = before.map((p) => p.pid);
  assert.ok(after.every((p) => !oldPids.includes(p.pid)), 'every instance is a new process');
  await waitFor(() => oldPids.every((pid) => !isAlive(pid)), { what: 'old processes gone' });
  assert.ok(stats.pids.size >= 12, `${stats.pids.size} processes answered across the reloads`);

  // The CLI and --update-env reload the same way.
  const gen2 = load(port, { concurrency: 4 });
  await waitFor(() => gen2.stats.ok >= 50, { what: 'load running' });
  // Not execFileSync: the load generator runs in this process and must not freeze.
  await execFileAsync(cli, ['reload', 'web', '--update-env'], { env: { ...process.env, PM2_HOME: home, COUNTER: 'updated' } });
  const stats2 = await gen2.stop();
  assert.strictEqual(stats2.failed, 0, `failed requests: ${JSON.stringify(stats2.errors)}`);
  const answer = await get(port);
  assert.strictEqual(answer.counter, 'updated', 'the new env reached the reloaded instances');
  assert.deepStrictEqual((await procs('web')).map((p) => p.pm2_env.restart_time), [4, 4, 4, 4]);
  await pm2.delete('web');
});

test('reload under keep-alive load fails no request: retiring instances stop keeping connections alive', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'web-ka', instances: 4, exec_mode: 'cluster', env: { PORT: String(port) } });
  await allListening('web-ka', 4, since);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const gen = load(port, { concurrency: 8, agent });
  try {
    await waitFor(() => gen.stats.ok >= 200, { what: 'load running' });
    for (let i = 0; i < 3; i++) await pm2.reload('web-ka');
    const okBeforeEnd = gen.stats.ok;
    await waitFor(() => gen.stats.ok >= okBeforeEnd + 200, { what: 'load after the reloads' });
  } finally {
    await gen.stop();
    agent.destroy();
  }
  const { stats } = gen;
  assert.strictEqual(stats.failed, 0, `failed requests: ${JSON.stringify(stats.errors)} of ${stats.ok + stats.failed}`);
  assert.ok(stats.pids.size >= 8, `${stats.pids.size} processes answered across the reloads`);
  await pm2.delete('web-ka');
});

test('a fork-mode app reloads as a restart; a non-node app with instances runs N fork instances', async () => {
  await pm2.start({ script: path.join(__dirname, 'apps', 'echo.js'), name: 'forked' });
  const [p] = await procs('forked');
  assert.strictEqual(p.pm2_env.exec_mode, 'fork_mode');
  await pm2.reload('forked');
  const [q] = await procs('forked');
  assert.strictEqual(q.pm2_env.restart_time, 1);
  assert.notStrictEqual(q.pid, p.pid);
  await pm2.delete('forked');

  execFileSync(cli, ['start', path.join(__dirname, 'apps', 'hello.sh'), '-i', '2', '--name', 'shells'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore' });
  const shells = await procs('shells');
  assert.deepStrictEqual(shells.map((s) => s.pm2_env.exec_mode), ['fork_mode', 'fork_mode']);
  await pm2.delete('shells');

  // `-i` on the CLI with a node script means cluster mode.
  const port = await freePort();
  execFileSync(cli, ['start', server, '-i', '2', '--name', 'cli-cluster'], { env: { ...process.env, PM2_HOME: home, PORT: String(port) }, stdio: 'ignore' });
  await allListening('cli-cluster', 2);
  const modes = (await procs('cli-cluster')).map((s) => s.pm2_env.exec_mode);
  assert.deepStrictEqual(modes, ['cluster_mode', 'cluster_mode']);
  assert.strictEqual((await get(port)).isWorker, true);
  await pm2.delete('cli-cluster');
});

test('scale adds instances and removes the oldest ones of a running cluster app, which keeps serving', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'scaled', instances: 2, exec_mode: 'cluster', increment_var: 'COUNTER', env: { PORT: String(port), COUNTER: '10' } });
  await allListening('scaled', 2, since);
  await pm2.scale('scaled', 4);
  let list = await allListening('scaled', 4, since);
  assert.deepStrictEqual(list.map((p) => p.pm2_env.NODE_APP_INSTANCE), [0, 1, 2, 3]);
  assert.deepStrictEqual(list.map((p) => p.pm2_env.COUNTER), ['10', '11', '12', '13'], 'increment_var');
  assert.ok(list.every((p) => p.pm2_env.exec_mode === 'cluster_mode'));
  const { pids } = await pidsAnswering(port, 3);
  assert.ok(pids.size >= 3, `${pids.size} instances answered after scaling up`);

  // Scaling down removes the oldest instances, as in PM2.
  const ids = list.map((p) => p.pm_id);
  execFileSync(cli, ['scale', 'scaled', '2'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore' });
  list = await procs('scaled');
  assert.deepStrictEqual(list.map((p) => p.pm_id), ids.slice(2), 'the two newest stay');
  assert.deepStrictEqual(list.map((p) => p.pm2_env.NODE_APP_INSTANCE), [2, 3]);
  execFileSync(cli, ['scale', 'scaled', '-1'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore' });
  list = await procs('scaled');
  assert.deepStrictEqual(list.map((p) => p.pm_id), ids.slice(3));
  assert.strictEqual((await get(port)).pid, list[0].pid, 'the remaining instance serves the port');
  await pm2.delete('scaled');
});

test('reload waits for ready with wait_ready, and for at most listen_timeout', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'slow', instances: 1, exec_mode: 'cluster', wait_ready: true, listen_timeout: 8000, env: { PORT: String(port), READY_DELAY: '700' } });
  const [before] = await allListening('slow', 1, since);
  const gen = load(port, { concurrency: 4 });
  const t0 = Date.now();
  await pm2.reload('slow');
  const took = Date.now() - t0;
  const stats = await gen.stop();
  assert.ok(took >= 650, `reload took ${took} ms: it waited for 'ready'`);
  assert.ok(took < 5000, `reload took ${took} ms`);
  assert.strictEqual(stats.failed, 0, JSON.stringify(stats.errors));
  assert.ok(!isAlive(before.pid) || (await waitFor(() => !isAlive(before.pid), { what: 'old gone' })));
  await pm2.delete('slow');

  // Never ready: the reload goes on after listen_timeout.
  await pm2.start({ script: server, name: 'never', instances: 1, exec_mode: 'cluster', wait_ready: true, listen_timeout: 1000, env: { PORT: '0' } });
  await waitFor(async () => (await procs('never'))[0].pm2_env.status === 'online', { what: 'online after listen_timeout' });
  const t1 = Date.now();
  await pm2.reload('never');
  const took2 = Date.now() - t1;
  assert.ok(took2 >= 900 && took2 < 4000, `reload took ${took2} ms with listen_timeout 1000`);
  assert.strictEqual((await procs('never'))[0].pm2_env.restart_time, 1);
  await pm2.delete('never');
});

test('a crashed instance is restarted while the others keep serving; a second app on another port is unaffected', async () => {
  const port = await freePort();
  const other = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'front', instances: 3, exec_mode: 'cluster', env: { PORT: String(port) } });
  await pm2.start({ script: server, name: 'back', instances: 2, exec_mode: 'cluster', env: { PORT: String(other) } });
  const front = await allListening('front', 3, since);
  const back = await allListening('back', 2, since);

  const gen = load(port, { concurrency: 8 });
  const genOther = load(other, { concurrency: 2 });
  await waitFor(() => gen.stats.ok >= 100, { what: 'load running' });
  await pm2.sendDataToProcessId(front[0].pm_id, { type: 'process:msg', topic: 'crash', data: {} });
  const restarted = await waitFor(async () => {
    const [p] = (await procs('front')).filter((x) => x.pm_id === front[0].pm_id);
    return p.pm2_env.restart_time === 1 && p.pm2_env.status === 'online' && p;
  }, { what: 'restart of the crashed instance' });
  assert.notStrictEqual(restarted.pid, front[0].pid);
  const okAt = gen.stats.ok;
  await waitFor(() => gen.stats.ok >= okAt + 200, { what: 'serving after the crash' });
  const stats = await gen.stop();
  const statsOther = await genOther.stop();
  // Requests the crashing process was answering die with it; none is refused.
  assert.ok(!stats.errors.ECONNREFUSED, `no connection refused: ${JSON.stringify(stats.errors)}`);
  assert.ok(stats.failed <= 8, `${stats.failed} failed (at most those in flight in the crashed process)`);
  assert.strictEqual(statsOther.failed, 0);
  const backPids = new Set(back.map((p) => p.pid));
  assert.ok([...statsOther.pids].every((pid) => backPids.has(pid)), 'the other port is served by the other app only');
  assert.ok([...stats.pids].every((pid) => !backPids.has(pid)));
  const others = (await procs('front')).filter((p) => p.pm_id !== front[0].pm_id);
  assert.ok(others.every((p) => p.pm2_env.restart_time === 0), 'the other instances kept running');

  // Stopping one app frees its port only.
  await pm2.stop('front');
  await assert.rejects(get(port), (e) => e.code === 'ECONNREFUSED');
  assert.ok((await get(other)).isWorker);
  await pm2.delete('front');
  await pm2.delete('back');
});

test('max_memory_restart reloads cluster instances without failing a request', async () => {
  const port = await freePort();
  const since = Date.now();
  // Every node process is above 1 MB: each check (every 300 ms here) reloads the app.
  await pm2.start({ script: server, name: 'heavy', instances: 2, exec_mode: 'cluster', max_memory_restart: '1M', env: { PORT: String(port) } });
  const before = await allListening('heavy', 2, since);
  const gen = load(port, { concurrency: 4 });
  await waitFor(async () => (await procs('heavy')).every((p) => p.pm2_env.restart_time >= 3), { timeout: 30000, what: 'three memory reloads of each instance' });
  const okAt = gen.stats.ok;
  await waitFor(() => gen.stats.ok >= okAt + 50, { what: 'serving meanwhile' });
  const stats = await gen.stop();
  const after = await procs('heavy');
  assert.strictEqual(stats.failed, 0, `failed requests: ${JSON.stringify(stats.errors)} of ${stats.ok}`);
  assert.deepStrictEqual(after.map((p) => p.pm_id), before.map((p) => p.pm_id));
  assert.match(fs.readFileSync(path.join(home, 'pm2.log'), 'utf8'), /exceeds --max-memory-restart/);
  await pm2.delete('heavy');
});

test('dump and resurrect bring cluster instances back on their port', async () => {
  const own = makeHome('cluster-dump');
  const env = { ...process.env, PM2_HOME: own };
  const run = (...args) => execFileAsync(cli, args, { env });
  try {
    const port = await freePort();
    await execFileAsync(cli, ['start', server, '-i', '2', '--name', 'kept'], { env: { ...env, PORT: String(port) } });
    await waitFor(() => get(port).then((a) => a.isWorker), { what: 'serving' });
    await run('save');
    await run('kill');
    await assert.rejects(get(port), (e) => e.code === 'ECONNREFUSED', 'the daemon took the socket with it');
    await run('resurrect');
    const list = JSON.parse((await run('jlist')).stdout);
    assert.deepStrictEqual(list.map((p) => [p.name, p.pm2_env.exec_mode, p.pm2_env.NODE_APP_INSTANCE]), [
      ['kept', 'cluster_mode', 0],
      ['kept', 'cluster_mode', 1],
    ]);
    // As PM2 7.0.4: a resurrected process has no `instances` (the dump has one entry per
    // process), not a misleading 1.
    assert.ok(list.every((p) => !('instances' in p.pm2_env)), JSON.stringify(list.map((p) => p.pm2_env.instances)));
    const answer = await waitFor(() => get(port).catch(() => null), { what: 'serving again' });
    assert.ok(list.some((p) => p.pid === answer.pid) && answer.isWorker);
  } finally {
    cleanupHome(own);
  }
});

test('startOrReload of an ecosystem file starts, then reloads without failing a request; scale works in fork mode', async () => {
  const port = await freePort();
  const file = path.join(home, 'eco-cluster.json');
  fs.writeFileSync(file, JSON.stringify({ apps: [{ name: 'eco', script: server, exec_mode: 'cluster', instances: 2, env: { PORT: String(port) } }] }));
  await execFileAsync(cli, ['startOrReload', file], { env: { ...process.env, PM2_HOME: home } });
  const started = await allListening('eco', 2);
  const gen = load(port, { concurrency: 4 });
  await waitFor(() => gen.stats.ok >= 50, { what: 'load running' });
  await execFileAsync(cli, ['startOrReload', file], { env: { ...process.env, PM2_HOME: home } });
  const stats = await gen.stop();
  assert.strictEqual(stats.failed, 0, JSON.stringify(stats.errors));
  const reloaded = await procs('eco');
  assert.deepStrictEqual(reloaded.map((p) => p.pm_id), started.map((p) => p.pm_id));
  assert.deepStrictEqual(reloaded.map((p) => p.pm2_env.restart_time), [1, 1]);
  await pm2.delete('eco');

  await pm2.start({ script: path.join(__dirname, 'apps', 'echo.js'), name: 'forks' });
  await pm2.scale('forks', 3);
  let forks = await procs('forks');
  assert.deepStrictEqual(forks.map((p) => p.pm2_env.exec_mode), ['fork_mode', 'fork_mode', 'fork_mode']);
  await waitFor(async () => (await procs('forks')).every((p) => p.pm2_env.status === 'online'), { what: 'forks online' });
  await pm2.scale('forks', '-2');
  forks = await procs('forks');
  assert.strictEqual(forks.length, 1);
  await pm2.delete('forks');
});

test('-i max logs every instance into <app>-out.log; -i <n> and ecosystem instances suffix each file with its pm_id', async () => {
  const env = { ...process.env, PM2_HOME: home, PORT: '0' };
  const logs = path.join(home, 'logs');
  execFileSync(cli, ['start', server, '-i', 'max', '--name', 'maxed'], { env, stdio: 'ignore' });
  const n = (await procs('maxed')).length;
  assert.ok(n >= 1);
  const maxed = await allListening('maxed', n);
  for (const p of maxed) {
    assert.strictEqual(p.pm2_env.pm_out_log_path, path.join(logs, 'maxed-out.log'));
    assert.strictEqual(p.pm2_env.pm_err_log_path, path.join(logs, 'maxed-error.log'));
  }
  assert.ok(!fs.readdirSync(logs).some((f) => /^maxed-out-\d+\.log$/.test(f)), 'no per-instance file');
  await pm2.delete('maxed');

  execFileSync(cli, ['start', server, '-i', '2', '--name', 'two'], { env, stdio: 'ignore' });
  const two = await allListening('two', 2);
  assert.deepStrictEqual(two.map((p) => p.pm2_env.pm_out_log_path), two.map((p) => path.join(logs, `two-out-${p.pm_id}.log`)));
  assert.ok(two.every((p) => fs.existsSync(p.pm2_env.pm_out_log_path)));
  await pm2.delete('two');
});

test('reload signals a worker that uses @pm2/io before it loses its channel: its SIGINT handler runs and it exits 0', async () => {
  const since = Date.now();
  await pm2.start({ script: path.join(__dirname, 'apps', 'pmio-server.js'), name: 'pmio', instances: 2, exec_mode: 'cluster', env: { PORT: '0' } });
  const before = await allListening('pmio', 2, since);
  await waitFor(async () => (await procs('pmio')).every((p) => Object.keys(p.pm2_env.axm_options || {}).length > 0), { what: '@pm2/io options' });
  await pm2.reload('pmio');
  await waitFor(() => before.every((p) => !isAlive(p.pid)), { what: 'old workers gone' });
  const out = () => before.map((p) => fs.readFileSync(p.pm2_env.pm_out_log_path, 'utf8')).join('');
  await waitFor(() => before.every((p) => out().includes(`graceful shutdown of ${p.pid}`)), { what: 'the shutdown handler of each old worker' });
  // A stop too: the handler runs and the exit is clean.
  const after = await procs('pmio');
  await pm2.stop('pmio');
  // (Each pm_id keeps its log file across the reload: `out()` reads the new workers' too.)
  await waitFor(() => after.every((p) => out().includes(`graceful shutdown of ${p.pid}`)), { what: 'the shutdown handler on stop' });
  assert.ok((await procs('pmio')).every((p) => p.pm2_env.status === 'stopped' && p.pm2_env.exit_code === 0));
  const errors = before.map((p) => fs.readFileSync(p.pm2_env.pm_err_log_path, 'utf8')).join('');
  assert.doesNotMatch(errors, /disconnected from parent/i);
  await pm2.delete('pmio');
});

test('two cluster apps listening on the same port share it, as under one Node primary', async () => {
  const port = await freePort();
  const since = Date.now();
  await pm2.start({ script: server, name: 'share-a', instances: 2, exec_mode: 'cluster', env: { PORT: String(port) } });
  await pm2.start({ script: server, name: 'share-b', instances: 2, exec_mode: 'cluster', env: { PORT: String(port) } });
  await allListening('share-a', 2, since);
  await allListening('share-b', 2, since);
  const names = new Set();
  await waitFor(async () => {
    names.add((await get(port)).name);
    return names.size === 2;
  }, { what: 'both apps answering on the port' });
  const restarts = (await procs('share-b')).map((p) => p.pm2_env.restart_time);
  assert.deepStrictEqual(restarts, [0, 0], 'no crash loop');
  // One app gone, the port stays open for the other.
  await pm2.delete('share-a');
  for (let i = 0; i < 20; i++) assert.strictEqual((await get(port)).name, 'share-b');
  await pm2.delete('share-b');
  await waitFor(() => new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  }), { what: 'the port free after both apps are gone' });
});

test('reload <ecosystem> --update-env keeps exec_mode cluster_mode, and the instances stay cluster workers', async () => {
  const port = await freePort();
  const file = path.join(home, 'eco-update.config.js');
  fs.writeFileSync(file, `module.exports = { apps: [{ name: 'ecoupd', script: ${JSON.stringify(server)}, exec_mode: 'cluster', instances: 2, env: { PORT: '${port}' } }] };\n`);
  const env = { ...process.env, PM2_HOME: home };
  await execFileAsync(cli, ['start', file], { env });
  await allListening('ecoupd', 2);
  const since = Date.now();
  await execFileAsync(cli, ['reload', file, '--update-env'], { env });
  const list = await allListening('ecoupd', 2, since);
  assert.deepStrictEqual(list.map((p) => p.pm2_env.exec_mode), ['cluster_mode', 'cluster_mode']);
  assert.strictEqual((await get(port)).isWorker, true);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  for (const p of list) assert.doesNotMatch(log, new RegExp(`App \\[ecoupd:${p.pm_id}\\] starting in -fork mode-`));
  assert.strictEqual((log.match(/App \[ecoupd:\d+\] starting in -cluster mode-/g) || []).length, 4);
  await pm2.delete('ecoupd');
});
