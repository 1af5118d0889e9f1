'use strict';
// A daemon killed outright (SIGKILL, OOM killer) left its apps unsupervised,
// and the next daemon started empty, so `pm2 resurrect` ran a second copy.
// Now the next daemon takes them back from the state record
// (PM2_HOME/daemon.state): same ids, same pid for a fork app that survived,
// cluster instances started again, nothing run twice. A record it cannot
// read is kept aside and the daemon starts empty.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { daemonHome, daemonPid, killDaemonOutright, pm2, writeApp, waitFor, isAlive, signalPid, pm2LogLines, needsPidNamespace } = require('./support');

function jlist(home) {
  const r = pm2(home, ['jlist']);
  assert.strictEqual(r.code, 0, r.err);
  return JSON.parse(r.out);
}

/** The live (not zombie) processes an app of `script` runs. */
function runsOf(script) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`pm_exec_path=${script}`) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {}
  }
  return pids.sort();
}

/** The record as the daemon last wrote it, once `check` holds for it. */
async function recordWhere(home, check, what) {
  let record;
  await waitFor(() => {
    try {
      record = JSON.parse(fs.readFileSync(path.join(home, 'daemon.state'), 'utf8'));
      return check(record);
    } catch {
      return false;
    }
  }, { what });
  return record;
}

const byId = (list) => Object.fromEntries(list.map((p) => [p.pm_id, p]));

test('a new daemon takes back the fork and cluster apps of a daemon killed outright', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-adopt');
  // Writes only when poked: output while no daemon reads its pipe would kill it (EPIPE).
  const quiet = writeApp(home, 'quiet.js', `
    console.log('ready');
    process.on('SIGUSR2', () => console.log('poked ' + process.pid));
    setInterval(() => {}, 1000);`);
  const web = writeApp(home, 'web.js', `
    require('http').createServer((q, r) => r.end('hi ' + process.pid)).listen(0);`);
  assert.strictEqual(pm2(home, ['start', quiet, '--name', 'quiet']).code, 0);
  assert.strictEqual(pm2(home, ['start', web, '--name', 'web', '-i', '2']).code, 0);
  const other = writeApp(home, 'other.js', fs.readFileSync(quiet, 'utf8'));
  assert.strictEqual(pm2(home, ['start', other, '--name', 'other']).code, 0);
  assert.strictEqual(pm2(home, ['save']).code, 0);
  const before = byId(jlist(home));
  const record = await recordWhere(home, (r) => r.processes.length === 4 && r.processes.every((p) => p.status === 'online' && p.pid),
    'the record of four online apps');
  assert.strictEqual(record.record_version, 1);
  assert.strictEqual(fs.statSync(path.join(home, 'daemon.state')).mode & 0o777, 0o600);
  assert.strictEqual(record.daemon.pid, daemonPid(home));

  await killDaemonOutright(home);
  const after = byId(jlist(home)); // starts a new daemon
  assert.deepStrictEqual(Object.keys(after), ['0', '1', '2', '3']);
  assert.strictEqual(after[3].pid, before[3].pid);
  assert.strictEqual(after[0].name, 'quiet');
  assert.strictEqual(after[0].pid, before[0].pid, 'the fork app keeps its pid');
  assert.strictEqual(after[0].pm2_env.status, 'online');
  for (const key of ['restart_time', 'created_at', 'pm_uptime', 'unstable_restarts']) {
    assert.strictEqual(after[0].pm2_env[key], before[0].pm2_env[key], key);
  }
  await waitFor(() => {
    const l = byId(jlist(home));
    return [1, 2].every((id) => l[id].name === 'web' && l[id].pm2_env.status === 'online' && isAlive(l[id].pid));
  }, { what: 'both cluster instances online again' });
  assert.deepStrictEqual(runsOf(quiet), [before[0].pid]);
  assert.strictEqual(runsOf(web).length, 2);
  const log = pm2LogLines(home).join('\n');
  assert.match(log, /ended without a clean stop: taking back its 4 apps/);
  assert.match(log, new RegExp(`App \\[quiet:0\\] pid ${before[0].pid} adopted`));

  // Its output is logged again.
  signalPid(before[0].pid, 'SIGUSR2');
  const out = path.join(home, 'logs', 'quiet-out.log');
  await waitFor(() => fs.readFileSync(out, 'utf8').includes(`poked ${before[0].pid}`), { what: 'the poke in the log' });

  // Resurrect starts nothing that runs already.
  const r = pm2(home, ['resurrect']);
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(jlist(home).length, 4);
  assert.deepStrictEqual(runsOf(quiet), [before[0].pid]);
  assert.strictEqual(runsOf(web).length, 2);

  // An adopted app that dies is restarted by its policy, though its exit status is unknown here.
  signalPid(before[0].pid, 'SIGKILL');
  await waitFor(() => {
    const p = byId(jlist(home))[0];
    return p.pid !== before[0].pid && p.pm2_env.status === 'online' && isAlive(p.pid);
  }, { what: 'the adopted app restarted after it died' });
  assert.match(pm2LogLines(home).join('\n'), new RegExp(`App \\[quiet:0\\] pid ${before[0].pid} ended`));
  const crashed = byId(jlist(home))[0];
  assert.strictEqual(crashed.pm2_env.restart_time, before[0].pm2_env.restart_time + 1);
  assert.deepStrictEqual(runsOf(quiet), [crashed.pid]);

  // ... and stops and restarts as any other.
  assert.strictEqual(pm2(home, ['restart', 'other']).code, 0);
  const restarted = byId(jlist(home))[3];
  assert.notStrictEqual(restarted.pid, before[3].pid);
  assert.strictEqual(restarted.pm2_env.status, 'online');
  assert.strictEqual(restarted.pm2_env.restart_time, before[3].pm2_env.restart_time + 1);
  assert.ok(!isAlive(before[3].pid));
  assert.deepStrictEqual(runsOf(other), [restarted.pid]);

  // A clean stop removes the record.
  assert.strictEqual(pm2(home, ['kill']).code, 0);
  assert.ok(!fs.existsSync(path.join(home, 'daemon.state')));
});

