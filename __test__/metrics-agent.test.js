'use strict';
// lib/metrics_agent.js as apps get it: through lib/container.js with an IPC channel, the
// way the daemon runs node apps. What it sends (PM2's metric names, units and actions),
// what its actions write, and that it never keeps an app alive or crashes it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { waitFor } = require('./support/home');

const CONTAINER = path.join(__dirname, '..', 'lib', 'container.js');
let dir;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-agent-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function write(name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

// Starts `script` through the container; collects its messages and merges its metrics as
// the daemon does (axm_monitor, axm_actions).
function launch(script, env = {}) {
  const child = spawn(process.execPath, [CONTAINER], {
    cwd: dir,
    env: { ...process.env, PM2_HOME: path.join(dir, 'home'), name: 'agent-app', pm_id: '4', ...env, pm_exec_path: script },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  const app = { child, messages: [], monitor: {}, actions: [], replies: [], stdout: '', exited: null };
  child.stdout.on('data', (d) => (app.stdout += d));
  child.on('message', (m) => {
    app.messages.push(m);
    if (m && m.type === 'axm:monitor') Object.assign(app.monitor, m.data);
    if (m && m.type === 'axm:action') app.actions.push(m.data);
    if (m && m.type === 'axm:reply') app.replies.push(m.data);
  });
  app.exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    app.exited = { code, signal };
    resolve(app.exited);
  }));
  return app;
}

async function trigger(app, msg) {
  const name = typeof msg === 'string' ? msg : msg.msg;
  const before = app.replies.length;
  app.child.send(msg);
  const reply = await waitFor(() => app.replies.slice(before).find((r) => r.action_name === name), {
    timeout: 20000,
    what: `the reply to ${name}`,
  });
  return reply.return;
}

const IDLE = write('idle.js', 'setInterval(() => {}, 1000);\n');

test("registers PM2's actions and reports PM2's metrics with their units and types", async () => {
  const app = launch(IDLE);
  try {
    await waitFor(() => app.monitor['Event Loop Latency p95'], { what: 'metrics' });
    assert.deepEqual(app.actions, [
      { action_name: 'km:heapdump', action_type: 'internal', arity: 2 },
      { action_name: 'km:cpu:profiling:start', action_type: 'internal', arity: 2 },
      { action_name: 'km:cpu:profiling:stop', action_type: 'internal', arity: 1 },
      { action_name: 'km:heap:sampling:start', action_type: 'internal', arity: 2 },
      { action_name: 'km:heap:sampling:stop', action_type: 'internal', arity: 1 },
    ]);
    const options = app.messages.find((x) => x.type === 'axm:option:configuration').data;
    assert.equal(options.module_name, 'agent-app');
    assert.deepEqual(options.metrics, { v8: true, network: false, eventLoop: true, runtime: false, http: true });
    const m = app.monitor;
    assert.deepEqual(Object.keys(m), [
      'Heap Size', 'Heap Usage', 'Used Heap Size', 'Active requests', 'Active handles',
      'Event Loop Latency', 'Event Loop Latency p95',
    ]);
    assert.deepEqual({ ...m['Heap Size'], value: 0 }, { historic: true, unit: 'MiB', type: 'internal/v8/heap/total', value: 0 });
    assert.match(m['Heap Size'].value, /^\d+\.\d\d$/);
    assert.match(m['Used Heap Size'].value, /^\d+\.\d\d$/);
    assert.ok(Number(m['Used Heap Size'].value) <= Number(m['Heap Size'].value));
    assert.equal(m['Heap Usage'].unit, '%');
    assert.ok(m['Heap Usage'].value > 0 && m['Heap Usage'].value <= 100);
    assert.deepEqual(m['Active handles'], { historic: true, type: 'internal/libuv/handles', value: m['Active handles'].value });
    assert.equal(typeof m['Active requests'].value, 'number');
    assert.equal(m['Event Loop Latency'].unit, 'ms');
    assert.equal(m['Event Loop Latency p95'].type, 'internal/libuv/latency/p95');
    assert.match(m['Event Loop Latency'].value, /^\d+\.\d\d$/);
  } finally {
    app.child.kill();
  }
});

test('a blocked event loop shows in Event Loop Latency p95', async () => {
  const script = write('blocky.js', `
setInterval(() => { const end = Date.now() + 300; while (Date.now() < end); }, 400);
`);
  const app = launch(script);
  try {
    await waitFor(() => app.monitor['Event Loop Latency p95'] && Number(app.monitor['Event Loop Latency p95'].value) >= 100, {
      what: 'a p95 of 100 ms or more',
    });
  } finally {
    app.child.kill();
  }
});

test('an HTTP server gets HTTP req/min and its latencies', async () => {
  const script = write('web.js', `
require('http').createServer((req, res) => setTimeout(() => res.end('ok'), 20))
  .listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });
`);
  const app = launch(script);
  try {
    const port = await waitFor(() => (/port (\d+)/.exec(app.stdout) || [])[1], { what: 'the port' });
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve, reject) =>
        http.get(`http://127.0.0.1:${port}/`, (res) => res.resume().on('end', resolve)).on('error', reject));
    }
    await waitFor(() => app.monitor.HTTP && app.monitor.HTTP.value > 0 && app.monitor['HTTP P95 Latency'], { what: 'HTTP metrics' });
    const m = app.monitor;
    assert.deepEqual({ ...m.HTTP, value: 0 }, { historic: true, unit: 'req/min', type: 'internal/http/builtin/reqs', value: 0 });
    assert.equal(m['HTTP Mean Latency'].unit, 'ms');
    assert.equal(m['HTTP Mean Latency'].type, 'internal/http/builtin/latency/p50');
    assert.equal(m['HTTP P95 Latency'].type, 'internal/http/builtin/latency/p95');
    assert.ok(m['HTTP Mean Latency'].value >= 15, `mean ${m['HTTP Mean Latency'].value} ms for 20 ms responses`);
    assert.ok(m['HTTP P95 Latency'].value >= m['HTTP Mean Latency'].value);
  } finally {
    app.child.kill();
  }
});

