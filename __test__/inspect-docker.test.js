'use strict';
// `pm2 inspect` opens a running app's Node inspector (a real debugger
// endpoint answers); the API's generateDockerfile writes a Dockerfile that
// runs the app with pm2-runtime, and dockerMode says what it needs.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, cleanupHome, cli, root } = require('./support/home');
const { freePort } = require('./support/http');

const home = makeHome('inspect');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-inspect-work-'));
const env = { ...process.env, PM2_HOME: home };
const PM2 = require(root).custom;
const api = new PM2({ pm2_home: home, cwd: work });

function pm2(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: work, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test.after(async () => {
  await api.disconnect().catch(() => {});
  cleanupHome(home);
  fs.rmSync(work, { recursive: true, force: true });
});

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try { resolve(JSON.parse(body)); } catch (e) { reject(e); }
      });
    }).on('error', reject);
  });
}

test('pm2 inspect opens the inspector of a running node app', async () => {
  // A port free now: one picked from the pid could be in use (an outgoing
  // connection's), and the inspector would then not open.
  const port = await freePort();
  fs.writeFileSync(path.join(work, 'app.js'), "console.log('ready'); setInterval(() => {}, 1000);\n");
  let r = pm2('start', path.join(work, 'app.js'), '--name', 'dbg', '--node-args', `--inspect-port=${port}`);
  assert.strictEqual(r.code, 0, r.err);
  await waitFor(() => fs.readFileSync(path.join(home, 'logs', 'dbg-out.log'), 'utf8').includes('ready'), { what: 'the app up' });
  r = pm2('inspect', 'dbg');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /Inspect enabled on dbg/);
  assert.match(r.out, new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${port}/`));
  // A real inspector answers its HTTP discovery endpoint.
  const targets = await waitFor(() => getJson(`http://127.0.0.1:${port}/json/list`), { what: 'the inspector' });
  assert.ok(targets[0].webSocketDebuggerUrl.includes(`:${port}/`));
  const version = await getJson(`http://127.0.0.1:${port}/json/version`);
  assert.match(version.Browser, /^node\.js\/v\d+/);
  const missing = pm2('inspect', 'nope');
  assert.strictEqual(missing.code, 1);
  pm2('delete', 'dbg');
});

test('generateDockerfile writes a pm2-runtime Dockerfile; dockerMode needs a docker engine', async () => {
  const file = await api.generateDockerfile('app.js', { nodeVersion: '20' });
  assert.strictEqual(file, path.join(work, 'Dockerfile'));
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^FROM node:20$/m);
  assert.match(text, /^CMD \["pm2-runtime", "app\.js"\]$/m);
  // No docker engine here: a clear error, never a silent success.
  const noDocker = spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0;
  if (noDocker) {
    await assert.rejects(api.dockerMode('app.js', { imageName: 'pm2-test-img' }, 'distribution'), /docker/);
  }
});
