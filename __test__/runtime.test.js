'use strict';
// `pm2-runtime` (and `pm2-docker`), the native CLI under another name: a
// container's main process. Foreground, raw logs, graceful stop on SIGTERM,
// exit on its own when no app is left, PID 1 duties; and the bin/ files Node
// can run.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { makeHome, cleanupHome, waitFor, isAlive, root } = require('./support/home');
const { freePort } = require('./support/http');

const runtimeBin = path.join(root, 'node_modules', '.bin', 'pm2-runtime');

/** Starts `cmd args` with a private PM2_HOME; collects its output. */
function run(t, cmd, args, extraEnv = {}, cwd = undefined) {
  const home = makeHome('runtime');
  t.after(() => cleanupHome(home));
  const child = spawn(cmd, args, { env: { ...process.env, PM2_HOME: home, ...extraEnv }, cwd: cwd || home });
  t.after(() => { try { child.kill('SIGKILL'); } catch {} });
  const io = { home, child, out: '', err: '' };
  child.stdout.on('data', (d) => { io.out += d; });
  child.stderr.on('data', (d) => { io.err += d; });
  io.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return io;
}

test('pm2-runtime app.js: foreground, raw app lines, serves, and SIGTERM stops the app within its kill_timeout', async (t) => {
  const port = await freePort();
  const app = path.join(fs.mkdtempSync(path.join(require('os').tmpdir(), 'rt-')), 'server.js');
  fs.writeFileSync(app, `
    require('http').createServer((q, s) => s.end('served')).listen(${port}, () => console.log('listening ' + process.pid));
    process.on('SIGINT', () => { console.log('graceful bye'); process.exit(0); });
  `);
  const rt = run(t, runtimeBin, [app, '--kill-timeout', '3000']);
  const pid = Number(await waitFor(() => (/^listening (\d+)$/m.exec(rt.out) || [])[1], { what: 'the app line, raw' }));
  const body = await new Promise((resolve, reject) => {
    require('http').get({ host: '127.0.0.1', port }, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); }).on('error', reject);
  });
  assert.strictEqual(body, 'served');
  assert.ok(!fs.existsSync(path.join(rt.home, 'pm2.pid')), 'no daemon');
  const t0 = Date.now();
  rt.child.kill('SIGTERM');
  const { code } = await rt.exited;
  assert.strictEqual(code, 0);
  assert.ok(Date.now() - t0 < 3000, 'within kill_timeout');
  assert.match(rt.out, /graceful bye/);
  assert.ok(!isAlive(pid));
});

test("pm2-runtime speaks as PM2's does: its own lines as `<date>: PM2 log: …`, no start table, no pm2.log", async (t) => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rt-'));
  const app = path.join(dir, 'quiet.js');
  fs.writeFileSync(app, "console.log('app says hi'); console.error('app complains'); setInterval(() => {}, 1000);");
  const rt = run(t, runtimeBin, [app]);
  await waitFor(() => /app says hi/.test(rt.out) && /app complains/.test(rt.err), { what: 'both app lines' });
  const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d';
  const lines = rt.out.split('\n').filter(Boolean);
  assert.match(lines[0], new RegExp(`^${stamp}: PM2 log: Launching in no daemon mode$`));
  assert.ok(lines.some((l) => new RegExp(`^${stamp}: PM2 log: App \\[quiet:0\\] online$`).test(l)), rt.out);
  assert.ok(lines.includes('app says hi'), 'app lines stay raw');
  assert.doesNotMatch(rt.out, /\[PM2\]|│/, 'no start messages, no table');
  assert.doesNotMatch(rt.out, /app complains/, "the app's stderr stays on stderr");
  rt.child.kill('SIGINT');
  assert.strictEqual((await rt.exited).code, 0);
  const tail = rt.out.split('\n').filter(Boolean);
  assert.match(tail[tail.length - 1], new RegExp(`^${stamp}: PM2 log: PM2 successfully stopped$`));
  assert.match(rt.out, new RegExp(`${stamp}: PM2 log: Stopping app:quiet id:0\\n`));
  assert.ok(!fs.existsSync(path.join(rt.home, 'pm2.log')), 'no pm2.log: the lines went to stdout');

  // A script that is not there: PM2's error line on stderr, and a failure status.
  const missing = run(t, runtimeBin, [path.join(dir, 'nope.js')]);
  assert.strictEqual((await missing.exited).code, 1);
  assert.match(missing.err, new RegExp(`^${stamp}: PM2 error: Script not found: ${path.join(dir, 'nope.js').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n$`));
});

test('pm2-runtime exits non-zero on its own when its app keeps failing with --no-autorestart', async (t) => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rt-'));
  const app = path.join(dir, 'crash.js');
  fs.writeFileSync(app, "console.log('about to fail'); setTimeout(() => process.exit(2), 200);");
  const rt = run(t, runtimeBin, [app, '--no-autorestart']);
  const { code } = await rt.exited;
  assert.notStrictEqual(code, 0);
  assert.match(rt.out, /about to fail/);
  assert.match(rt.err, /no app is running any more \(1 of 1 failed\)/);
});

