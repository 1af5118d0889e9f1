'use strict';
// Minor finding: a full disk left a 0-byte `.dump.pm2.<pid>.partial` behind.
// A failed save removes its temp file and keeps the previous dump.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, pm2, writeApp, needsPidNamespace } = require('./support');

// The suite's namespace has its own mounts, so a small tmpfs can be filled safely.
test('pm2 save on a full disk fails cleanly and keeps the previous dump', needsPidNamespace, async (t) => {
  const home = makeHome('faults-fulldisk');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', home]);
  t.after(() => {
    // The mount point itself cannot be removed until it is unmounted.
    try { cleanupHome(home); } catch {}
    try { execFileSync('umount', ['-l', home]); } catch {}
    fs.rmSync(home, { recursive: true, force: true });
  });
  const app = writeApp(home, 'idle.js', 'setInterval(() => {}, 1000);');
  assert.strictEqual(pm2(home, ['start', app, '--name', 'keep', '--no-autorestart']).code, 0);
  assert.strictEqual(pm2(home, ['save']).code, 0);
  const saved = fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8');
  // Fill the file system to the last byte.
  try { execFileSync('dd', ['if=/dev/zero', `of=${path.join(home, 'filler')}`, 'bs=4k'], { stdio: 'ignore' }); } catch {}
  const r = pm2(home, ['save']);
  assert.notStrictEqual(r.code, 0, 'the save reports the failure');
  assert.match(r.err, /No space left on device/);
  const partial = fs.readdirSync(home).filter((f) => f.endsWith('.partial'));
  assert.deepStrictEqual(partial, [], 'no temp file left behind');
  assert.strictEqual(fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8'), saved, 'the previous dump is intact');
});
