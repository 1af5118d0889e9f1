'use strict';
// Apps under Bun against a real daemon: `interpreter: bun` (or any interpreter whose name ends
// in bun) runs the app with the container preloaded, so it gets what a node app gets: its
// messages on the bus, actions, metrics, a graceful stop, logs, restarts after a crash; .ts
// scripts run on Bun; cluster instances are Bun cluster workers sharing a port.
// Bun comes from the repo's devDependencies (node_modules/.bin/bun), PM2_TEST_BUN, or PATH;
// without it every test is skipped, saying so.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const { freePort, getJson: get } = require('./support/http');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, isAlive, cleanupHome, root, cliRunner } = require('./support/home');

/** A bun binary that runs, or null. */
function findBun() {
  const candidates = [
    process.env.PM2_TEST_BUN,
    path.join(root, 'node_modules', '.bin', 'bun'),
    ...(process.env.PATH || '').split(path.delimiter).map((d) => d && path.join(d, 'bun')),
  ].filter(Boolean);
  for (const bin of candidates) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20000 });
    if (r.status === 0) return path.resolve(bin);
  }
  return null;
}

const bun = findBun();
const skip = bun ? false : 'bun is not installed: run npm install (bun is a devDependency) or set PM2_TEST_BUN';
const bunTest = (name, fn) => test(name, { skip, timeout: 90000 }, fn);

const home = makeHome('bun');
const work = path.join(home, 'work');
fs.mkdirSync(work);
let pm2;
let bus;
const events = []; // every bus event: [name, data]
const env = { ...process.env, PM2_HOME: home };
const cli = cliRunner(env, work);
let bunNodeVersion;

