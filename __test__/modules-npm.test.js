'use strict';
// Real PM2 modules from npm, unmodified: pm2-logrotate (pmx, and the `pm2`
// package from npm as its own client of this daemon) rotates an app's log
// past the size `pm2 set` gives it; pm2-server-monit (@pm2/io) reports its
// metrics. These install from the npm registry.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, cleanupHome, cli } = require('./support/home');

const home = makeHome('modules-npm');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-modules-npm-'));
const env = { ...process.env, PM2_HOME: home };

function pm2(args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: work, timeout: 240000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(args) {
  const r = pm2(args);
  assert.strictEqual(r.code, 0, `pm2 ${args.join(' ')}: ${r.err}${r.out}`);
  return r;
}

function proc(name) {
  return JSON.parse(ok(['jlist']).out).find((p) => p.name === name);
}

test.after(() => {
  cleanupHome(home);
  fs.rmSync(work, { recursive: true, force: true });
});

test('pm2-logrotate runs unmodified and rotates an app log past max_size', { timeout: 300000 }, async () => {
  const r = ok(['install', 'pm2-logrotate']);
  assert.match(r.out, /Module successfully installed and launched/);
  await waitFor(() => proc('pm2-logrotate')?.pm2_env.status === 'online', { what: 'pm2-logrotate online' });
  const p = proc('pm2-logrotate');
  assert.strictEqual(p.pm2_env.pmx_module, true);
  assert.ok(fs.existsSync(path.join(home, 'modules', 'pm2-logrotate', 'node_modules', 'pm2-logrotate', 'package.json')));
  // Its package.json defaults, seeded and listed.
  const shown = ok(['conf', 'pm2-logrotate']).out;
  assert.match(shown, /\$ pm2 set pm2-logrotate:max_size 10M/);
  assert.match(shown, /\$ pm2 set pm2-logrotate:retain 30/);
  const conf = JSON.parse(fs.readFileSync(path.join(home, 'module_conf.json'), 'utf8'));
  assert.deepStrictEqual(conf['module-db-v2'], { 'pm2-logrotate': {} });

  // A chatty app; then a small max_size and a short check interval.
  fs.writeFileSync(path.join(work, 'chatty.js'), "setInterval(() => console.log('x'.repeat(200)), 10);\n");
  ok(['start', path.join(work, 'chatty.js')]);
  const before = proc('pm2-logrotate').pm2_env.restart_time;
  assert.match(ok(['set', 'pm2-logrotate:max_size', '1K']).out, /Module pm2-logrotate restarted/);
  ok(['set', 'pm2-logrotate:workerInterval', '1']);
  assert.strictEqual(proc('pm2-logrotate').pm2_env.restart_time, before + 2);
  assert.strictEqual(proc('pm2-logrotate').pm2_env.env.max_size, '1K');
  // The module reads the list through its own `pm2` from npm, then rotates:
  // it creates the rotated file first and copies into it, so wait for the
  // copy to hold more than max_size rather than for the name alone.
  const logs = path.join(home, 'logs');
  const rotatedSize = () => fs.readdirSync(logs).filter((f) => /^chatty-out__.+\.log$/.test(f))
    .map((f) => { try { return fs.statSync(path.join(logs, f)).size; } catch { return 0; } });
  const sizes = await waitFor(() => { const s = rotatedSize(); return s.some((n) => n > 1024) && s; },
    { timeout: 30000, interval: 200, what: 'a rotated chatty log over 1 KB' });
  assert.ok(sizes.length >= 1);
  ok(['delete', 'chatty']);
});

test('pm2-server-monit (@pm2/io) comes online and its metrics reach axm_monitor and describe', { timeout: 300000 }, async () => {
  ok(['install', 'pm2-server-monit']);
  const metrics = await waitFor(() => {
    const p = proc('pm2-server-monit');
    return p && p.pm2_env.axm_monitor && p.pm2_env.axm_monitor['Total Processes'] && p.pm2_env.axm_monitor;
  }, { timeout: 30000, interval: 200, what: 'server-monit metrics' });
  assert.ok(metrics['Free memory'], JSON.stringify(metrics));
  const described = ok(['describe', 'pm2-server-monit']).out;
  assert.match(described, /Code metrics value/);
  assert.match(described, /Total Processes/);
});

test('after pm2 kill every installed module runs again; uninstall all leaves nothing', { timeout: 120000 }, async () => {
  ok(['kill']);
  ok(['ping']);
  await waitFor(() => proc('pm2-logrotate')?.pm2_env.status === 'online' && proc('pm2-server-monit')?.pm2_env.status === 'online',
    { timeout: 20000, what: 'both modules back' });
  ok(['uninstall', 'all']);
  assert.deepStrictEqual(JSON.parse(ok(['jlist']).out), []);
  assert.deepStrictEqual(fs.readdirSync(path.join(home, 'modules')), []);
});
