'use strict';
// Machine header, markdown table, results files and the Results section of bench/README.md.
const fs = require('fs');
const os = require('os');
const path = require('path');
const M = require('./measure');

function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: cpus.length,
    cpu: (cpus[0] && cpus[0].model.replace(/\s+/g, ' ').trim()) || '?',
    memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

function fmtNum(v, unit) {
  if (v == null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (unit === 'lines/s' || unit === 'req/s') return a >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : a >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0);
  if (unit === 'lines' || unit === 'req') return String(Math.round(v));
  if (unit === '%') return v === 0 ? '0' : a < 0.01 ? v.toFixed(4) : a < 1 ? v.toFixed(3) : v.toFixed(2);
  if (unit === 'MB/s') return v.toFixed(0);
  if (unit === 's') return v.toFixed(a < 10 ? 2 : 1);
  if (unit === 'MB') return v.toFixed(a < 10 ? 2 : 1);
  return a < 10 ? v.toFixed(2) : a < 100 ? v.toFixed(1) : v.toFixed(0);
}

function cell(slot, unit) {
  if (!slot) return '—';
  const s = slot.stats;
  let txt = '—';
  if (s) txt = `${fmtNum(s.median, unit)} ${unit}` + (s.n > 1 && s.min !== s.max ? ` (${fmtNum(s.min, unit)}–${fmtNum(s.max, unit)})` : '');
  if (slot.notes && slot.notes.length) txt += s ? `; ${slot.notes.join('; ')}` : ` ${slot.notes.join('; ')}`;
  return txt;
}

function ratioText(o, p, higher) {
  if (!o || !p || !o.stats || !p.stats || !p.stats.median) return { value: null, text: '—' };
  if (o.stats.median === 0) return { value: 0, text: `0× (ours 0, ${higher ? 'worse' : 'better'})` };
  const r = o.stats.median / p.stats.median;
  if (!Number.isFinite(r)) return { value: null, text: '—' };
  const good = higher ? r > 1 : r < 1;
  const f = r >= 1 ? r : 1 / r;
  const fx = f >= 10 ? f.toFixed(0) : f.toFixed(1);
  const text = Math.abs(r - 1) < 0.05 ? `${r.toFixed(2)}× (≈ same)` : `${r < 0.01 ? '<0.01' : r.toFixed(2)}× (${fx}× ${good ? 'better' : 'worse'})`;
  return { value: r, text };
}

// results: {key: {ours: {samples, notes}, pm2: {...}}}
function build(metrics, results, meta) {
  for (const m of metrics) for (const side of ['ours', 'pm2']) {
    const slot = results[m.key] && results[m.key][side];
    if (slot) slot.stats = M.stats(slot.samples);
    if (slot && m.detail && slot.details && slot.details.length) slot.notes.push(m.detail(slot.details));
  }
  const rows = [];
  for (const m of metrics) {
    const r = results[m.key];
    if (!r || (!r.ours && !r.pm2)) continue;
    const ratio = m.baseline ? { value: null, text: '—' } : ratioText(r.ours, r.pm2, m.higher);
    let target = null;
    if (m.target && r.ours && r.ours.stats) { try { target = m.target(r.ours.stats, results); } catch { target = null; } }
    rows.push({
      key: m.key, label: m.label + (m.higher ? ' ↑' : ''), unit: m.unit,
      ours: r.ours ? { ...r.ours.stats, samples: r.ours.samples, notes: r.ours.notes, details: r.ours.details } : null,
      pm2: r.pm2 ? { ...r.pm2.stats, samples: r.pm2.samples, notes: r.pm2.notes, details: r.pm2.details } : null,
      oursCell: cell(r.ours, m.unit), pm2Cell: cell(r.pm2, m.unit),
      ratio: ratio.value, ratioText: ratio.text,
      target: target ? target.text : '', met: target ? target.met : null,
    });
  }
  return { meta, rows };
}

const esc = (s) => String(s).replace(/\|/g, '\\|');

function markdown({ meta, rows }) {
  const L = [];
  L.push(`Benchmark: ${meta.oursName} vs ${meta.pm2Name} — ${meta.mode}, ${meta.date}`);
  L.push('');
  L.push(`Machine: ${meta.cores} cores (${meta.cpu}), ${meta.memoryGB} GB RAM, Node ${meta.node}, ${meta.kernel}; load average ${meta.loadStart.join(' ')} at start, ${meta.loadavg.join(' ')} at end. Command latency: ${meta.timer}.${meta.httpLoad ? ` HTTP load: ${meta.httpLoad}, on 127.0.0.1.` : ''}`);
  L.push(`Figures: median (min–max) of all samples; ${meta.rounds} alternating round(s) (ours, pm2, …), latencies ${meta.hfRuns} runs per round after ${meta.hfWarmup} warm-up. Ratio = ours ÷ pm2 (↑ = higher is better). Targets apply to ours.`);
  L.push('');
  L.push('| metric | ours | pm2 | ratio | target | met? |');
  L.push('|---|---|---|---|---|---|');
  for (const r of rows) {
    const met = r.met === true ? '✅' : r.met === false ? '❌' : '';
    L.push(`| ${esc(r.label)} | ${esc(r.oursCell)} | ${esc(r.pm2Cell)} | ${r.ratioText} | ${esc(r.target)} | ${met} |`);
  }
  if (meta.notes && meta.notes.length) { L.push(''); for (const n of meta.notes) L.push(`- ${n}`); }
  return L.join('\n') + '\n';
}

function writeResults(dir, report, md) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.md'), md);
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
}

// Replace the text between <!-- bench:start --> and <!-- bench:end --> in bench/README.md.
function writeReadme(readme, md, cmd) {
  if (!fs.existsSync(readme)) return `no ${readme}`;
  const s = fs.readFileSync(readme, 'utf8');
  // The markers count only on lines of their own, so prose can name them.
  const start = /^<!-- bench:start -->$/m.exec(s); const end = /^<!-- bench:end -->$/m.exec(s);
  const a = start ? start.index : -1; const b = end ? end.index : -1;
  if (a < 0 || b < a) return `no <!-- bench:start --> / <!-- bench:end --> markers in ${readme}`;
  const body = `\n${md}\nReproduce: \`${cmd}\` (or \`npm run bench -- --quick\`; full run without \`--quick\`). Raw figures: \`bench/results/latest.json\`.\n`;
  fs.writeFileSync(readme, s.slice(0, a + '<!-- bench:start -->'.length) + body + s.slice(b));
  return `updated ${readme}`;
}

module.exports = { machine, build, markdown, writeResults, writeReadme };