test('pm2-docker is the same runtime; --no-auto-exit keeps it up with no app online', async (t) => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rt-'));
  const app = path.join(dir, 'once.js');
  fs.writeFileSync(app, "console.log('done once');");
  const docker = path.join(root, 'node_modules', '.bin', 'pm2-docker');
  const rt = run(t, docker, [app, '--no-autorestart', '--no-auto-exit', '--json']);
  await waitFor(() => /"message":"done once"/.test(rt.out), { what: 'a JSON log line' });
  // The app's lifecycle comes as JSON events too, as with PM2's --json.
  await waitFor(() => /^\{"timestamp":"[^"]+","type":"process_event","status":"exit","app_name":"once"\}$/m.test(rt.out), { what: 'the exit event as JSON' });
  assert.match(rt.out, /^\{"timestamp":"[^"]+","type":"process_event","status":"online","app_name":"once"\}$/m);
  // Past the first auto-exit check (4 s) it is still running.
  const early = await Promise.race([rt.exited, new Promise((r) => setTimeout(() => r('running'), 6500))]);
  assert.strictEqual(early, 'running');
  rt.child.kill('SIGINT');
  assert.strictEqual((await rt.exited).code, 0);
});

test('as PID 1 in a PID namespace pm2-runtime reaps orphaned grandchildren', { skip: process.getuid() !== 0 && 'needs root for unshare' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rt-'));
  const app = path.join(dir, 'spawner.js');
  // Every 50 ms a shell starts a background sleep and exits: the sleep is
  // reparented to PID 1 and, once it ends, is a zombie until PID 1 reaps it.
  fs.writeFileSync(app, `
    const { spawn } = require('child_process');
    setInterval(() => spawn('sh', ['-c', 'sleep 0.02 &'], { stdio: 'ignore' }), 50);
    console.log('spawning');
  `);
  // unshare passes no signal on, but with --kill-child its death SIGTERMs the runtime.
  // Without app cgroups: a daemon that is PID 1 of a namespace names its cgroup
  // pm2-1, which a later daemon on the host cannot tell from a live one.
  const rt = run(t, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=SIGTERM', runtimeBin, app], { PM2_APP_CGROUPS: 'false' });
  await waitFor(() => /spawning/.test(rt.out), { what: 'the app runs' });
  // The runtime is the namespace's PID 1; seen from here it is unshare's child.
  const runtimePid = await waitFor(() => {
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === rt.child.pid) return Number(e);
      } catch {}
    }
    return 0;
  }, { what: 'the runtime process' });
  await new Promise((r) => setTimeout(r, 2000));
  const zombies = fs.readdirSync('/proc').filter((e) => {
    if (!/^\d+$/.test(e)) return false;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return state === 'Z' && Number(ppid) === runtimePid;
    } catch {
      return false;
    }
  });
  assert.ok(zombies.length <= 2, `${zombies.length} zombies left under PID 1 after 2 s of orphans`);
  rt.child.kill('SIGKILL');
  await waitFor(() => !isAlive(runtimePid), { what: 'the runtime stopped by the SIGTERM its parent\'s death sends' });
});

test('bin/ files run the native commands under Node: node bin/pm2 ping', (t) => {
  const home = makeHome('binfiles');
  t.after(() => cleanupHome(home));
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'pm2'), 'ping'], { env: { ...process.env, PM2_HOME: home }, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /pong/);
  const bad = spawnSync(process.execPath, [path.join(root, 'bin', 'pm2-runtime')], { env: { ...process.env, PM2_HOME: home }, encoding: 'utf8' });
  assert.notStrictEqual(bad.status, 0);
  assert.match(bad.stderr, /give a script or an ecosystem file/);
});

test('pm2-dev runs in the foreground with watching on: a change restarts the app, logs are timestamped', async (t) => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'dev-'));
  const app = path.join(dir, 'dev.js');
  fs.writeFileSync(app, "console.log('version 1'); setInterval(() => {}, 1000);");
  // As with `pm2 start --watch`, the app's cwd (here the folder it is run from) is watched.
  const dev = run(t, path.join(root, 'node_modules', '.bin', 'pm2-dev'), ['dev.js'], {}, dir);
  await waitFor(() => /version 1/.test(dev.out), { what: 'the first version' });
  assert.match(dev.out, /\d{4}-\d\d-\d\d.*version 1/, 'timestamped');
  fs.writeFileSync(app, "console.log('version 2'); setInterval(() => {}, 1000);");
  await waitFor(() => /version 2/.test(dev.out), { what: 'the restart after the change', timeout: 15000 });
  dev.child.kill('SIGINT');
  assert.strictEqual((await dev.exited).code, 0);
});
