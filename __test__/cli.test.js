'use strict';
// The native `pm2` command (package.json bin), against a real daemon.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, isAlive, cleanupHome, readPid, cli, cliRunner } = require('./support/home');

const home = makeHome('cli');
const apps = path.join(__dirname, 'apps');
const env = { ...process.env, PM2_HOME: home };

const { pm2, jlist } = cliRunner(env, apps);

test.after(() => cleanupHome(home));

test('start launches the daemon and the app; ls shows it; jlist is JSON', () => {
  const r = pm2('start', 'echo.js', '--name', 'web', '--', '--flag');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /Spawning PM2 daemon with pm2_home=/);
  assert.match(r.out, /│ web /);
  const daemon = readPid(path.join(home, 'pm2.pid'));
  assert.ok(isAlive(daemon));
  const [p] = jlist();
  assert.strictEqual(p.name, 'web');
  assert.strictEqual(p.pm2_env.status, 'online');
  assert.deepStrictEqual(p.pm2_env.args, ['--flag']);
  assert.ok(isAlive(p.pid));
  assert.match(pm2('ls').out, /online/);
});

test('restart, prettylist, describe, pid, id', () => {
  assert.strictEqual(pm2('restart', 'web').code, 0);
  const pretty = pm2('prettylist').out;
  assert.match(pretty, /restart_time: 1/);
  assert.match(pretty, /'online'/);
  assert.ok(pretty.endsWith(']') && pm2('jlist').out.endsWith(']'), 'as PM2: no newline after prettylist or jlist');
  assert.match(pm2('describe', 'web').out, /script path\s+│ .*echo\.js/);
  const [p] = jlist();
  assert.strictEqual(pm2('pid', 'web').out.trim(), String(p.pid));
  assert.strictEqual(pm2('id', 'web').out.trim(), '[ 0 ]');
});

test('logs --nostream prints the tail of the log files', async () => {
  await waitFor(() => /tick/.test(pm2('logs', 'web', '--nostream', '--lines', '5').out), { what: 'log lines' });
  const r = pm2('logs', 'web', '--nostream', '--raw', '--out', '--lines', '1');
  assert.strictEqual(r.out.trim().split('\n').length, 1);
});

test('an unknown target or command exits 1 with a message', () => {
  const r = pm2('stop', 'nope');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /Process or Namespace nope not found/);
  const unknown = pm2('frobnicate');
  assert.strictEqual(unknown.code, 1);
  assert.match(unknown.err, /Unknown command: frobnicate/);
  const notBuilt = pm2('pull');
  assert.strictEqual(notBuilt.code, 1);
  assert.match(notBuilt.err, /`pm2 pull` is a PM2 command that this pm2 does not implement yet/);
  assert.doesNotMatch(unknown.err + notBuilt.err, /Command not found/);
  const bare = pm2();
  assert.strictEqual(bare.code, 1, 'a bare pm2 prints the usage and fails');
  assert.match(bare.out, /usage: pm2 \[options\] <command>/);
  assert.match(bare.out, /pm2 -h, --help/);
  const missing = pm2('start', 'missing.js');
  assert.strictEqual(missing.code, 1);
  assert.match(missing.err, /Script not found/);
});

test('an ecosystem file starts its apps; stop/delete take it too', () => {
  const eco = path.join(home, 'ecosystem.config.js');
  fs.writeFileSync(eco, `module.exports = { apps: [
    { name: 'eco-a', script: ${JSON.stringify(path.join(apps, 'echo.js'))}, env: { WHO: 'a' }, env_production: { WHO: 'prod' } },
    { name: 'eco-b', script: ${JSON.stringify(path.join(apps, 'echo.js'))} },
    ...['c', 'd', 'e', 'f'].map((x) => ({ name: 'eco-' + x, script: ${JSON.stringify(path.join(apps, 'echo.js'))} })),
  ] };`);
  assert.strictEqual(pm2('start', eco, '--env', 'production').code, 0);
  const list = jlist();
  const a = list.find((p) => p.name === 'eco-a');
  assert.strictEqual(a.pm2_env.env.WHO, 'prod');
  // Started in one pipelined batch, the apps still get their ids in file order.
  const ordered = list.filter((p) => p.name.startsWith('eco-')).sort((x, y) => x.pm_id - y.pm_id);
  assert.deepStrictEqual(ordered.map((p) => p.name), ['eco-a', 'eco-b', 'eco-c', 'eco-d', 'eco-e', 'eco-f']);
  assert.strictEqual(pm2('stop', eco).code, 0);
  assert.ok(jlist().filter((p) => p.name.startsWith('eco-')).every((p) => p.pm2_env.status === 'stopped'));
  assert.strictEqual(pm2('delete', eco).code, 0);
  assert.deepStrictEqual(jlist().map((p) => p.name), ['web']);
});

