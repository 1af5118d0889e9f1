'use strict';
// `pm2 startup` / `pm2 unstartup` for every init system PM2 knows: the file
// is written (under PM2_STARTUP_ROOT, so the machine's init system is not
// touched) where PM2 puts it, passes the checks a tool here can make
// (`systemd-analyze verify`, `sh -n`, a plist parser), and is removed again;
// the System V script really brings a saved list back and stops it; the init
// system is detected when none is named; another user is told the sudo line.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { cli, makeHome, cleanupHome, waitFor, isAlive } = require('./support/home');

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
  r = spawnSync(cli, ['startup', 'openrc', '--wait-ip'], { env, encoding: 'utf8' });
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /--wait-ip is for systemd units/);
  r = spawnSync(cli, ['startup', 'systemd', '--wait-ip', '--service-name', 'pm2-net'], { env, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(path.join(root, 'etc', 'systemd', 'system', 'pm2-net.service'), 'utf8'), /^Wants=network-online\.target$/m);
  r = spawnSync(cli, ['startup', 'nosuchinit'], { env, encoding: 'utf8' });
  assert.match(r.stderr, /Init system not found: nosuchinit/);
});

test('as another user, pm2 startup prints the sudo line and fails', { skip: process.getuid() !== 0 && 'needs root to switch user' }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', 'USER=nobody', cli, 'startup', 'systemd'], { encoding: 'utf8' });
  assert.strictEqual(r.status, 1);
  assert.match(r.stdout, /To setup the Startup Script, copy\/paste the following command:/);
  assert.match(r.stdout, /sudo env PATH=\$PATH:\S* \S+ startup systemd -u nobody --hp \/tmp/);
});

/** xmllint (from Debian's libxml2-utils, installed here when missing and root) or Python's plistlib. */
function plistCheckers() {
  const have = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  if (!have('xmllint', ['--version']) && process.getuid() === 0 && have('apt-get', ['--version'])) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-q', 'libxml2-utils'], { stdio: 'ignore', env, timeout: 180000 }).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: 180000 });
      install();
    }
  }
  const checkers = [];
  if (have('xmllint', ['--version'])) checkers.push((f) => spawnSync('xmllint', ['--noout', '--nonet', f], { encoding: 'utf8' }));
  if (have('python3', ['--version'])) {
    checkers.push((f) => spawnSync('python3', ['-c', 'import plistlib,sys; d=plistlib.load(open(sys.argv[1],"rb")); assert d["ProgramArguments"][-1]=="resurrect"', f], { encoding: 'utf8' }));
  }
  return checkers;
}

const shells = ['sh', 'dash', 'bash'].filter((s) => spawnSync(s, ['-c', 'true'], { stdio: 'ignore' }).status === 0);

const PLATFORMS = [
  // [platform (or alias), file under the root, commands that enable it, commands that disable it]
  ['upstart', 'etc/init.d/pm2-root', ['update-rc.d pm2-root defaults'], ['update-rc.d pm2-root disable', 'update-rc.d -f pm2-root remove']],
  ['ubuntu14', 'etc/init.d/pm2-root', ['update-rc.d pm2-root defaults'], null],
  ['systemv', 'etc/init.d/pm2-root', ['chkconfig --add pm2-root', 'chkconfig pm2-root on'], ['chkconfig pm2-root off', 'chkconfig --del pm2-root']],
  ['centos6', 'etc/init.d/pm2-root', ['chkconfig --add pm2-root', 'chkconfig pm2-root on'], null],
  ['openrc', 'etc/init.d/pm2', ['rc-update add pm2 default'], ['rc-update delete pm2 default']],
  ['gentoo', 'etc/init.d/pm2', ['rc-update add pm2 default'], null],
  ['rcd', 'usr/local/etc/rc.d/pm2_root', ['sysrc pm2_root_enable=YES'], ['sysrc -x pm2_root_enable']],
  ['freebsd', 'usr/local/etc/rc.d/pm2_root', ['sysrc pm2_root_enable=YES'], null],
  ['launchd', 'home/me/Library/LaunchAgents/pm2.root.plist', ['launchctl load -w /home/me/Library/LaunchAgents/pm2.root.plist'], ['launchctl remove pm2.root']],
  ['darwin', 'home/me/Library/LaunchAgents/pm2.root.plist', null, null],
  ['macos', 'home/me/Library/LaunchAgents/pm2.root.plist', null, null],
];

test('pm2 startup upstart|systemv|openrc|rcd|launchd (and aliases): PM2\'s files, valid, enabled and removed by PM2\'s commands', (t) => {
  const checkers = plistCheckers();
  for (const [platform, rel, enable, disable] of PLATFORMS) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-startup-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const env = { ...process.env, PM2_STARTUP_ROOT: root };
    const r = spawnSync(cli, ['startup', platform, '-u', 'root', '--hp', '/home/me'], { env, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, `${platform}: ${r.stderr}`);
    const file = path.join(root, rel);
    assert.ok(fs.existsSync(file), `${platform} writes ${rel}: ${r.stdout}`);
    for (const c of enable || []) assert.ok(r.stdout.includes(`not running \`${c}\``), `${platform} enables with ${c}: ${r.stdout}`);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.includes(cli), `${platform}: runs this pm2`);
    assert.match(text, /resurrect/);
    assert.ok(text.includes('/home/me/.pm2'), `${platform}: the user's PM2_HOME`);
    if (rel.endsWith('.plist')) {
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o644);
      for (const check of checkers) {
        const v = check(file);
        assert.strictEqual(v.status, 0, `${platform} plist: ${v.stderr}`);
      }
    } else {
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o755, `${platform}: executable`);
      assert.match(text, /kill/);
      for (const sh of shells) {
        const v = spawnSync(sh, ['-n', file], { encoding: 'utf8' });
        assert.strictEqual(v.status, 0, `${platform}: ${sh} -n: ${v.stderr}`);
      }
    }
    const u = spawnSync(cli, ['unstartup', platform, '-u', 'root', '--hp', '/home/me'], { env, encoding: 'utf8' });
    assert.strictEqual(u.status, 0, `${platform}: ${u.stderr}`);
    for (const c of disable || []) assert.ok(u.stdout.includes(`not running \`${c}\``), `${platform} disables with ${c}: ${u.stdout}`);
    assert.ok(!fs.existsSync(file), `${platform}: unstartup removes ${rel}`);
  }
  if (!checkers.length) t.diagnostic('no plist checker (xmllint, python3): the launchd file was not parsed');
});

