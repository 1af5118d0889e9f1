'use strict';
// `npm pack` of this built checkout installs into another folder and works
// there with no network: the addon, the daemon and the CLI are inside.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { root, cleanupHome, makeHome } = require('./support/home');
const key = require('../lib/platform').platformKey();

test('the packed tarball installs offline and runs require("pm2") and the pm2 bin', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-pack-'));
  const home = makeHome('pack');
  try {
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
    const [{ filename, files }] = JSON.parse(packed);
    const names = files.map((f) => f.path);
    for (const f of [`npm/${key}/pm2.${key}.node`, `npm/${key}/pm2-daemon`, `npm/${key}/pm2-cli`, 'lib/container.js', 'index.d.ts']) {
      assert.ok(names.includes(f), `${f} is in the tarball`);
    }
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{"name":"consumer","version":"1.0.0"}');
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(work, filename)], { cwd: app, stdio: 'pipe' });
    const env = { ...process.env, PM2_HOME: home };
    const script = `
      const pm2 = require('pm2');
      pm2.connect(async (err) => {
        if (err) throw err;
        const list = await pm2.list();
        console.log(JSON.stringify({ n: list.length, version: await pm2.getVersion() }));
        pm2.disconnect();
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8', timeout: 20000 });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(JSON.parse(r.stdout.trim()), { n: 0, version: require(path.join(root, 'package.json')).version });
    // The postinstall step pointed the command at the native CLI: no Node in between.
    const binLink = path.join(app, 'node_modules', '.bin', 'pm2');
    assert.strictEqual(fs.realpathSync(binLink), fs.realpathSync(path.join(app, 'node_modules', 'pm2', 'npm', key, 'pm2-cli')));
    const bin = spawnSync(binLink, ['ping'], { env, encoding: 'utf8' });
    assert.strictEqual(bin.status, 0, bin.stderr);
    assert.match(bin.stdout, /pong/);
    // And the package's bin/pm2 still runs under Node, as test suites call it.
    const viaNode = spawnSync(process.execPath, [path.join(app, 'node_modules', 'pm2', 'bin', 'pm2'), 'ping'], { env, encoding: 'utf8' });
    assert.strictEqual(viaNode.status, 0, viaNode.stderr);
    assert.match(viaNode.stdout, /pong/);
  } finally {
    cleanupHome(home);
    fs.rmSync(work, { recursive: true, force: true });
  }
});
