'use strict';
// `pm2 web`: the daemon serves PM2's JSON process list at / and Prometheus
// text at /metrics (checked with the real prometheus_client parser), on
// 127.0.0.1 by default, without the apps' env unless `--env`, and then only
// to requests with the token; the setting survives `pm2 kill`; `pm2 web stop`
// and `pm2 delete pm2-http-interface` stop it; `pm2-runtime --web` serves the same.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { makeHome, cleanupHome, waitFor, cli, root } = require('./support/home');
const { prometheusParser } = require('./support/prometheus');

const parser = prometheusParser();

function pm2(home, args, extraEnv = {}) {
  return spawnSync(cli, args, { env: { ...process.env, PM2_HOME: home, ...extraEnv }, encoding: 'utf8', timeout: 20000 });
}

/** One HTTP exchange on a raw socket: `{status, headers, body}`, or the connection error. */
function request(port, { host = '127.0.0.1', head = null, path: p = '/', method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port }, () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.write(head || `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`);
    });
    let data = Buffer.alloc(0);
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('error', reject);
    sock.on('end', () => {
      const text = data.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) });
    });
  });
}

function sample(families, family, sampleName, labels) {
  const f = families.find((x) => x.name === family);
  assert.ok(f, `family ${family} in ${families.map((x) => x.name)}`);
  const s = f.samples.find((x) => x.name === sampleName && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `${sampleName} ${JSON.stringify(labels)} in ${JSON.stringify(f.samples)}`);
  return s.value;
}

function portFrom(output) {
  const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  assert.ok(m, `a port in: ${output}`);
  return Number(m[1]);
}

function apps(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-apps-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const app = path.join(dir, 'worker.js');
  // Reports a custom metric the way PM2's in-app agent does.
  fs.writeFileSync(app, `
    setInterval(() => process.send({ type: 'axm:monitor', data: { 'Queue length': { value: 7, unit: 'jobs' }, Mode: { value: 'busy' } } }), 100);
  `);
  return { dir, app };
}

