'use strict';
// Many idle apps: 1,000 (every full run) and 10,000 (--scale). Each app is `sleep` run without
// an interpreter and without autorestart, so the figures are the manager's cost per app, not
// Node's. Rows: the daemon's RSS, jlist/ls/describe latency, start/restart/stop/delete times
// with the daemon's CPU for each, and another client's `ping` while `restart all` runs.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const M = require('./measure');
const I = require('./impl');

function writeSleepers(dir, n) {
  fs.mkdirSync(dir, { recursive: true });
  const apps = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, script: 'sleep', args: '100000', interpreter: 'none', autorestart: false }));
  const p = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(p, `module.exports = ${JSON.stringify({ apps })};\n`);
  return p;
}

// The floor of a jlist: reading the same processes' /proc figures and writing the same bytes.
function jlistFloor(list) {
  const pids = list.map((p) => p.pid).filter(Boolean);
  const text = JSON.stringify(list);
  const once = () => {
    const t0 = M.now();
    for (const pid of pids) { try { fs.readFileSync(`/proc/${pid}/stat`); fs.readFileSync(`/proc/${pid}/statm`); } catch { /* gone */ } }
    const fd = fs.openSync('/dev/null', 'w'); fs.writeSync(fd, Buffer.from(text)); fs.closeSync(fd);
    return M.now() - t0;
  };
  return Math.min(...Array.from({ length: 5 }, once)); // the first run pays for the JIT
}

// `argv` run in the background; the daemon's CPU over it; another client's ping every 20 ms
// meanwhile (the longest wait).
async function timedWithPings(impl, argv, done, { pings = false, timeout = 600000 } = {}) {
  const pid = I.daemonPid(impl);
  const c0 = M.cpuMs(pid); const t0 = M.now();
  const child = spawn(impl.bin, argv, { env: I.envOf(impl), stdio: 'ignore' });
  const exited = new Promise((res) => child.on('exit', res));
  let worst = 0;
  let finished = false;
  const pinger = (async () => {
    while (pings && !finished) {
      const r = I.cli(impl, ['ping'], { timeout: 60000 });
      if (r.code === 0) worst = Math.max(worst, r.ms);
      await M.sleep(20);
    }
  })();
  await exited;
  await I.waitList(impl, done, { timeout, interval: 200, what: argv.join(' ') });
  finished = true; await pinger;
  return { seconds: (M.now() - t0) / 1000, cpu: M.cpuMs(pid) - c0, worstPing: worst };
}

function scaleScenario(N, tag) {
  return async function many(base, ctx, rec) {
    const { cfg, wantKey } = ctx;
    const impl = ctx.home(base);
    I.cliOk(impl, ['ping']);
    const pid = await I.waitDaemonPid(impl);
    const eco = writeSleepers(path.join(impl.home, 'fx'), N);
    const allOnline = (l) => l.length === N && l.every((p) => I.statusOf(p) === 'online' && p.pid);
    const k = (s) => `${tag}_${s}`;
    const long = N * 60 + 120000;

    const c0 = M.cpuMs(pid); const t0 = M.now();
    I.cliOk(impl, ['start', eco], { timeout: long });
    const list = await I.waitList(impl, allOnline, { timeout: long, interval: 500, what: `${N} apps online` });
    rec(k('start'), (M.now() - t0) / 1000, '', { cpu: M.cpuMs(pid) - c0 });
    await M.sleep(cfg.settleMs);
    rec(k('rss'), M.rssMB(pid));
    const runs = N > 1000 ? 3 : cfg.hfRuns;
    const lat = (argv) => M.timeCommand([impl.bin, ...argv], { env: I.envOf(impl), runs, warmup: 1, tmpDir: impl.home });
    if (wantKey(k('jlist'))) {
      for (const t of lat(['jlist'])) rec(k('jlist'), t);
      rec(k('jlist_floor'), jlistFloor(I.jlist(impl)));
    }
    if (wantKey(k('ls'))) for (const t of lat(['ls'])) rec(k('ls'), t);
    if (wantKey(k('describe'))) for (const t of lat(['describe', 's0'])) rec(k('describe'), t);

    const old = new Set(list.map((p) => p.pid));
    let r = await timedWithPings(impl, ['restart', 'all'], (l) => allOnline(l) && l.every((p) => !old.has(p.pid)), { pings: true, timeout: long });
    rec(k('restart'), r.seconds, '', { cpu: r.cpu });
    rec(k('ping'), r.worstPing);
    r = await timedWithPings(impl, ['stop', 'all'], (l) => l.every((p) => I.statusOf(p) === 'stopped'), { timeout: long });
    rec(k('stop'), r.seconds, '', { cpu: r.cpu });
    r = await timedWithPings(impl, ['delete', 'all'], (l) => l.length === 0, { timeout: long });
    rec(k('delete'), r.seconds, '', { cpu: r.cpu });
  };
}

