'use strict';
// The benchmark scenarios. Each runs one implementation in a fresh PM2_HOME and records
// samples with rec(key, value); run.js alternates implementations and tears down after each.
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const M = require('./measure');
const I = require('./impl');
const { writeFixtures, writeEcosystem, linesBytes } = require('./fixtures');
const abuse = require('./abuse');
const runtimeBench = require('./runtime');
const logrotate = require('./logrotate');
const dashboardBench = require('./dashboard');
const updateBench = require('./update');
const H = require('./http-load');

const nowEpoch = () => performance.timeOrigin + performance.now();

// A copy of fixture `name` with process.env values baked in, so they reach the app however
// the manager passes (or does not pass) the CLI's environment.
function withEnv(fx, name, env) {
  const p = path.join(path.dirname(fx[name]), `${name}-${Object.values(env).join('-').replace(/[^\w.-]/g, '_').slice(0, 40)}.js`);
  fs.writeFileSync(p, `Object.assign(process.env, ${JSON.stringify(env)});\n${fs.readFileSync(fx[name], 'utf8')}`);
  return p;
}

function latency(impl, argv, cfg, extraEnv = {}) {
  return M.timeCommand(argv, { env: I.envOf(impl, extraEnv), runs: cfg.hfRuns, warmup: cfg.hfWarmup, tmpDir: impl.home });
}

// Wait until `log` holds lines 'line 0'..'line N-1' (or stops growing for 3 s); count them.
async function linesToLog(log, N, t0File) {
  const expected = linesBytes(N);
  const lastLine = Buffer.from(`line ${N - 1}\n`);
  let size = -1; let grewAt = M.now(); let end = null;
  const t00 = M.now();
  for (;;) {
    let s = 0; try { s = fs.statSync(log).size; } catch { /* not yet */ }
    if (s !== size) { size = s; grewAt = M.now(); end = nowEpoch(); }
    if (s >= expected) {
      const buf = Buffer.alloc(lastLine.length);
      const h = fs.openSync(log, 'r'); fs.readSync(h, buf, 0, buf.length, s - buf.length); fs.closeSync(h);
      if (buf.equals(lastLine)) { end = nowEpoch(); break; }
    }
    if (M.now() - grewAt > 3000 || M.now() - t00 > 120000) break; // stalled: lines were lost
    await M.sleep(2);
  }
  let t0 = null;
  try { t0 = Number(fs.readFileSync(t0File, 'utf8')); } catch { throw new Error(`lines app never started (${t0File} missing)`); }
  const seen = new Uint8Array(N); let uniq = 0;
  let text = ''; try { text = fs.readFileSync(log, 'utf8'); } catch { /* no log at all */ }
  for (const line of text.split('\n')) {
    const m = /line (\d+)$/.exec(line);
    if (m) { const i = Number(m[1]); if (i < N && !seen[i]) { seen[i] = 1; uniq++; } }
  }
  fs.rmSync(log, { force: true });
  const seconds = (end - t0) / 1000;
  return { rate: uniq / seconds, seconds, lost: N - uniq };
}

function outLogOf(impl, name) {
  const p = I.jlist(impl).find((x) => x.name === name);
  return (p && p.pm2_env && p.pm2_env.pm_out_log_path) || path.join(impl.home, 'logs', `${name}-out.log`);
}

// The daemon's CPU and the apps' (summed) over the window: with the apps reporting metrics
// every second, the first is what receiving them costs, the second what sending them costs.
async function cpuWindow(impl, pid, cfg, rec) {
  await M.sleep(cfg.settleMs);
  const apps = I.jlist(impl).map((p) => p.pid).filter(Boolean);
  const appsCpu = () => apps.reduce((a, p) => a + (M.cpuMs(p) || 0), 0);
  const c0 = M.cpuMs(pid); const a0 = appsCpu();
  await M.sleep(cfg.cpuSeconds * 1000);
  const c1 = M.cpuMs(pid); const a1 = appsCpu();
  const share = (ms) => `${((ms / (cfg.cpuSeconds * 1000)) * 100).toFixed(2)}% of a core`;
  rec('cpu_idle', c1 - c0, `${share(c1 - c0)}; ${1000 / M.CLK_TCK} ms ticks`);
  rec('cpu_apps', a1 - a0, `${share(a1 - a0)} for ${apps.length} apps`);
}

