'use strict';
// `pm2 update` with N idle apps and a 4-instance cluster under HTTP load (keep-alive and a new
// connection per request at once, half the connections each): the apps restarted (a pid that
// changed), the requests that failed, and the time from the command until every app is online
// again. Ours is given a daemon binary that differs from the running one (a copy with a few
// more bytes, through PM2_DAEMON_BIN), so that it really execs a new binary; pm2 runs its own
// `pm2 update`.
const fs = require('fs');
const path = require('path');
const M = require('./measure');
const I = require('./impl');
const H = require('./http-load');
const { writeFixtures, writeEcosystem } = require('./fixtures');

const KEYS = ['update_restarts', 'update_failed', 'update_time'];

/** A copy of ours' installed daemon binary with different bytes, or null for pm2. */
function differentDaemon(impl) {
  let nativeDir = null;
  try { nativeDir = require(path.join(impl.pkg, 'lib', 'platform')).nativeDir(); } catch { return null; }
  const installed = nativeDir && path.join(nativeDir, 'pm2-daemon');
  if (!installed || !fs.existsSync(installed)) return null;
  const copy = path.join(impl.home, 'pm2-daemon-next');
  fs.copyFileSync(installed, copy);
  fs.appendFileSync(copy, '\nbench build\n');
  fs.chmodSync(copy, 0o755);
  return copy;
}

async function waitHttp(url, timeout) {
  const http = require('http');
  const t0 = M.now();
  for (;;) {
    const ok = await new Promise((r) => http.get(url, (res) => { res.resume(); r(res.statusCode === 200); }).on('error', () => r(false)));
    if (ok) return;
    if (M.now() - t0 > timeout) throw new Error('the cluster never answered');
    await M.sleep(50);
  }
}

async function update(base, ctx, rec) {
  const { cfg } = ctx;
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const port = await M.freePort();
  const url = `http://127.0.0.1:${port}/`;
  const app = path.join(impl.home, 'fx', 'web.js');
  fs.writeFileSync(app, `process.env.BENCH_PORT = ${JSON.stringify(String(port))};\n${fs.readFileSync(fx.http, 'utf8')}`);
  const N = cfg.apps;
  I.cliOk(impl, ['start', writeEcosystem(path.join(impl.home, 'fx'), N, fx.idle)], { timeout: 120000 });
  I.cliOk(impl, ['start', app, '-i', '4', '--name', 'web'], { timeout: 60000 });
  const all = N + 4;
  const online = (l) => l.length === all && l.every((p) => I.statusOf(p) === 'online' && p.pid);
  const before = await I.waitList(impl, online, { timeout: 120000, what: `${all} apps online` });
  await waitHttp(url, 10000);
  const pids = new Map(before.map((p) => [p.pm_id, p.pid]));
  const next = differentDaemon(impl);
  const env = next ? { PM2_DAEMON_BIN: next } : {};

  const half = Math.max(1, cfg.httpConns >> 1);
  const loads = [true, false].map((keepAlive) => H.start(ctx, url, { conns: half, seconds: 600, keepAlive }));
  await M.sleep(1000);
  const t0 = M.now();
  I.cliOk(impl, ['update'], { timeout: 300000, env });
  const after = await I.waitList(impl, online, { timeout: 300000, what: `${all} apps online after the update` });
  const seconds = (M.now() - t0) / 1000;
  await M.sleep(1000);
  for (const l of loads) l.stop();
  const [kept, fresh] = await Promise.all(loads.map((l) => l.done));

  const restarted = after.filter((p) => pids.get(p.pm_id) !== p.pid).length;
  const exe = (() => { try { return fs.readlinkSync(`/proc/${I.daemonPid(impl)}/exe`); } catch { return '?'; } })();
  const how = next ? `; daemon now runs ${exe === next ? 'the new binary' : exe}` : '';
  rec('update_restarts', restarted, `${restarted} of ${all} processes got a new pid${how}`);
  const errs = (r) => Object.entries(r.errors).map(([k, v]) => `${v} ${k}`).join(', ');
  rec('update_failed', kept.failed + fresh.failed,
    `keep-alive ${kept.failed} of ${kept.total}${kept.failed ? ` (${errs(kept)})` : ''}, new connection per request ${fresh.failed} of ${fresh.total}${fresh.failed ? ` (${errs(fresh)})` : ''}`,
    { kept, fresh });
  rec('update_time', seconds);
}

module.exports = { update, KEYS };