test('an app waiting for its restart delay when the daemon dies is started again, once', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-adopt-delay');
  const marker = path.join(home, 'crashed-once');
  const app = writeApp(home, 'once.js', `
    const fs = require('fs');
    if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); process.exit(1); }
    setInterval(() => {}, 1000);`);
  assert.strictEqual(pm2(home, ['start', app, '--name', 'once', '--restart-delay', '60000']).code, 0);
  await recordWhere(home, (r) => r.processes[0]?.status === 'waiting restart', 'the record of the app waiting');
  await killDaemonOutright(home);
  await waitFor(() => {
    const [p] = jlist(home);
    return p.pm2_env.status === 'online' && isAlive(p.pid);
  }, { what: 'the app online again' });
  const [p] = jlist(home);
  assert.strictEqual(p.pm_id, 0);
  assert.deepStrictEqual(runsOf(app), [p.pid]);
  assert.match(pm2LogLines(home).join('\n'), /App \[once:0\] was waiting restart and is gone: starting it again/);
});

test('cluster instances that outlive their primary are restarted one at a time', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-adopt-sticky');
  // Node ends a worker whose primary goes unless it disconnected on purpose: this one says it did.
  const app = writeApp(home, 'sticky.js', `
    require('cluster').worker.exitedAfterDisconnect = true;
    require('http').createServer((q, r) => r.end('hi')).listen(0);`);
  assert.strictEqual(pm2(home, ['start', app, '--name', 'sticky', '-i', '2']).code, 0);
  const before = byId(jlist(home));
  await recordWhere(home, (r) => r.processes.length === 2 && r.processes.every((p) => p.status === 'online'),
    'the record of both instances online');
  await killDaemonOutright(home);
  assert.ok(isAlive(before[0].pid) && isAlive(before[1].pid), 'both instances outlive the daemon');
  jlist(home);
  await waitFor(() => {
    const l = byId(jlist(home));
    return [0, 1].every((id) => l[id].pid !== before[id].pid && l[id].pm2_env.status === 'online' && isAlive(l[id].pid));
  }, { what: 'both instances restarted' });
  assert.ok(!isAlive(before[0].pid) && !isAlive(before[1].pid));
  // A launch is online once forked; its script shows in /proc once it has exec'd.
  const now = byId(jlist(home));
  await waitFor(() => runsOf(app).length === 2, { what: 'both instances running the script' });
  assert.deepStrictEqual(runsOf(app), [now[0].pid, now[1].pid].sort());
  const log = pm2LogLines(home);
  const at = (re) => log.findIndex((l) => re.test(l));
  for (const id of [0, 1]) {
    assert.ok(at(new RegExp(`App \\[sticky:${id}\\] pid ${before[id].pid} adopted; its cluster channel died`)) >= 0, log.join('\n'));
  }
  const firstOnline = log.findIndex((l, i) => i > at(/Stopping app:sticky id:0/) && /App \[sticky:0\] online/.test(l));
  assert.ok(firstOnline > 0 && at(/Stopping app:sticky id:1/) > firstOnline, `one at a time:\n${log.join('\n')}`);
});

