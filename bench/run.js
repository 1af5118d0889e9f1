#!/usr/bin/env node
'use strict';
// Benchmarks this project against pm2 7.0.4, alternating runs on the same machine.
//   node bench/run.js [--quick] [--only <metric,...>] [--ours <project root>] [--ours-is-pm2]
//                     [--write-readme] [--rounds N] [--no-hyperfine] [--no-wrk] [--keep-tmp] [--scale]
// --scale adds the 10,000-app rows (scale and bulk groups; minutes per round; 1,000 apps run in every full run).
// --only takes metric keys or groups: ping rss flood jlist ls start restart stop delete api
//   overhead crash logs cpu cluster abuse runtime rotation dashboard update scale bulk (see lib/metrics.js).
const path = require('path');
const M = require('./lib/measure');
const I = require('./lib/impl');
const R = require('./lib/report');
const H = require('./lib/http-load');
const { defineMetrics } = require('./lib/metrics');
const { SCENARIOS } = require('./lib/scenarios');

const log = (...a) => console.error('[bench]', ...a);

function parseArgs(argv) {
  const o = { quick: false, only: null, ours: path.resolve(__dirname, '..'), oursIsPm2: false, writeReadme: false, rounds: null, hyperfine: true, wrk: true, keepTmp: false, scale: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = argv[++i].split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--ours') o.ours = path.resolve(argv[++i]);
    else if (a === '--ours-is-pm2') o.oursIsPm2 = true;
    else if (a === '--write-readme') o.writeReadme = true;
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--no-hyperfine') o.hyperfine = false;
    else if (a === '--no-wrk') o.wrk = false;
    else if (a === '--keep-tmp') o.keepTmp = true;
    else if (a === '--scale') o.scale = true;
    else if (a === '-h' || a === '--help') { console.log(require('fs').readFileSync(__filename, 'utf8').split('\n').slice(2, 8).join('\n').replace(/^\/\/ ?/gm, '')); process.exit(0); }
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function config(o) {
  const q = o.quick;
  return {
    quick: q,
    scale: o.scale,
    rounds: o.rounds || (q ? 1 : 3),
    apps: q ? 20 : 100,
    pingSamples: q ? 3 : 3, // per round
    hfRuns: q ? 10 : 20,
    hfWarmup: q ? 2 : 3,
    settleMs: q ? 1000 : 3000,
    crashStarts: 10,
    logLines: q ? 500000 : 2000000,
    floodMB: q ? 100 : 1000,
    floodTimeoutMs: q ? 60000 : 300000,
    cpuSeconds: q ? 15 : 60,
    rpsSeconds: q ? 3 : 10, // per throughput sample
    warmSeconds: q ? 1 : 2, // wrk warm-up before the samples, both kinds of load
    httpConns: 16,
    reloads: q ? 3 : 10,
    abuseRequests: q ? 20000 : 100000,
    abuseLogMB: q ? 100 : 300,
    abuseWindowMs: q ? 2000 : 5000,
    rotations: q ? 10 : 100,
    rotateRate: 100000, // lines/s
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cfg = config(opts);
  const t0 = Date.now();
  const loadStart = require('os').loadavg().map((x) => +x.toFixed(2));

  // cleanup on any exit path
  const children = new Set();
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return; cleaned = true;
    for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    I.teardownAll();
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { log(`${sig}: cleaning up`); cleanup(); process.exit(130); });

  const hf = opts.hyperfine ? M.setupHyperfine({ log }) : (M.disableHyperfine(), null);
  const pm2 = I.installPm2(log);
  const pm2Impl = { name: `pm2 ${pm2.version}`, bin: pm2.bin, pkg: pm2.pkg };
  let ours;
  if (opts.oursIsPm2) ours = { name: `ours = pm2 ${pm2.version} (--ours-is-pm2)`, bin: pm2.bin, pkg: pm2.pkg };
  else { const d = I.describeOurs(opts.ours); ours = { name: `ours ${d.version}`, bin: d.bin, pkg: d.pkg, info: d.info }; }
  I.makeTmpRoot(opts.keepTmp);
  log(`ours: ${ours.bin}\n[bench] pm2:  ${pm2Impl.bin}\n[bench] timer: ${M.timerName()}${hf ? ` (${hf})` : ''}; tmp: ${I.getTmpRoot()}`);

  const metrics = defineMetrics(cfg);
  const groupOf = Object.fromEntries(metrics.map((m) => [m.key, m.group]));
  const sel = opts.only;
  if (sel) for (const s of sel) if (!groupOf[s] && !Object.values(groupOf).includes(s)) throw new Error(`--only: unknown metric or group ${s}; known: ${[...new Set(Object.values(groupOf))].join(' ')} or ${Object.keys(groupOf).join(' ')}`);
  // a metric is selected by its key or its group; a floor comes with the rows measured against it
  const FLOORS = { node_boot: ['api', 'crash', 'crash_gap'], start_listen_floor: ['start_listen_n'], log_floor: ['log_rate'], log_floor_batch: ['log_rate_batch'] };
  const wantKey = (k) => !sel || sel.includes(k) || sel.includes(groupOf[k]) || (FLOORS[k] || []).some(wantKey);
  const want = (g) => metrics.some((m) => m.group === g && wantKey(m.key));
  // the HTTP load tool, only when a cluster row is selected
  let httpLoad = null;
  if (metrics.some((m) => (m.group === 'cluster' || m.group === 'update') && wantKey(m.key))) {
    if (opts.wrk) H.setup({ log }); else H.disable();
    httpLoad = H.toolName();
    log(`HTTP load: ${httpLoad}`);
  }
  const results = {};
  const notes = [];
  const run = async (scn, side, impl, round) => {
    const slot = (key) => { results[key] = results[key] || {}; return (results[key][side] = results[key][side] || { samples: [], notes: [] }); };
    // detail: per-sample data a metric sums up in the report (see lib/metrics.js `detail`)
    const rec = (key, v, note, detail) => { if (!wantKey(key)) return; const s = slot(key); s.samples.push(v); if (detail) (s.details = s.details || []).push(detail); if (note && !s.noted) { s.noted = true; s.notes.push(note); } };
    const ctx = {
      cfg, want, wantKey, log,
      note: (key, text) => { if (wantKey(key)) { const s = slot(key); if (!s.notes.includes(text)) s.notes.push(text); } },
      home: (base) => I.withHome(base, `${side[0]}${round}`),
      track: (cp) => { children.add(cp); cp.on('exit', () => children.delete(cp)); },
    };
    const t = Date.now();
    const before = new Set(I.getTmpRoot() && require('fs').readdirSync(I.getTmpRoot()));
    try {
      await scn.fn(impl, ctx, rec);
    } catch (e) {
      const msg = `${scn.name} / ${impl.name} / round ${round + 1} failed: ${e.message.split('\n')[0].slice(0, 300)}`;
      log(msg); notes.push(msg);
    } finally {
      // tear down every home this run made
      for (const d of require('fs').readdirSync(I.getTmpRoot())) if (!before.has(d)) I.teardownSync({ ...impl, home: path.join(I.getTmpRoot(), d) });
    }
    log(`${scn.name} / ${impl.name} / round ${round + 1}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };

  for (const scn of [...SCENARIOS, ...require('./lib/scale').scenarios(cfg)]) {
    if (!scn.keys(cfg).some(wantKey)) continue;
    const rounds = cfg.rounds;
    for (let r = 0; r < rounds; r++) {
      await run(scn, 'ours', ours, r);
      await run(scn, 'pm2', pm2Impl, r);
    }
  }

  const mach = R.machine();
  if (cfg.quick) notes.unshift('--quick: 20 apps instead of 100, 100 MB flood instead of 1 GB, 500k log lines instead of 2M, CPU window 15 s instead of 60 s, 3 reloads instead of 10, 3 s per throughput sample instead of 10 s, 1 round.');
  if (ours.info) notes.push(`ours: ${ours.info}.`);
  notes.push('Machine noise: other work on the machine shows in the `node -e 0` floor row and the load average; compare ratios, not absolute figures.');
  notes.push(`Total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
  const meta = {
    ...mach, loadStart, mode: cfg.quick ? '--quick' : 'full', rounds: cfg.rounds, hfRuns: cfg.hfRuns, hfWarmup: cfg.hfWarmup,
    timer: `${M.timerName()}${hf ? ` (${hf})` : ''}`, httpLoad, oursName: ours.name, pm2Name: pm2Impl.name, config: cfg, notes,
  };
  const report = R.build(metrics, results, meta);
  const md = R.markdown(report);
  process.stdout.write(md);
  const dir = path.join(__dirname, 'results');
  R.writeResults(dir, report, md);
  log(`wrote ${path.join(dir, 'latest.md')} and latest.json`);
  if (opts.writeReadme) log(R.writeReadme(path.join(__dirname, 'README.md'), md, `node bench/run.js${cfg.quick ? ' --quick' : ''}`));
}

main().then(() => process.exit(0), (e) => { log(e.stack || e.message); process.exit(1); });
