'use strict';
// Major finding 3: descriptors an app sent over its IPC channel were kept
// until the app exited (400 sends, 400 leaked fds in the daemon). Every
// received descriptor that nothing asked for is closed.

const test = require('node:test');
const assert = require('node:assert');
const { daemonHome, daemonPid, pm2, list, fdCount, writeApp, waitFor, rpc } = require('./support');

test('descriptors sent with plain messages are closed as they arrive', async (t) => {
  const home = daemonHome(t, 'faults-ipcfd');
  const daemon = daemonPid(home);
  const before = fdCount(daemon);
  // 400 messages, each carrying a descriptor (SCM_RIGHTS), on fd 3.
  const app = writeApp(home, 'sender.py', `
import socket, os, array, time
ch = socket.socket(fileno=3)
for i in range(400):
    fd = os.open('/dev/null', os.O_RDONLY)
    ch.sendmsg([b'{"n":%d}\\n' % i], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
    os.close(fd)
ch.sendall(b'{"type":"done","data":{}}\\n')
time.sleep(300)
`);
  const r = pm2(home, ['start', app, '--interpreter', 'python3', '--name', 'sender']);
  assert.strictEqual(r.code, 0, r.err);
  await waitFor(async () => (await list(home))[0]?.pm2_env.status === 'online', { what: 'online' });
  // The app's last line follows its 400 fds: once the daemon has read it, all were seen.
  const bus = require('net').connect(require('path').join(home, 'pub.sock'));
  t.after(() => bus.destroy());
  let seenDone = false;
  bus.on('data', (d) => { if (d.includes('s:done')) seenDone = true; });
  await new Promise((r) => bus.on('connect', r));
  // Restart so the whole burst happens while we listen.
  pm2(home, ['restart', 'sender']);
  await waitFor(() => seenDone, { what: 'the app\'s last message', timeout: 15000 });
  const after = fdCount(daemon);
  assert.ok(after <= before + 12, `daemon fds: ${before} before, ${after} after 400 sends`);
});

test('a handle sent by a Node app is acknowledged and closed; later messages still arrive', async (t) => {
  const home = daemonHome(t, 'faults-ipchandle');
  const daemon = daemonPid(home);
  const before = fdCount(daemon);
  const app = writeApp(home, 'handles.js', `
const net = require('net');
const server = net.createServer().listen(0, () => {
  let n = 0;
  const next = () => {
    if (n++ < 50) return process.send({ type: 'handle', data: { n } }, server, {}, next);
    process.send({ type: 'after:handles', data: { n } });
  };
  next();
});
`);
  const r = pm2(home, ['start', app, '--name', 'handles']);
  assert.strictEqual(r.code, 0, r.err);
  // Each send waits for the daemon's ACK, so the last message proves all 50 were acknowledged.
  const bus = require('net').connect(require('path').join(home, 'pub.sock'));
  t.after(() => bus.destroy());
  let after = false;
  bus.on('data', (d) => { if (d.includes('after:handles')) after = true; });
  pm2(home, ['restart', 'handles']);
  await waitFor(() => after, { what: 'the message sent after 50 handles', timeout: 15000 });
  const now = fdCount(daemon);
  assert.ok(now <= before + 12, `daemon fds: ${before} before, ${now} after 50 handles`);
  assert.deepStrictEqual((await rpc(home, 'ping')).args, [{ msg: 'pong' }]);
});