if (bun) {
  // Apps find `bun` on the PATH of the client that starts them.
  process.env.PATH = `${path.dirname(bun)}${path.delimiter}${process.env.PATH}`;
  env.PATH = process.env.PATH;
  // Where Bun would put what it auto-installs (the container must never make it).
  process.env.BUN_INSTALL_CACHE_DIR = path.join(home, 'bun-cache');
  env.BUN_INSTALL_CACHE_DIR = process.env.BUN_INSTALL_CACHE_DIR;
  bunNodeVersion = spawnSync(bun, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  test.before(async () => {
    const PM2 = require(root).custom;
    pm2 = new PM2({ pm2_home: home });
    await pm2.connect();
    bus = await pm2.launchBus();
    bus.on('*', (event, data) => events.push([event, data]));
  });
  test.after(async () => {
    try { bus.close(); } catch {}
    try { await pm2.disconnect(); } catch {}
  });
}
test.after(() => cleanupHome(home));

function write(name, text) {
  const file = path.join(work, name);
  fs.writeFileSync(file, text);
  return file;
}

// An HTTP server as an app would write it: it says which runtime answers and whether it is
// the main module and a cluster worker; it reports its port on the bus, writes BYE_FILE on
// SIGINT before closing, and throws on a 'crash' message.
const SERVER = write('server.js', `
const http = require('http');
const fs = require('fs');
const cluster = require('cluster');
const main = require.main === module;
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ runtime: typeof Bun === 'undefined' ? 'node' : 'bun', pid: process.pid, main, isWorker: cluster.isWorker }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.send({ type: 'bun-test:listening', data: { port: server.address().port, pid: process.pid } });
});
process.on('SIGINT', () => {
  if (process.env.BYE_FILE) fs.writeFileSync(process.env.BYE_FILE, 'closed by SIGINT');
  server.close(() => process.exit(0));
});
process.on('message', (m) => {
  if (m && m.data === 'crash') setImmediate(() => { throw new Error('crash requested'); });
});
`);

async function procs(name) {
  return (await pm2.list()).filter((p) => p.name === name).sort((a, b) => a.pm_id - b.pm_id);
}
const proc = async (name) => (await procs(name))[0];

/** The bus events `event` of app `name` since index `from` of `events`. */
const eventsOf = (event, name, from = 0) => events.slice(from).filter(([e, d]) => e === event && d.process && d.process.name === name).map(([, d]) => d);

/** Waits for `name` to report the port it listens on (after bus index `from`). */
async function listeningPort(name, from = 0) {
  const m = await waitFor(() => eventsOf('bun-test:listening', name, from)[0], { timeout: 30000, what: `${name} listening` });
  return m.data.port;
}

bunTest('an HTTP app started with --interpreter bun answers from Bun as the main module, its messages reach the bus', async () => {
  const from = events.length;
  const r = cli.pm2('start', SERVER, '--name', 'web', '--interpreter', 'bun');
  assert.strictEqual(r.code, 0, r.err);
  const port = await listeningPort('web', from);
  const answer = await get(port);
  assert.strictEqual(answer.runtime, 'bun');
  assert.strictEqual(answer.main, true, 'require.main === module in the app');
  assert.strictEqual(answer.isWorker, false);
  const p = await waitFor(async () => {
    const found = await proc('web');
    return found && found.pm2_env.node_version && found;
  }, { timeout: 20000, what: 'node_version reported' });
  assert.strictEqual(p.pid, answer.pid);
  assert.strictEqual(p.pm2_env.exec_interpreter, 'bun');
  assert.strictEqual(p.pm2_env.exec_mode, 'fork_mode');
  // Bun reports the Node.js version it implements, as under PM2
  assert.strictEqual(p.pm2_env.node_version, bunNodeVersion);
  const d = cli.pm2('describe', 'web');
  assert.match(d.out, /│ interpreter\s+│ bun\s+│/);
  assert.match(d.out, new RegExp(`│ node.js version\\s+│ ${bunNodeVersion.replace(/\./g, '\\.')}\\s+│`));
});

bunTest('built-in metrics and actions under Bun: heap and event loop; heap dump and CPU profile', async () => {
  assert.strictEqual(cli.pm2('start', SERVER, '--name', 'metered', '--interpreter', 'bun').code, 0);
  const monitor = await waitFor(async () => {
    const m = ((await proc('metered')) || { pm2_env: {} }).pm2_env.axm_monitor || {};
    return m['Heap Size'] && m['Event Loop Latency p95'] && m;
  }, { timeout: 30000, what: 'heap and event loop metrics' });
  assert.strictEqual(monitor['Heap Size'].unit, 'MiB');
  assert.match(monitor['Heap Size'].value, /^\d+\.\d\d$/);
  assert.ok(Number(monitor['Used Heap Size'].value) > 0);
  assert.match(monitor['Event Loop Latency p95'].value, /^\d+\.\d\d$/);
  // Bun has no libuv handle counts: they are not reported rather than always 0
  assert.ok(!('Active handles' in monitor) && !('Active requests' in monitor), Object.keys(monitor).join());
  const p = await proc('metered');
  assert.deepStrictEqual(p.pm2_env.axm_actions.map((a) => a.action_name), ['km:heapdump', 'km:cpu:profiling:start', 'km:cpu:profiling:stop']);
  assert.strictEqual(p.pm2_env.axm_options['feature.profiler.heapsampling'], false);

  const dumpDir = path.join(home, 'dumps');
  let r = cli.pm2('trigger', 'metered', 'km:heapdump', dumpDir);
  assert.strictEqual(r.code, 0, r.err);
  const [dump] = fs.readdirSync(dumpDir);
  assert.match(dump, /\.heapsnapshot$/);
  assert.ok(JSON.parse(fs.readFileSync(path.join(dumpDir, dump), 'utf8')).snapshot, 'a heap snapshot');

  r = cli.pm2('trigger', 'metered', 'km:cpu:profiling:start');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /"success":true/);
  r = cli.pm2('trigger', 'metered', 'km:cpu:profiling:stop', dumpDir);
  assert.strictEqual(r.code, 0, r.err);
  const profile = fs.readdirSync(dumpDir).find((f) => f.endsWith('.cpuprofile'));
  assert.ok(profile, fs.readdirSync(dumpDir).join());
  assert.ok(Array.isArray(JSON.parse(fs.readFileSync(path.join(dumpDir, profile), 'utf8')).nodes));
});

