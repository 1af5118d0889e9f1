'use strict';
// `pm2 web`: the daemon serves PM2's JSON process list at / and Prometheus
// text at /metrics (checked with the real prometheus_client parser), on
// 127.0.0.1 by default; the setting survives `pm2 kill`; `pm2 web stop` and
// `pm2 delete pm2-http-interface` stop it; `pm2-runtime --web` serves the same.

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
function request(port, { host = '127.0.0.1', head = null, path: p = '/' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port }, () => {
      sock.write(head || `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
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
  assert.ok(proc.pm2_env.env, 'the env is there unless PM2_WEB_STRIP_ENV_VARS');

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
  const rt = spawn(path.join(root, 'node_modules', '.bin', 'pm2-runtime'), [app, '--web', '0'], { env: { ...process.env, PM2_HOME: home } });
  t.after(() => { try { rt.kill('SIGKILL'); } catch {} });
  let err = '';
  rt.stderr.on('data', (d) => { err += d; });
  const port = await waitFor(() => Number((/web interface on 127\.0\.0\.1:(\d+)/.exec(err) || [])[1]), { what: 'the runtime\'s web line' });
  const families = await waitFor(async () => {
    const f = parser.parse((await request(port, { path: '/metrics' })).body);
    return f.find((x) => x.name === 'pm2_process_up').samples.some((s) => s.value === 1) && f;
  }, { what: 'the app online in /metrics' });
  assert.strictEqual(sample(families, 'pm2_process_up', 'pm2_process_up', { name: 'worker' }), 1);
  const doc = JSON.parse((await request(port)).body);
  assert.strictEqual(doc.processes[0].name, 'worker');
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
