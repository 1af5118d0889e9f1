'use strict';
// The per-platform packages (napi-rs's layout): the main package finds its
// natives in the installed pm2-<platform> package, and a platform with no
// build says which platform it is and how to build one.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { root, cleanupHome, makeHome, waitFor, isAlive } = require('./support/home');
const { platformKey, nativeDir, isMusl, SUPPORTED } = require('../lib/platform');

const key = platformKey();

test('this machine\'s platform is named as napi-rs names it, and its build is in npm/<platform>', () => {
  // The fast musl check agrees with what Node itself reports about its C library.
  assert.strictEqual(isMusl(), !process.report.getReport().header.glibcVersionRuntime);
  assert.ok(SUPPORTED.includes(key), key);
  assert.strictEqual(nativeDir(), path.join(root, 'npm', key));
  for (const [name, dir] of [['musl', 'linux-x64-musl'], ['arm64', 'linux-arm64-gnu'], ['mac', 'darwin-arm64']]) {
    const pkg = require(path.join(root, 'npm', dir, 'package.json'));
    assert.strictEqual(pkg.name, `pm2-${dir}`, name);
    assert.strictEqual(pkg.main, `pm2.${dir}.node`, name);
    assert.deepStrictEqual(pkg.files, [`pm2.${dir}.node`, 'pm2-daemon', 'pm2-cli'], name);
  }
  assert.deepStrictEqual(require('../npm/linux-x64-musl/package.json').libc, ['musl']);
  assert.strictEqual(require('../npm/darwin-x64/package.json').libc, undefined);
});

test('on a platform with no build, require("pm2") and bin/pm2 name it and say how to build', () => {
  const fake = "Object.defineProperty(process, 'arch', { value: 'riscv64' });";
  const r = spawnSync(process.execPath, ['-e', `${fake} require(${JSON.stringify(root)})`], { encoding: 'utf8' });
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stderr, /no native build for linux-riscv64-(gnu|musl)/);
  assert.match(r.stderr, /npm run build/);
  const b = spawnSync(process.execPath, ['-e', `${fake} process.argv.splice(1, 0, 'pm2'); require(${JSON.stringify(path.join(root, 'bin', 'pm2'))})`], { encoding: 'utf8' });
  assert.strictEqual(b.status, 1);
  assert.match(b.stderr, /no native build for linux-riscv64-(gnu|musl) .*published builds: linux-x64-gnu/);
});

test('installed as pm2 + pm2-linux-x64-gnu (how npm installs a release), everything runs from the platform package', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-platpkg-'));
  const home = makeHome('platpkg');
  t.after(() => {
    cleanupHome(home);
    fs.rmSync(work, { recursive: true, force: true });
  });
  // The platform package, packed from npm/<platform>/ as the release does.
  const pack = (cwd) => JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd, encoding: 'utf8' }))[0].filename;
  const platformTgz = path.join(work, pack(path.join(root, 'npm', key)));
  // The main package without natives, as the release publishes it.
  const mainTgz = path.join(work, pack(root));
  const unpacked = path.join(work, 'main');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['xzf', mainTgz, '-C', unpacked]);
  fs.rmSync(path.join(unpacked, 'package', 'npm'), { recursive: true });
  const jsOnlyTgz = path.join(work, 'pm2-js-only.tgz');
  execFileSync('tar', ['czf', jsOnlyTgz, '-C', unpacked, 'package']);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"consumer","version":"1.0.0"}');
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', jsOnlyTgz, platformTgz], { cwd: app, stdio: 'pipe' });
  const platformDir = path.join(app, 'node_modules', `pm2-${key}`);
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'pm2', 'npm')));
  assert.strictEqual(fs.realpathSync(path.join(app, 'node_modules', '.bin', 'pm2')), fs.realpathSync(path.join(platformDir, 'pm2-cli')));

  const env = { ...process.env, PM2_HOME: home };
  // The CLI starts the daemon beside it, which runs a node app through the
  // main package's lib/container.js.
  const script = path.join(app, 'hello.js');
  fs.writeFileSync(script, "require('fs').writeFileSync(process.argv[2], process.title); setInterval(() => {}, 1000);\n");
  const marker = path.join(work, 'title');
  const start = spawnSync(path.join(app, 'node_modules', '.bin', 'pm2'), ['start', script, '--name', 'plat', '--', marker], { env, encoding: 'utf8', cwd: app });
  assert.strictEqual(start.status, 0, start.stderr);
  // Written by the app once it runs (wait for the content, not just the file).
  const title = await waitFor(() => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8'), { what: 'the app to start' });
  assert.strictEqual(title, 'node ' + script);
  // require('pm2') loads the addon from the platform package and sees the app.
  const r = spawnSync(process.execPath, ['-e', `
    const pm2 = require('pm2');
    pm2.connect(async (err) => {
      if (err) throw err;
      const list = await pm2.list();
      console.log(JSON.stringify(list.map((p) => [p.name, p.pm2_env.status])));
      pm2.disconnect();
    });`], { cwd: app, env, encoding: 'utf8', timeout: 20000 });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(JSON.parse(r.stdout), [['plat', 'online']]);
  const daemonPid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
  assert.strictEqual(fs.realpathSync(`/proc/${daemonPid}/exe`), fs.realpathSync(path.join(platformDir, 'pm2-daemon')));
  execFileSync(path.join(app, 'node_modules', '.bin', 'pm2'), ['kill'], { env, stdio: 'ignore' });
  await waitFor(() => !isAlive(daemonPid), { what: 'the daemon to exit' });
});
