'use strict';
// lib/container.js, the wrapper the daemon runs node apps through, driven the way the
// daemon drives it: `node lib/container.js [args]`, pm_exec_path in env, an IPC channel.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CONTAINER = path.join(__dirname, '..', 'lib', 'container.js');
let dir;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-container-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * The title the container gives `script` run with `args`: `node <script>`,
 * cut to the room of the process's original argv, the only space Node can
 * reuse for a title (so it is cut in PM2 too).
 */
function titleOf(script, args) {
  const room = [process.execPath, CONTAINER, ...args].reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) - 1;
  return `node ${script}`.slice(0, room);
}

function write(name, text) {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

// Runs an app through the container; resolves once it exits, with what it sent and printed.
function run(script, { args = [], env = {}, ipc = true, onMessage, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONTAINER, ...args], {
      cwd: dir,
      // the metrics agent is off here (its own tests are in metrics-agent.test.js)
      env: { ...process.env, pmx: 'false', ...env, pm_exec_path: script },
      stdio: ['pipe', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    });
    const messages = [];
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('message', (m) => {
      messages.push(m);
      if (onMessage) onMessage(m, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`app did not exit in ${timeout} ms; stderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, messages, stdout, stderr });
    });
  });
}

const REPORT = `
process.send({
  title: process.title,
  argv: process.argv.slice(1),
  isMain: require.main === module,
  mainFile: require.main && require.main.filename,
});
`;

test('sends node_version first, then runs the script as the main CommonJS module', async () => {
  const script = write('report.js', REPORT);
  const r = await run(script, { args: ['--port', '80', 'x'] });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.messages[0], { node_version: process.versions.node });
  const report = r.messages[1];
  assert.equal(report.title, titleOf(script, ['--port', '80', 'x']));
  assert.deepEqual(report.argv, [script, '--port', '80', 'x']);
  assert.equal(report.isMain, true);
  assert.equal(report.mainFile, script);
});

test('PROCESS_TITLE names the process', async () => {
  const script = write('title.js', REPORT);
  const r = await run(script, { env: { PROCESS_TITLE: 'my-api-worker' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.messages[1].title, 'my-api-worker');
});

test('a thrown exception prints the stack, sends process:exception and exits 1', async () => {
  const script = write(
    'throws.js',
    `setTimeout(() => {
      const err = new TypeError('boom');
      err.code = 'E_BOOM';
      err.detail = { a: 1 };
      const cycle = {}; cycle.self = cycle;
      err.cycle = cycle;
      throw err;
    }, 10);`
  );
  const r = await run(script);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /TypeError: boom/);
  assert.match(r.stderr, /throws\.js/);
  const packet = r.messages.find((m) => m.type === 'process:exception');
  assert.ok(packet, `no process:exception in ${JSON.stringify(r.messages)}`);
  assert.equal(packet.data.message, 'boom');
  assert.equal(packet.data.name, 'TypeError');
  assert.match(packet.data.stack, /TypeError: boom[\s\S]*throws\.js/);
  assert.equal(packet.data.code, 'E_BOOM');
  assert.deepEqual(packet.data.detail, { a: 1 });
  assert.equal('cycle' in packet.data, false, 'a property that cannot be sent is left out');
});

test('an unhandled rejection is a crash too', async () => {
  const script = write('rejects.js', `Promise.reject(new Error('nobody caught me'));`);
  const r = await run(script);
  assert.equal(r.code, 1);
  const packet = r.messages.find((m) => m.type === 'process:exception');
  assert.ok(packet);
  assert.equal(packet.data.message, 'nobody caught me');
  assert.match(r.stderr, /nobody caught me/);
});

test('a non-Error thrown value is reported with its text', async () => {
  const script = write('throws-string.js', `throw 'plain text';`);
  const r = await run(script);
  assert.equal(r.code, 1);
  const packet = r.messages.find((m) => m.type === 'process:exception');
  assert.equal(packet.data.message, 'plain text');
});

test('an app that handles uncaughtException itself keeps running', async () => {
  const script = write(
    'handles.js',
    `process.on('uncaughtException', (e) => process.send({ handled: e.message }));
     setTimeout(() => { throw new Error('mine'); }, 10);
     setTimeout(() => process.send({ alive: true }), 100);`
  );
  const r = await run(script);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.messages.filter((m) => !m.node_version),
    [{ handled: 'mine' }, { alive: true }]
  );
});

test('loads .mjs scripts as ES modules', async () => {
  const script = write(
    'esm/app.mjs',
    `process.send({ url: import.meta.url, argv: process.argv.slice(1), title: process.title });`
  );
  const r = await run(script, { args: ['a'] });
  assert.equal(r.code, 0, r.stderr);
  const report = r.messages.find((m) => m.url);
  assert.ok(report.url.endsWith('/esm/app.mjs'));
  assert.deepEqual(report.argv, [script, 'a']);
  assert.equal(report.title, titleOf(script, ['a']));
});

test('loads .js scripts of a "type": "module" package as ES modules', async () => {
  write('typed/package.json', JSON.stringify({ type: 'module' }));
  write('typed/lib/dep.js', `export const value = 42;`);
  const script = write(
    'typed/lib/main.js',
    `import { value } from './dep.js';
     process.send({ value, url: import.meta.url, hasRequire: typeof require !== 'undefined' });`
  );
  const r = await run(script);
  assert.equal(r.code, 0, r.stderr);
  const report = r.messages.find((m) => m.url);
  assert.equal(report.value, 42);
  assert.equal(report.hasRequire, false);
});

test('a top-level throw in an ES module is reported and exits 1', async () => {
  const script = write('esm/throws.mjs', `throw new RangeError('esm boom');`);
  const r = await run(script);
  assert.equal(r.code, 1);
  const packet = r.messages.find((m) => m.type === 'process:exception');
  assert.ok(packet, r.stderr);
  assert.equal(packet.data.name, 'RangeError');
});

test('an app that finishes its work exits, IPC channel or not', async () => {
  const script = write('done.js', `let n = 0; setTimeout(() => { n++; }, 20);`);
  const started = Date.now();
  const r = await run(script);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 5000);
});

test('an app waiting on process.on("message") stays alive until it stops listening', async () => {
  const script = write(
    'listens.js',
    `process.on('message', function onMessage(m) {
       process.send({ echo: m });
       process.off('message', onMessage);
     });`
  );
  let sentAt = 0;
  const r = await run(script, {
    onMessage(m, child) {
      if (m.node_version) {
        setTimeout(() => {
          sentAt = Date.now();
          child.send('shutdown');
        }, 300);
      }
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(sentAt > 0, 'the app exited before the message was sent');
  assert.deepEqual(r.messages[1], { echo: 'shutdown' });
});

test('runs without an IPC channel', async () => {
  const ok = write('plain.js', `console.log('argv', JSON.stringify(process.argv.slice(1)), process.title);`);
  const r = await run(ok, { ipc: false, args: ['z'] });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `argv ${JSON.stringify([ok, 'z'])} ${titleOf(ok, ['z'])}`);

  const bad = write('plain-throws.js', `throw new Error('no channel');`);
  const r2 = await run(bad, { ipc: false });
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /no channel/);
});

test('without pm_exec_path it says so and exits 1', async () => {
  const r = await run('', {});
  assert.equal(r.code, 1);
  assert.match(r.stderr, /pm_exec_path/);
});
