'use strict';
// `pm2 startup` / `pm2 unstartup` with systemd: the unit is written (under
// PM2_STARTUP_ROOT, so the machine's init system is not touched), passes
// `systemd-analyze verify`, and is removed again; another user is told the
// sudo line to run.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { cli } = require('./support/home');

const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

test('pm2 startup systemd writes a unit that systemd-analyze verifies; unstartup removes it', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-startup-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, PM2_STARTUP_ROOT: root };
  let r = spawnSync(cli, ['startup', 'ubuntu', '-u', 'root', '--hp', '/root', '--service-name', 'pm2-check'], { env, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const unit = path.join(root, 'etc', 'systemd', 'system', 'pm2-check.service');
  const text = fs.readFileSync(unit, 'utf8');
  assert.match(text, new RegExp(`ExecStart=${cli.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} resurrect`));
  assert.match(text, /ExecStop=.* kill/);
  assert.match(text, /User=root/);
  assert.match(text, /Environment=PM2_HOME=\/root\/\.pm2/);
  if (hasAnalyze) {
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.strictEqual(v.status, 0, v.stderr);
  }
  r = spawnSync(cli, ['unstartup', 'systemd', '--service-name', 'pm2-check'], { env, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.ok(!fs.existsSync(unit));
  r = spawnSync(cli, ['startup', 'openrc'], { env, encoding: 'utf8' });
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stderr, /pm2 startup for openrc is not built in this pm2 yet/);
  r = spawnSync(cli, ['startup', 'nosuchinit'], { env, encoding: 'utf8' });
  assert.match(r.stderr, /Init system not found: nosuchinit/);
});

test('as another user, pm2 startup prints the sudo line and fails', { skip: process.getuid() !== 0 && 'needs root to switch user' }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', 'USER=nobody', cli, 'startup', 'systemd'], { encoding: 'utf8' });
  assert.strictEqual(r.status, 1);
  assert.match(r.stdout, /To setup the Startup Script, copy\/paste the following command:/);
  assert.match(r.stdout, /sudo env PATH=\$PATH:\S* \S+ startup systemd -u nobody --hp \/tmp/);
});