bunTest('an app using @pm2/io under Bun: its custom metric and action work through pm2 trigger', async () => {
  const io = require.resolve('@pm2/io');
  write('io-app.js', `
const io = require(${JSON.stringify(io)});
io.metric({ name: 'Buns baked', unit: 'buns' }).set(12);
io.action('buns:count', (reply) => reply({ buns: 12, runtime: typeof Bun === 'undefined' ? 'node' : 'bun' }));
setInterval(() => {}, 1000);
`);
  assert.strictEqual(cli.pm2('start', 'io-app.js', '--name', 'io', '--interpreter', 'bun').code, 0);
  await waitFor(async () => {
    const p = await proc('io');
    return p && (p.pm2_env.axm_actions || []).some((a) => a.action_name === 'buns:count') && p.pm2_env.axm_monitor['Buns baked'];
  }, { timeout: 30000, what: 'the custom action and metric registered' });
  const r = cli.pm2('trigger', 'io', 'buns:count');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /\[io:\d+:default\]=\{"buns":12,"runtime":"bun"\}/);
  assert.strictEqual((await proc('io')).pm2_env.axm_monitor['Buns baked'].value, 12);
});

bunTest("@pm2/io installed next to the app is started by the container; none is auto-installed where there is none", async () => {
  // no node_modules above `work`: Bun's own lookup of @pm2/io would install it
  write('plain.js', 'console.log("plain app up");\nsetInterval(() => {}, 1000);\n');
  assert.strictEqual(cli.pm2('start', 'plain.js', '--name', 'plain', '--interpreter', 'bun').code, 0);
  const plain = await proc('plain');
  await waitFor(() => /plain app up/.test(fs.readFileSync(plain.pm2_env.pm_out_log_path, 'utf8')), { timeout: 20000, what: 'plain app output' });
  assert.ok(!fs.existsSync(path.join(process.env.BUN_INSTALL_CACHE_DIR, '@pm2')), 'nothing auto-installed');

  // an app with @pm2/io in its node_modules gets it started by the container, as under PM2,
  // without requiring it
  const appDir = path.join(work, 'with-io');
  fs.mkdirSync(path.join(appDir, 'node_modules', '@pm2'), { recursive: true });
  fs.symlinkSync(path.dirname(require.resolve('@pm2/io/package.json')), path.join(appDir, 'node_modules', '@pm2', 'io'));
  fs.writeFileSync(path.join(appDir, 'app.js'), 'setInterval(() => {}, 1000);\n');
  assert.strictEqual(cli.pm2('start', path.join(appDir, 'app.js'), '--name', 'local-io', '--interpreter', 'bun').code, 0);
  // @pm2/io's agent reports its configuration with keys of its own
  await waitFor(async () => {
    const found = await proc('local-io');
    return found && 'feature.profiler.heap_snapshot' in (found.pm2_env.axm_options || {});
  }, { timeout: 30000, what: "@pm2/io's configuration" });
});

bunTest("stop sends SIGINT and the app's handler runs; the app goes down by itself", async () => {
  const bye = path.join(home, 'bye.txt');
  const from = events.length;
  const withBye = cliRunner({ ...env, BYE_FILE: bye }, work);
  const r = withBye.pm2('start', SERVER, '--name', 'graceful', '--interpreter', 'bun', '--kill-timeout', '20000');
  assert.strictEqual(r.code, 0, r.err);
  await listeningPort('graceful', from);
  const { pid } = await proc('graceful');
  const stopAt = Date.now();
  const stop = cli.pm2('stop', 'graceful');
  assert.strictEqual(stop.code, 0, stop.err);
  assert.strictEqual(fs.readFileSync(bye, 'utf8'), 'closed by SIGINT');
  assert.ok(Date.now() - stopAt < 15000, 'stopped by its handler, not by the kill timeout');
  assert.ok(!isAlive(pid));
  const p = await proc('graceful');
  assert.strictEqual(p.pm2_env.status, 'stopped');
  assert.strictEqual(p.pm2_env.exit_code, 0);
});

