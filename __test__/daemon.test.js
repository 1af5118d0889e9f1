'use strict';
// The daemon as a server: bad frames, permissions, logs files, dump and
// resurrect, signals. Driven through require('pm2') and raw sockets.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { makeHome, waitFor, isAlive, signalPid, cleanupHome, readPid, root } = require('./support/home');
const { frame } = require('./support/amp');

const home = makeHome('daemon');
const apps = path.join(__dirname, 'apps');
const PM2 = require(root).custom;
const pm2 = new PM2({ pm2_home: home });

test.before(() => pm2.connect());
test.after(async () => {
  try { await pm2.disconnect(); } catch {}
  cleanupHome(home);
});

/** Sends raw bytes on rpc.sock; resolves with what came back before the socket closed or `ms` passed. */
function raw(bytes, ms = 300) {
  return new Promise((resolve) => {
    const s = net.connect(path.join(home, 'rpc.sock'));
    const chunks = [];
    let closed = false;
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => { closed = true; resolve({ data: Buffer.concat(chunks), closed }); });
    s.on('error', () => {});
    s.write(bytes);
    setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(chunks), closed }); }, ms);
  });
}

test('garbage, truncated frames and bad requests do not hurt the daemon', async () => {
  const garbage = await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.ok(garbage.closed, 'a stream that is not AMP is closed');
  await raw(frame([{ type: 'call', method: 'ping', args: [] }, '1:1']).subarray(0, 9));
  const unknown = await raw(frame([{ type: 'call', method: 'nope', args: [] }, '1:2']));
  assert.match(unknown.data.toString(), /method \\"nope\\" does not exist/);
  const noArgs = await raw(frame([{ type: 'call', method: 'ping' }, '1:3']));
  assert.match(noArgs.data.toString(), /\.args required/);
  const badId = await raw(frame([{ type: 'call', method: 'stopProcessId', args: [{ nested: true }] }, '1:4']));
  assert.match(badId.data.toString(), /id unknown/);
  const badPrepare = await raw(frame([{ type: 'call', method: 'prepare', args: ['not an object'] }, '1:5']));
  assert.match(badPrepare.data.toString(), /prepare expects an object/);
  // Everyone else is still served.
  assert.deepStrictEqual(await pm2.ping(), { msg: 'pong' });
});

test('PM2_HOME is private and the sockets are not open to other users', () => {
  assert.strictEqual(fs.statSync(home).mode & 0o077, 0);
  for (const sock of ['rpc.sock', 'pub.sock']) {
    assert.strictEqual(fs.statSync(path.join(home, sock)).mode & 0o007, 0, `${sock} has no access for others`);
  }
  for (const f of ['pm2.pid', 'pm2.log', 'module_conf.json']) assert.ok(fs.existsSync(path.join(home, f)), f);
  for (const d of ['logs', 'pids', 'modules']) assert.ok(fs.statSync(path.join(home, d)).isDirectory(), d);
});

test('a missing script or a bad option starts nothing and names the problem', async () => {
  await assert.rejects(pm2.start({ script: path.join(apps, 'nope.js') }), /Script not found: .*nope\.js/);
  await assert.rejects(pm2.start({ script: path.join(apps, 'echo.js'), max_restarts: 'lots' }), /max_restarts/);
  await assert.rejects(pm2.start({ script: path.join(apps, 'echo.js'), interpreter: 'no-such-interpreter' }), /no-such-interpreter is NOT AVAILABLE/);
  assert.deepStrictEqual(await pm2.list(), []);
});

test('logs: custom paths, date prefixes, flush truncates, reloadLogs reopens after a rotation', async () => {
  const out = path.join(home, 'custom', 'out.log');
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'logger', out_file: out, log_date_format: 'YYYY-MM-DD' });
  await waitFor(() => fs.existsSync(out) && /^\d{4}-\d\d-\d\d: started logger/m.test(fs.readFileSync(out, 'utf8')), { what: 'dated line' });
  await pm2.flush('logger');
  const afterFlush = fs.statSync(out).size;
  assert.ok(afterFlush < 200, `flushed (${afterFlush} bytes left)`);
  fs.renameSync(out, `${out}.1`);
  await pm2.reloadLogs();
  await waitFor(() => fs.existsSync(out) && /tick/.test(fs.readFileSync(out, 'utf8')), { what: 'new file after reloadLogs' });
  await pm2.delete('logger');
});

test('dump saves the list atomically; resurrect brings apps back, stopped ones stay stopped', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'keep' });
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'idle', force: true });
  await pm2.stop('idle');
  await pm2.dump();
  const dump = JSON.parse(fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8'));
  assert.deepStrictEqual(dump.map((a) => a.name).sort(), ['idle', 'keep']);
  assert.ok(dump.every((a) => a.pm_id === undefined), 'pm_id is not saved');
  await pm2.delete('all');
  await pm2.resurrect();
  const list = await pm2.list();
  const status = Object.fromEntries(list.map((p) => [p.name, p.pm2_env.status]));
  assert.deepStrictEqual(status, { keep: 'online', idle: 'stopped' });
  await pm2.dump(); // the first dump becomes dump.pm2.bak
  fs.writeFileSync(path.join(home, 'dump.pm2'), '{ broken');
  await pm2.delete('all');
  await pm2.resurrect();
  assert.deepStrictEqual((await pm2.list()).map((p) => p.name).sort(), ['idle', 'keep'], 'restored from dump.pm2.bak');
  assert.ok(!fs.existsSync(path.join(home, 'dump.pm2')), 'the broken dump is removed, as PM2 does');
  await pm2.delete('all');
});

test('SIGTERM to the daemon stops every app, saves the list and exits', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'last' });
  const [app] = await pm2.list();
  const daemonPid = readPid(path.join(home, 'pm2.pid'));
  await pm2.disconnect();
  signalPid(daemonPid, 'SIGTERM');
  await waitFor(() => !isAlive(daemonPid), { what: 'daemon exit' });
  assert.ok(!isAlive(app.pid), 'the app was stopped');
  assert.ok(!fs.existsSync(path.join(home, 'pm2.pid')), 'pm2.pid removed');
  const dump = JSON.parse(fs.readFileSync(path.join(home, 'dump.pm2'), 'utf8'));
  assert.deepStrictEqual(dump.map((a) => a.name), ['last']);
});