test('pm2 web: PM2\'s JSON list at /, Prometheus text at /metrics, on 127.0.0.1 only', { skip: parser.skip }, async (t) => {
  const home = makeHome('web');
  t.after(() => cleanupHome(home));
  const { app } = apps(t);
  assert.strictEqual(pm2(home, ['start', app, '--name', 'wor"ker', '--namespace', 'jobs', '-s']).status, 0);
  const on = pm2(home, ['web', '0']);
  assert.strictEqual(on.status, 0, on.stderr);
  const port = portFrom(on.stdout);

  const list = await request(port);
  assert.strictEqual(list.status, 200);
  assert.strictEqual(list.headers['content-type'], 'application/json');
  const doc = JSON.parse(list.body);
  assert.deepStrictEqual(Object.keys(doc), ['system_info', 'monit', 'processes']);
  assert.strictEqual(doc.system_info.hostname, os.hostname());
  assert.ok(doc.system_info.uptime > 0);
  assert.strictEqual(doc.monit.loadavg.length, 3);
  assert.strictEqual(doc.monit.total_mem, os.totalmem());
  assert.strictEqual(doc.monit.cpu.length, os.cpus().length);
  assert.deepStrictEqual(Object.keys(doc.monit.cpu[0].times), ['user', 'nice', 'sys', 'idle', 'irq']);
  assert.deepStrictEqual(doc.monit.cpu.map((c) => c.model), os.cpus().map((c) => c.model));
  assert.strictEqual(doc.monit.cpu[0].speed, os.cpus()[0].speed);
  assert.deepStrictEqual(Object.keys(doc.monit.interfaces).sort(), Object.keys(os.networkInterfaces()).sort());
  assert.deepStrictEqual(doc.monit.interfaces.lo.find((a) => a.family === 'IPv4'), os.networkInterfaces().lo.find((a) => a.family === 'IPv4'));
  assert.strictEqual(doc.processes.length, 1);
  const proc = doc.processes[0];
  assert.deepStrictEqual(Object.keys(proc).sort(), ['monit', 'name', 'pid', 'pm2_env', 'pm_id']);
  assert.strictEqual(proc.name, 'wor"ker');
  assert.strictEqual(proc.pm2_env.status, 'online');
  assert.strictEqual(proc.pm2_env.env, undefined, 'the env is left out');

  // The app's custom metric reaches the list, then the exposition.
  let families;
  await waitFor(async () => {
    const m = await request(port, { path: '/metrics' });
    assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    families = parser.parse(m.body);
    return families.find((f) => f.name === 'pm2_process_metric' && f.samples.length);
  }, { what: 'the app\'s axm_monitor metric in /metrics' });
  const labels = { id: '0', name: 'wor"ker', namespace: 'jobs' };
  assert.strictEqual(sample(families, 'pm2_process_up', 'pm2_process_up', labels), 1);
  assert.strictEqual(sample(families, 'pm2_process_status', 'pm2_process_status', { ...labels, status: 'online' }), 1);
  assert.strictEqual(sample(families, 'pm2_process_status', 'pm2_process_status', { ...labels, status: 'errored' }), 0);
  assert.ok(sample(families, 'pm2_process_memory_bytes', 'pm2_process_memory_bytes', labels) > 1e6);
  assert.ok(sample(families, 'pm2_process_cpu_percent', 'pm2_process_cpu_percent', labels) >= 0);
  assert.strictEqual(sample(families, 'pm2_process_restarts', 'pm2_process_restarts_total', labels), 0);
  assert.ok(sample(families, 'pm2_process_uptime_seconds', 'pm2_process_uptime_seconds', labels) > 0);
  assert.strictEqual(sample(families, 'pm2_process_metric', 'pm2_process_metric', { ...labels, metric: 'Queue length', unit: 'jobs' }), 7);
  assert.ok(!families.find((f) => f.name === 'pm2_process_metric').samples.some((s) => s.labels.metric === 'Mode'), 'text values are left out');
  const daemonRss = sample(families, 'pm2_daemon_memory_bytes', 'pm2_daemon_memory_bytes', {});
  const daemonPid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
  const vmRss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemonPid}/status`, 'utf8'))[1]) * 1024;
  assert.ok(Math.abs(daemonRss - vmRss) < 4 * 1024 * 1024, `daemon RSS ${daemonRss} vs ${vmRss}`);
  assert.strictEqual(families.find((f) => f.name === 'pm2_daemon_cpu_seconds').type, 'counter');
  assert.ok(sample(families, 'pm2_daemon_uptime_seconds', 'pm2_daemon_uptime_seconds', {}) > 0);
  assert.strictEqual(sample(families, 'pm2_daemon_processes', 'pm2_daemon_processes', {}), 1);

  // Other paths, methods and oversized or foreign requests.
  assert.deepStrictEqual(JSON.parse((await request(port, { path: '/nope' })).body), { err: '404' });
  assert.strictEqual((await request(port, { head: `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n` })).status, 405);
  assert.strictEqual((await request(port, { head: `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\n\r\n` })).status, 403);
  assert.strictEqual((await request(port, { head: `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n` })).status, 431);
  const headOnly = await request(port, { head: `HEAD /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n` });
  assert.strictEqual(headOnly.status, 200);
  assert.strictEqual(headOnly.body, '');

  // Bound to loopback: another address of this machine is refused.
  const external = Object.values(os.networkInterfaces()).flat().find((a) => a.family === 'IPv4' && !a.internal);
  if (external) {
    await assert.rejects(request(port, { host: external.address }), /ECONNREFUSED/);
  }
});

/**
 * An app with secrets in its env: one from the shell, one from its ecosystem file, one in an
 * `env_<name>` block, and one set with `pm2 set` (which its agent reports back in axm_options).
 */
/** A streamed answer being read: `text()` so far, and `ended` once the server closes it. */
function openStream(port, p) {
  let data = '';
  const sock = net.connect({ host: '127.0.0.1', port }, () => {
    sock.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
  sock.on('data', (d) => { data += d; });
  const ended = new Promise((resolve, reject) => {
    sock.on('end', resolve);
    sock.on('error', reject);
  });
  return { text: () => data, ended, close: () => sock.destroy() };
}

async function appWithSecrets(t, home) {
  const { dir } = apps(t);
  const app = path.join(dir, 'configured.js');
  // Reports its configuration the way @pm2/io's agent does: module_conf, and merged.
  fs.writeFileSync(app, `
    const conf = JSON.parse(process.env[process.env.name] || '{}');
    process.send({ type: 'axm:option:configuration', data: { module_name: process.env.name, module_conf: conf, ...conf } });
    setInterval(() => {}, 1000);
  `);
  const secret = `hunter2-${process.pid}-${Date.now()}`;
  const eco = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(eco, `module.exports = { apps: [{ name: 'api', script: ${JSON.stringify(app)},
    env: { DB_PASSWORD: 'db-${secret}' }, env_production: { PROD_KEY: 'prod-${secret}' } }] };`);
  assert.strictEqual(pm2(home, ['set', 'api:webhook', `hook-${secret}`]).status, 0);
  const started = pm2(home, ['start', eco, '-s'], { MY_SECRET_TOKEN: `shell-${secret}` });
  assert.strictEqual(started.status, 0, started.stderr);
  await waitFor(() => {
    const [p] = JSON.parse(pm2(home, ['jlist']).stdout);
    return p.pm2_env.axm_options.module_conf?.webhook === `hook-${secret}`;
  }, { what: 'the agent reporting the app\'s configuration' });
  return secret;
}

/** Every request the web server answers differently: each route, HEAD, other methods, paths, and refusals. */
function everyRequest(port, headers = {}) {
  const h = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return [
    { path: '/', headers }, { path: '/metrics', headers }, { path: '/ready', headers },
    { path: '/?token=x&a=1', headers }, { path: '/nope', headers }, { path: '/metrics/', headers },
    { path: '/', method: 'HEAD', headers }, { path: '/', method: 'POST', headers }, { path: '/', method: 'DELETE', headers },
    { head: `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\n${h}\r\n` },
    { head: `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n` },
    { head: 'GARBAGE\r\n\r\n' },
  ];
}

test('pm2 web serves no app env at any path: PM2\'s other fields stay', async (t) => {
  const home = makeHome('web-secret');
  t.after(() => cleanupHome(home));
  const secret = await appWithSecrets(t, home);
  const [listed] = JSON.parse(pm2(home, ['jlist']).stdout);
  // The daemon does hold them, at both places PM2 keeps an env.
  assert.strictEqual(listed.pm2_env.env.MY_SECRET_TOKEN, `shell-${secret}`);
  assert.strictEqual(listed.pm2_env.MY_SECRET_TOKEN, `shell-${secret}`);
  assert.strictEqual(listed.pm2_env.DB_PASSWORD, `db-${secret}`);

  const on = pm2(home, ['web', '0']);
  assert.strictEqual(on.status, 0, on.stderr);
  assert.match(on.stdout, /environment variables are hidden; `pm2 web --env` shows them/);
  const port = portFrom(on.stdout);
  // The token is made for the dashboard; the list and metrics need none.
  assert.strictEqual(fs.statSync(path.join(home, 'web.token')).mode & 0o777, 0o600);

  const answers = [];
  for (const r of everyRequest(port)) {
    const a = await request(port, r);
    answers.push(a.status);
    assert.ok(!a.body.includes(secret), `${JSON.stringify(r).slice(0, 60)} answered ${a.status} with the secret: ${a.body.slice(0, 200)}`);
  }
  assert.deepStrictEqual(answers, [200, 200, 200, 200, 404, 404, 200, 405, 405, 403, 431, 400]);

  // Every field of PM2's list stays but the env and its copies.
  const [served] = JSON.parse((await request(port)).body).processes;
  const envKeys = new Set(Object.keys(listed.pm2_env.env));
  const expected = Object.keys(listed.pm2_env).filter((k) => k !== 'env' && !envKeys.has(k)).sort();
  assert.deepStrictEqual(Object.keys(served.pm2_env).sort(), expected);
  for (const k of ['status', 'pm_id', 'restart_time', 'unstable_restarts', 'pm_uptime', 'exec_mode', 'pm_exec_path', 'unique_id']) {
    assert.deepStrictEqual(served.pm2_env[k], listed.pm2_env[k], k);
  }
  assert.strictEqual(served.pid, listed.pid);
  assert.ok(served.pid > 0);
  assert.deepStrictEqual(Object.keys(served.monit), ['memory', 'cpu']);
});

test('pm2 web --env serves the env to requests with the token only; --new-token replaces it', async (t) => {
  const home = makeHome('web-token');
  t.after(() => cleanupHome(home));
  const secret = await appWithSecrets(t, home);
  const on = pm2(home, ['web', '0', '--env']);
  assert.strictEqual(on.status, 0, on.stderr);
  const tokenFile = path.join(home, 'web.token');
  assert.strictEqual(fs.statSync(tokenFile).mode & 0o777, 0o600);
  const token = fs.readFileSync(tokenFile, 'utf8').trim();
  const m = /to requests with the token only: http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]+)/.exec(on.stdout);
  assert.ok(m, on.stdout);
  const port = Number(m[1]);
  assert.strictEqual(m[2], token, 'the URL printed carries the token in PM2_HOME');

  // Without the token, every path is refused with a JSON error saying why.
  for (const r of everyRequest(port).slice(0, 9)) {
    const a = await request(port, r);
    assert.ok(!a.body.includes(secret), `${r.path}: ${a.body}`);
    assert.strictEqual(a.status, r.path.includes('token=') ? 403 : 401, `${r.method || 'GET'} ${r.path}`);
  }
  const refused = await request(port);
  assert.strictEqual(refused.headers['content-type'], 'application/json');
  assert.match(JSON.parse(refused.body).err, /needs its token: send `Authorization: Bearer <token>` or add `\?token=<token>`/);
  assert.match(refused.headers['www-authenticate'], /^Bearer /);
  // One character off, at the end: refused like any other.
  const wrong = await request(port, { headers: { Authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}` } });
  assert.strictEqual(wrong.status, 403);
  const wrongQuery = await request(port, { path: '/?token=nope' });
  assert.strictEqual(wrongQuery.status, 403);
  assert.match(JSON.parse(wrongQuery.body).err, /wrong token/);
  assert.ok(!wrongQuery.body.includes(secret));

  // With it, PM2's exact list: the env in pm2_env.env and flattened.
  const [listed] = JSON.parse(pm2(home, ['jlist']).stdout);
  for (const how of [{ headers: { Authorization: `Bearer ${token}` } }, { path: `/?token=${token}` }]) {
    const a = await request(port, how);
    assert.strictEqual(a.status, 200);
    const [p] = JSON.parse(a.body).processes;
    assert.strictEqual(p.pm2_env.MY_SECRET_TOKEN, `shell-${secret}`);
    assert.strictEqual(p.pm2_env.env.DB_PASSWORD, `db-${secret}`);
    assert.deepStrictEqual(Object.keys(p.pm2_env).sort(), Object.keys(listed.pm2_env).sort());
  }
  const metrics = await request(port, { path: '/metrics', headers: { Authorization: `Bearer ${token}` } });
  assert.strictEqual(metrics.status, 200);
  assert.match(metrics.body, /^pm2_process_up\{id="0",name="api",namespace="default"\} 1$/m);

  // The dashboard's env view, with --env: every name, no secret value (a
  // module's conf under its own name included).
  const envView = await request(port, { path: `/api/env/0?token=${token}` });
  assert.strictEqual(envView.status, 200, envView.body);
  const shownEnv = JSON.parse(envView.body).env;
  assert.ok(!envView.body.includes(secret), envView.body);
  assert.strictEqual(shownEnv.DB_PASSWORD, '••••••');
  assert.strictEqual(shownEnv.api, '••••••', 'the app\'s conf JSON');
  assert.ok('MY_SECRET_TOKEN' in shownEnv);

  // Streams opened with the old token end when it is replaced.
  const events = openStream(port, `/api/events?token=${token}`);
  t.after(() => events.close());
  await waitFor(() => events.text().includes('event: hello'), { what: 'the live feed' });

  // A new token: the old one is refused at once, the new one works.
  const rotated = pm2(home, ['web', '--new-token']);
  assert.strictEqual(rotated.status, 0, rotated.stderr);
  const fresh = fs.readFileSync(tokenFile, 'utf8').trim();
  assert.notStrictEqual(fresh, token);
  assert.strictEqual(fs.statSync(tokenFile).mode & 0o777, 0o600);
  assert.ok(rotated.stdout.includes(`?token=${fresh}`), rotated.stdout);
  assert.strictEqual((await request(port, { path: `/?token=${token}` })).status, 403);
  assert.strictEqual((await request(port, { path: `/?token=${fresh}` })).status, 200);
  // The feed checks its token at each tick (2 s).
  await Promise.race([events.ended, new Promise((_, no) => setTimeout(() => no(new Error('the feed opened with the old token is still open')), 10000).unref())]);

  // The setting, --env included, comes back with the next daemon.
  assert.strictEqual(pm2(home, ['kill']).status, 0);
  pm2(home, ['ping']);
  assert.strictEqual((await request(port, { path: '/ready' })).status, 401);
  assert.strictEqual((await request(port, { path: `/ready?token=${fresh}` })).status, 503, 'no app after kill');

  // Back to the default: no token needed, no env.
  const plain = pm2(home, ['web', String(port)]);
  assert.strictEqual(plain.status, 0, plain.stderr);
  const open = await request(port);
  assert.strictEqual(open.status, 200);
  assert.ok(!open.body.includes(secret));
  // Without --env the dashboard serves no env either, token or not.
  const noEnv = await request(port, { path: `/api/env/0?token=${fresh}` });
  assert.strictEqual(noEnv.status, 403);
  assert.match(JSON.parse(noEnv.body).err, /pm2 web --env/);
  assert.ok(!noEnv.body.includes(secret));
});

