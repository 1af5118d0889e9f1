'use strict';
// An app name is printed in every table: an ESC in it reached the terminal
// raw (`pm2 ls` could be recolored, cleared or rewritten by a name), and a
// newline split the table's rows. Control characters are now shown escaped,
// and a name with a line break is refused at start, by the CLI, the API and
// the daemon itself.

const test = require('node:test');
const assert = require('node:assert');
const { daemonHome, pm2, rpc, list, writeApp, root } = require('./support');

test('pm2 ls and describe show an ESC in a name escaped', async (t) => {
  const home = daemonHome(t, 'faults-esc-name');
  const script = writeApp(home, 'app.js', 'setInterval(() => {}, 1000);');
  const name = 'a\x1b[2J\x1b[31mb';
  assert.strictEqual(pm2(home, ['start', script, '--name', name]).code, 0);
  for (const args of [['ls'], ['describe', '0'], ['ls', '-m']]) {
    const r = pm2(home, [...args, '--no-color']);
    assert.strictEqual(r.code, 0, r.err);
    assert.ok(!r.out.includes('\x1b'), `pm2 ${args.join(' ')} prints no ESC: ${JSON.stringify(r.out)}`);
    assert.ok(r.out.includes('a\\e[2J\\e[31mb'), `pm2 ${args.join(' ')} shows the name escaped`);
  }
  // The name itself is kept as given: only its display is escaped.
  assert.strictEqual((await list(home))[0].name, name);
});

test('a name with a line break is refused and nothing starts', async (t) => {
  const home = daemonHome(t, 'faults-newline-name');
  const script = writeApp(home, 'app.js', 'setInterval(() => {}, 1000);');
  for (const name of ['x\ny', 'x\ry', 'x\u2028y']) {
    const r = pm2(home, ['start', script, '--name', name]);
    assert.notStrictEqual(r.code, 0);
    assert.match(r.err, /holds a line break/);
  }
  const PM2 = require(root).custom;
  const api = new PM2({ pm2_home: home });
  await api.connect();
  t.after(() => api.disconnect());
  await assert.rejects(api.start({ script, name: 'api\nname' }), /holds a line break/);
  // PM2's own clients send `prepare` straight to the daemon.
  const reply = await rpc(home, 'prepare', [{ name: 'raw\nname', pm_exec_path: script }]);
  assert.match(JSON.stringify(reply.error), /holds a line break/);
  assert.deepStrictEqual(await list(home), []);
});
