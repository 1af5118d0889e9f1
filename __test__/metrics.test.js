'use strict';
// App metrics and actions end to end: apps under a real daemon report PM2's metrics into
// pm2_env.axm_monitor (jlist, describe), `pm2 trigger` runs the default actions, `pmx: false`
// turns it all off, and an app using @pm2/io keeps its own metrics and actions beside ours.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, cli, waitFor } = require('./support/home');

const home = makeHome('metrics');
const work = path.join(home, 'work');
fs.mkdirSync(work);
const env = { ...process.env, PM2_HOME: home };
test.after(() => cleanupHome(home));

function pm2(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: work, timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const list = () => JSON.parse(pm2('jlist').out);
const proc = (name) => list().find((p) => p.name === name);
const monitorOf = (name) => {
  const p = proc(name);
  return (p && p.pm2_env.axm_monitor) || {};
};
function write(name, text) {
  const file = path.join(work, name);
  fs.writeFileSync(file, text);
  return file;
}
const BUILT_IN = ['Heap Size', 'Heap Usage', 'Used Heap Size', 'Active requests', 'Active handles', 'Event Loop Latency', 'Event Loop Latency p95'];
const ACTIONS = ['km:heapdump', 'km:cpu:profiling:start', 'km:cpu:profiling:stop', 'km:heap:sampling:start', 'km:heap:sampling:stop'];
write('idle.js', 'setInterval(() => {}, 1000);\n');

test('a node app reports the metrics in jlist and describe, and registers the actions', async () => {
  assert.strictEqual(pm2('start', 'idle.js', '--name', 'plain').code, 0);
  await waitFor(() => BUILT_IN.every((k) => k in monitorOf('plain')), { timeout: 15000, what: 'the metrics in jlist' });
  const p = proc('plain');
  assert.deepStrictEqual(p.pm2_env.axm_actions.map((a) => a.action_name), ACTIONS);
  assert.strictEqual(p.pm2_env.axm_options.module_name, 'plain');
  assert.strictEqual(p.pm2_env.axm_options.heapdump, true);
  const heap = p.pm2_env.axm_monitor['Heap Size'];
  assert.deepStrictEqual(Object.keys(heap), ['historic', 'unit', 'type', 'value']);
  assert.strictEqual(heap.unit, 'MiB');
  const r = pm2('describe', 'plain');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /Code metrics value/);
  assert.match(r.out, /│ Heap Size\s+│ \d+\.\d\d MiB\s+│/);
  assert.match(r.out, /│ Event Loop Latency p95\s+│ \d+\.\d\d ms\s+│/);
  assert.match(r.out, /Actions available[\s\S]*km:heapdump[\s\S]*Trigger via: pm2 trigger plain <action_name>/);
});

test('--no-pmx and --no-automation: no metrics, no actions', async () => {
  assert.strictEqual(pm2('start', 'idle.js', '--name', 'quiet', '--no-pmx').code, 0);
  assert.strictEqual(pm2('start', 'idle.js', '--name', 'quiet2', '--no-automation').code, 0);
  // an app started after them reports: by then they would have reported too
  assert.strictEqual(pm2('start', 'idle.js', '--name', 'witness').code, 0);
  await waitFor(() => 'Event Loop Latency' in monitorOf('witness'), { timeout: 15000, what: "the witness's metrics" });
  for (const name of ['quiet', 'quiet2']) {
    const p = proc(name);
    assert.strictEqual(p.pm2_env.status, 'online');
    assert.deepStrictEqual(p.pm2_env.axm_monitor, {}, name);
    assert.deepStrictEqual(p.pm2_env.axm_actions, [], name);
  }
  assert.doesNotMatch(pm2('describe', 'quiet').out, /Code metrics value/);
});