test('what an app that died with no daemon left in its cgroup is killed before it starts again', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-adopt-leftover');
  if (!pm2LogLines(home).some((l) => /apps run in cgroups under/.test(l))) return t.skip('no cgroups for apps here');
  const kid = path.join(home, 'kid-pid');
  const app = writeApp(home, 'parent.js', `
    const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    require('fs').writeFileSync(${JSON.stringify(kid)} + '.' + process.pid, String(c.pid));
    setInterval(() => {}, 1000);`);
  assert.strictEqual(pm2(home, ['start', app, '--name', 'parent']).code, 0);
  const [before] = jlist(home);
  await waitFor(() => fs.existsSync(`${kid}.${before.pid}`), { what: 'the child started' });
  const child = Number(fs.readFileSync(`${kid}.${before.pid}`, 'utf8'));
  await recordWhere(home, (r) => r.processes[0]?.pid === before.pid, 'the record of the app');
  await killDaemonOutright(home);
  signalPid(before.pid, 'SIGKILL');
  await waitFor(() => !isAlive(before.pid), { what: 'the app to die' });
  assert.ok(isAlive(child), 'its child runs on');
  await waitFor(() => {
    const [p] = jlist(home);
    return p.pm2_env.status === 'online' && p.pid !== before.pid && fs.existsSync(`${kid}.${p.pid}`);
  }, { what: 'the app started again' });
  await waitFor(() => !isAlive(child), { what: 'the old child killed' });
  const [p] = jlist(home);
  assert.deepStrictEqual(runsOf(app), [p.pid, Number(fs.readFileSync(`${kid}.${p.pid}`, 'utf8'))].sort());
});

test('log lines do not rewrite the record', async (t) => {
  const home = daemonHome(t, 'faults-adopt-chatty');
  const app = writeApp(home, 'chatty.js', `
    const line = 'x'.repeat(100);
    setInterval(() => { for (let i = 0; i < 100; i++) console.log(line); }, 5);`);
  assert.strictEqual(pm2(home, ['start', app, '--name', 'chatty']).code, 0);
  const file = path.join(home, 'daemon.state');
  await recordWhere(home, (r) => r.processes[0]?.status === 'online', 'the record of the app online');
  // Each write renames a new file into place: a new inode.
  const inode = fs.statSync(file).ino;
  const out = path.join(home, 'logs', 'chatty-out.log');
  await waitFor(() => fs.statSync(out).size > 2_000_000, { what: '2 MB of log lines' });
  assert.strictEqual(fs.statSync(file).ino, inode, 'the record was rewritten while only log lines came');
});

for (const [what, bytes, why] of [
  ['a truncated record', '{"record_version":1,"daemon":{"pid":4', /daemon\.state is unreadable/],
  ['a record of another version', JSON.stringify({ record_version: 999, daemon: {}, processes: [] }),
    /daemon\.state is written in record version 999, this daemon reads version 1/],
  ['garbage', '\u0000\u00ff not json', /daemon\.state is unreadable/],
]) {
  test(`${what}: the daemon starts empty, says why and keeps the file aside`, async (t) => {
    const home = daemonHome(t, 'faults-adopt-bad');
    const app = writeApp(home, 'a.js', 'setInterval(() => {}, 1000);');
    assert.strictEqual(pm2(home, ['start', app]).code, 0);
    assert.strictEqual(pm2(home, ['save']).code, 0);
    const dump = fs.readFileSync(path.join(home, 'dump.pm2'));
    assert.strictEqual(pm2(home, ['kill']).code, 0);
    fs.writeFileSync(path.join(home, 'daemon.state'), bytes);
    assert.deepStrictEqual(jlist(home), []);
    assert.match(pm2LogLines(home).join('\n'), why);
    assert.strictEqual(fs.readFileSync(path.join(home, 'daemon.state.bad'), 'utf8'), bytes);
    assert.deepStrictEqual(fs.readFileSync(path.join(home, 'dump.pm2')), dump, 'dump.pm2 untouched');
    assert.strictEqual(pm2(home, ['resurrect']).code, 0);
    assert.strictEqual(jlist(home)[0].pm2_env.status, 'online');
  });
}
