'use strict';
// The suite's own plumbing: a daemon starts in the namespace and answers a raw call.

const test = require('node:test');
const assert = require('node:assert');
const { makeHome, cleanupHome, cli, rpc } = require('./support');
const { execFileSync } = require('child_process');

test('a daemon started for the suite answers a raw ping', async (t) => {
  const home = makeHome('faults-smoke');
  t.after(() => cleanupHome(home));
  execFileSync(cli, ['ping'], { env: { ...process.env, PM2_HOME: home } });
  const reply = await rpc(home, 'ping');
  assert.deepStrictEqual(reply.args, [{ msg: 'pong' }]);
});
