'use strict';
// The whole of PM2's API class on require('pm2'): deep paths, the printing and
// internal methods, the ones this package does not offer (a clear error, never
// undefined), and TypeScript written against PM2's types.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, root } = require('./support/home');

const home = makeHome('surface');
test.after(() => cleanupHome(home));
const PM2 = require(root).custom;
const { CLOUD, NOT_BUILT } = require(path.join(root, 'lib', 'api_extra'));

test('deep paths that scripts require load: constants, paths, lib/API', () => {
  const constants = require(path.join(root, 'constants'));
  assert.strictEqual(constants.PREFIX_MSG, '[PM2] ');
  assert.strictEqual(constants.ONLINE_STATUS, 'online');
  assert.ok(constants.DAEMON_RPC_PORT.endsWith('rpc.sock'));
  const layout = require(path.join(root, 'paths'))(home);
  assert.strictEqual(layout.DUMP_FILE_PATH, path.join(home, 'dump.pm2'));
  assert.strictEqual(layout.PM2_LOG_FILE_PATH, path.join(home, 'pm2.log'));
  assert.strictEqual(require(path.join(root, 'lib', 'API')), PM2);
});

test('cloud-only and not-yet-built methods answer with an error that says so', async () => {
  const api = new PM2({ pm2_home: home });
  for (const name of CLOUD) {
    const err = await new Promise((resolve) => api[name]('x', resolve));
    assert.match(err.message, new RegExp(`^${name} is not supported by this pm2: it needs PM2's paid cloud service`));
  }
  for (const name of Object.keys(NOT_BUILT)) {
    assert.strictEqual(typeof api[name], 'function', name);
  }
  await assert.rejects(api.pullAndReload('app'), /pullAndReload is not built in this pm2 yet \(git versioning\)/);
});

test('clearDump, generateSample, jlist and the internal entry points work', async () => {
  const cwd = fs.mkdtempSync(path.join(home, 'proj-'));
  const api = new PM2({ pm2_home: home, cwd });
  await api.connect();
  try {
    fs.writeFileSync(path.join(home, 'dump.pm2'), '[{"name":"old"}]');
    await api.clearDump();
    assert.strictEqual(fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8'), '[]');

    await api.generateSample();
    const sample = require(path.join(cwd, 'ecosystem.config.js'));
    assert.strictEqual(sample.apps[0].script, './app.js');
    fs.writeFileSync(path.join(cwd, 'app.js'), 'setInterval(() => {}, 1000);');

    await api._startJson(path.join(cwd, 'ecosystem.config.js'), {}, 'start');
    const [p] = await api.list();
    assert.strictEqual(p.name, 'app');
    const stopped = await api._operate('stopProcessId', 'app');
    assert.strictEqual(stopped[0].status, 'stopped');
    const deleted = await api.actionFromJson('deleteProcessId', path.join(cwd, 'ecosystem.config.js'), {});
    assert.strictEqual(deleted[0].name, 'app');
    assert.deepStrictEqual(await api.list(), []);
  } finally {
    await api.disconnect();
  }
});

test('TypeScript written against PM2\'s callback types compiles against index.d.ts under --strict', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'fixtures', 'types')], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});