test('an HTTP app under load shows HTTP req/min and latencies', async () => {
  write('web.js', `require('http').createServer((req, res) => res.end('ok'))
  .listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });\n`);
  assert.strictEqual(pm2('start', 'web.js', '--name', 'web').code, 0);
  const log = path.join(home, 'logs', 'web-out.log');
  const port = await waitFor(() => (/port (\d+)/.exec(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '') || [])[1], { what: 'the port' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let stop = false;
  const load = (async () => {
    while (!stop) {
      await new Promise((resolve) => http.get({ port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve)).on('error', resolve));
    }
  })();
  try {
    await waitFor(() => { const m = monitorOf('web'); return m.HTTP && m.HTTP.value > 0 && m['HTTP P95 Latency']; }, { timeout: 15000, what: 'HTTP req/min > 0' });
  } finally {
    stop = true;
    await load;
    agent.destroy();
  }
  const m = monitorOf('web');
  assert.strictEqual(m.HTTP.unit, 'req/min');
  assert.strictEqual(m['HTTP Mean Latency'].unit, 'ms');
  assert.match(pm2('describe', 'web').out, /│ HTTP\s+│ [\d.]+ req\/min\s+│/);
});

test('cluster instances report their metrics too', async () => {
  assert.strictEqual(pm2('start', 'idle.js', '--name', 'clu', '-i', '2').code, 0);
  await waitFor(() => {
    const ps = list().filter((p) => p.name === 'clu');
    return ps.length === 2 && ps.every((p) => 'Heap Size' in p.pm2_env.axm_monitor && p.pm2_env.axm_actions.length === 5);
  }, { timeout: 15000, what: 'metrics from both instances' });
  assert.strictEqual(pm2('delete', 'clu').code, 0);
});

test('pm2 trigger <app> km:heapdump writes a heap snapshot and says where', async () => {
  const r = pm2('trigger', 'plain', 'km:heapdump');
  assert.strictEqual(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0], /1 processes have received command km:heapdump/);
  const m = /^\[plain:(\d+):default\]=(.*)$/.exec(lines[1]);
  assert.ok(m, r.out);
  const ret = JSON.parse(m[2]);
  assert.strictEqual(ret.success, true);
  assert.strictEqual(path.dirname(ret.file), path.join(home, 'profiles'));
  assert.match(ret.file, /\.heapsnapshot$/);
  assert.ok(fs.statSync(ret.file).size > 100000, 'a real snapshot');
  // a CPU profile through the id, started then stopped
  const id = proc('plain').pm_id;
  assert.strictEqual(pm2('trigger', String(id), 'km:cpu:profiling:start').code, 0);
  const stop = pm2('trigger', String(id), 'km:cpu:profiling:stop');
  assert.strictEqual(stop.code, 0, stop.err);
  const profile = JSON.parse(stop.out.trim().split('\n')[1].replace(/^\[[^\]]*\]=/, '')).file;
  assert.ok(Array.isArray(JSON.parse(fs.readFileSync(profile, 'utf8')).nodes));
  // by script file name, as the daemon matches it: heap sampling on the web app
  assert.strictEqual(pm2('trigger', 'web.js', 'km:heap:sampling:start').code, 0);
  const sampled = pm2('trigger', 'web.js', 'km:heap:sampling:stop');
  assert.strictEqual(sampled.code, 0, sampled.err);
  assert.match(sampled.out, /^\[web:\d+:default\]=\{"success":true,.*"file":".*\.heapprofile"\}$/m);
});

test("pm2 trigger's errors are PM2's", () => {
  let r = pm2('trigger', 'plain', 'no:such');
  assert.strictEqual(r.code, 1);
  assert.strictEqual(r.err.trim(), 'Not any process has received a command (offline or unexistent)');
  r = pm2('trigger', String(proc('plain').pm_id), 'no:such');
  assert.strictEqual(r.code, 1);
  assert.strictEqual(r.err.trim(), 'Action doesn\'t exist no:such for plain');
  r = pm2('trigger', '999', 'km:heapdump');
  assert.strictEqual(r.code, 1);
  assert.strictEqual(r.err.trim(), '999 id unknown');
  r = pm2('trigger', 'quiet', 'km:heapdump');
  assert.strictEqual(r.code, 1, 'no actions without pmx');
});

