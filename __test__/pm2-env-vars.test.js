'use strict';
// PM2_* variables the daemon reads from the environment it starts with:
// each test starts a daemon in its own PM2_HOME with the variable set.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { makeHome, waitFor, cleanupHome, cliRunner, readPid } = require('./support/home');

const apps = path.join(__dirname, 'apps');
const VERSION = require('../package.json').version;

/** A daemon started with `vars` in its environment; cleaned up after the test. */
function daemonWith(t, vars) {
  const home = makeHome('envvars');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home, ...vars };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return { home, ...cliRunner(env, home) };
}

const pm2Log = (home) => fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');

test('PM2_PROCESS_INSTANCE_VAR names the variable that carries the instance number', async (t) => {
  const home = makeHome('envvars');
  t.after(() => cleanupHome(home));
  const out = path.join(home, 'env.json');
  const { pm2, jlist } = cliRunner({ ...process.env, PM2_HOME: home, PM2_PROCESS_INSTANCE_VAR: 'MY_INSTANCE', OUT_FILE: out }, home);
  let r = pm2('start', path.join(apps, 'env-dump.js'), '--name', 'dump');
  assert.strictEqual(r.code, 0, r.err);
  const got = await waitFor(() => fs.existsSync(out) && JSON.parse(fs.readFileSync(out, 'utf8')), { what: 'env dump' });
  assert.strictEqual(got.env.MY_INSTANCE, '0');
  assert.strictEqual(got.env.NODE_APP_INSTANCE, undefined);
  r = pm2('start', path.join(apps, 'env-dump.js'), '--name', 'pair', '-i', '2');
  assert.strictEqual(r.code, 0, r.err);
  const pair = jlist().filter((p) => p.name === 'pair').map((p) => p.pm2_env.MY_INSTANCE);
  assert.deepStrictEqual(pair.sort(), [0, 1]);
});

test('PM2_LOG_DATE_FORMAT sets the timestamp of pm2.log lines', async (t) => {
  const { home, pm2 } = daemonWith(t, { PM2_LOG_DATE_FORMAT: '[at] YYYY/MM' });
  assert.strictEqual(pm2('ping').code, 0);
  const now = new Date();
  const prefix = `at ${now.getFullYear()}/${String(now.getMonth() + 1).padStart(2, '0')}: PM2 log: `;
  const lines = pm2Log(home).trim().split('\n');
  assert.ok(lines.length > 0 && lines.every((l) => l.startsWith(prefix)), pm2Log(home));
});

test('pm2.log lines carry PM2\'s YYYY-MM-DDTHH:mm:ss prefix by default, and none when PM2_LOG_DATE_FORMAT is empty', async (t) => {
  const plain = daemonWith(t, { PM2_LOG_DATE_FORMAT: undefined });
  assert.strictEqual(plain.pm2('ping').code, 0);
  assert.match(pm2Log(plain.home), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: PM2 log: /);
  const bare = daemonWith(t, { PM2_LOG_DATE_FORMAT: '' });
  assert.strictEqual(bare.pm2('ping').code, 0);
  assert.match(pm2Log(bare.home), /^PM2 daemon \(rust\) v/);
});

test('PM2_DAEMON_TITLE names the daemon process; PM2\'s title by default', async (t) => {
  const named = daemonWith(t, { PM2_DAEMON_TITLE: 'my-daemon-title-is-long' });
  assert.strictEqual(named.pm2('ping').code, 0);
  const comm = (home) => fs.readFileSync(`/proc/${readPid(path.join(home, 'pm2.pid'))}/comm`, 'utf8').trim();
  assert.strictEqual(comm(named.home), 'my-daemon-title');
  const plain = daemonWith(t, { PM2_DAEMON_TITLE: undefined });
  assert.strictEqual(plain.pm2('ping').code, 0);
  assert.strictEqual(comm(plain.home), `PM2 v${VERSION}: God`.slice(0, 15));
});

test('PM2_SOCKET_USER and PM2_SOCKET_GROUP own rpc.sock and pub.sock', async (t) => {
  // Only root can give a file away; anyone can name themselves.
  const root = process.getuid() === 0;
  const user = root ? 'nobody' : os.userInfo().username;
  const uid = root ? 65534 : process.getuid();
  const group = root ? '65534' : String(process.getgid());
  const { home, pm2 } = daemonWith(t, { PM2_SOCKET_USER: user, PM2_SOCKET_GROUP: group });
  assert.strictEqual(pm2('ping').code, 0);
  for (const sock of ['rpc.sock', 'pub.sock']) {
    const st = fs.statSync(path.join(home, sock));
    assert.deepStrictEqual([st.uid, st.gid], [uid, Number(group)], sock);
  }
});

