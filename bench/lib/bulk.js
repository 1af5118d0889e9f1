'use strict';
// Bulk actions on many idle apps: while `pm2 start <ecosystem>`, `restart all`, `stop all` and
// `delete all` run, another client pings the daemon every PING_EVERY_MS on one connection, and
// sends a request answered from the process table as often on another. Each action reports
// its wall time, the daemon's own CPU time (utime+stime) and both requests' p99 and max round
// trip; `jlist`, `ls` and `describe` are timed once the apps are online.
// 1,000 apps in a normal run, 10,000 with `--scale`.
//   standalone: node bench/lib/bulk.js [--apps N] [--pm2] [--ours <root>]
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const M = require('./measure');
const I = require('./impl');

const PING_EVERY_MS = 10;
const PING_TIMEOUT_MS = 30000;
const ACTIONS = ['start', 'restart', 'stop', 'delete'];

// One axon-rpc call frame (AMP v1: header, then a 4-byte length before each argument). The
// argument is there because PM2's `ping` takes (opts, cb): with none its daemon crashes.
function callFrame(method, id, arg = {}) {
  const parts = [`j:${JSON.stringify({ type: 'call', method, args: [arg] })}`, `s:${id}`].map((s) => Buffer.from(s));
  const out = [Buffer.from([0x10 | parts.length])];
  for (const p of parts) { const len = Buffer.alloc(4); len.writeUInt32BE(p.length); out.push(len, p); }
  return Buffer.concat(out);
}

// A request the daemon answers from its process table (its supervisor, behind whatever the
// bulk action queued there), unlike `ping`, which the connection answers itself: data for a
// process id that does not exist, answered with an error after a look-up.
const TABLE_PROBE = ['sendDataToProcessId', { id: 999999999, type: 'process:msg', topic: 'bulk', data: {} }];

// Pings on one connection, one at a time, a new one PING_EVERY_MS after the last was sent
// (or at once when the reply took longer). `stop()` resolves to the round trips in ms; a
// ping still unanswered then counts with the time it has waited so far. `request` is
// [method, argument] (`ping` by default).
function pinger(sock, request = ['ping', {}]) {
  const rtts = [];
  let stopped = false;
  let pending = null; // {t0, done}
  const s = net.connect(sock);
  s.on('error', () => {});
  s.on('data', () => { if (pending) { const p = pending; pending = null; p.done(M.now() - p.t0); } });
  const loop = (async () => {
    await new Promise((r, j) => { s.once('connect', r); s.once('error', j); });
    let n = 0;
    while (!stopped) {
      const t0 = M.now();
      const rtt = await new Promise((done) => {
        pending = { t0, done };
        s.write(callFrame(request[0], `bulk:${process.pid}:${n++}`, request[1]));
        setTimeout(() => { if (pending && pending.t0 === t0) { pending = null; done(PING_TIMEOUT_MS); } }, PING_TIMEOUT_MS);
      });
      rtts.push(rtt);
      await M.sleep(Math.max(0, PING_EVERY_MS - (M.now() - t0)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      if (pending) { const p = pending; pending = null; p.done(M.now() - p.t0); }
      await loop.catch(() => {});
      s.destroy();
      return rtts;
    },
  };
}

function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null;
}

// Runs the CLI without blocking this process's event loop (the pinger shares it).
function cliAsync(impl, args, timeout = 1800000) {
  return new Promise((resolve) => {
    const t0 = M.now();
    const err = path.join(impl.home, `.bulk-${process.pid}.err`);
    const fe = fs.openSync(err, 'w');
    const cp = spawn(impl.bin, args, { env: I.envOf(impl), stdio: ['ignore', 'ignore', fe] });
    fs.closeSync(fe);
    const timer = setTimeout(() => cp.kill('SIGKILL'), timeout);
    cp.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: M.now() - t0, stderr: fs.readFileSync(err, 'utf8') });
    });
  });
}

