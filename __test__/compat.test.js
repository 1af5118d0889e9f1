'use strict';
// PM2's own client (pm2 7 from npm) drives this project's daemon over
// rpc.sock / pub.sock: the wire protocol is the contract of "drop-in".

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { promisify } = require('util');
const { makeHome, waitFor, isAlive, cleanupHome, readPid, root } = require('./support/home');
const { referencePm2 } = require('./support/pm2-reference');

const home = makeHome('compat');
process.env.PM2_HOME = home;
const echoApp = path.join(__dirname, 'apps', 'echo.js');

let ref;
let bus;
const events = [];
let daemonPid;

test.before(async () => {
  // Our daemon comes up first, through our own client.
  const ours = new (require(root).custom)({ pm2_home: home });
  await ours.connect();
  await ours.disconnect();
  daemonPid = readPid(path.join(home, 'pm2.pid'));
  assert.ok(isAlive(daemonPid), 'our daemon runs');
  assert.match(fs.readlinkSync(`/proc/${daemonPid}/exe`), /pm2-daemon$/);

  ref = require(referencePm2().pkg);
  for (const m of ['connect', 'start', 'list', 'stop', 'restart', 'delete', 'describe', 'launchBus', 'sendDataToProcessId']) {
    ref[`${m}P`] = promisify(ref[m]).bind(ref);
  }
  await ref.connectP();
  bus = await ref.launchBusP();
  bus.on('*', (event, data) => events.push({ event, data }));
});

test.after(async () => {
  try { ref && ref.disconnect(); } catch {}
  cleanupHome(home);
});

test('pm2 7 uses our daemon instead of spawning its own', () => {
  assert.strictEqual(readPid(path.join(home, 'pm2.pid')), daemonPid);
  assert.match(fs.readlinkSync(`/proc/${daemonPid}/exe`), /pm2-daemon$/);
});

test('start through pm2 7: the app runs, lists online, and its output reaches the bus and the log file', async () => {
  const started = await ref.startP({ script: echoApp, name: 'echo' });
  assert.strictEqual(started.length, 1);
  const list = await ref.listP();
  assert.strictEqual(list.length, 1);
  const [proc] = list;
  assert.strictEqual(proc.name, 'echo');
  assert.strictEqual(proc.pm_id, 0);
  assert.strictEqual(proc.pm2_env.status, 'online');
  assert.ok(isAlive(proc.pid), 'the app process is alive');
  assert.ok(proc.monit.memory > 0, 'monit.memory is the RSS');
  await waitFor(() => events.find((e) => e.event === 'process:event' && e.data.event === 'online' && e.data.process.name === 'echo'), { what: 'online event' });
  const line = await waitFor(() => events.find((e) => e.event === 'log:out' && /started echo pm_id=0 instance=0/.test(e.data.data)), { what: 'log:out' });
  assert.deepStrictEqual(Object.keys(line.data.process).sort(), ['name', 'namespace', 'pm_id', 'rev']);
  const outLog = path.join(home, 'logs', 'echo-out.log');
  await waitFor(() => fs.readFileSync(outLog, 'utf8').includes('started echo'), { what: 'out log file' });
  await waitFor(() => fs.readFileSync(path.join(home, 'logs', 'echo-error.log'), 'utf8').includes('stderr line'), { what: 'error log file' });
});

test('sendDataToProcessId reaches the app, and its typed reply comes back on the bus', async () => {
  const res = await ref.sendDataToProcessIdP(0, { topic: 'process:msg', data: { n: 42 } });
  assert.strictEqual(res.success, true);
  const reply = await waitFor(() => events.find((e) => e.event === 'echo:reply'), { what: 'echo:reply' });
  assert.strictEqual(reply.data.data.data.n, 42);
  assert.strictEqual(reply.data.process.name, 'echo');
  await assert.rejects(ref.sendDataToProcessIdP(7, { topic: 't', data: {} }), /Process with ID 7 unknown/);
});

test('stop, restart and describe through pm2 7 behave as PM2 does', async () => {
  const [before] = await ref.listP();
  await ref.stopP('echo');
  let [proc] = await ref.listP();
  assert.strictEqual(proc.pm2_env.status, 'stopped');
  assert.strictEqual(proc.pid, 0);
  assert.ok(!isAlive(before.pid), 'the old process is gone');

  await ref.restartP('echo'); // a stopped app is only started: restart_time stays
  [proc] = await ref.listP();
  assert.strictEqual(proc.pm2_env.status, 'online');
  assert.strictEqual(proc.pm2_env.restart_time, 0);

  await ref.restartP('echo');
  [proc] = await ref.listP();
  assert.strictEqual(proc.pm2_env.restart_time, 1);
  const described = await ref.describeP('echo');
  assert.strictEqual(described[0].pm2_env.pm_exec_path, echoApp);
  await waitFor(() => events.find((e) => e.event === 'process:event' && e.data.event === 'restart' && e.data.manually === true), { what: 'restart event' });
});

test('delete through pm2 7 removes the app and its process', async () => {
  const [proc] = await ref.listP();
  await ref.deleteP('echo');
  assert.deepStrictEqual(await ref.listP(), []);
  await waitFor(() => !isAlive(proc.pid), { what: 'app exit' });
});