test('an unknown PM2_SOCKET_USER stops the daemon from starting, named in the error', async (t) => {
  const { pm2 } = daemonWith(t, { PM2_SOCKET_USER: 'no-such-user-pm2' });
  const r = pm2('ping');
  assert.notStrictEqual(r.code, 0);
  assert.match(r.out + r.err, /PM2_SOCKET_USER: no user named "no-such-user-pm2"/);
});

test('variables that change nothing here, and bad timer values, are named in pm2.log', async (t) => {
  const { home, pm2 } = daemonWith(t, {
    PM2_OPTIMIZE_MEMORY: 'true',
    PM2_NODE_OPTIONS: '--max-old-space-size=100',
    PM2_ENABLE_GIT_PARSING: 'true',
    PM2_RELOAD_LOCK_TIMEOUT: '1000',
    EXP_BACKOFF_RESET_TIMER: 'soon',
  });
  assert.strictEqual(pm2('ping').code, 0);
  const log = pm2Log(home);
  assert.match(log, /PM2_NODE_OPTIONS is passed to fork-mode apps only: the daemon is not a Node.js process/);
  for (const v of ['PM2_OPTIMIZE_MEMORY', 'PM2_ENABLE_GIT_PARSING', 'PM2_RELOAD_LOCK_TIMEOUT']) {
    assert.match(log, new RegExp(`${v} is set but has no effect here: `), v);
  }
  assert.match(log, /PM2_ENABLE_GIT_PARSING .*versioning .* is not built/);
  assert.match(log, /WARNING: EXP_BACKOFF_RESET_TIMER="soon" is not a number of milliseconds; using 30000/);
  assert.doesNotMatch(log, /PM2_DEBUG/);
});

test('PM2_DISCRETE_MODE keeps the daemon launch quiet', async (t) => {
  const loud = daemonWith(t, { PM2_DISCRETE_MODE: undefined });
  assert.match(loud.pm2('ping').out, /Spawning PM2 daemon with pm2_home=/);
  const quiet = daemonWith(t, { PM2_DISCRETE_MODE: 'true' });
  const r = quiet.pm2('ping');
  assert.strictEqual(r.code, 0, r.err);
  assert.doesNotMatch(r.out + r.err, /Spawning PM2 daemon|Successfully daemonized/);
  assert.ok(readPid(path.join(quiet.home, 'pm2.pid')) > 0, 'the daemon runs');
});

test('PM2_NODE_OPTIONS follows node_args in the Node options of fork-mode apps, not of cluster instances', async (t) => {
  const vars = { PM2_NODE_OPTIONS: '--no-warnings --max-old-space-size=99' };
  const { home } = daemonWith(t, vars);
  const started = (name, ...flags) => {
    const out = path.join(home, `${name}.json`);
    const { pm2 } = cliRunner({ ...process.env, PM2_HOME: home, ...vars, OUT_FILE: out }, home);
    const r = pm2('start', path.join(apps, 'env-dump.js'), '--name', name, ...flags);
    assert.strictEqual(r.code, 0, r.err);
    return waitFor(() => fs.existsSync(out) && JSON.parse(fs.readFileSync(out, 'utf8')).execArgv, { what: `${name} started` });
  };
  const forked = await started('forked', '--node-args', '--no-deprecation');
  assert.deepStrictEqual(forked.slice(0, 3), ['--no-deprecation', '--no-warnings', '--max-old-space-size=99']);
  const clustered = await started('clustered', '-i', '1');
  assert.ok(!clustered.includes('--max-old-space-size=99'), clustered.join(' '));
});

test('EXP_BACKOFF_RESET_TIMER is the uptime after which the restart delay starts again from its base', async (t) => {
  const { home } = daemonWith(t, {});
  const startsFile = path.join(home, 'starts');
  const { pm2, jlist } = cliRunner({
    ...process.env, PM2_HOME: home, EXP_BACKOFF_RESET_TIMER: '3000', PM2_WORKER_INTERVAL: '100', STARTS_FILE: startsFile, CRASHES: '2',
  }, home);
  const r = pm2('start', path.join(apps, 'crash-then-stay.js'), '--name', 'flaky', '--exp-backoff-restart-delay', '100');
  assert.strictEqual(r.code, 0, r.err);
  const env = () => jlist().find((p) => p.name === 'flaky').pm2_env;
  const starts = () => (fs.existsSync(startsFile) ? fs.readFileSync(startsFile, 'utf8').trim().split('\n').map(Number) : []);
  await waitFor(() => starts().length === 3 && env().status === 'online', { what: 'online after two crashes' });
  const { pm_uptime: upSince, prev_restart_delay: grown } = env();
  assert.ok(grown > 0, 'the delay grew');
  await waitFor(() => env().prev_restart_delay === 0, { what: 'delay reset' });
  assert.ok(Date.now() - upSince >= 3000, 'not reset before EXP_BACKOFF_RESET_TIMER');
  assert.match(pm2Log(home), /\[PM2\]\[WORKER\] Reset the restart delay, as app flaky has been up for more than 3000ms/);
});
