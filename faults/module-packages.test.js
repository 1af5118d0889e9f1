'use strict';
// Module packages nobody vouches for must never write outside their folder.
// Findings: a tarball with `package/link -> <outside>` then
// `package/link/escape.txt` wrote the file outside and installed with code 0;
// a package.json `name` that climbs out of modules/ had the install rename an
// outside folder away, move the module in its place and delete the old
// contents; a scoped tarball (`@acme/mod`) failed with ENOENT and left a
// staging folder behind. Each archive here is built byte by byte, as a
// hostile one would be.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { makeHome, cleanupHome, waitFor, isAlive, pm2: pm2In } = require('./support');

const home = makeHome('faults-modpkg');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-faults-modpkg-work-'));
const modules = path.join(home, 'modules');
const pm2 = (args) => pm2In(home, args, { cwd: work, timeout: 60000 });

test.after(() => {
  cleanupHome(home);
  fs.rmSync(work, { recursive: true, force: true });
});

/** One 512-byte ustar header. */
function header({ name, type = '0', size = 0, linkname = '', mode = 0o644 }) {
  const h = Buffer.alloc(512);
  const put = (text, at, len) => {
    const bytes = Buffer.from(text);
    assert.ok(bytes.length <= len, `${text} fits its field`);
    bytes.copy(h, at);
  };
  const octal = (n, at, len) => put(n.toString(8).padStart(len - 1, '0'), at, len);
  put(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(Date.now() / 1000), 136, 12);
  h.fill(' ', 148, 156);
  put(type, 156, 1);
  put(linkname, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A .tgz of `entries` ({name, type: '0' file | '1' hard link | '2' symlink | '5' folder, body, linkname}). */
function tgz(file, entries) {
  const blocks = [];
  for (const e of entries) {
    const body = Buffer.from(e.body || '');
    blocks.push(header({ ...e, size: body.length, mode: e.type === '5' ? 0o755 : 0o644 }));
    blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const out = path.join(work, file);
  fs.writeFileSync(out, zlib.gzipSync(Buffer.concat(blocks)));
  return out;
}

/** A runnable module's package.json and script, under `top/`. */
function moduleEntries(name, top = 'package', extra = {}) {
  const pkg = { name, version: '1.0.0', apps: [{ name, script: 'index.js' }], ...extra };
  return [
    { name: `${top}/package.json`, body: JSON.stringify(pkg) },
    { name: `${top}/index.js`, body: "console.log('greeting=' + process.env.greeting); setInterval(() => {}, 1000);\n" },
  ];
}

/** A folder outside PM2_HOME with one file, to prove untouched afterwards. */
function victim(tag) {
  const dir = fs.mkdtempSync(path.join(work, `${tag}-`));
  fs.writeFileSync(path.join(dir, 'keep.txt'), 'original');
  return dir;
}

function assertUntouched(dir) {
  assert.deepStrictEqual(fs.readdirSync(dir), ['keep.txt'], `${dir} holds only its own file`);
  assert.strictEqual(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8'), 'original');
  assert.strictEqual(fs.statSync(path.join(dir, 'keep.txt')).nlink, 1, 'no hard link to it');
}

function conf() {
  try {
    return JSON.parse(fs.readFileSync(path.join(home, 'module_conf.json'), 'utf8'));
  } catch {
    return {};
  }
}

/** The install failed, said why, and left nothing: no folder in modules/, no registry entry, no process. */
function assertRefused(r, why) {
  assert.notStrictEqual(r.code, 0, `the install fails: ${r.out}`);
  assert.match(r.err, why);
  assert.deepStrictEqual(fs.existsSync(modules) ? fs.readdirSync(modules) : [], [], 'nothing left in modules/');
  assert.deepStrictEqual(Object.keys(conf()['tar-modules'] || {}), [], 'nothing registered');
  const names = JSON.parse(pm2(['jlist']).out).map((p) => p.name);
  assert.deepStrictEqual(names, [], 'nothing started');
}

test('a tarball cannot write through a symlink that points outside', () => {
  const outside = victim('through-symlink');
  const file = tgz('link-out.tgz', [
    ...moduleEntries('link-mod'),
    { name: 'package/link', type: '2', linkname: outside },
    { name: 'package/link/escape.txt', body: 'escaped' },
  ]);
  assertRefused(pm2(['install', file, '--tarball']), /refused entry package\/link: it is a symlink to .*, outside the module; nothing was installed/);
  assertUntouched(outside);

  // The same through a relative link: modules/.<staging>/link -> ../../../<outside>.
  const relative = path.relative(path.join(modules, '.x.staging'), outside);
  const rel = tgz('link-rel.tgz', [
    ...moduleEntries('link-mod'),
    { name: 'package/link', type: '2', linkname: relative },
    { name: 'package/link/escape.txt', body: 'escaped' },
  ]);
  assertRefused(pm2(['install', rel]), /refused entry package\/link: it is a symlink to .*, outside the module/);
  assertUntouched(outside);
});

test('a tarball entry never goes through a symlink, even one pointing inside', () => {
  const file = tgz('link-in.tgz', [
    ...moduleEntries('link-mod'),
    { name: 'package/lib/', type: '5' },
    { name: 'package/l', type: '2', linkname: 'lib' },
    { name: 'package/l/x.js', body: 'x' },
  ]);
  assertRefused(pm2(['install', file]), /refused entry package\/l\/x\.js: it goes through the symlink l/);
});

test('a tarball cannot hard link a file outside, nor write through such a link', () => {
  const outside = victim('hard-link');
  const target = path.join(outside, 'keep.txt');
  const file = tgz('hard.tgz', [
    ...moduleEntries('hard-mod'),
    { name: 'package/hl', type: '1', linkname: target },
    { name: 'package/hl', body: 'overwritten' },
  ]);
  assertRefused(pm2(['install', file]), /refused entry package\/hl: it is a hard link to .*, outside the module/);
  assertUntouched(outside);
  const climbing = tgz('hard-up.tgz', [
    ...moduleEntries('hard-mod'),
    { name: 'package/hl', type: '1', linkname: `package/${path.relative(path.join(modules, '.x.staging'), target)}` },
  ]);
  assertRefused(pm2(['install', climbing]), /refused entry package\/hl: it is a hard link to .*, outside the module/);
  assertUntouched(outside);
});

test('tarball entries with `..` or an absolute path are refused', () => {
  const outside = victim('paths');
  const up = path.relative(path.join(modules, '.x.staging'), outside);
  for (const [name, why] of [
    [`package/${up}/dotdot.txt`, /refused entry .*dotdot\.txt: its path has a `\.\.`/],
    [`../${path.basename(outside)}/dotdot.txt`, /its path has a `\.\.`/],
    [path.join(outside, 'abs.txt'), /refused entry .*abs\.txt: its path is absolute/],
  ]) {
    const file = tgz('paths.tgz', [...moduleEntries('path-mod'), { name, body: 'escaped' }]);
    assertRefused(pm2(['install', file]), why);
    assertUntouched(outside);
  }
});

test('a package name that climbs out of modules/ is refused before any folder is touched', () => {
  const target = victim('victim');
  // `/../../…/<target>`: as many `..` as modules/ is deep, so that both
  // `modules/.<name>.staging` and `modules/<name>` resolve to beside or at the target.
  const climbing = `/${'../'.repeat(modules.split(path.sep).length - 1)}${target.slice(1)}`;
  for (const name of [climbing, path.relative(modules, target), '../x', '/../x']) {
    const file = tgz('named.tgz', moduleEntries(name));
    const r = pm2(['install', file]);
    const shown = JSON.stringify(name).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assertRefused(r, new RegExp(`package\\.json: Invalid module name ${shown}: it has a /, which only a scoped name`));
    assertUntouched(target);
  }
  // Nor can a name given on the command line reach outside.
  const relative = path.relative(modules, target);
  for (const args of [['uninstall', '../x'], ['uninstall', relative], ['module:update', relative], ['install', 'x/..']]) {
    const r = pm2(args);
    assert.notStrictEqual(r.code, 0, `pm2 ${args.join(' ')} fails`);
    assert.match(r.err, /Invalid module name ".*": /, `pm2 ${args.join(' ')}`);
  }
  for (const args of [['set', '/x:key', 'v'], ['set', 'tar-modules:/x', 'v'], ['unset', 'tar-modules'], ['conf', '@x']]) {
    const r = pm2(args);
    assert.notStrictEqual(r.code, 0, `pm2 ${args.join(' ')} fails`);
    assert.match(r.err, /Invalid module name|module registries/, `pm2 ${args.join(' ')}: ${r.err}`);
  }
  assert.deepStrictEqual(Object.keys(conf()['tar-modules'] || {}), [], 'no registry entry written by set');
  assertUntouched(target);
});

test('a registry entry naming a folder outside is never followed', () => {
  // A module_conf.json edited by hand (or by an older version) with a bad name.
  const target = victim('registered');
  const bad = path.relative(modules, target);
  const c = conf();
  c['tar-modules'] = { [bad]: { source: 'tarball', install_url: '/nowhere.tgz', installed_at: 1 } };
  fs.writeFileSync(path.join(home, 'module_conf.json'), JSON.stringify(c));
  const launch = pm2(['module:launch-all']);
  assert.notStrictEqual(launch.code, 0);
  assert.match(launch.err, /could not be started: Invalid module name/);
  assert.match(pm2(['uninstall', bad]).err, /Invalid module name/);
  assert.strictEqual(pm2(['uninstall', 'all']).code, 0);
  assertUntouched(target);
  delete c['tar-modules'];
  fs.writeFileSync(path.join(home, 'module_conf.json'), JSON.stringify(c));
});

test('a scoped tarball installs into modules/@scope/name, runs, is configured and uninstalls cleanly', async () => {
  const file = tgz('acme-mod-1.0.0.tgz', moduleEntries('@acme/mod', 'package', { config: { greeting: 'hi' } }));
  const r = pm2(['install', file]);
  assert.strictEqual(r.code, 0, r.err + r.out);
  const dir = path.join(modules, '@acme', 'mod');
  const proc = () => JSON.parse(pm2(['jlist']).out).find((p) => p.name === '@acme/mod');
  const p = await waitFor(() => proc() && proc().pm2_env.status === 'online' && proc(), { what: '@acme/mod online' });
  assert.strictEqual(p.pm2_env.pm_cwd, dir);
  assert.strictEqual(p.pm2_env.pmx_module, true);
  assert.deepStrictEqual(fs.readdirSync(modules), ['@acme'], 'no staging folder left');
  assert.deepStrictEqual(fs.readdirSync(path.join(modules, '@acme')), ['mod']);
  assert.strictEqual(conf()['tar-modules']['@acme/mod'].install_url, file);
  assert.strictEqual(p.pm2_env.env.greeting, 'hi', 'the package.json config reached the process');

  // Its configuration key is `@acme/mod:<key>`, as in PM2.
  const set = pm2(['set', '@acme/mod:greeting', 'hello']);
  assert.strictEqual(set.code, 0, set.err);
  assert.match(set.out, /Module @acme\/mod restarted/);
  const after = proc();
  assert.strictEqual(after.pm2_env.restart_time, p.pm2_env.restart_time + 1);
  assert.strictEqual(after.pm2_env.env.greeting, 'hello');

  // A second install replaces it in place, through the same staging.
  assert.strictEqual(pm2(['install', file]).code, 0);
  assert.deepStrictEqual(fs.readdirSync(modules), ['@acme'], 'no staging or previous folder left');

  const pid = proc().pid;
  const gone = pm2(['uninstall', '@acme/mod']);
  assert.strictEqual(gone.code, 0, gone.err);
  assert.match(gone.out, /Module @acme\/mod uninstalled/);
  assert.strictEqual(proc(), undefined);
  await waitFor(() => !isAlive(pid), { what: 'the @acme/mod process gone' });
  assert.deepStrictEqual(fs.readdirSync(modules), [], 'the module and its scope folder are gone');
  assert.strictEqual(conf()['tar-modules']['@acme/mod'], undefined);
  assert.deepStrictEqual(conf()['@acme/mod'], { greeting: 'hello' }, 'config keys stay, as in PM2');
});