test('pmx or automation false: no metrics and no actions', async () => {
  for (const env of [{ pmx: 'false' }, { automation: 'false' }]) {
    const script = write('brief.js', 'setTimeout(() => {}, 1500);\n');
    const app = launch(script, env);
    await app.exit;
    assert.deepEqual(app.messages, [{ node_version: process.versions.node }], JSON.stringify(env));
  }
});

test('the agent keeps no app alive: a script that is done exits at once', async () => {
  const app = launch(write('done.js', 'console.log("done");\n'));
  const t0 = Date.now();
  const exited = await app.exit;
  assert.deepEqual(exited, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 5000);
});

test('a closed IPC channel does not crash the app', async () => {
  const app = launch(write('lives.js', 'setInterval(() => {}, 100); setTimeout(() => process.exit(7), 2500);\n'));
  await waitFor(() => app.actions.length === 5, { what: 'the actions' });
  app.child.disconnect();
  // two samples go by with the channel closed, then the app ends the way it means to
  assert.deepEqual(await app.exit, { code: 7, signal: null });
});

test('km:heapdump writes a heap snapshot under PM2_HOME/profiles and says where', async () => {
  const app = launch(IDLE);
  try {
    await waitFor(() => app.actions.length === 5, { what: 'the actions' });
    const ret = await trigger(app, 'km:heapdump');
    assert.equal(ret.success, true);
    assert.equal(path.dirname(ret.file), path.join(dir, 'home', 'profiles'));
    assert.match(path.basename(ret.file), /^agent-app-4-.*\.heapsnapshot$/);
    const snapshot = JSON.parse(fs.readFileSync(ret.file, 'utf8'));
    assert.ok(snapshot.snapshot && snapshot.nodes.length > 0);
    // a parameter names another directory
    const other = path.join(dir, 'dumps');
    const ret2 = await trigger(app, { msg: 'km:heapdump', opts: other, uuid: 'x' });
    assert.equal(path.dirname(ret2.file), other);
    assert.ok(fs.statSync(ret2.file).size > 0);
  } finally {
    app.child.kill();
  }
});

test('CPU profiling and heap sampling: start, stop writes the profile; misuse answers an error', async () => {
  const app = launch(IDLE);
  try {
    await waitFor(() => app.actions.length === 5, { what: 'the actions' });
    assert.deepEqual(await trigger(app, 'km:cpu:profiling:stop'), { success: false, err: 'No profiling are already running' });
    for (const [kind, ext, check] of [
      ['cpu:profiling', 'cpuprofile', (p) => Array.isArray(p.nodes) && p.startTime > 0],
      ['heap:sampling', 'heapprofile', (p) => p.head && Array.isArray(p.samples)],
    ]) {
      const started = await trigger(app, `km:${kind}:start`);
      assert.equal(started.success, true);
      const again = await trigger(app, `km:${kind}:start`);
      assert.deepEqual(again, { success: false, err: 'A profiling is already running' });
      const stopped = await trigger(app, `km:${kind}:stop`);
      assert.equal(stopped.success, true);
      assert.equal(stopped.uuid, started.uuid);
      assert.ok(stopped.file.endsWith(`.${ext}`), stopped.file);
      assert.ok(check(JSON.parse(fs.readFileSync(stopped.file, 'utf8'))), `${ext} content`);
    }
    const withParam = await trigger(app, { msg: 'km:cpu:profiling:start', opts: '5000' });
    assert.equal(withParam.success, false);
    assert.match(withParam.err, /takes no parameter/);
  } finally {
    app.child.kill();
  }
});

test('cluster workers report too', async () => {
  // A cluster worker is a container started with NODE_UNIQUE_ID by a cluster primary;
  // here a small primary forks the container the same way and relays what it gets.
  const primary = write('primary.js', `
const cluster = require('cluster');
cluster.setupPrimary({ exec: ${JSON.stringify(CONTAINER)} });
const w = cluster.fork({ pm_exec_path: ${JSON.stringify(IDLE)} });
w.on('message', (m) => process.send(m));
`);
  const child = spawn(process.execPath, [primary], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(child);
  const monitor = {};
  child.on('message', (m) => m && m.type === 'axm:monitor' && Object.assign(monitor, m.data));
  try {
    await waitFor(() => monitor['Heap Size'], { what: "the worker's metrics" });
  } finally {
    child.kill('SIGKILL');
  }
});

test("application:dependencies: the app's package.json dependencies, once per start", async () => {
  const appDir = path.join(dir, 'with-pkg');
  fs.mkdirSync(appDir, { recursive: true });
  fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'x', dependencies: { express: '^4.18.0', ms: '2.1.3' } }));
  const script = path.join(appDir, 'idle.js');
  fs.writeFileSync(script, 'setInterval(() => {}, 1000);\n');
  const app = launch(script);
  const deps = await waitFor(() => app.messages.find((m) => m && m.type === 'application:dependencies'), { what: 'application:dependencies' });
  assert.deepEqual(deps.data, { express: { version: '^4.18.0' }, ms: { version: '2.1.3' } });
  app.child.kill('SIGKILL');
  await app.exit;
  assert.equal(app.messages.filter((m) => m && m.type === 'application:dependencies').length, 1);
});
