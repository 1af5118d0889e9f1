'use strict';
// examples/docker and examples/kubernetes: no Docker engine or cluster here,
// so the files are checked against each other, and the Dockerfile's CMD is
// run as the container would run it (with its ENV, from its WORKDIR's files).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { makeHome, cleanupHome, waitFor, root } = require('./support/home');
const native = require('../lib/native');

const dockerDir = path.join(root, 'examples', 'docker');
const k8sDir = path.join(root, 'examples', 'kubernetes');

/** The Dockerfile's instructions, continuation lines joined, comments out. */
function dockerfile() {
  const text = fs.readFileSync(path.join(dockerDir, 'Dockerfile'), 'utf8');
  const joined = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  return joined.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(l);
    return { op: op.toUpperCase(), rest };
  });
}

function dockerEnv(instructions) {
  const env = {};
  for (const { rest } of instructions.filter((i) => i.op === 'ENV')) {
    for (const m of rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return env;
}

function yamlFile(name) {
  return JSON.parse(native.parseYaml(fs.readFileSync(path.join(k8sDir, name), 'utf8')));
}

function get(port, p) {
  return new Promise((resolve, reject) => {
    require('http').get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('the Dockerfile: official Node image, pm2-runtime as CMD on files it copies', () => {
  const ins = dockerfile();
  assert.match(ins[0].rest, /^node:\d+-bookworm(-slim)?$/, 'a Debian (glibc) official Node image');
  const cmd = JSON.parse(ins.filter((i) => i.op === 'CMD').pop().rest);
  assert.strictEqual(cmd[0], 'pm2-runtime');
  const copied = ins.filter((i) => i.op === 'COPY').flatMap((i) => i.rest.split(/\s+/).slice(0, -1));
  const pkg = require('../package.json');
  for (const src of copied) {
    if (src.endsWith('.tgz')) {
      assert.strictEqual(src, `${pkg.name}-${pkg.version}.tgz`, 'the name `npm pack` gives this package');
    } else {
      assert.ok(fs.existsSync(path.join(dockerDir, src)), `${src} is in examples/docker`);
    }
  }
  assert.ok(copied.includes(cmd[1]), `the CMD's ${cmd[1]} is copied into the image`);
  const env = dockerEnv(ins);
  const exposed = ins.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/));
  assert.ok(exposed.includes(env.PORT) && exposed.includes(env.PM2_API_PORT), `EXPOSE ${exposed} has the app's and the web interface's ports`);
  assert.strictEqual(env.PM2_API_IPADDR, '0.0.0.0', 'reachable from outside the container');
  const apps = require(path.join(dockerDir, cmd[1])).apps;
  assert.strictEqual(apps[0].wait_ready, true);
  assert.ok(fs.existsSync(path.join(dockerDir, apps[0].script)));
});

test('the Kubernetes Deployment: readiness from /ready, Prometheus annotations on the web port, matching the image', () => {
  const env = dockerEnv(dockerfile());
  const dep = yamlFile('deployment.yaml');
  const svc = yamlFile('service.yaml');
  assert.strictEqual(dep.kind, 'Deployment');
  assert.strictEqual(dep.apiVersion, 'apps/v1');
  const pod = dep.spec.template;
  assert.deepStrictEqual(dep.spec.selector.matchLabels, pod.metadata.labels);
  const [c] = pod.spec.containers;
  assert.ok(!c.command && !c.args, 'the image\'s CMD (pm2-runtime) runs');
  const portOf = (ref) => (typeof ref === 'number' ? ref : c.ports.find((p) => p.name === ref).containerPort);
  const containerEnv = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  assert.strictEqual(String(portOf(c.readinessProbe.httpGet.port)), containerEnv.PM2_API_PORT);
  assert.strictEqual(c.readinessProbe.httpGet.path, '/ready');
  assert.strictEqual(containerEnv.PM2_API_PORT, env.PM2_API_PORT);
  assert.strictEqual(containerEnv.PM2_API_IPADDR, '0.0.0.0');
  assert.strictEqual(String(portOf(c.livenessProbe.httpGet.port)), containerEnv.PORT);
  const ann = pod.metadata.annotations;
  assert.strictEqual(ann['prometheus.io/scrape'], 'true');
  assert.strictEqual(ann['prometheus.io/port'], containerEnv.PM2_API_PORT);
  assert.strictEqual(ann['prometheus.io/path'], '/metrics');
  const killTimeout = require(path.join(dockerDir, 'ecosystem.config.js')).apps[0].kill_timeout;
  assert.ok(pod.spec.terminationGracePeriodSeconds * 1000 > killTimeout, 'the grace period covers kill_timeout');
  assert.strictEqual(svc.kind, 'Service');
  assert.deepStrictEqual(svc.spec.selector, pod.metadata.labels);
  assert.ok(c.ports.some((p) => p.name === svc.spec.ports[0].targetPort));
});

test('the Dockerfile\'s CMD, run as in the container: /ready turns 200 once the app sent ready; SIGTERM exits 0', async (t) => {
  const ins = dockerfile();
  const cmd = JSON.parse(ins.filter((i) => i.op === 'CMD').pop().rest);
  const home = makeHome('example');
  t.after(() => cleanupHome(home));
  // The image's environment, with free ports and loopback for this machine.
  const env = {
    ...process.env, ...dockerEnv(ins), PM2_HOME: home,
    PORT: '0', PM2_API_PORT: '0', PM2_API_IPADDR: '127.0.0.1', WARM_UP_MS: '1500',
  };
  const bin = path.join(root, 'node_modules', '.bin', cmd[0]);
  const rt = spawn(bin, cmd.slice(1), { cwd: dockerDir, env });
  t.after(() => { try { rt.kill('SIGKILL'); } catch {} });
  let out = '';
  let err = '';
  rt.stdout.on('data', (d) => { out += d; });
  rt.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => rt.on('exit', (code) => r(code)));
  const webPort = await waitFor(() => Number((/web interface on 127\.0\.0\.1:(\d+)/.exec(err) || [])[1]), { what: 'the web line' });
  // Served before the app is started: no app is not ready either.
  const early = await waitFor(async () => {
    const r = await get(webPort, '/ready');
    assert.strictEqual(r.status, 503, 'not ready while the app warms up');
    return JSON.parse(r.body).not_ready.length && r;
  }, { what: 'the app in /ready' });
  assert.strictEqual(JSON.parse(early.body).not_ready[0].status, 'launching');
  const appPort = Number(await waitFor(() => (/listening on (\d+)/.exec(out) || [])[1], { what: 'the app listening' }));
  await waitFor(async () => (await get(webPort, '/ready')).status === 200, { what: '/ready 200' });
  assert.strictEqual(JSON.parse((await get(appPort, '/')).body).hello, 'world');
  const list = JSON.parse((await get(webPort, '/')).body);
  assert.strictEqual(list.processes[0].pm2_env.env, undefined, 'the env is not served');
  assert.strictEqual(list.processes[0].pm2_env.WARM_UP_MS, undefined, 'nor its copy flattened onto pm2_env');
  assert.strictEqual(list.processes[0].pm2_env.status, 'online');
  rt.kill('SIGTERM');
  assert.strictEqual(await exited, 0);
  assert.match(out, /shutting down/);
  await assert.rejects(new Promise((resolve, reject) => net.connect(appPort, '127.0.0.1', resolve).on('error', reject)), /ECONNREFUSED/);
});
