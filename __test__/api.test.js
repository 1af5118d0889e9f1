'use strict';
// lib/api.js over a recording stand-in for the addon: argument forms, callbacks and
// promises, config files, targets, the bus, and releasing everything on disconnect.
// (End-to-end behaviour against the real daemon is tested elsewhere.)

const path = require('node:path');
process.env.PM2_NATIVE_ADDON = path.join(__dirname, 'fixtures', 'fake-addon.js');

const { test, beforeEach, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const fake = require('./fixtures/fake-addon.js').__state;
const pm2 = require('..');
const PM2 = pm2.custom;

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-api-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => fake.reset());

function write(name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function proc(pm_id, name, namespace = 'default') {
  return { pid: 100 + pm_id, name, pm_id, monit: { memory: 0, cpu: 0 }, pm2_env: { name, pm_id, namespace, status: 'online' } };
}

const ops = () => fake.log.filter((l) => l[0] !== 'list');

test('require("pm2") is an instance with the class as .custom, and silences printing', () => {
  assert.ok(pm2 instanceof PM2);
  assert.equal(typeof PM2, 'function');
  assert.equal(process.env.PM2_PROGRAMMATIC, 'true');
  assert.equal(pm2.daemon_mode, true);
  assert.equal(pm2.Client.daemon_mode, true);
  assert.equal(pm2.cwd, process.cwd());
});

test('constructor options', () => {
  const a = new PM2({ pm2_home: path.join(dir, 'home'), cwd: dir });
  assert.equal(a.pm2_home, path.join(dir, 'home'));
  assert.equal(a.cwd, dir);
  assert.equal(a._conf.DAEMON_RPC_PORT, path.join(dir, 'home', 'rpc.sock'));

  const b = new PM2({ independent: true });
  assert.match(b.pm2_home, /^\/tmp\/[0-9a-f]{16}$/);
  assert.equal(b.daemon_mode, false);
  assert.equal(b.Client.daemon_mode, false);
  assert.equal(new PM2({ independent: true, daemon_mode: true }).daemon_mode, true);
  assert.equal(new PM2({ daemon_mode: false }).daemon_mode, false);
  assert.throws(() => new PM2({ independent: true, pm2_home: dir }), /independent/);
});

test('connect(true) runs in-process; both daemon_mode flags report false', async () => {
  const api = new PM2({ pm2_home: dir });
  const meta = await new Promise((resolve, reject) =>
    api.connect(true, (err, m) => (err ? reject(err) : resolve(m)))
  );
  assert.deepEqual(meta, { new_pm2_instance: true });
  assert.deepEqual(await api.connect(), { new_pm2_instance: false }, 'already connected');
  assert.equal(api.daemon_mode, false);
  assert.equal(api.Client.daemon_mode, false);
  assert.equal(fake.connects.length, 1);
  assert.equal(fake.connects[0].daemonMode, false);
  assert.equal(fake.connects[0].home, dir);
  assert.equal(fake.connects[0].env.PM2_HOME, dir);
  await api.disconnect();
  assert.equal(fake.closed, 1);
});

test('calls before connect share one lazy connection', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.list = [proc(0, 'api')];
  const [list, version, pong] = await Promise.all([api.list(), api.getVersion(), api.ping()]);
  assert.equal(fake.connects.length, 1);
  assert.equal(fake.connects[0].daemonMode, true);
  assert.equal(list[0].name, 'api');
  assert.equal(version, '7.0.4');
  assert.deepEqual(pong, { msg: 'pong' });
  await api.disconnect();
  // and a call after disconnect connects again
  await api.list();
  assert.equal(fake.connects.length, 2);
  await api.close();
});

test('start(options) sends the app and restarts existing names', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  const res = await api.start({ script: 'app.js', name: 'web', instances: 2 });
  assert.equal(res[0].pm2_env.name, 'web');
  const [op, apps, opts] = ops()[0];
  assert.equal(op, 'start');
  assert.deepEqual(apps, [{ script: 'app.js', name: 'web', instances: 2 }]);
  assert.equal(opts.cwd, dir);
  assert.equal(opts.restartExisting, true);
  assert.equal(opts.env.PM2_PROGRAMMATIC, 'true');
  await api.disconnect();
});

test('start(script, options) with callback; env name and force are not app options', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  await new Promise((resolve, reject) =>
    api.start('server.js', { name: 'srv', env: 'production', force: true, args: ['-p', '1'] }, (err, res) =>
      err ? reject(err) : resolve(res)
    )
  );
  const [, apps, opts] = ops()[0];
  assert.deepEqual(apps, [{ name: 'srv', args: ['-p', '1'], script: 'server.js' }]);
  assert.equal(opts.envName, 'production');
  assert.equal(opts.force, true);
  assert.equal(opts.restartExisting, false);
  await api.disconnect();
});

