'use strict';
// `pm2 update` against this package's daemon: the daemon process execs the
// installed daemon binary (here a copy with different bytes, so the exec is
// seen in /proc/<pid>/exe) and keeps every app: same pids, pm_ids, uptime and
// restart counts, logs continuous, the cluster's socket open under load. A
// record the new daemon cannot read makes it fall back to save, kill and
// resurrect, and the CLI says so.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFile, spawn } = require('child_process');
const { makeHome, cleanupHome, cli, pm2, daemonPid, waitFor, isAlive, writeApp, needsPidNamespace } = require('./support');
const { nativeDir } = require('../lib/platform');
const { freePort } = require('../__test__/support/http');

/** A copy of the installed daemon binary with a few more bytes: a different binary that runs the same. */
function differentDaemonBinary(dir, marker) {
  const copy = path.join(dir, `pm2-daemon-${marker}`);
  fs.copyFileSync(path.join(nativeDir(), 'pm2-daemon'), copy);
  fs.appendFileSync(copy, `\nbuild ${marker}\n`);
  fs.chmodSync(copy, 0o755);
  return copy;
}

function get(port, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Sends requests `concurrency` at a time until `stop()`; counts successes and failures. */
function load(port, agent, concurrency = 4) {
  const counts = { ok: 0, failed: 0 };
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      if (await get(port, agent)) counts.ok++;
      else counts.failed++;
    }
  });
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

function runPm2(home, args, env) {
  return new Promise((resolve) => {
    execFile(cli, args, { env: { ...process.env, PM2_HOME: home, ...env }, encoding: 'utf8', timeout: 60000 },
      (err, out, errOut) => resolve({ code: err ? err.code : 0, out, err: errOut }));
  });
}

function jlist(home) {
  const r = pm2(home, ['jlist']);
  assert.strictEqual(r.code, 0, r.err);
  return JSON.parse(r.out);
}

function byId(list) {
  return Object.fromEntries(list.map((p) => [p.pm_id, p]));
}