test('pm2 web refuses a token file other users can read, and --env with a value', async (t) => {
  const home = makeHome('web-token-open');
  t.after(() => cleanupHome(home));
  fs.writeFileSync(path.join(home, 'web.token'), `${'a'.repeat(64)}\n`, { mode: 0o644 });
  fs.chmodSync(path.join(home, 'web.token'), 0o644);
  const open = pm2(home, ['web', '0', '--env']);
  assert.strictEqual(open.status, 1);
  assert.match(open.stderr, /web\.token is open to other users \(mode 644\).*pm2 web --new-token/);
  assert.ok(!fs.existsSync(path.join(home, 'web.json')), 'nothing started or saved');
  const report = pm2(home, ['report']);
  assert.match(report.stdout, /WARNING: .*web\.token is readable by users other than the owner/);
  const fixed = pm2(home, ['web', '0', '--env', '--new-token']);
  assert.strictEqual(fixed.status, 0, fixed.stderr);
  assert.strictEqual(fs.statSync(path.join(home, 'web.token')).mode & 0o777, 0o600);
  assert.match(pm2(home, ['report']).stdout, /Web interface on 127\.0\.0\.1:\d+: the process list with every app's env, to requests with the token/);
  const valued = pm2(home, ['web', '--env=production']);
  assert.strictEqual(valued.status, 1);
  assert.match(valued.stderr, /--env takes no value/);
});

test('pm2 web survives pm2 kill; pm2 web stop and pm2 delete pm2-http-interface stop it', async (t) => {
  const home = makeHome('web-kill');
  t.after(() => cleanupHome(home));
  const port = portFrom(pm2(home, ['web', '0']).stdout);
  assert.strictEqual((await request(port, { path: '/metrics' })).status, 200);
  assert.strictEqual(pm2(home, ['kill']).status, 0);
  await assert.rejects(request(port, { path: '/metrics' }), /ECONNREFUSED/);
  // The next daemon (here started by resurrect, as at boot) serves it again.
  pm2(home, ['resurrect']);
  const back = await request(port, { path: '/metrics' });
  assert.strictEqual(back.status, 200);
  assert.match(back.body, /^pm2_daemon_processes 0$/m);

  const stop = pm2(home, ['web', 'stop']);
  assert.strictEqual(stop.status, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`Web interface on 127\\.0\\.0\\.1:${port} stopped`));
  await assert.rejects(request(port), /ECONNREFUSED/);
  pm2(home, ['kill']);
  pm2(home, ['ping']);
  await assert.rejects(request(port), /ECONNREFUSED/, 'stopped stays stopped across daemons');
  const again = pm2(home, ['web', 'stop']);
  assert.strictEqual(again.status, 1);
  assert.match(again.stderr, /not running/);

  // PM2's way: its web interface is an app named pm2-http-interface.
  const port2 = portFrom(pm2(home, ['web', '0']).stdout);
  const del = pm2(home, ['delete', 'pm2-http-interface']);
  assert.strictEqual(del.status, 0, del.stderr);
  await assert.rejects(request(port2), /ECONNREFUSED/);
});