test('start(name | id | namespace) of a running app restarts it', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.list = [proc(0, 'api', 'web'), proc(1, 'worker', 'jobs')];
  await api.start('api');
  await api.start(1);
  await api.start('jobs');
  assert.deepEqual(
    ops().map((o) => o.slice(0, 3)),
    [
      ['action', 'restart', 'api'],
      ['action', 'restart', '1'],
      ['action', 'restart', 'jobs'],
    ]
  );
  await api.disconnect();
});

test('start(ecosystem.config.js) loads the file afresh each time, with env name and only', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  const file = write(
    'ecosystem.config.js',
    `module.exports = { apps: [{ name: 'a', script: 'a.js', env_production: { X: '1' } }, { name: 'b', script: 'b.js' }],
       deploy: { production: { env: { FROM_DEPLOY: 'yes', X: '0' } } } };`
  );
  await api.start(file, { env: 'production', only: 'a,b' });
  let [, apps, opts] = ops()[0];
  assert.equal(apps.length, 2);
  assert.deepEqual(apps[0].env, { FROM_DEPLOY: 'yes', X: '0' });
  assert.deepEqual(apps[0].env_production, { X: '1' });
  assert.equal(opts.envName, 'production');
  assert.deepEqual(opts.only, ['a', 'b']);
  assert.equal(opts.restartExisting, true);

  fs.writeFileSync(file, `module.exports = { apps: [{ name: 'c', script: 'c.js' }] };`);
  fake.reset();
  await api.start('ecosystem.config.js'); // relative to the API's cwd
  [, apps] = ops()[0];
  assert.deepEqual(apps, [{ name: 'c', script: 'c.js' }]);
  await api.disconnect();
});

test('start accepts .json, .json5, .mjs ecosystems, arrays and single apps', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  const files = [
    write('apps.json', JSON.stringify({ apps: [{ name: 'j', script: 'j.js' }] })),
    write('apps.json5', `{ apps: [ { name: 'j5', script: 'j5.js', }, ], // comment\n }`),
    write('list.json', JSON.stringify([{ name: 'arr', script: 'arr.js' }])),
    write('eco.config.mjs', `export default { apps: [{ name: 'm', script: 'm.js' }] };`),
    write('one.config.cjs', `module.exports = { name: 'one', script: 'one.js' };`),
  ];
  for (const f of files) await api.start(f);
  assert.deepEqual(
    ops().map((o) => o[1].map((a) => a.name)),
    [['j'], ['j5'], ['arr'], ['m'], ['one']]
  );
  await assert.rejects(api.start(path.join(dir, 'missing.config.js')), /not found/);
  await api.disconnect();
});

test('stop/delete with an ecosystem act on each app by name', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  fake.list = [proc(0, 'a'), proc(1, 'b')];
  const file = write('two.config.js', `module.exports = { apps: [{ name: 'a', script: 'a.js' }, { script: 'b.js' }] };`);
  const res = await api.stop(file);
  assert.deepEqual(res.map((p) => p.name), ['a', 'b']);
  await api.delete(file, 'file');
  assert.deepEqual(
    ops().map((o) => o.slice(0, 3)),
    [
      ['action', 'stop', 'a'],
      ['action', 'stop', 'b'],
      ['action', 'delete', 'a'],
      ['action', 'delete', 'b'],
    ]
  );
  fake.reset();
  fake.list = [proc(0, 'a')];
  await api.delete(JSON.stringify({ apps: [{ name: 'a', script: 'a.js' }] }), 'pipe');
  assert.deepEqual(ops()[0].slice(0, 3), ['action', 'delete', 'a']);
  fake.list = [];
  await assert.rejects(api.stop(file), /Process or Namespace a not found/);
  await api.disconnect();
});

test('restart with an ecosystem updates running apps and starts the others', async () => {
  const api = new PM2({ pm2_home: dir, cwd: dir });
  fake.list = [proc(0, 'a')];
  const file = write('re.config.js', `module.exports = { apps: [{ name: 'a', script: 'a.js', env: {A: 1} }, { name: 'new', script: 'n.js' }] };`);
  await api.restart(file, { env: 'staging' });
  const [act, tried, start] = ops();
  assert.deepEqual(act.slice(0, 3), ['action', 'restart', 'a']);
  assert.deepEqual(tried.slice(0, 3), ['action', 'restart', 'new']);
  assert.equal(act[3].updateEnv, true);
  assert.equal(act[3].envName, 'staging');
  assert.deepEqual(act[3].overrides, { name: 'a', script: 'a.js', env: { A: 1 } });
  assert.equal(start[0], 'start');
  assert.deepEqual(start[1], [{ name: 'new', script: 'n.js' }]);
  assert.equal(start[2].envName, 'staging');
  await api.disconnect();
});

