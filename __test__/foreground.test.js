'use strict';
// `pm2 start app.js --no-daemon`: the supervisor runs in the command, in the
// foreground, streams the apps' logs, and stops them on SIGTERM/SIGINT.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { makeHome, cleanupHome, cli, waitFor, isAlive } = require('./support/home');

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`--no-daemon stays in the foreground, streams logs, and ${signal} stops the apps and exits`, async (t) => {
    const home = makeHome('foreground');
    t.after(() => cleanupHome(home));
    const app = path.join(home, 'fg.js');
    fs.writeFileSync(app, `
      console.log('hello out ' + process.pid); console.error('hello err');
      setInterval(() => console.log('tick'), 100);
      process.on('SIGINT', () => { console.log('bye'); process.exit(0); });
    `);
    const child = spawn(cli, ['start', app, '--no-daemon'], { env: { ...process.env, PM2_HOME: home } });
    t.after(() => { try { child.kill('SIGKILL'); } catch {} });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
    const appPid = Number(await waitFor(() => (/hello out (\d+)/.exec(out) || [])[1], { what: 'the app\'s first line' }));
    await waitFor(() => /tick/.test(out) && /hello err/.test(err), { what: 'streamed logs' });
    assert.ok(isAlive(appPid));
    assert.ok(!fs.existsSync(path.join(home, 'pm2.pid')), 'no daemon was started');
    assert.ok(fs.existsSync(path.join(home, 'rpc.sock')), 'the command serves the socket itself');
    child.kill(signal);
    const { code } = await exited;
    assert.strictEqual(code, 0);
    assert.ok(!isAlive(appPid), 'the app was stopped');
    assert.match(out, /bye/, 'the app\'s last words are shown');
    assert.ok(!fs.existsSync(path.join(home, 'rpc.sock')));
  });
}
