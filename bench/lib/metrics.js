'use strict';
// What is reported, in table order: label, unit, direction, group (for --only), target for ours.
// A target is a function of (ours stats, all results) returning {text, met} or null.
// detail(details), if present, sums up the per-sample details of a side into one note.

// Cluster rows: requests/s through 2 and 4 instances with and without keep-alive (target: at
// least pm2's), then failed requests during N reloads of 4 instances under load (target: none
// with a new connection per request; with keep-alive at most a tenth of pm2's failure rate).
function clusterMetrics(cfg) {
  const C = cfg.httpConns;
  const pm2Median = (res, key) => res[key] && res[key].pm2 && res[key].pm2.stats && res[key].pm2.stats.median;
  const atLeastPm2 = (key) => (s, res) => {
    const p = pm2Median(res, key);
    return p == null ? { text: '≥ pm2', met: null } : { text: `≥ pm2 (${(p / 1e3).toFixed(1)}k)`, met: s.median >= p };
  };
  const sum = (ds, f) => ds.reduce((a, d) => a + f(d), 0);
  // totals over all rounds: failed of total, by kind, and the median reload time
  const detail = (ds) => {
    const errs = {};
    for (const d of ds) for (const [k, v] of Object.entries(d.errors)) errs[k] = (errs[k] || 0) + v;
    const e = Object.entries(errs).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(', ');
    const reload = ds.map((d) => d.reloadMs).sort((a, b) => a - b)[ds.length >> 1];
    return `${sum(ds, (d) => d.failed).toLocaleString('en-US')} failed of ${sum(ds, (d) => d.total).toLocaleString('en-US')} requests${ds.length > 1 ? ` (${ds.length} runs)` : ''}${e ? `: ${e}` : ''}; reload of 4 instances ${(reload / 1000).toFixed(2)} s`;
  };
  // over all samples: each instance's share of the instances' CPU (busiest first), the
  // instances' and the daemon's CPU in cores, and any failed request
  const cpuDetail = (ds) => {
    const n = Math.max(...ds.map((d) => d.inst.length));
    const shares = ds.map((d) => { const t = d.inst.reduce((a, b) => a + b, 0) || 1; return d.inst.map((x) => x / t).sort((a, b) => b - a); });
    const avg = Array.from({ length: n }, (_, i) => sum(shares, (s) => s[i] || 0) / shares.length);
    const ms = sum(ds, (d) => d.ms);
    const failed = sum(ds, (d) => d.failed);
    return `CPU split over the instances ${avg.map((x) => (x * 100).toFixed(0)).join('/')} %, instances ${(sum(ds, (d) => d.inst.reduce((a, b) => a + b, 0)) / ms).toFixed(2)} cores, daemon ${(sum(ds, (d) => d.daemon) / ms).toFixed(2)} cores${failed ? `; ${failed} failed of ${sum(ds, (d) => d.total)}` : ''}`;
  };
  const rps = (n, ka) => ({
    detail: cpuDetail,
    key: `cluster_rps_${n}_${ka ? 'ka' : 'close'}`, group: 'cluster', unit: 'req/s', higher: true, target: atLeastPm2(`cluster_rps_${n}_${ka ? 'ka' : 'close'}`),
    label: `cluster, ${n} instances: requests/s, ${ka ? `${C} keep-alive connections` : `${C} clients, a new connection per request (\`Connection: close\`)`} (${cfg.rpsSeconds} s)`,
  });
  const R = cfg.reloads;
  const inQuick = cfg.quick ? ' [10→3 in --quick]' : '';
  return [
    rps(2, true), rps(2, false), rps(4, true), rps(4, false),
    { key: 'cluster_fail_close', group: 'cluster', unit: 'req', detail,
      label: `cluster, 4 instances: failed requests during ${R} reloads under load, a new connection per request${inQuick}`,
      target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'cluster_fail_ka', group: 'cluster', unit: '%', detail,
      label: `cluster, 4 instances: failed requests during ${R} reloads under load, ${C} keep-alive connections (% of requests)${inQuick}`,
      target: (s, res) => {
        const p = pm2Median(res, 'cluster_fail_ka');
        return p == null ? { text: '≤ pm2 ÷ 10', met: null } : { text: `≤ pm2 ÷ 10 = ${(p / 10).toFixed(4)} %`, met: s.max <= p / 10 };
      } },
  ];
}

function defineMetrics(cfg) {
  const N = cfg.apps;
  const q = (full) => (cfg.quick && N !== full ? ` [${full}→${N} in --quick]` : '');
  const floor = (res) => res.node_boot && res.node_boot.ours && res.node_boot.ours.stats;
  const max = (limit, unit) => (s) => ({ text: `≤ ${limit} ${unit}`, met: s.median <= limit });
  const overFloor = (plus) => (s, res) => {
    const f = floor(res);
    if (!f) return { text: `≤ node -e 0 + ${plus} ms`, met: null };
    return { text: `≤ node -e 0 + ${plus} ms = ${(f.median + plus).toFixed(1)} ms`, met: s.median <= f.median + plus };
  };
  // a throughput at least 0.95 × the bare pipe's, measured in the same run
  const overLogFloor = (key) => (s, res) => {
    const f = res[key] && res[key].ours && res[key].ours.stats;
    if (!f) return { text: '≥ 0.95 × floor', met: null };
    return { text: `≥ 0.95 × floor = ${(f.median * 0.95 / 1e6).toFixed(2)}M lines/s`, met: s.median >= f.median * 0.95 };
  };
  return [
    { key: 'node_boot', group: 'baseline', label: 'bare `node -e 0` (floor; same command in both columns)', unit: 'ms', baseline: true },
    { key: 'ping', group: 'ping', label: 'daemon start → first reply (`pm2 ping`, no daemon)', unit: 'ms' },
    { key: 'rss_idle', group: 'rss', label: 'daemon RSS, idle', unit: 'MB', target: max(4, 'MB') },
    { key: 'rss_20', group: 'rss', label: 'daemon RSS, 20 idle apps', unit: 'MB' },
    { key: 'rss_n', group: 'rss', label: `daemon RSS, ${N} idle apps${q(100)}`, unit: 'MB', target: max(8, 'MB') },
    { key: 'flood_before', group: 'flood', label: 'daemon RSS before log flood', unit: 'MB' },
    { key: 'flood_after', group: 'flood', label: `daemon RSS after ${cfg.floodMB} MB log flood${cfg.quick ? ' [1 GB→100 MB in --quick]' : ''}`, unit: 'MB',
      target: (s, res) => { const b = res.flood_before.ours.stats; return b && { text: `flat: ≤ before + 1 MB`, met: s.median <= b.median + 1 }; } },
    { key: 'flood_peak', group: 'flood', label: 'daemon RSS peak during the flood (sampled every 100 ms)', unit: 'MB',
      target: (s, res) => { const b = res.flood_before.ours.stats; return b && { text: `flat: ≤ before + 1 MB`, met: s.median <= b.median + 1 }; } },
    { key: 'flood_rate', group: 'flood', label: 'log flood rate, app stdout → out log file', unit: 'MB/s', higher: true },
    { key: 'jlist_1', group: 'jlist', label: '`pm2 jlist`, 1 app', unit: 'ms', target: max(2, 'ms') },
    { key: 'jlist_n', group: 'jlist', label: `\`pm2 jlist\`, ${N} apps${q(100)}`, unit: 'ms', target: max(4, 'ms') },
    { key: 'ls_1', group: 'ls', label: '`pm2 ls`, 1 app', unit: 'ms' },
    { key: 'ls_n', group: 'ls', label: `\`pm2 ls\`, ${N} apps${q(100)}`, unit: 'ms' },
    { key: 'start_n', group: 'start', label: `\`pm2 start ecosystem.config.js\`, ${N} apps, until all online${q(100)}`, unit: 's', target: max(1, 's') },
    { key: 'start_listen_floor', group: 'start', label: `${N} bare Node HTTP apps spawned at once by a shell loop (each in its own session), until all listening (floor, measured before and after each managed start)${q(100)}`, unit: 's', baseline: true },
    { key: 'start_listen_n', group: 'start', label: `\`pm2 start ecosystem.config.js\`, the same ${N} HTTP apps, until all listening${q(100)}`, unit: 's',
      target: (s, res) => { const f = res.start_listen_floor && res.start_listen_floor.ours && res.start_listen_floor.ours.stats; return f ? { text: `≤ 1.1 × floor = ${(f.median * 1.1).toFixed(2)} s`, met: s.median <= f.median * 1.1 } : { text: '≤ 1.1 × floor', met: null }; } },
    { key: 'restart_n', group: 'restart', label: `\`pm2 restart all\`, ${N} apps, until all online again${q(100)}`, unit: 's' },
    { key: 'stop_n', group: 'stop', label: `\`pm2 stop all\`, ${N} apps, until all stopped${q(100)}`, unit: 's' },
    { key: 'delete_n', group: 'delete', label: `\`pm2 delete all\`, ${N} apps, until list empty${q(100)}`, unit: 's' },
    { key: 'api', group: 'api', label: 'API script: `connect` + `list` + `disconnect` (whole `node` run)', unit: 'ms', target: overFloor(10) },
    { key: 'overhead', group: 'overhead', label: 'app overhead, metrics on: RSS of an idle app under the manager − the same app under a bare Node parent with an IPC channel (floor)', unit: 'MB', target: max(2, 'MB') },
    { key: 'overhead_off', group: 'overhead', label: 'app overhead, metrics off (`--no-pmx`): the same', unit: 'MB', target: max(0.5, 'MB') },
    { key: 'crash_gap', group: 'crash', label: 'crash → restart gap (consecutive start timestamps)', unit: 'ms', target: overFloor(2) },
    { key: 'crash_floor', group: 'crash', label: 'same gap with a bare `sh` loop respawning the app (floor)', unit: 'ms' },
    { key: 'log_floor', group: 'logs', label: `log throughput floor: the same app piped into \`cat > file\`, ${cfg.logLines / 1e6}M lines, one write per line`, unit: 'lines/s', higher: true, baseline: true },
    { key: 'log_rate', group: 'logs', label: `log throughput, ${cfg.logLines / 1e6}M lines, one write per line, until all in the out log${cfg.quick ? ' [2M→0.5M in --quick]' : ''}`, unit: 'lines/s', higher: true, target: overLogFloor('log_floor') },
    { key: 'log_floor_batch', group: 'logs', label: `log throughput floor: the same app piped into \`cat > file\`, ${cfg.logLines * 4 / 1e6}M lines, 4096 lines per write`, unit: 'lines/s', higher: true, baseline: true },
    { key: 'log_rate_batch', group: 'logs', label: `log throughput, ${cfg.logLines * 4 / 1e6}M lines, 4096 lines per write`, unit: 'lines/s', higher: true, target: overLogFloor('log_floor_batch') },
    { key: 'log_lost', group: 'logs', label: 'log lines lost (both runs)', unit: 'lines', target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'cpu_idle', group: 'cpu', label: `daemon CPU (utime+stime), 20 idle apps reporting metrics, for ${cfg.cpuSeconds} s${cfg.quick ? ' [60→15 s in --quick]' : ''}`, unit: 'ms CPU' },
    { key: 'cpu_apps', group: 'cpu', label: `the 20 idle apps' own CPU over the same ${cfg.cpuSeconds} s (sum; the metrics agent's cost)`, unit: 'ms CPU' },
    ...clusterMetrics(cfg),
    ...require('./scale').metrics(cfg),
    { key: 'abuse_req_rss', group: 'abuse', label: `daemon RSS growth while a client writes ${(cfg.abuseRequests / 1e3).toFixed(0)}k getMonitorData calls and reads no reply (3 apps, ${cfg.abuseWindowMs / 1000} s)`, unit: 'MB', target: max(16, 'MB') },
    { key: 'abuse_req_ping', group: 'abuse', label: 'another client\'s `ping` meanwhile (a fresh connection every 100 ms)', unit: 'ms', target: max(50, 'ms') },
    { key: 'abuse_sub_rss', group: 'abuse', label: `daemon RSS growth while a pub.sock subscriber reads nothing during a ${cfg.abuseLogMB} MB log flood (${cfg.abuseWindowMs / 1000} s)`, unit: 'MB', target: max(16, 'MB') },
    { key: 'abuse_sub_ping', group: 'abuse', label: 'another client\'s `ping` meanwhile', unit: 'ms', target: max(50, 'ms') },
    { key: 'rotate_lost', group: 'rotation', label: `log lines lost across ~${cfg.rotations} rotations while an app writes ${(cfg.rotateRate / 1e3).toFixed(0)}k lines/s (ours: built in; pm2: pm2-logrotate)${cfg.quick ? ' [100→10 in --quick]' : ''}`, unit: 'lines', target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'rotate_dup', group: 'rotation', label: 'log lines duplicated across the same rotations', unit: 'lines', target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'rotate_cpu', group: 'rotation', label: 'CPU of whatever rotates (the daemon, plus the pm2-logrotate module for pm2) over the same run', unit: 'ms CPU' },
    { key: 'rotate_rss', group: 'rotation', label: 'RSS of whatever rotates over the same run (peak)', unit: 'MB' },
    { key: 'runtime_rss', group: 'runtime', label: '`pm2-runtime app.js` (one HTTP app): RSS of the pm2-runtime process', unit: 'MB' },
    { key: 'runtime_online', group: 'runtime', label: '`pm2-runtime app.js`: command start → app listening', unit: 'ms' },
    { key: 'dash_cpu_closed', group: 'dashboard', label: `daemon CPU, ${N} idle apps, \`pm2 web\` on, no dashboard page open, for ${cfg.cpuSeconds} s${q(100)}`, unit: '% core' },
    { key: 'dash_cpu_open', group: 'dashboard', label: `daemon CPU, ${N} idle apps, one dashboard page's live feed open, for ${cfg.cpuSeconds} s${q(100)}`, unit: '% core',
      target: (s, res) => { const c = res.dash_cpu_closed && res.dash_cpu_closed.ours && res.dash_cpu_closed.ours.stats; return c ? { text: `≤ no page + 1 % = ${(c.median + 1).toFixed(2)} %`, met: s.median <= c.median + 1 } : { text: '≤ no page + 1 % of a core', met: null }; } },
    { key: 'update_restarts', group: 'update', label: `\`pm2 update\` with ${N} idle apps and a 4-instance cluster under HTTP load: processes restarted (pid changed)${q(100)}`, unit: 'procs', target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'update_failed', group: 'update', label: `\`pm2 update\`, the same: failed HTTP requests (${cfg.httpConns >> 1} keep-alive connections and ${cfg.httpConns >> 1} clients with a new connection per request)`, unit: 'req', target: (s) => ({ text: '0', met: s.max === 0 }) },
    { key: 'update_time', group: 'update', label: '`pm2 update`, the same: command start → every app online again', unit: 's' },
    { key: 'runtime_floor', group: 'runtime', label: 'same app started bare with `node app.js`: start → listening (floor)', unit: 'ms' },
    ...require('./bulk').bulkMetrics(cfg),
  ];
}

module.exports = { defineMetrics };