test("an app using @pm2/io keeps its custom metric and action beside the built-in ones", async () => {
  const io = require.resolve('@pm2/io');
  write('io-app.js', `
const io = require(${JSON.stringify(io)});
const widgets = io.metric({ name: 'Widgets made', unit: 'widgets' });
widgets.set(42);
io.action('widgets:count', (reply) => reply({ widgets: 42 }));
setInterval(() => {}, 1000);
`);
  assert.strictEqual(pm2('start', 'io-app.js', '--name', 'io').code, 0);
  await waitFor(() => {
    const m = monitorOf('io');
    return m['Widgets made'] && BUILT_IN.every((k) => k in m);
  }, { timeout: 20000, what: 'the custom and the built-in metrics together' });
  const p = proc('io');
  assert.strictEqual(p.pm2_env.axm_monitor['Widgets made'].value, 42);
  const actions = p.pm2_env.axm_actions.map((a) => a.action_name);
  assert.ok(actions.includes('widgets:count'), actions.join());
  for (const a of ACTIONS) assert.ok(actions.includes(a), a);
  const r = pm2('trigger', 'io', 'widgets:count');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /\[io:\d+:default\]=\{"widgets":42\}/);
  assert.match(pm2('describe', 'io').out, /│ Widgets made\s+│ 42 widgets\s+│/);
});

test('agents report every 5 s while nobody reads the list, every second again once someone does', { timeout: 120000 }, async () => {
  // The app notes each report its agent sends, and each pace the daemon tells it.
  const notes = path.join(work, 'pace.jsonl');
  write('paced.js', `
const fs = require('fs');
const note = (o) => fs.appendFileSync(${JSON.stringify(notes)}, JSON.stringify({ ...o, at: Date.now() }) + '\\n');
const send = process.send.bind(process);
process.send = (msg, ...rest) => { if (msg && msg.type === 'axm:monitor') note({ report: true }); return send(msg, ...rest); };
process.on('internalMessage', (m) => { if (m && m.cmd === 'NODE_PM2_METRICS') note({ every: m.every }); });
process.on('message', (m) => note({ appGot: m }));
setInterval(() => {}, 1000);
`);
  const read = () => (fs.existsSync(notes) ? fs.readFileSync(notes, 'utf8') : '').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const gaps = (reports) => reports.slice(1).map((r, i) => r.at - reports[i].at);
  assert.strictEqual(pm2('start', 'paced.js', '--name', 'paced').code, 0);
  // `pm2 start` printed the list: once nobody has read it for 10 s, the agent is slowed.
  const slowed = await waitFor(() => read().find((n) => n.every === 5000), { timeout: 30000, what: 'the agent told to report every 5 s' });
  const slow = await waitFor(() => { const r = read().filter((n) => n.report && n.at > slowed.at); return r.length >= 3 && r; }, { timeout: 40000, what: 'three reports at the slow pace' });
  assert.ok(gaps(slow).every((g) => g >= 4000), `reports ${gaps(slow)} ms apart`);
  // A read of the list: every second again, and the figures are there. (A report carries only
  // what changed, and is skipped when nothing did: hence the margins.)
  assert.ok(BUILT_IN.every((k) => k in monitorOf('paced')));
  const sped = await waitFor(() => read().find((n) => n.every === 1000 && n.at > slowed.at), { timeout: 5000, what: 'the agent told to report every second' });
  const fast = await waitFor(() => { const r = read().filter((n) => n.report && n.at > sped.at); return r.length >= 3 && r; }, { timeout: 10000, what: 'three reports at the fast pace' });
  assert.ok(gaps(fast).every((g) => g < 4000), `reports ${gaps(fast)} ms apart`);
  assert.deepStrictEqual(read().filter((n) => n.appGot), [], "the app's own message listener sees none of it");
  assert.strictEqual(pm2('delete', 'paced').code, 0);
});