// Rows of one size; `daemon CPU` is summed from each sample's detail.
function scaleMetrics(N, tag, why) {
  const max = (limit, unit) => (s) => ({ text: `≤ ${limit} ${unit}`, met: s.median <= limit });
  const cpu = (ds) => `daemon CPU ${(ds.reduce((a, d) => a + d.cpu, 0) / ds.length).toFixed(0)} ms${ds.length > 1 ? ' (mean)' : ''}`;
  const n = N.toLocaleString('en-US');
  const floorOf = (res) => res[`${tag}_jlist_floor`] && res[`${tag}_jlist_floor`].ours && res[`${tag}_jlist_floor`].ours.stats;
  const limits = N === 1000 ? { rss: 16, jlist: 20, ls: 40 } : { rss: 120, jlist: 200, ls: null };
  return [
    { key: `${tag}_start`, group: 'scale', label: `${n} idle \`sleep\` apps: \`pm2 start ecosystem.config.js\` until all online${why}`, unit: 's', detail: cpu },
    { key: `${tag}_rss`, group: 'scale', label: `${n} idle apps: daemon RSS`, unit: 'MB', target: max(limits.rss, 'MB') },
    { key: `${tag}_jlist_floor`, group: 'scale', label: `${n} idle apps: reading their /proc figures and writing the same JSON bytes (jlist floor, in-process)`, unit: 'ms', baseline: true },
    { key: `${tag}_jlist`, group: 'scale', label: `${n} idle apps: \`pm2 jlist\``, unit: 'ms',
      target: (s, res) => { const f = floorOf(res); return { text: `≤ ${limits.jlist} ms${f ? ` (floor ${f.median.toFixed(1)} ms)` : ''}`, met: s.median <= limits.jlist }; } },
    { key: `${tag}_ls`, group: 'scale', label: `${n} idle apps: \`pm2 ls\``, unit: 'ms', target: limits.ls ? max(limits.ls, 'ms') : undefined },
    { key: `${tag}_describe`, group: 'scale', label: `${n} idle apps: \`pm2 describe s0\``, unit: 'ms' },
    { key: `${tag}_restart`, group: 'scale', label: `${n} idle apps: \`pm2 restart all\` until all online again`, unit: 's', detail: cpu },
    { key: `${tag}_ping`, group: 'scale', label: `${n} idle apps: longest \`pm2 ping\` of another client during \`restart all\` (whole CLI run)`, unit: 'ms', target: max(50, 'ms') },
    { key: `${tag}_stop`, group: 'scale', label: `${n} idle apps: \`pm2 stop all\` until all stopped`, unit: 's', detail: cpu },
    { key: `${tag}_delete`, group: 'scale', label: `${n} idle apps: \`pm2 delete all\` until the list is empty`, unit: 's', detail: cpu },
  ];
}

// The sizes a run measures: 1,000 apps in full runs, 10,000 more with --scale.
function sizes(cfg) {
  return [...(cfg.quick ? [] : [[1000, 'k1', '']]), ...(cfg.scale ? [[10000, 'k10', ' (--scale)']] : [])];
}
const metrics = (cfg) => sizes(cfg).flatMap(([n, tag, why]) => scaleMetrics(n, tag, why));
const scenarios = (cfg) => sizes(cfg).map(([n, tag]) => ({ name: `scale${n}`, fn: scaleScenario(n, tag), keys: () => scaleMetrics(n, tag, '').map((m) => m.key) }));
module.exports = { metrics, scenarios, scaleScenario };
