'use strict';
// With the README's Docker setup (`pm2-runtime ecosystem.config.js --web`,
// PM2_API_IPADDR=0.0.0.0, PM2_WEB_STRIP_ENV_VARS=true), `GET /` still served
// `pm2_env.DB_PASSWORD` (from the ecosystem file) and `pm2_env.SHELL_TOKEN`
// (from the shell): only `pm2_env.env` was stripped, not the copies PM2
// flattens onto `pm2_env`. No env-derived key is served, and with the
// variable set, `pm2 web --env` is refused rather than ignored.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');
const { makeHome, cleanupHome, waitFor, root, pm2, writeApp } = require('./support');

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('PM2_WEB_STRIP_ENV_VARS in a container leaves out the flattened env copies too', async (t) => {
  const home = makeHome('faults-web-strip');
  t.after(() => cleanupHome(home));
  const app = writeApp(home, 'app.js', 'setInterval(() => {}, 1000);');
  const eco = path.join(home, 'ecosystem.config.js');
  fs.writeFileSync(eco, `module.exports = { apps: [{ name: 'app', script: ${JSON.stringify(app)}, env: { DB_PASSWORD: 'eco-pw-31337' } }] };`);
  const env = {
    ...process.env,
    PM2_HOME: home,
    PM2_API_IPADDR: '0.0.0.0',
    PM2_WEB_STRIP_ENV_VARS: 'true',
    SHELL_TOKEN: 'shell-tok-31337',
  };
  const rt = spawn(path.join(root, 'node_modules', '.bin', 'pm2-runtime'), [eco, '--web', '0'], { env });
  t.after(() => { try { rt.kill('SIGKILL'); } catch {} });
  let err = '';
  rt.stderr.on('data', (d) => { err += d; });
  const port = await waitFor(() => Number((/web interface on 0\.0\.0\.0:(\d+)/.exec(err) || [])[1]), { what: 'the runtime\'s web line' });
  const doc = await waitFor(async () => {
    const d = JSON.parse((await get(port, '/')).body);
    return d.processes.length === 1 && d.processes[0].pm2_env.status === 'online' && d;
  }, { what: 'the app online at /' });

  // The app does have both in its env: they are kept from the web only.
  const listed = JSON.parse(pm2(home, ['jlist']).out);
  assert.strictEqual(listed[0].pm2_env.DB_PASSWORD, 'eco-pw-31337');
  assert.strictEqual(listed[0].pm2_env.SHELL_TOKEN, 'shell-tok-31337');

  const served = doc.processes[0].pm2_env;
  for (const key of ['env', 'DB_PASSWORD', 'SHELL_TOKEN', 'PATH', 'HOME']) {
    assert.ok(!(key in served), `pm2_env.${key} is served`);
  }
  for (const p of ['/', '/metrics', '/ready']) {
    const body = (await get(port, p)).body;
    assert.ok(!body.includes('eco-pw-31337') && !body.includes('shell-tok-31337'), `${p} serves a secret`);
  }

  const refused = pm2(home, ['web', '0', '--env']);
  assert.strictEqual(refused.code, 1);
  assert.match(refused.err, /--env is refused: PM2_WEB_STRIP_ENV_VARS is set/);
  assert.ok(!(await get(port, '/')).body.includes('eco-pw-31337'), 'the running interface is unchanged');

  const exited = new Promise((r) => rt.on('exit', r));
  rt.kill('SIGTERM');
  await exited;
});