test('restart/reload/reset/stop targets and options', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.list = [proc(0, 'api'), proc(3, 'job')];
  const res = await new Promise((resolve, reject) =>
    api.restart('api', { updateEnv: true, max_memory_restart: '200M' }, (e, r) => (e ? reject(e) : resolve(r)))
  );
  assert.deepEqual(res.map((p) => p.pm_id), [0]);
  await api.reload(3);
  await api.reset('all');
  await new Promise((resolve) => api.stop('0', resolve));
  const [r, rl, rs, st] = ops();
  assert.deepEqual(r.slice(0, 3), ['action', 'restart', 'api']);
  assert.equal(r[3].updateEnv, true);
  assert.deepEqual(r[3].overrides, { max_memory_restart: '200M' });
  assert.equal(typeof r[3].env.PATH, 'string');
  assert.deepEqual(rl.slice(0, 3), ['action', 'reload', '3']);
  assert.equal(rl[3].updateEnv, false);
  assert.deepEqual(rs.slice(0, 3), ['action', 'reset', 'all']);
  assert.deepEqual(st.slice(0, 3), ['action', 'stop', '0']);
  await api.disconnect();
});

test('errors reach callbacks as Error objects, and reject promises', async () => {
  const api = new PM2({ pm2_home: dir });
  const err = await new Promise((resolve) => api.stop('nope', (e) => resolve(e)));
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'process or namespace not found', 'PM2\'s text');
  await assert.rejects(api.delete('nope'), { message: 'process or namespace not found' });
  await api.disconnect();
});

test('describe, getProcessIdByName, getPID', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.list = [proc(0, 'api'), proc(1, 'api'), proc(2, 'job')];
  assert.deepEqual((await api.describe('api')).map((p) => p.pm_id), [0, 1]);
  assert.deepEqual((await api.describe(2)).map((p) => p.name), ['job']);
  assert.deepEqual(await api.describe('ghost'), []);
  assert.deepEqual(await api.getProcessIdByName('api'), [0, 1]);
  assert.deepEqual(await api.getPID('job'), [102]);
  assert.deepEqual(await api.getPID(), [100, 101, 102]);
  await api.disconnect();
});

test('sendDataToProcessId in both forms, signals, msgProcess', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.replies.sendDataToProcessId = ([packet]) => [{ success: true, data: packet }];
  const packet = { topic: 'process:msg', data: { hi: 1 } };
  const r1 = await new Promise((resolve, reject) =>
    api.sendDataToProcessId(4, packet, (e, r) => (e ? reject(e) : resolve(r)))
  );
  assert.deepEqual(r1, { success: true, data: { topic: 'process:msg', data: { hi: 1 }, id: 4 } });
  const r2 = await api.sendDataToProcessId({ id: 5, topic: 't', data: 'x' });
  assert.equal(r2.data.id, 5);
  await api.sendSignalToProcessName('SIGUSR2', 'api');
  await api.sendSignalToProcessId('SIGUSR1', '3');
  await api.msgProcess({ name: 'api', msg: 'km:heapdump' });
  const calls = ops().map((o) => [o[1], o[2][0]]);
  assert.deepEqual(calls.slice(2), [
    ['sendSignalToProcessName', { signal: 'SIGUSR2', process_name: 'api' }],
    ['sendSignalToProcessId', { signal: 'SIGUSR1', process_id: 3 }],
    ['msgProcess', { name: 'api', msg: 'km:heapdump' }],
  ]);
  await api.disconnect();
});

test('dump, resurrect, flush, reloadLogs, killDaemon', async () => {
  const api = new PM2({ pm2_home: dir });
  assert.deepEqual(await api.dump(), { success: true });
  await new Promise((resolve) => api.dump(true, resolve));
  await api.resurrect();
  await api.flush();
  await api.flush('api');
  await api.flush(2);
  await api.reloadLogs();
  assert.deepEqual(await api.killDaemon(), { success: true });
  assert.deepEqual(ops(), [
    ['dump', false],
    ['dump', true],
    ['resurrect'],
    ['flush', null],
    ['flush', 'api'],
    ['flush', '2'],
    ['reloadLogs'],
    ['killDaemon'],
  ]);
  assert.equal(fake.closed, 1, 'killDaemon releases the client');
});

