'use strict';
// The list of the daemon's working code (crates/daemon/hot-code.txt) still
// names the functions of the daemon as built: the linker packs only the
// names it finds, so a list gone stale leaves the daemon's code spread out
// again (more of it resident) without any error. Made again with
// `node scripts/hot-code.js`.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const LIST = path.join(ROOT, 'crates', 'daemon', 'hot-code.txt');
// The release build scripts/build.js makes, with its symbol table kept.
const DAEMON = path.join(ROOT, 'target', 'release', 'pm2-daemon');
const x64Linux = process.platform === 'linux' && process.arch === 'x64';

test('the hot-code list names the functions of the daemon as built', {
  skip: !x64Linux ? 'the list is used on x86_64 Linux only' : !fs.existsSync(DAEMON) && 'no release build of the daemon',
}, () => {
  const listed = fs.readFileSync(LIST, 'utf8').split('\n').filter(Boolean);
  assert.ok(listed.length > 500, `${listed.length} names listed`);
  const symbols = new Set(
    execFileSync('nm', ['--defined-only', DAEMON], { maxBuffer: 64 << 20 }).toString()
      .split('\n').map((l) => l.split(' ').pop()),
  );
  const found = listed.filter((name) => symbols.has(name));
  // A few names belong to code that runs only under valgrind (fallbacks)
  // or was merged away by the linker; most must be there.
  assert.ok(found.length >= listed.length * 0.9,
    `${found.length} of ${listed.length} listed functions are in ${path.relative(ROOT, DAEMON)}: run \`node scripts/hot-code.js\`, then build again`);
});