bunTest('a crash is reported on the bus and in the error log, and the app is restarted', async () => {
  const from = events.length;
  assert.strictEqual(cli.pm2('start', SERVER, '--name', 'crashy', '--interpreter', 'bun').code, 0);
  await listeningPort('crashy', from);
  const before = await proc('crashy');
  await pm2.sendDataToProcessId(before.pm_id, { topic: 'test', data: 'crash' });
  const exception = await waitFor(() => eventsOf('process:exception', 'crashy', from)[0], { timeout: 20000, what: 'process:exception' });
  assert.strictEqual(exception.data.message, 'crash requested');
  const relisten = await waitFor(() => eventsOf('bun-test:listening', 'crashy', from).find((m) => m.data.pid !== before.pid), {
    timeout: 30000,
    what: 'the restarted app listening',
  });
  const after = await proc('crashy');
  assert.strictEqual(after.pid, relisten.data.pid);
  assert.strictEqual(after.pm2_env.restart_time, 1);
  assert.strictEqual(after.pm2_env.status, 'online');
  assert.ok(!isAlive(before.pid));
  assert.match(fs.readFileSync(after.pm2_env.pm_err_log_path, 'utf8'), /crash requested/);
});

bunTest('logs: what a Bun app writes goes to its out and error logs', async () => {
  write('talk.js', `
console.log('to stdout from', typeof Bun === 'undefined' ? 'node' : 'bun');
console.error('to stderr');
setInterval(() => {}, 1000);
`);
  assert.strictEqual(cli.pm2('start', 'talk.js', '--name', 'talk', '--interpreter', 'bun').code, 0);
  const p = await proc('talk');
  await waitFor(() => fs.existsSync(p.pm2_env.pm_out_log_path) && /to stdout from bun/.test(fs.readFileSync(p.pm2_env.pm_out_log_path, 'utf8')), { timeout: 20000, what: 'the out log' });
  await waitFor(() => /to stderr/.test(fs.readFileSync(p.pm2_env.pm_err_log_path, 'utf8')), { timeout: 20000, what: 'the error log' });
});

bunTest('a Bun app that finishes its work exits: the agent does not keep it alive, unless the app listens for messages', async () => {
  write('done.js', 'console.log("work done");\n');
  write('listener.js', 'process.on("message", () => {});\nconsole.log("waiting for messages");\n');
  assert.strictEqual(cli.pm2('start', 'done.js', '--name', 'done', '--interpreter', 'bun', '--no-autorestart').code, 0);
  assert.strictEqual(cli.pm2('start', 'listener.js', '--name', 'listener', '--interpreter', 'bun').code, 0);
  const done = await waitFor(async () => {
    const p = await proc('done');
    return p.pm2_env.status === 'stopped' && p;
  }, { timeout: 20000, what: 'done.js to exit' });
  assert.strictEqual(done.pm2_env.exit_code, 0);
  assert.match(fs.readFileSync(done.pm2_env.pm_out_log_path, 'utf8'), /work done/);
  const listener = await proc('listener');
  await waitFor(() => /waiting for messages/.test(fs.readFileSync(listener.pm2_env.pm_out_log_path, 'utf8')), { what: 'listener output' });
  // it has been up for as long as done.js took to be seen stopped, and is still up
  const again = await proc('listener');
  assert.strictEqual(again.pm2_env.status, 'online');
  assert.strictEqual(again.pm2_env.restart_time, 0);
  assert.ok(isAlive(again.pid));
});

bunTest('a .ts script runs on Bun: picked by its extension, or with --interpreter bun', async () => {
  write('typed.ts', `
interface Greeting { text: string; count: number }
const g: Greeting = { text: 'typed hello', count: 2 };
console.log(g.text, g.count, typeof Bun === 'undefined' ? 'node' : 'bun');
setInterval(() => {}, 1000);
`);
  assert.strictEqual(cli.pm2('start', 'typed.ts', '--name', 'ts-auto').code, 0);
  assert.strictEqual(cli.pm2('start', 'typed.ts', '--name', 'ts-explicit', '--interpreter', 'bun').code, 0);
  for (const name of ['ts-auto', 'ts-explicit']) {
    const p = await proc(name);
    assert.strictEqual(p.pm2_env.exec_interpreter, 'bun', name);
    await waitFor(() => /typed hello 2 bun/.test(fs.readFileSync(p.pm2_env.pm_out_log_path, 'utf8')), { timeout: 20000, what: `${name} output` });
    await waitFor(async () => (await proc(name)).pm2_env.node_version === bunNodeVersion, { what: `${name} node_version` });
  }
});