/** The numbers the counter app logged, in file order. */
function counted(home) {
  const file = path.join(home, 'logs', 'counter-out.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Number(/^n=(\d+)$/.exec(l)[1]));
}

test('pm2 update execs the new daemon in place: no app restarts, no request fails, no log line is lost', needsPidNamespace, async (t) => {
  const home = makeHome('faults-upgrade');
  t.after(() => cleanupHome(home));
  const newDaemon = differentDaemonBinary(home, 'next');
  const port = await freePort();
  writeApp(home, 'counter.js', "let n = 0; setInterval(() => console.log(`n=${n++}`), 2);\n");
  writeApp(home, 'web.js', "require('http').createServer((q, s) => s.end(String(process.pid))).listen(process.env.PORT);\n");
  assert.strictEqual(pm2(home, ['start', path.join(home, 'counter.js'), '--name', 'counter']).code, 0);
  const web = pm2(home, ['start', path.join(home, 'web.js'), '--name', 'web', '-i', '4'], { env: { PORT: String(port) } });
  assert.strictEqual(web.code, 0, web.err);
  await waitFor(() => get(port), { what: 'the cluster to serve' });
  await waitFor(() => counted(home).length > 50, { what: 'the counter to log' });

  const daemon = daemonPid(home);
  const oldExe = fs.readlinkSync(`/proc/${daemon}/exe`);
  assert.notStrictEqual(oldExe, newDaemon);
  const before = byId(jlist(home));
  assert.strictEqual(Object.keys(before).length, 5);

  // `pm2 logs` follows the daemon across the exec.
  const follower = spawn(cli, ['logs', 'counter', '--raw', '--lines', '0'], { env: { ...process.env, PM2_HOME: home }, stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => follower.kill('SIGKILL'));
  let followed = '';
  follower.stdout.on('data', (d) => (followed += d));
  const lastFollowed = () => Math.max(-1, ...followed.split('\n').filter((l) => /^n=\d+$/.test(l)).map((l) => Number(l.slice(2))));
  await waitFor(() => lastFollowed() >= 0, { what: 'pm2 logs to follow the counter' });
  const keepAlive = load(port, new http.Agent({ keepAlive: true, maxSockets: 4 }));
  const fresh = load(port, new http.Agent({ keepAlive: false }));
  const r = await runPm2(home, ['update'], { PM2_DAEMON_BIN: newDaemon });
  const countAtUpdate = counted(home).length;
  // Requests keep flowing a moment after the new daemon answered.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const [kept, opened] = [await keepAlive.stop(), await fresh.stop()];
  assert.strictEqual(r.code, 0, r.err + r.out);
  assert.match(r.out, /replaced in place: 5 of 5 running processes adopted, none restarted/);
  assert.strictEqual(kept.failed, 0, `keep-alive: ${JSON.stringify(kept)}`);
  assert.strictEqual(opened.failed, 0, `new connections: ${JSON.stringify(opened)}`);
  assert.ok(kept.ok > 0 && opened.ok > 0);
  t.diagnostic(`requests during the update: keep-alive ${JSON.stringify(kept)}, new connections ${JSON.stringify(opened)}`);

  // The same process runs the new binary.
  assert.strictEqual(daemonPid(home), daemon);
  assert.strictEqual(fs.readlinkSync(`/proc/${daemon}/exe`), newDaemon);

  const after = byId(jlist(home));
  for (const [id, p] of Object.entries(before)) {
    const q = after[id];
    assert.ok(q, `pm_id ${id} is still there`);
    assert.strictEqual(q.pid, p.pid, `pm_id ${id} keeps its pid`);
    assert.strictEqual(q.name, p.name);
    assert.strictEqual(q.pm2_env.status, 'online');
    assert.strictEqual(q.pm2_env.restart_time, p.pm2_env.restart_time, `pm_id ${id} was not restarted`);
    assert.strictEqual(q.pm2_env.pm_uptime, p.pm2_env.pm_uptime, `pm_id ${id} keeps its uptime`);
    assert.strictEqual(q.pm2_env.unique_id, p.pm2_env.unique_id);
  }

  // The new daemon reads on from the pipe: every number once, in order.
  await waitFor(() => counted(home).length > countAtUpdate + 100, { what: 'the counter to log after the update' });
  const numbers = counted(home);
  numbers.forEach((n, i) => assert.strictEqual(n, i, `line ${i} of the counter's log`));
  await waitFor(() => lastFollowed() > countAtUpdate + 50, { what: 'pm2 logs to go on after the update' });
  assert.strictEqual(follower.exitCode, null, 'pm2 logs still runs');
  follower.kill();

  // The adopted apps are supervised: a restart replaces the child, and a
  // new worker gets the cluster's socket from the new daemon.
  assert.strictEqual(pm2(home, ['restart', 'counter']).code, 0);
  assert.strictEqual(pm2(home, ['restart', '1']).code, 0);
  const restarted = byId(jlist(home));
  assert.strictEqual(restarted[0].pm2_env.restart_time, before[0].pm2_env.restart_time + 1);
  assert.notStrictEqual(restarted[0].pid, before[0].pid);
  assert.ok(!isAlive(before[0].pid));
  assert.notStrictEqual(restarted[1].pid, before[1].pid);
  await waitFor(() => new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(Number(body) === restarted[1].pid));
    }).on('error', () => resolve(false));
  }), { what: 'the restarted worker to serve on the handed-over socket' });
});

test('a handover record the new daemon cannot read falls back to save, kill and resurrect, and says so', needsPidNamespace, async (t) => {
  const home = makeHome('faults-upgrade-bad');
  t.after(() => cleanupHome(home));
  const newDaemon = differentDaemonBinary(home, 'next');
  // The old daemon writes a record version no daemon reads.
  const ping = pm2(home, ['ping'], { env: { PM2_HANDOVER_RECORD_VERSION: '999' } });
  assert.strictEqual(ping.code, 0, ping.err);
  writeApp(home, 'app.js', 'setInterval(() => {}, 1000);\n');
  assert.strictEqual(pm2(home, ['start', path.join(home, 'app.js'), '--name', 'app']).code, 0);
  const [before] = jlist(home);
  const daemon = daemonPid(home);

  const r = await runPm2(home, ['update'], { PM2_DAEMON_BIN: newDaemon });
  assert.strictEqual(r.code, 0, r.err + r.out);
  assert.match(r.out, /Update in place failed \(could not take over the apps .*version 999, this daemon reads version 1/);
  assert.match(r.out, /Falling back to save, kill and resurrect: every app restarts/);
  assert.match(r.out, /Process .*app\.js restored/);

  // The old app is gone, a new one runs from the saved list.
  assert.ok(!isAlive(before.pid), 'the old process was stopped');
  const [after] = jlist(home);
  assert.strictEqual(after.name, 'app');
  assert.strictEqual(after.pm2_env.status, 'online');
  assert.notStrictEqual(after.pid, before.pid);
  assert.strictEqual(daemonPid(home), daemon, 'the same daemon process, on the new binary');
  assert.strictEqual(fs.readlinkSync(`/proc/${daemon}/exe`), newDaemon);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  assert.match(log, /could not take over the apps of the daemon it replaced/);
});

test('pm2 update with the binary the daemon already runs restarts it in place: same daemon pid, no app restarted', needsPidNamespace, async (t) => {
  const home = makeHome('faults-upgrade-same');
  t.after(() => cleanupHome(home));
  writeApp(home, 'app.js', 'setInterval(() => {}, 1000);\n');
  assert.strictEqual(pm2(home, ['start', path.join(home, 'app.js'), '--name', 'app']).code, 0);
  const [before] = jlist(home);
  const daemon = daemonPid(home);
  const r = pm2(home, ['update']);
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /already ran the installed binary .*restarted it in place.*no app restarted/);
  assert.strictEqual(daemonPid(home), daemon, 'the same daemon process');
  assert.match(fs.readFileSync(path.join(home, 'pm2.log'), 'utf8'), /PM2 daemon replaced in place/);
  const [after] = jlist(home);
  assert.strictEqual(after.pid, before.pid);
  assert.strictEqual(after.pm2_env.restart_time, 0);
});