test('with no platform, pm2 startup detects the init system from the tools PM2 looks for', () => {
  const cases = [
    [['run/systemd/system/'], 'systemd', 'etc/systemd/system/pm2-root.service'],
    [['usr/bin/systemctl', 'usr/sbin/update-rc.d'], 'systemd', 'etc/systemd/system/pm2-root.service'],
    [['usr/sbin/update-rc.d'], 'upstart', 'etc/init.d/pm2-root'],
    [['sbin/chkconfig'], 'systemv', 'etc/init.d/pm2-root'],
    [['sbin/rc-update'], 'openrc', 'etc/init.d/pm2'],
    [['usr/sbin/sysrc'], 'rcd', 'usr/local/etc/rc.d/pm2_root'],
  ];
  for (const [marks, system, rel] of cases) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-detect-'));
    try {
      for (const m of marks) {
        if (m.endsWith('/')) fs.mkdirSync(path.join(root, m), { recursive: true });
        else {
          fs.mkdirSync(path.dirname(path.join(root, m)), { recursive: true });
          fs.writeFileSync(path.join(root, m), '');
        }
      }
      const r = spawnSync(cli, ['startup', '-u', 'root', '--hp', '/root'], { env: { ...process.env, PM2_STARTUP_ROOT: root }, encoding: 'utf8' });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Init System found: ${system}`));
      assert.ok(fs.existsSync(path.join(root, rel)), `${marks} → ${rel}`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-detect-'));
  const r = spawnSync(cli, ['startup'], { env: { ...process.env, PM2_STARTUP_ROOT: empty }, encoding: 'utf8' });
  fs.rmSync(empty, { recursive: true, force: true });
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /Init system not found: name it/);
});

for (const asOther of [false, true]) {
  test(`the System V script brings the saved list back at start and stops it at stop${asOther ? ', as another user through su' : ''}`,
    { skip: asOther && process.getuid() !== 0 && 'needs root to switch user' }, async (t) => {
      const hp = makeHome('sysv');
      const home = path.join(hp, '.pm2');
      t.after(() => cleanupHome(home));
      t.after(() => fs.rmSync(hp, { recursive: true, force: true }));
      const user = asOther ? 'nobody' : require('os').userInfo().username;
      fs.chmodSync(hp, 0o755);
      const app = path.join(hp, 'app.js');
      fs.writeFileSync(app, 'setInterval(() => {}, 1000);');
      const asHome = { ...process.env, PM2_HOME: home };
      if (asOther) {
        // The saved list belongs to the user it is run as.
        fs.mkdirSync(home, { recursive: true });
        spawnSync('chown', ['-R', 'nobody', hp]);
      }
      const runAs = (args) => (asOther
        ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `PM2_HOME=${home}`, cli, ...args], { encoding: 'utf8' })
        : spawnSync(cli, args, { env: asHome, encoding: 'utf8' }));
      assert.strictEqual(runAs(['start', app, '--name', 'booted', '-s']).status, 0);
      assert.strictEqual(runAs(['save']).status, 0);
      assert.strictEqual(runAs(['kill']).status, 0);

      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-startup-'));
      t.after(() => fs.rmSync(root, { recursive: true, force: true }));
      const w = spawnSync(cli, ['startup', 'systemv', '-u', user, '--hp', hp], { env: { ...process.env, PM2_STARTUP_ROOT: root }, encoding: 'utf8' });
      assert.strictEqual(w.status, 0, w.stderr);
      const script = path.join(root, 'etc', 'init.d', `pm2-${user}`);
      // Boot runs it with a bare environment.
      const boot = (action) => spawnSync('env', ['-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', script, action], { encoding: 'utf8', timeout: 30000 });
      const started = boot('start');
      assert.strictEqual(started.status, 0, started.stdout + started.stderr);
      const list = await waitFor(() => {
        const l = JSON.parse(runAs(['jlist']).stdout || '[]');
        return l.length && l[0].pm2_env.status === 'online' && l;
      }, { what: 'the saved app online after start' });
      assert.strictEqual(list[0].name, 'booted');
      const daemonPid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
      const owner = fs.readFileSync(`/proc/${daemonPid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1];
      assert.strictEqual(Number(owner), asOther ? 65534 : process.getuid(), 'the daemon runs as the user');
      const status = boot('status');
      assert.strictEqual(status.status, 0, status.stderr);
      assert.match(status.stdout, /booted/);
      const stopped = boot('stop');
      assert.strictEqual(stopped.status, 0, stopped.stderr);
      await waitFor(() => !isAlive(daemonPid), { what: 'the daemon stopped' });
      assert.strictEqual(boot('status').status, 3, 'status says it is not running');
      assert.strictEqual(boot('bogus').status, 2);
    });
}