bunTest('an ES module runs on Bun as its entry point, with its arguments', async () => {
  write('module.mjs', `
import { basename } from 'node:path';
console.log('esm main:', import.meta.main, basename(process.argv[1]), process.argv.slice(2).join(','));
setInterval(() => {}, 1000);
`);
  const r = cli.pm2('start', 'module.mjs', '--name', 'esm', '--interpreter', 'bun', '--', 'one', 'two');
  assert.strictEqual(r.code, 0, r.err);
  const p = await proc('esm');
  await waitFor(() => /esm main: true module\.mjs one,two/.test(fs.readFileSync(p.pm2_env.pm_out_log_path, 'utf8')), {
    timeout: 20000,
    what: 'the module output',
  });
});

bunTest('an interpreter path whose name ends in bun is run as Bun', async () => {
  const bin = path.join(home, 'tools');
  fs.mkdirSync(bin, { recursive: true });
  const mybun = path.join(bin, 'my-bun');
  fs.symlinkSync(bun, mybun);
  const from = events.length;
  assert.strictEqual(cli.pm2('start', SERVER, '--name', 'by-path', '--interpreter', mybun).code, 0);
  const port = await listeningPort('by-path', from);
  assert.strictEqual((await get(port)).runtime, 'bun');
  const p = await waitFor(async () => {
    const found = await proc('by-path');
    return found.pm2_env.node_version && found;
  }, { timeout: 20000, what: 'node_version from the container' });
  assert.strictEqual(p.pm2_env.exec_interpreter, mybun);
  assert.strictEqual(p.pm2_env.node_version, bunNodeVersion);
  assert.ok(p.pm2_env.axm_options && p.pm2_env.axm_options.module_name === 'by-path', 'the metrics agent runs');
});

bunTest('cluster mode: Bun instances are cluster workers sharing one port, and reload replaces them', async () => {
  const port = await freePort();
  const from = events.length;
  await pm2.start({ script: SERVER, name: 'bun-cluster', interpreter: 'bun', instances: 2, env: { PORT: String(port) } });
  const listening = await waitFor(() => {
    const pids = new Set(eventsOf('bun-test:listening', 'bun-cluster', from).map((m) => m.data.pid));
    return pids.size === 2 && pids;
  }, { timeout: 30000, what: 'both instances listening' });
  const list = await procs('bun-cluster');
  assert.deepStrictEqual(list.map((p) => p.pm2_env.exec_mode), ['cluster_mode', 'cluster_mode']);
  assert.deepStrictEqual(new Set(list.map((p) => p.pid)), listening);
  // Bun spreads new connections over the workers (SO_REUSEPORT): both answer
  const seen = new Set();
  for (let i = 0; i < 200 && seen.size < 2; i++) {
    const r = await get(port);
    assert.strictEqual(r.runtime, 'bun');
    assert.strictEqual(r.isWorker, true);
    seen.add(r.pid);
  }
  assert.deepStrictEqual(seen, listening);

  const reloadFrom = events.length;
  await pm2.reload('bun-cluster');
  const after = await procs('bun-cluster');
  assert.strictEqual(after.length, 2);
  for (const p of after) {
    assert.ok(!listening.has(p.pid), 'a new process');
    assert.strictEqual(p.pm2_env.status, 'online');
  }
  for (const pid of listening) assert.ok(!isAlive(pid), `old worker ${pid} is gone`);
  // each new worker listened before the old one was let go: the port never stopped answering
  const relistened = new Set(eventsOf('bun-test:listening', 'bun-cluster', reloadFrom).map((m) => m.data.pid));
  assert.deepStrictEqual(relistened, new Set(after.map((p) => p.pid)));
  assert.strictEqual((await get(port)).runtime, 'bun');
  await pm2.delete('bun-cluster');
});