test('launchBus: sub-emitter patterns over the native events; disconnect closes the bus', async () => {
  const api = new PM2({ pm2_home: dir });
  const [bus, sock] = await new Promise((resolve, reject) =>
    api.launchBus((err, b, s) => (err ? reject(err) : resolve([b, s])))
  );
  assert.ok(sock);
  const seen = [];
  bus.on('log:*', (type, data) => seen.push([type, data.data]));
  bus.on('process:event', (data) => seen.push(data.event));
  fake.onEvent('log:out', JSON.stringify({ data: 'hi', process: { pm_id: 0 } }));
  fake.onEvent(null, 'process:event', JSON.stringify({ event: 'online' })); // error-first form
  assert.deepEqual(seen, [['out', 'hi'], 'online']);
  await api.disconnect();
  assert.equal(fake.busClosed, 1);
  assert.equal(fake.closed, 1);
  assert.equal(bus.closed, true);
});

test('trigger gathers one axm:reply per process', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.replies.msgProcess = ([msg]) => {
    setImmediate(() => {
      fake.onEvent('axm:reply', JSON.stringify({ process: { pm_id: 0, name: 'api' }, data: { return: { ok: 1 }, action_name: msg.msg } }));
      fake.onEvent('axm:reply', JSON.stringify({ process: { pm_id: 9, name: 'other' }, data: { return: 'not ours' } }));
      fake.onEvent('axm:reply', JSON.stringify({ process: { pm_id: 1, name: 'api' }, data: { return: { ok: 2 } } }));
    });
    return [{ process_count: 2 }];
  };
  const replies = await api.trigger('api', 'refresh', { deep: true });
  assert.deepEqual(replies.map((r) => r.data.return), [{ ok: 1 }, { ok: 2 }]);
  const msg = fake.log.find((l) => l[1] === 'msgProcess')[2][0];
  assert.equal(msg.name, 'api');
  assert.equal(msg.msg, 'refresh');
  assert.deepEqual(msg.opts, { deep: true });
  assert.equal(fake.busClosed, 1, 'the bus used for the replies is closed');
  await api.disconnect();
});

test('scale duplicates instances, or deletes the oldest ones', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.list = [proc(0, 'web'), proc(1, 'web'), proc(2, 'other')];
  let next = 3;
  fake.replies.duplicateProcessId = () => [[proc(next++, 'web')]];
  await api.scale('web', '+2');
  // Each new instance's start is announced on the bus, as PM2's client does.
  const started = (id) => ['call', 'notifyByProcessId', [{ id, action_name: 'start', manually: true }]];
  assert.deepEqual(
    ops().map((o) => o.slice(0, 3)),
    [
      ['call', 'duplicateProcessId', [0]],
      started(3),
      ['call', 'duplicateProcessId', [0]],
      started(4),
    ]
  );
  fake.reset();
  fake.list = [proc(0, 'web'), proc(1, 'web'), proc(4, 'web')];
  await api.scale('web', 1);
  assert.deepEqual(
    ops().map((o) => o.slice(0, 3)),
    [
      ['action', 'delete', '0'],
      ['action', 'delete', '1'],
    ]
  );
  await assert.rejects(api.scale('ghost', 2), /not found/);
  await api.disconnect();
});

test('Client.executeRemote is a raw RPC with PM2 callback arguments', async () => {
  const api = new PM2({ pm2_home: dir });
  fake.replies.getMonitorData = () => [[{ pm_id: 0 }]];
  const [err, list] = await new Promise((resolve) =>
    api.Client.executeRemote('getMonitorData', {}, (...a) => resolve(a))
  );
  assert.equal(err, null);
  assert.deepEqual(list, [{ pm_id: 0 }]);
  assert.deepEqual(fake.log[0], ['call', 'getMonitorData', [{}]]);
  await api.disconnect();
});

test('destroy kills the daemon and removes an independent home', async () => {
  const api = new PM2({ independent: true });
  fs.mkdirSync(api.pm2_home, { recursive: true });
  fs.writeFileSync(path.join(api.pm2_home, 'module_conf.json'), '{}');
  await api.destroy();
  assert.equal(fs.existsSync(api.pm2_home), false);
  const home = new PM2({ pm2_home: path.join(dir, '.pm2') });
  await assert.rejects(home.destroy(), /\.pm2/);
});

test('disconnect leaves nothing that keeps Node alive', async () => {
  const api = new PM2({ pm2_home: dir });
  await api.launchBus();
  await api.list();
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  await api.disconnect();
  await new Promise((r) => setImmediate(r));
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  assert.ok(left.length <= before, `left: ${left}`);
  assert.equal(left.filter((r) => r === 'Timeout').length, 0, `left: ${left}`);
});
