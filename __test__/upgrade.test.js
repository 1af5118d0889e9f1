'use strict';
// Installing this package while PM2's own daemon still runs: our CLI drives
// that daemon, says it is out of date, and `pm2 update` moves to ours.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, cli, readPid, waitFor } = require('./support/home');
const { referencePm2 } = require('./support/pm2-reference');

test('our CLI drives a running PM2 daemon, then pm2 update moves the apps to ours', async (t) => {
  const home = makeHome('upgrade');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home };
  const app = path.join(home, 'app.js');
  fs.writeFileSync(app, 'setInterval(() => {}, 1000);');
  const ref = referencePm2();
  let r = spawnSync(ref.bin, ['ping'], { env, encoding: 'utf8', timeout: 60000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const theirs = readPid(path.join(home, 'pm2.pid'));
  assert.match(fs.readFileSync(`/proc/${theirs}/cmdline`, 'utf8'), /God Daemon/);

  const ours = (...args) => spawnSync(cli, args, { env, encoding: 'utf8', cwd: home, timeout: 30000 });
  r = ours('start', app, '--name', 'kept');
  assert.strictEqual(r.status, 0, `PM2's daemon accepts our prepare: ${r.stderr}`);
  assert.match(r.stderr, /In-memory PM2 is out-of-date, do:\n>>>> \$ pm2 update/);
  // PM2's daemon has no prepareUnique: the client decides from a list, with the same rules.
  r = ours('start', app, '--name', 'kept');
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stderr, /Script already launched/);
  const listed = JSON.parse(ours('jlist').stdout);
  assert.deepStrictEqual(listed.map((p) => [p.name, p.pm2_env.status]), [['kept', 'online']]);

  r = ours('update');
  assert.strictEqual(r.status, 0, r.stderr);
  const now = readPid(path.join(home, 'pm2.pid'));
  assert.notStrictEqual(now, theirs);
  assert.match(fs.readlinkSync(`/proc/${now}/exe`), /pm2-daemon$/);
  await waitFor(() => JSON.parse(ours('jlist').stdout).some((p) => p.name === 'kept' && p.pm2_env.status === 'online'), { what: 'app resurrected under our daemon' });
  assert.doesNotMatch(ours('ls').stderr, /out-of-date/);
});