function writeEcosystem(dir, n) {
  const apps = Array.from({ length: n }, (_, i) => ({ name: `idle${i}`, script: 'sleep', args: '100000', interpreter: 'none', autorestart: false }));
  const file = path.join(dir, 'bulk.config.js');
  fs.writeFileSync(file, `module.exports = ${JSON.stringify({ apps })};\n`);
  return file;
}

// One action: wall time, daemon CPU, ping round trips while the CLI runs.
async function timed(impl, pid, args) {
  const ping = pinger(path.join(impl.home, 'rpc.sock'));
  const table = pinger(path.join(impl.home, 'rpc.sock'), TABLE_PROBE);
  const cpu0 = M.cpuMs(pid);
  const r = await cliAsync(impl, args);
  const cpu1 = M.cpuMs(pid);
  const rtts = await ping.stop();
  const trtts = await table.stop();
  return {
    ...r, cpu: cpu1 - cpu0, p99: percentile(rtts, 0.99), max: Math.max(...rtts), pings: rtts.length,
    table_p99: percentile(trtts, 0.99), table_max: Math.max(...trtts), table_n: trtts.length,
  };
}

// Apps online, and apps that could not launch (errored: at the daemon's limit on open files).
function countSettled(impl) {
  const list = I.jlist(impl);
  const online = list.filter((p) => I.statusOf(p) === 'online').length;
  return { online, errored: list.filter((p) => I.statusOf(p) === 'errored').length };
}

// Runs the four actions on `n` apps; returns {action: result} and the list timings. Stops at
// the first action that fails, saying so in `failed`.
async function runBulk(impl, n, log = () => {}) {
  const out = { n, actions: {}, lists: {} };
  I.cliOk(impl, ['ping']);
  const pid = await I.waitDaemonPid(impl);
  out.pid = pid;
  const eco = writeEcosystem(impl.home, n);
  for (const action of ACTIONS) {
    const args = action === 'start' ? ['start', eco] : [action, 'all'];
    const r = await timed(impl, pid, args);
    out.actions[action] = r;
    log(`${impl.name} ${n} apps ${action}: exit ${r.code ?? r.signal}, wall ${(r.ms / 1000).toFixed(2)} s, daemon CPU ${(r.cpu / 1000).toFixed(2)} s, ping p99 ${r.p99 && r.p99.toFixed(1)} ms max ${r.max.toFixed(1)} ms (${r.pings} pings), table request p99 ${r.table_p99 && r.table_p99.toFixed(1)} ms max ${r.table_max.toFixed(1)} ms (${r.table_n})`);
    // A start or restart that some apps failed (at the limit on open files) goes on with the
    // apps that run; a command that did not finish ends the run.
    if (r.code !== 0) {
      out.failed = `${action}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(-400)}`;
      log(out.failed);
      if (r.signal || !['start', 'restart'].includes(action)) break;
    }
    if (action === 'start' || action === 'restart') {
      let c = { online: 0, errored: 0 };
      const t0 = M.now();
      while ((c = countSettled(impl)).online + c.errored < n && M.now() - t0 < 600000) await M.sleep(500);
      r.online = c.online; r.errored = c.errored;
      if (c.errored) log(`${impl.name} ${n} apps ${action}: ${c.errored} apps errored`);
      if (c.online + c.errored < n) { out.failed = `${action}: only ${c.online} of ${n} apps online`; log(out.failed); break; }
    }
    if (action === 'start') {
      for (const [k, a] of [['jlist', ['jlist']], ['ls', ['ls']], ['describe', ['describe', `idle${n - 1}`]]]) {
        const l = I.cli(impl, a, { timeout: 600000 });
        out.lists[k] = { code: l.code, ms: l.ms };
        log(`${impl.name} ${n} apps ${k}: exit ${l.code}, ${l.ms.toFixed(0)} ms`);
      }
    }
  }
  return out;
}

// ---- rows for bench/run.js -------------------------------------------------------------------
const sizes = (cfg) => (cfg.scale ? [1000, 10000] : [1000]);

