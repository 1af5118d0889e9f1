'use strict';
// Major finding 8: `pm2 resurrect` stopped at the first app that failed to
// start, and the later apps never started. Each failure is reported and all
// the others start, on the CLI and through the API.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const { daemonHome, pm2, list, writeApp, root } = require('./support');

function saveThree(home) {
  const scripts = ['a', 'b', 'c'].map((n) => writeApp(home, `${n}.js`, 'setInterval(() => {}, 1000);'));
  for (const s of scripts) assert.strictEqual(pm2(home, ['start', s]).code, 0);
  assert.strictEqual(pm2(home, ['save']).code, 0);
  assert.strictEqual(pm2(home, ['delete', 'all']).code, 0);
  fs.unlinkSync(scripts[1]);
}

test('pm2 resurrect reports the app that fails and starts the ones after it', async (t) => {
  const home = daemonHome(t, 'faults-resurrect');
  saveThree(home);
  const r = pm2(home, ['resurrect']);
  assert.match(r.err, /App b could not be restored: Script not found: .*b\.js/);
  const names = (await list(home)).filter((p) => p.pm2_env.status === 'online').map((p) => p.name).sort();
  assert.deepStrictEqual(names, ['a', 'c']);
});

test('the API resurrect starts the others too', async (t) => {
  const home = daemonHome(t, 'faults-resurrect-api');
  saveThree(home);
  const PM2 = require(root).custom;
  const api = new PM2({ pm2_home: home });
  await api.connect();
  t.after(() => api.disconnect());
  const errors = [];
  const original = console.error;
  console.error = (m) => errors.push(String(m));
  let started;
  try {
    started = await api.resurrect();
  } finally {
    console.error = original;
  }
  assert.deepStrictEqual(started.map((p) => p.name).sort(), ['a', 'c']);
  assert.match(errors.join('\n'), /App b could not be restored/);
});