test('once start returns, every app of a burst has its log files and pid file', () => {
  // `module.exports = <JSON>` is read without node; the files are created after the burst.
  const quiet = path.join(home, 'quiet.js');
  fs.writeFileSync(quiet, 'process.exit(0);\n');
  const burst = Array.from({ length: 30 }, (_, i) => ({ name: `burst-${i}`, script: path.join(apps, 'echo.js') }));
  const eco = path.join(home, 'burst.config.js');
  fs.writeFileSync(eco, `module.exports = ${JSON.stringify({ apps: [...burst, { name: 'quiet', script: quiet, autorestart: false }] }, null, 2)};\n`);
  assert.strictEqual(pm2('start', eco).code, 0);
  for (const p of jlist().filter((p) => p.name.startsWith('burst-'))) {
    assert.ok(fs.existsSync(p.pm2_env.pm_out_log_path), `${p.name}: ${p.pm2_env.pm_out_log_path}`);
    assert.ok(fs.existsSync(p.pm2_env.pm_err_log_path), `${p.name}: ${p.pm2_env.pm_err_log_path}`);
    assert.strictEqual(fs.readFileSync(p.pm2_env.pm_pid_path, 'utf8'), String(p.pid), p.name);
  }
  const q = jlist().find((p) => p.name === 'quiet');
  assert.ok(fs.existsSync(q.pm2_env.pm_out_log_path) && fs.existsSync(q.pm2_env.pm_err_log_path));
  assert.strictEqual(pm2('delete', eco).code, 0);
  assert.deepStrictEqual(jlist().map((p) => p.name), ['web']);
});

test('save, kill and resurrect bring the app back under a new daemon', () => {
  assert.strictEqual(pm2('save').code, 0);
  const old = readPid(path.join(home, 'pm2.pid'));
  const [before] = jlist();
  assert.strictEqual(pm2('kill').code, 0);
  assert.ok(!isAlive(old), 'old daemon gone');
  assert.ok(!isAlive(before.pid), 'app gone');
  assert.strictEqual(pm2('resurrect').code, 0);
  const [after] = jlist();
  assert.strictEqual(after.name, 'web');
  assert.strictEqual(after.pm2_env.status, 'online');
  assert.notStrictEqual(readPid(path.join(home, 'pm2.pid')), old);
});

test('PM2_SILENT=true and -s print nothing but errors; data commands still answer', () => {
  const silent = (...args) => {
    const r = spawnSync(cli, args, { env: { ...env, PM2_SILENT: 'true' }, encoding: 'utf8', cwd: apps, timeout: 20000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  let r = silent('start', 'echo.js', '--name', 'hush');
  assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual([r.out, r.err], ['', '']);
  assert.ok(jlist().some((p) => p.name === 'hush' && p.pm2_env.status === 'online'), 'the start happened');
  for (const args of [['ls'], ['describe', 'hush'], ['restart', 'hush'], ['pid', 'hush'], ['id', 'hush']]) {
    r = silent(...args);
    assert.strictEqual(r.code, 0, `${args}: ${r.err}`);
    assert.strictEqual(r.out, '', `pm2 ${args.join(' ')} prints nothing`);
  }
  assert.strictEqual(jlist().find((p) => p.name === 'hush').pm2_env.restart_time, 1);
  assert.ok(JSON.parse(silent('jlist').out).some((p) => p.name === 'hush'), 'jlist is data: still printed');
  r = pm2('-s', 'ls');
  assert.deepStrictEqual([r.code, r.out], [0, '']);
  r = silent('stop', 'nope');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /Process or Namespace nope not found/);
  assert.strictEqual(pm2('delete', 'hush').code, 0);
});

test('PM2_DEEP_MONITORING sets deep_monitoring on the apps started, as PM2; the missing agent is said', () => {
  const r = spawnSync(cli, ['start', 'echo.js', '--name', 'deep'], {
    env: { ...env, PM2_DEEP_MONITORING: 'true' }, encoding: 'utf8', cwd: apps, timeout: 20000,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /deep monitoring \(PM2's OpenTelemetry agent\) are not built/);
  assert.strictEqual(jlist().find((p) => p.name === 'deep').pm2_env.deep_monitoring, true);
  assert.strictEqual(pm2('start', 'echo.js', '--name', 'shallow').code, 0);
  assert.strictEqual(jlist().find((p) => p.name === 'shallow').pm2_env.deep_monitoring, undefined);
  assert.strictEqual(pm2('delete', 'deep').code, 0);
  assert.strictEqual(pm2('delete', 'shallow').code, 0);
});