test('pm2 web refuses a bad port, a host that is not an address, and a port in use', async (t) => {
  const home = makeHome('web-bad');
  t.after(() => cleanupHome(home));
  const bad = pm2(home, ['web', 'soon']);
  assert.strictEqual(bad.status, 1);
  assert.match(bad.stderr, /port must be a number from 0 to 65535 \(or `stop`\), got "soon"/);
  const host = pm2(home, ['web', '0', '--host', 'example.com']);
  assert.strictEqual(host.status, 1);
  assert.match(host.stderr, /host must be an IP address/);
  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.on('listening', r));
  t.after(() => busy.close());
  const taken = pm2(home, ['web', String(busy.address().port)]);
  assert.strictEqual(taken.status, 1);
  assert.match(taken.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*in use/i);
  assert.ok(!fs.existsSync(path.join(home, 'web.json')), 'nothing saved');
});

test('pm2-runtime --web serves the same, without saving the setting', { skip: parser.skip }, async (t) => {
  const home = makeHome('web-runtime');
  t.after(() => cleanupHome(home));
  const { app } = apps(t);
  const rt = spawn(path.join(root, 'node_modules', '.bin', 'pm2-runtime'), [app, '--web', '0'], { env: { ...process.env, PM2_HOME: home, RUNTIME_SECRET: 'runtime-hunter2' } });
  t.after(() => { try { rt.kill('SIGKILL'); } catch {} });
  let err = '';
  rt.stderr.on('data', (d) => { err += d; });
  const port = await waitFor(() => Number((/web interface on 127\.0\.0\.1:(\d+)/.exec(err) || [])[1]), { what: 'the runtime\'s web line' });
  const families = await waitFor(async () => {
    const f = parser.parse((await request(port, { path: '/metrics' })).body);
    return f.find((x) => x.name === 'pm2_process_up').samples.some((s) => s.value === 1) && f;
  }, { what: 'the app online in /metrics' });
  assert.strictEqual(sample(families, 'pm2_process_up', 'pm2_process_up', { name: 'worker' }), 1);
  assert.match(err, /environment variables are hidden; `pm2 web --env` shows them/);
  const listed = JSON.parse(pm2(home, ['jlist']).stdout);
  assert.strictEqual(listed[0].pm2_env.env.RUNTIME_SECRET, 'runtime-hunter2', 'the app has the secret in its env');
  const doc = JSON.parse((await request(port)).body);
  assert.strictEqual(doc.processes[0].name, 'worker');
  assert.strictEqual(doc.processes[0].pm2_env.RUNTIME_SECRET, undefined);
  assert.strictEqual(doc.processes[0].pm2_env.env, undefined);
  assert.ok(!JSON.stringify(doc).includes('runtime-hunter2'), 'the app\'s env is not served');
  assert.ok(!fs.existsSync(path.join(home, 'web.json')), 'the foreground supervisor saves no setting');
  const exited = new Promise((r) => rt.on('exit', (code) => r(code)));
  rt.kill('SIGTERM');
  assert.strictEqual(await exited, 0);
  await assert.rejects(request(port), /ECONNREFUSED/);
});

test('clients that connect and send nothing hold at most 32 slots for 2 s each: the daemon stays answerable and small', async (t) => {
  const home = makeHome('web-idle');
  t.after(() => cleanupHome(home));
  const port = portFrom(pm2(home, ['web', '0']).stdout);
  const daemonPid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemonPid}/status`, 'utf8'))[1]);
  const before = rss();
  const idle = [];
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 100; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    idle.push(s);
  }
  // The RPC socket is not held up meanwhile.
  const t0 = Date.now();
  assert.strictEqual(pm2(home, ['ping']).status, 0);
  assert.ok(Date.now() - t0 < 2000, 'ping answers at once');
  // A scrape waits for a slot: the silent clients ahead of it are dropped
  // 2 s after they were let in, 32 at a time.
  const m = await request(port, { path: '/metrics' });
  assert.strictEqual(m.status, 200);
  assert.ok(Date.now() - t0 < 12000, `answered after ${Date.now() - t0} ms`);
  assert.ok(rss() - before < 4096, `daemon RSS grew ${rss() - before} KB`);
});
