'use strict';
// Critical finding 1: a `killMe` whose pid is out of range (4294967295) became
// kill(-1, SIGQUIT): every process of the user. Numbers are checked before any
// cast, and only the requesting client itself may be notified.

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawn } = require('child_process');
const { daemonHome, daemonPid, rpc, isAlive, waitFor, needsPidNamespace, root } = require('./support');

/** A bystander process: it must outlive every refused request. */
function bystander(t) {
  const p = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.after(() => { try { p.kill('SIGKILL'); } catch {} });
  return p;
}

test('killMe with an out-of-range or foreign pid is refused and signals nobody', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-killme');
  const daemon = daemonPid(home);
  const other = bystander(t);
  for (const pid of [4294967295, -1, 0, '4294967295', 1.5, 'x', other.pid]) {
    const reply = await rpc(home, 'killMe', [{ pid }]);
    assert.match(String(reply.error), /killMe refused: pid .* (is not a process id|is not the requesting process)/, `pid ${pid}`);
  }
  assert.ok(isAlive(daemon), 'the daemon is still up');
  assert.ok(isAlive(other.pid), 'the bystander got no signal');
  assert.strictEqual(other.signalCode, null);
  assert.deepStrictEqual((await rpc(home, 'ping')).args, [{ msg: 'pong' }]);
});

test('killMe with the requester\'s own pid shuts the daemon down and notifies that client with SIGQUIT', needsPidNamespace, async (t) => {
  const home = daemonHome(t, 'faults-killme-own');
  const daemon = daemonPid(home);
  const other = bystander(t);
  // A client that asks to be notified itself, as PM2's CLI does.
  const client = spawn(process.execPath, ['-e', `
    const { call } = require(${JSON.stringify(path.join(__dirname, 'support.js'))});
    const s = require('net').connect(${JSON.stringify(path.join(home, 'rpc.sock'))});
    process.on('SIGQUIT', () => { console.log('notified'); process.exit(0); });
    s.on('connect', () => s.write(call('killMe', [{ pid: process.pid }])));
    s.on('error', () => {});
    setTimeout(() => process.exit(3), 10000);
  `], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  let out = '';
  client.stdout.on('data', (d) => { out += d; });
  const code = await new Promise((r) => client.on('exit', r));
  assert.strictEqual(code, 0, 'the client got its SIGQUIT');
  assert.match(out, /notified/);
  await waitFor(() => !isAlive(daemon), { what: 'daemon gone' });
  assert.ok(isAlive(other.pid), 'nobody else was signalled');
});