test("the API's update() replaces the daemon in place too; the app's IPC channel and stdin are handed over", needsPidNamespace, async (t) => {
  const PM2 = require('..').custom;
  const home = makeHome('faults-upgrade-api');
  t.after(() => cleanupHome(home));
  const newDaemon = differentDaemonBinary(home, 'api');
  writeApp(home, 'app.js', [
    "process.on('message', (m) => console.log('ipc ' + JSON.stringify(m.data)));",
    "process.stdin.on('data', (d) => console.log('stdin ' + d.toString().trim()));",
    'setInterval(() => {}, 1000);',
  ].join('\n'));
  assert.strictEqual(pm2(home, ['start', path.join(home, 'app.js'), '--name', 'app']).code, 0);
  const [before] = jlist(home);
  const daemon = daemonPid(home);
  const saved = process.env.PM2_DAEMON_BIN;
  process.env.PM2_DAEMON_BIN = newDaemon;
  const api = new PM2({ pm2_home: home });
  try {
    await api.connect();
    const r = await api.update();
    assert.strictEqual(r.inPlace, true, JSON.stringify(r));
    const [after] = await api.list();
    assert.strictEqual(after.pid, before.pid);
    assert.strictEqual(after.pm2_env.restart_time, 0);
    await api.sendDataToProcessId(after.pm_id, { topic: 'check', data: { through: 'ipc' } });
    await api.sendLineToStdin(after.pm_id, 'through stdin');
    const out = path.join(home, 'logs', 'app-out.log');
    await waitFor(() => {
      const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
      return text.includes('ipc {"through":"ipc"}') && text.includes('stdin through stdin');
    }, { what: 'the app to get a message and a stdin line from the new daemon' });
  } finally {
    await api.disconnect();
    if (saved === undefined) delete process.env.PM2_DAEMON_BIN;
    else process.env.PM2_DAEMON_BIN = saved;
  }
  assert.strictEqual(fs.readlinkSync(`/proc/${daemon}/exe`), newDaemon);
});

test('a daemon binary that reads another record is not exec\'d: pm2 update saves, kills and resurrects, saying why', needsPidNamespace, async (t) => {
  const home = makeHome('faults-upgrade-older');
  t.after(() => cleanupHome(home));
  // A daemon that answers the probe with another record version, and runs as the real one otherwise.
  const other = path.join(home, 'pm2-daemon-other');
  fs.writeFileSync(other, `#!/bin/sh\nif [ "$1" = "--handover-version" ]; then echo "pm2-rs-handover 0"; exit 0; fi\nexec ${JSON.stringify(path.join(nativeDir(), 'pm2-daemon'))} "$@"\n`);
  fs.chmodSync(other, 0o755);
  writeApp(home, 'app.js', 'setInterval(() => {}, 1000);\n');
  assert.strictEqual(pm2(home, ['start', path.join(home, 'app.js'), '--name', 'app']).code, 0);
  const [before] = jlist(home);
  const daemon = daemonPid(home);
  const r = await runPm2(home, ['update'], { PM2_DAEMON_BIN: other });
  assert.strictEqual(r.code, 0, r.err + r.out);
  assert.match(r.out, /No update in place \(.*pm2-daemon-other reads "pm2-rs-handover 0", this daemon writes "pm2-rs-handover 1"\): saving, killing and resurrecting, every app restarts/);
  assert.ok(!isAlive(daemon), 'the old daemon was stopped, not exec\'d');
  const [after] = jlist(home);
  assert.strictEqual(after.pm2_env.status, 'online');
  assert.notStrictEqual(after.pid, before.pid);
});
