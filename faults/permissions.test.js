'use strict';
// Major finding 9: logs and pm2.log were created 0644 and an existing
// PM2_HOME was never checked. Logs are created 0640 at most, and a home or
// socket open to other users is named in pm2.log and in `pm2 report`.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { makeHome, cleanupHome, pm2, list, writeApp, waitFor } = require('./support');

const mode = (p) => fs.statSync(p).mode & 0o777;

test('log files and pm2.log are not readable by other users', async (t) => {
  const home = makeHome('faults-perm');
  t.after(() => cleanupHome(home));
  const app = writeApp(home, 'talk.js', 'console.log("hi"); console.error("oops"); setInterval(() => {}, 1000);');
  assert.strictEqual(pm2(home, ['start', app, '--name', 'talk', '-l', path.join(home, 'logs', 'talk.log')]).code, 0);
  const [p] = await list(home);
  await waitFor(() => fs.statSync(p.pm2_env.pm_out_log_path).size > 0, { what: 'output logged' });
  for (const f of [p.pm2_env.pm_out_log_path, p.pm2_env.pm_err_log_path, path.join(home, 'logs', 'talk.log'), path.join(home, 'pm2.log')]) {
    assert.strictEqual(mode(f) & 0o027, 0, `${f} is ${mode(f).toString(8)}`);
  }
});

test('a PM2_HOME open to other users is reported in pm2.log and pm2 report', async (t) => {
  const home = makeHome('faults-perm-open');
  t.after(() => cleanupHome(home));
  fs.chmodSync(home, 0o755);
  assert.strictEqual(pm2(home, ['ping']).code, 0);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  assert.match(log, new RegExp(`WARNING: PM2_HOME ${home} is open to other users \\(mode 755\\).*chmod 700`));
  const report = pm2(home, ['report']);
  assert.strictEqual(report.code, 0, report.err);
  assert.match(report.out, /--- Security/);
  assert.match(report.out, /WARNING: PM2_HOME .* is open to other users/);
  fs.chmodSync(home, 0o700);
  const closed = pm2(home, ['report']);
  assert.match(closed.out, /open to the owner \(and the group\) only/);
});

test('sockets opened to everyone are named', async (t) => {
  const home = makeHome('faults-perm-sock');
  t.after(() => cleanupHome(home));
  assert.strictEqual(pm2(home, ['ping']).code, 0);
  fs.chmodSync(path.join(home, 'rpc.sock'), 0o777);
  const report = pm2(home, ['report']);
  assert.match(report.out, /rpc\.sock is open to other users \(mode 777\): whoever connects can read every app's env/);
});
