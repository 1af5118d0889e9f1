'use strict';
// The abuse scenario: the daemon's RSS and another client's `ping` latency while one client
// misbehaves. Two probes, each on a fresh daemon:
//   - requests: a client writes many getMonitorData calls to rpc.sock and never reads a reply;
//   - subscriber: a client subscribes to pub.sock and never reads while an app floods its log.
// Each probe runs for a fixed window and stops early (drops the flooder, kills the app) if
// the daemon's RSS passes RSS_CAP_MB, so a manager that buffers without bound cannot take the
// machine down with it.
const fs = require('fs');
const net = require('net');
const path = require('path');
const M = require('./measure');
const I = require('./impl');
const { writeFixtures } = require('./fixtures');

const RSS_CAP_MB = 1024;
const PING_TIMEOUT_MS = 2000;
const PING_EVERY_MS = 100;

// One axon-rpc call frame (AMP v1: header, then a 4-byte length before each argument).
function callFrame(method, id) {
  const parts = [`j:${JSON.stringify({ type: 'call', method, args: [{}] })}`, `s:${id}`].map((s) => Buffer.from(s));
  const out = [Buffer.from([0x10 | parts.length])];
  for (const p of parts) { const len = Buffer.alloc(4); len.writeUInt32BE(p.length); out.push(len, p); }
  return Buffer.concat(out);
}

function connect(sock) {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    s.once('connect', () => { s.off('error', reject); s.on('error', () => {}); resolve(s); });
    s.once('error', reject);
  });
}

// A `ping` on a fresh connection, as a CLI would make it: its round trip in ms, or null when
// no reply came within PING_TIMEOUT_MS.
function ping(sock) {
  return new Promise((resolve) => {
    const t0 = M.now();
    const s = net.connect(sock);
    const done = (v) => { clearTimeout(timer); s.destroy(); resolve(v); };
    const timer = setTimeout(() => done(null), PING_TIMEOUT_MS);
    s.on('error', () => done(null));
    s.on('data', () => done(M.now() - t0)); // the reply's first bytes are enough
    s.write(callFrame('ping', `bench:${process.pid}:ping`));
  });
}

// For `ms`: samples the daemon's RSS every 50 ms and pings it every PING_EVERY_MS.
// Calls `stop()` once if the RSS passes RSS_CAP_MB.
async function watch(pid, sock, ms, stop) {
  const end = M.now() + ms;
  let peak = M.rssMB(pid) || 0;
  let capped = false;
  const sample = () => {
    const r = M.rssMB(pid);
    if (r != null && r > peak) peak = r;
    if (!capped && peak > RSS_CAP_MB) { capped = true; stop(); }
  };
  const sampler = setInterval(sample, 50);
  const pings = [];
  let timeouts = 0;
  try {
    while (M.now() < end) {
      const t0 = M.now();
      const rtt = await ping(sock);
      if (rtt == null) timeouts++; else pings.push(rtt);
      await M.sleep(Math.max(0, PING_EVERY_MS - (M.now() - t0)));
    }
  } finally { clearInterval(sampler); }
  sample();
  return { peak, pings, timeouts, capped };
}

// A ping with no reply counts as PING_TIMEOUT_MS, so the figure is a lower bound then.
function record(rec, prefix, before, seen, extra) {
  const pingNote = seen.timeouts ? `${seen.timeouts} of ${seen.timeouts + seen.pings.length} pings got no reply within ${PING_TIMEOUT_MS} ms (counted as ${PING_TIMEOUT_MS} ms)` : '';
  rec(`${prefix}_rss`, seen.peak - before, [`${before.toFixed(1)} → ${seen.peak.toFixed(1)} MB`, extra, seen.capped ? `stopped at the ${RSS_CAP_MB} MB cap` : ''].filter(Boolean).join('; '));
  for (const p of [...seen.pings, ...Array(seen.timeouts).fill(PING_TIMEOUT_MS)]) rec(`${prefix}_ping`, p, pingNote);
}

async function unreadRequests(impl, ctx, rec) {
  const { cfg } = ctx;
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  I.cliOk(impl, ['ping']);
  const pid = await I.waitDaemonPid(impl);
  for (const name of ['a', 'b', 'c']) I.cliOk(impl, ['start', fx.idle, '--name', name]);
  await I.waitList(impl, (l) => l.length === 3 && l.every((p) => I.statusOf(p) === 'online'), { what: '3 apps online' });
  await M.sleep(cfg.settleMs);
  const before = M.rssMB(pid);

  const sock = path.join(impl.home, 'rpc.sock');
  const flooder = await connect(sock);
  flooder.pause();
  const batches = [];
  for (let i = 0; i < cfg.abuseRequests; i += 100) {
    batches.push(Buffer.concat(Array.from({ length: 100 }, (_, k) => callFrame('getMonitorData', `bench:${process.pid}:${i + k}`))));
  }
  const total = batches.reduce((n, b) => n + b.length, 0);
  for (const b of batches) flooder.write(b);
  const seen = await watch(pid, sock, cfg.abuseWindowMs, () => flooder.destroy());
  // What left the client: read by the daemon or waiting in the socket's buffers.
  const out = flooder.destroyed ? null : Math.round(((total - flooder.writableLength) / total) * cfg.abuseRequests);
  flooder.destroy();
  const n = (x) => x.toLocaleString('en-US');
  record(rec, 'abuse_req', before, seen, out == null ? '' : `~${n(out)} of ${n(cfg.abuseRequests)} calls got out of the client`);
}

async function stalledSubscriber(impl, ctx, rec) {
  const { cfg } = ctx;
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  I.cliOk(impl, ['ping']);
  const pid = await I.waitDaemonPid(impl);
  await M.sleep(cfg.settleMs);
  const before = M.rssMB(pid);

  const stalled = await connect(path.join(impl.home, 'pub.sock'));
  stalled.pause();
  const app = path.join(impl.home, 'fx', `flood-${cfg.abuseLogMB}.js`);
  fs.writeFileSync(app, `process.env.BENCH_BYTES = '${cfg.abuseLogMB * 1e6}';\n${fs.readFileSync(fx.flood, 'utf8')}`);
  const killApps = () => I.killPids(I.strayPids(impl.home).filter((p) => p !== pid));
  try {
    I.cliOk(impl, ['start', app, '--name', 'flood', '--no-autorestart']);
    const seen = await watch(pid, path.join(impl.home, 'rpc.sock'), cfg.abuseWindowMs, killApps);
    record(rec, 'abuse_sub', before, seen, `${cfg.abuseLogMB} MB of log`);
  } finally {
    killApps();
    stalled.destroy();
  }
}

async function abuse(base, ctx, rec) {
  if (ctx.want('abuse')) {
    await unreadRequests(ctx.home(base), ctx, rec);
    await stalledSubscriber(ctx.home(base), ctx, rec);
  }
}

module.exports = { abuse, KEYS: ['abuse_req_rss', 'abuse_req_ping', 'abuse_sub_rss', 'abuse_sub_ping'] };