function bulkMetrics(cfg) {
  const rows = [];
  for (const n of sizes(cfg)) {
    const k = n >= 1000 ? `${n / 1000}k` : `${n}`;
    for (const a of ACTIONS) {
      const what = a === 'start' ? `start an ecosystem of ${n.toLocaleString('en-US')} idle apps` : `${a} all (${n.toLocaleString('en-US')} idle apps)`;
      rows.push({ key: `bulk_${a}_${k}_ping`, group: 'bulk', unit: 'ms', label: `${what}: another client's ping, max round trip (every ${PING_EVERY_MS} ms)`, target: (s) => ({ text: '≤ 50 ms', met: s.max <= 50 }) });
      rows.push({ key: `bulk_${a}_${k}_table`, group: 'bulk', unit: 'ms', label: `${what}: another client's request answered from the process table, max round trip (every ${PING_EVERY_MS} ms)` });
      rows.push({ key: `bulk_${a}_${k}_cpu`, group: 'bulk', unit: 'ms', label: `${what}: daemon CPU time (utime+stime)` });
      rows.push({ key: `bulk_${a}_${k}_wall`, group: 'bulk', unit: 'ms', label: `${what}: wall time` });
    }
  }
  return rows;
}

async function bulkScenario(impl, ctx, rec) {
  for (const n of sizes(ctx.cfg)) {
    const k = `${n / 1000}k`;
    const home = ctx.home(impl);
    try {
      const out = await runBulk(home, n, ctx.log);
      for (const [a, r] of Object.entries(out.actions)) {
        if (r.signal) continue;
        rec(`bulk_${a}_${k}_ping`, r.max, `p99 ${r.p99.toFixed(1)} ms`);
        rec(`bulk_${a}_${k}_table`, r.table_max, `p99 ${r.table_p99.toFixed(1)} ms`);
        rec(`bulk_${a}_${k}_cpu`, r.cpu);
        rec(`bulk_${a}_${k}_wall`, r.ms);
      }
      if (out.failed) for (const a of ACTIONS) ctx.note(`bulk_${a}_${k}_wall`, `failed at ${out.failed.slice(0, 200)}`);
    } finally { I.teardownSync(home); }
  }
}

const bulkKeys = (cfg) => bulkMetrics(cfg).map((m) => m.key);

module.exports = { bulkMetrics, bulkScenario, bulkKeys, runBulk };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => { const i = argv.indexOf(name); return i === -1 ? dflt : argv[i + 1]; };
  const n = Number(opt('--apps', 1000));
  let impl;
  if (argv.includes('--pm2')) impl = { name: 'pm2 7.0.4', bin: path.join(path.dirname(require.resolve('pm2/package.json', { paths: ['/work/pm2ref'] })), 'bin', 'pm2') };
  else { const d = I.describeOurs(opt('--ours', path.resolve(__dirname, '..', '..'))); impl = { name: `ours ${d.version}`, bin: d.bin }; }
  I.makeTmpRoot(false);
  const home = I.withHome(impl, 'b');
  const cleanup = () => I.teardownAll(); // the home and the tmp root it is in
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  runBulk(home, n, (...a) => console.error('[bulk]', ...a))
    .then((out) => { cleanup(); console.log(JSON.stringify({ impl: impl.name, n, actions: Object.fromEntries(Object.entries(out.actions).map(([a, r]) => [a, { code: r.code, online: r.online, errored: r.errored, wall_ms: Math.round(r.ms), cpu_ms: Math.round(r.cpu), p99_ms: r.p99 && +r.p99.toFixed(1), max_ms: +r.max.toFixed(1), pings: r.pings, table_p99_ms: r.table_p99 && +r.table_p99.toFixed(1), table_max_ms: +r.table_max.toFixed(1) }])), lists: out.lists, failed: out.failed })); process.exit(0); })
    .catch((e) => { console.error(e); cleanup(); process.exit(1); });
}