// ---- boot: cold ping, idle RSS, 1-app latencies, API, app overhead, crash gap, logs --------
async function boot(base, ctx, rec) {
  const { cfg, want } = ctx;
  let impl = null;
  // cold start: a fresh home each sample
  const pings = want('ping') ? cfg.pingSamples : 1;
  for (let k = 0; k < pings; k++) {
    if (impl) I.teardownSync(impl);
    impl = ctx.home(base);
    const r = I.cliOk(impl, ['ping'], { timeout: 30000 });
    if (want('ping')) rec('ping', r.ms);
  }
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const pid = await I.waitDaemonPid(impl);

  if (want('rss')) { await M.sleep(cfg.settleMs); rec('rss_idle', M.rssMB(pid)); }

  if (want('baseline')) for (const t of M.timeCommand([process.execPath, '-e', '0'], { runs: cfg.hfRuns, warmup: cfg.hfWarmup, tmpDir: impl.home })) rec('node_boot', t);

  if (want('overhead') || want('jlist') || want('ls') || want('api')) {
    I.cliOk(impl, ['start', fx.idle, '--name', 'one']);
    if (want('overhead')) I.cliOk(impl, ['start', fx.idle, '--name', 'off', '--no-pmx']);
    // the floor: the same app spawned by a bare Node parent (this one) with an IPC channel,
    // so the channel's own cost is not counted as the manager's
    const bare = spawn(process.execPath, [fx.idle], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    bare.on('message', () => {});
    ctx.track(bare);
    try {
      const n = want('overhead') ? 2 : 1;
      const list = await I.waitList(impl, (l) => l.length === n && l.every((p) => I.statusOf(p) === 'online' && p.pid), { what: 'apps online' });
      if (want('overhead')) {
        await M.sleep(Math.max(cfg.settleMs, 3000)); // the agent's first reports are in
        const pidOf = (name) => list.find((p) => p.name === name).pid;
        const on = M.rssMB(pidOf('one')); const off = M.rssMB(pidOf('off')); const floorRss = M.rssMB(bare.pid);
        rec('overhead', on - floorRss, `${on.toFixed(1)} vs ${floorRss.toFixed(1)} MB floor`);
        rec('overhead_off', off - floorRss, `${off.toFixed(1)} vs ${floorRss.toFixed(1)} MB floor`);
      }
    } finally { bare.kill('SIGKILL'); }
    if (want('overhead')) I.cliOk(impl, ['delete', 'off']);
    if (want('jlist')) for (const t of latency(impl, [impl.bin, 'jlist'], cfg)) rec('jlist_1', t);
    if (want('ls')) for (const t of latency(impl, [impl.bin, 'ls'], cfg)) rec('ls_1', t);
    if (want('api')) for (const t of latency(impl, [process.execPath, fx.api], cfg, { BENCH_PKG: impl.pkg })) rec('api', t);
    I.cliOk(impl, ['delete', 'one']);
  }

  if (want('crash')) {
    const K = cfg.crashStarts;
    const gaps = (file) => { const t = fs.readFileSync(file, 'utf8').trim().split('\n').map(Number); return t.slice(1).map((x, i) => x - t[i]); };
    // floor: the same app respawned by a plain shell loop
    const floorFile = path.join(impl.home, 'stamps-bare');
    spawnSync('sh', ['-c', `i=0; while [ $i -lt ${K} ]; do "$0" "$1"; i=$((i+1)); done`, process.execPath, withEnv(fx, 'crash', { BENCH_STAMPS: floorFile })], { stdio: 'ignore', timeout: 60000 });
    for (const g of gaps(floorFile)) rec('crash_floor', g);
    const file = path.join(impl.home, 'stamps');
    fs.writeFileSync(file, '');
    I.cliOk(impl, ['start', withEnv(fx, 'crash', { BENCH_STAMPS: file }), '--name', 'crash']);
    const t0 = M.now();
    while (fs.readFileSync(file, 'utf8').split('\n').length <= K && M.now() - t0 < 15000) await M.sleep(20);
    I.cli(impl, ['delete', 'crash']);
    const g = gaps(file);
    if (g.length === 0) throw new Error('crash app never restarted');
    for (const x of g.slice(0, K - 1)) rec('crash_gap', x);
  }

  if (want('logs')) {
    for (const [key, batch, N] of [['log_rate', 1, cfg.logLines], ['log_rate_batch', 4096, cfg.logLines * 4]]) {
      const name = `lines${batch}`;
      const app = withEnv(fx, 'lines', { BENCH_LINES: String(N), BENCH_BATCH: String(batch), BENCH_T0: path.join(impl.home, `${name}-t0`) });
      I.cliOk(impl, ['start', app, '--name', name]);
      const r = await linesToLog(outLogOf(impl, name), N, path.join(impl.home, `${name}-t0`));
      I.cliOk(impl, ['delete', name]);
      // floor: the same app piped into `cat > file`, no manager
      const floorLog = path.join(impl.home, `${name}-bare.log`);
      const floorT0 = path.join(impl.home, `${name}-bare-t0`);
      const sh = spawn('sh', ['-c', '"$0" "$1" | cat > "$2"', process.execPath, withEnv(fx, 'lines', { BENCH_LINES: String(N), BENCH_BATCH: String(batch), BENCH_T0: floorT0 }), floorLog], { stdio: 'ignore', detached: true });
      ctx.track(sh);
      let f;
      try { f = await linesToLog(floorLog, N, floorT0); } finally { try { process.kill(-sh.pid, 'SIGKILL'); } catch { /* gone */ } }
      rec(key, r.rate, `${r.seconds.toFixed(2)} s`);
      rec(batch === 1 ? 'log_floor' : 'log_floor_batch', f.rate, `${f.seconds.toFixed(2)} s`);
      rec('log_lost', r.lost);
    }
  }

  if (want('flood')) {
    const bytes = cfg.floodMB * 1e6; const expected = Math.ceil(bytes / 100) * 100;
    await M.sleep(cfg.settleMs);
    const before = M.rssMB(pid); rec('flood_before', before);
    const t0 = M.now();
    I.cliOk(impl, ['start', withEnv(fx, 'flood', { BENCH_BYTES: String(bytes) }), '--name', 'flood']);
    const log = outLogOf(impl, 'flood');
    let peak = before; let size = -1; let grewAt = M.now(); let doneAt = null;
    for (;;) {
      const r = M.rssMB(pid); if (r > peak) peak = r;
      let s = 0; try { s = fs.statSync(log).size; } catch { /* not yet */ }
      if (s !== size) { size = s; grewAt = M.now(); }
      if (s >= expected) { doneAt = M.now(); break; }
      if (M.now() - grewAt > 5000 || M.now() - t0 > cfg.floodTimeoutMs) break;
      await M.sleep(100);
    }
    await M.sleep(cfg.settleMs);
    const after = M.rssMB(pid); if (after > peak) peak = after;
    rec('flood_after', after);
    rec('flood_peak', peak);
    if (doneAt) rec('flood_rate', expected / 1e6 / ((doneAt - t0) / 1000));
    else ctx.note('flood_rate', `stalled at ${(size / 1e6).toFixed(0)} of ${expected / 1e6} MB`);
    I.cli(impl, ['delete', 'flood']);
    fs.rmSync(log, { force: true });
  }
}

// ---- fleet: N apps from one ecosystem file; RSS, latencies, start/restart/stop/delete ------
async function fleet(base, ctx, rec) {
  const { cfg, want } = ctx;
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const N = cfg.apps;
  I.cliOk(impl, ['ping']); // daemon already up: time the apps, not the daemon's boot
  const pid = await I.waitDaemonPid(impl);
  const eco = writeEcosystem(path.join(impl.home, 'fx'), N, fx.idle);
  const allOnline = (l) => l.length === N && l.every((p) => I.statusOf(p) === 'online' && p.pid);

  let t0 = M.now();
  I.cliOk(impl, ['start', eco], { timeout: 300000 });
  let list = await I.waitList(impl, allOnline, { timeout: 120000, what: `${N} apps online` });
  rec('start_n', (M.now() - t0) / 1000);

  await M.sleep(cfg.settleMs);
  if (want('rss')) rec('rss_n', M.rssMB(pid));
  if (want('jlist')) for (const t of latency(impl, [impl.bin, 'jlist'], cfg)) rec('jlist_n', t);
  if (want('ls')) for (const t of latency(impl, [impl.bin, 'ls'], cfg)) rec('ls_n', t);
  if (want('cpu') && N === 20) await cpuWindow(impl, pid, cfg, rec);

  if (want('restart')) {
    const old = new Set(list.map((p) => p.pid));
    t0 = M.now();
    I.cliOk(impl, ['restart', 'all'], { timeout: 300000 });
    list = await I.waitList(impl, (l) => allOnline(l) && l.every((p) => !old.has(p.pid)), { timeout: 120000, what: 'all restarted' });
    rec('restart_n', (M.now() - t0) / 1000);
  }
  if (want('stop')) {
    t0 = M.now();
    I.cliOk(impl, ['stop', 'all'], { timeout: 300000 });
    await I.waitList(impl, (l) => l.every((p) => I.statusOf(p) === 'stopped'), { timeout: 120000, what: 'all stopped' });
    rec('stop_n', (M.now() - t0) / 1000);
  }
  if (want('delete')) {
    t0 = M.now();
    I.cliOk(impl, ['delete', 'all'], { timeout: 300000 });
    await I.waitList(impl, (l) => l.length === 0, { timeout: 120000, what: 'empty list' });
    rec('delete_n', (M.now() - t0) / 1000);
  }
}

// ---- listen: N HTTP apps until all listen, under the manager and spawned bare -------------
// Counts the pids the apps append to a file once listening; the clock starts at the
// command (ours, pm2) or at the shell that spawns them all (the floor).
async function allListening(file, n, t0, timeout = 120000) {
  for (;;) {
    let lines = 0;
    try { lines = fs.readFileSync(file, 'utf8').split('\n').length - 1; } catch { /* none yet */ }
    if (lines >= n) return (M.now() - t0) / 1000;
    if (M.now() - t0 > timeout) throw new Error(`${lines} of ${n} apps listening after ${timeout / 1000} s`);
    await M.sleep(5);
  }
}

async function listen(base, ctx, rec) {
  const { cfg } = ctx;
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const N = cfg.apps;
  I.cliOk(impl, ['ping']); // daemon already up, as in the fleet rows
  await I.waitDaemonPid(impl);
  // The floor: N bare apps at once, started by a shell loop (fork + exec, no waiting on
  // each child as Node's spawn does), killed before the managed ones start. Each app leads
  // its own session, as under both managers: with the kernel's autogroup scheduling, apps
  // sharing one session share one CPU share (measured: 18.6 s against 4.5 s for 100 apps
  // on a busy machine). It is measured before and after the managed start, so that a
  // machine slowing down or speeding up during the round weighs on both sides alike.
  const floor = async (tag) => {
    const floorFile = path.join(impl.home, `ready-bare-${tag}`);
    const floorApp = withEnv(fx, 'listen', { BENCH_READY: floorFile });
    const t0f = M.now();
    const sh = spawn('sh', ['-c', `i=0; while [ $i -lt ${N} ]; do setsid "$0" "$1" & i=$((i+1)); done; wait`, process.execPath, floorApp], { stdio: 'ignore' });
    ctx.track(sh);
    try {
      rec('start_listen_floor', await allListening(floorFile, N, t0f));
    } finally {
      // each app has its own session: kill them by the pids they wrote
      const pids = fs.readFileSync(floorFile, 'utf8').split('\n').filter(Boolean).map(Number);
      I.killPids(pids);
      sh.kill('SIGKILL');
    }
    await M.sleep(cfg.settleMs);
  };
  await floor('before');
  const file = path.join(impl.home, 'ready');
  const eco = writeEcosystem(path.join(impl.home, 'fx'), N, withEnv(fx, 'listen', { BENCH_READY: file }), 'web');
  const t0 = M.now();
  I.cliOk(impl, ['start', eco], { timeout: 300000 });
  rec('start_listen_n', await allListening(file, N, t0));
  I.cli(impl, ['delete', 'all'], { timeout: 120000 });
  await M.sleep(cfg.settleMs);
  await floor('after');
}

// ---- idle20: 20 idle apps, RSS and CPU (only when the fleet is not 20 already) --------------
async function idle20(base, ctx, rec) {
  const { cfg, want } = ctx;
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  I.cliOk(impl, ['ping']);
  const pid = await I.waitDaemonPid(impl);
  I.cliOk(impl, ['start', writeEcosystem(path.join(impl.home, 'fx'), 20, fx.idle)], { timeout: 120000 });
  await I.waitList(impl, (l) => l.length === 20 && l.every((p) => I.statusOf(p) === 'online'), { what: '20 apps online' });
  await M.sleep(cfg.settleMs);
  if (want('rss')) rec('rss_20', M.rssMB(pid));
  if (want('cpu')) await cpuWindow(impl, pid, cfg, rec);
}

// ---- cluster: 2 and 4 instances of an http app, throughput, then reloads under load -------
// The load tool is wrk when available (lib/http-load.js), keep-alive or `Connection: close`.
async function waitHttp(url, timeout) {
  const http = require('http');
  const t0 = M.now();
  for (;;) {
    const ok = await new Promise((r) => http.get(url, (res) => { res.resume(); r(res.statusCode === 200); }).on('error', () => r(false)));
    if (ok) return true;
    if (M.now() - t0 > timeout) return false;
    await M.sleep(50);
  }
}

const errText = (e) => Object.entries(e).map(([k, v]) => `${v} ${k}`).join(', ');
const CLUSTER_KEYS = ['cluster_rps_2_ka', 'cluster_rps_2_close', 'cluster_rps_4_ka', 'cluster_rps_4_close', 'cluster_fail_close', 'cluster_fail_ka'];

async function cluster(base, ctx, rec) {
  const { cfg } = ctx;
  const wantK = (k) => ctx.wantKey(k);
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const port = await M.freePort();
  const url = `http://127.0.0.1:${port}/`;
  const app = withEnv(fx, 'http', { BENCH_PORT: String(port) });
  const conns = cfg.httpConns;
  const na = (keys, why) => { for (const k of keys) ctx.note(k, `n/a: ${why}`); };

  const launch = async (n) => {
    const r = I.cli(impl, ['start', app, '-i', String(n), '--name', 'web'], { timeout: 60000 });
    if (r.code !== 0) return `\`start -i ${n}\` exited ${r.code}`;
    try {
      await I.waitList(impl, (l) => l.filter((p) => I.statusOf(p) === 'online').length === n, { timeout: 20000, what: `${n} instances online` });
    } catch { return `${n} instances never online`; }
    if (!(await waitHttp(url, 10000))) return 'app never answered';
    // warm up (JIT, connection pools) with both kinds of load, not measured
    for (const keepAlive of [true, false]) await H.start(ctx, url, { conns, seconds: cfg.warmSeconds, keepAlive }).done;
    return null;
  };
  // CPU of each instance and of the daemon over a sample: shows how evenly the connections
  // were spread, and what the daemon itself spends (pm2's primary hands out every connection)
  const cpuOf = () => {
    const pids = I.jlist(impl).filter((p) => p.name === 'web').map((p) => p.pid);
    const daemon = I.daemonPid(impl);
    return { at: M.now(), pids, inst: pids.map((p) => M.cpuMs(p) || 0), daemon: M.cpuMs(daemon) || 0, daemonPid: daemon };
  };
  const sample = async (key, keepAlive) => {
    if (!wantK(key)) return;
    const c0 = cpuOf();
    const res = await H.start(ctx, url, { conns, seconds: cfg.rpsSeconds, keepAlive }).done;
    const ms = M.now() - c0.at;
    const inst = c0.pids.map((p, i) => (M.cpuMs(p) || 0) - c0.inst[i]);
    const daemon = (M.cpuMs(c0.daemonPid) || 0) - c0.daemon;
    // requests/s counts good answers only; failures (there should be none) are noted
    rec(key, res.ok / res.seconds, res.failed ? `${res.failed} failed (${errText(res.errors)})` : '', { inst, daemon, ms, failed: res.failed, total: res.total });
  };

  for (const n of [2, 4]) {
    const keys = [`cluster_rps_${n}_ka`, `cluster_rps_${n}_close`, ...(n === 4 ? ['cluster_fail_close', 'cluster_fail_ka'] : [])];
    if (!keys.some(wantK)) continue;
    const why = await launch(n);
    if (why) { na(keys, why); I.cli(impl, ['delete', 'web'], { timeout: 60000 }); continue; }
    await sample(`cluster_rps_${n}_ka`, true);
    await sample(`cluster_rps_${n}_close`, false);
    for (const [key, keepAlive] of [['cluster_fail_close', false], ['cluster_fail_ka', true]]) {
      if (n !== 4 || !wantK(key)) continue;
      const load = H.start(ctx, url, { conns, seconds: 600, keepAlive });
      await M.sleep(1000);
      const times = [];
      for (let k = 0; k < cfg.reloads; k++) { times.push(I.cliOk(impl, ['reload', 'web'], { timeout: 120000 }).ms); await M.sleep(200); }
      await M.sleep(1000);
      load.stop();
      const res = await load.done;
      const value = keepAlive ? (res.failed / res.total) * 100 : res.failed;
      rec(key, value, '', { failed: res.failed, total: res.total, errors: res.errors, reloadMs: M.stats(times).median, seconds: res.seconds });
    }
    I.cliOk(impl, ['delete', 'web'], { timeout: 60000 });
    await M.sleep(300);
  }
}

const FLOOD = ['flood_before', 'flood_after', 'flood_peak', 'flood_rate'];
module.exports = {
  // keys: the metrics a scenario records (a scenario runs if any of them is selected)
  SCENARIOS: [
    { name: 'boot', fn: boot, keys: () => ['node_boot', 'ping', 'rss_idle', 'overhead', 'overhead_off', 'jlist_1', 'ls_1', 'api', 'crash_gap', 'crash_floor', 'log_floor', 'log_rate', 'log_floor_batch', 'log_rate_batch', 'log_lost', ...FLOOD] },
    { name: 'fleet', fn: fleet, keys: (cfg) => ['start_n', 'rss_n', 'jlist_n', 'ls_n', 'restart_n', 'stop_n', 'delete_n', ...(cfg.apps === 20 ? ['cpu_idle', 'cpu_apps'] : [])] },
    { name: 'listen', fn: listen, keys: () => ['start_listen_floor', 'start_listen_n'] },
    { name: 'idle20', fn: idle20, keys: (cfg) => (cfg.apps === 20 ? [] : ['rss_20', 'cpu_idle', 'cpu_apps']) },
    { name: 'cluster', fn: cluster, keys: () => CLUSTER_KEYS },
    { name: 'abuse', fn: abuse.abuse, keys: () => abuse.KEYS },
    { name: 'runtime', fn: runtimeBench.runtime, keys: () => runtimeBench.KEYS },
    { name: 'rotation', fn: logrotate.rotation, keys: () => logrotate.KEYS },
    { name: 'dashboard', fn: dashboardBench.dashboard, keys: () => dashboardBench.KEYS },
    { name: 'update', fn: updateBench.update, keys: () => updateBench.KEYS },
    { name: 'bulk', fn: require('./bulk').bulkScenario, keys: (cfg) => require('./bulk').bulkKeys(cfg) },
  ],
};
