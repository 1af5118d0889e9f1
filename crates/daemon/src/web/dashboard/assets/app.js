'use strict';
// The PM2 dashboard: a live process list fed by server-sent events, the
// selected app's details and log, and its actions. Everything the page
// shows of an app is set as text, never as HTML.

const TOKEN = new URLSearchParams(location.search).get('token') || '';
const SAMPLES = 120;
const ROW_HEIGHT = 32;
const LOG_LINES = 2000;
const $ = (id) => document.getElementById(id);

const procs = new Map(); // id -> {row, cpu: [], mem: []}
let order = [];          // ids shown, filtered and sorted
let selected = null;
let host = {};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${TOKEN}` }, opts.headers || {});
  return fetch(path, Object.assign({}, opts, { headers })).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(body.err || `HTTP ${r.status}`), { status: r.status });
    return body;
  });
}

// ---- formatting
function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  const u = ['b', 'kb', 'mb', 'gb', 'tb'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n >= 10 || i === 0 ? 0 : 1)}${u[i]}`;
}
function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}D`;
}
function uptimeOf(r) { return r.status === 'online' && r.uptime ? Date.now() - r.uptime : NaN; }

// ---- sparklines: an SVG polyline over the samples kept
const SVG = 'http://www.w3.org/2000/svg';
// CPU is drawn from zero; memory between its lowest and highest, so that
// growth shows.
function drawLine(svg, values, w, h, fromZero) {
  let line = svg.firstChild;
  if (!line) { line = document.createElementNS(SVG, 'polyline'); svg.appendChild(line); }
  const low = fromZero ? 0 : Math.min(...values);
  const high = Math.max(...values);
  const span = high - low;
  const y = (v) => (span > 0 ? h - 1 - ((v - low) / span) * (h - 2) : h / 2);
  // The first minute spreads over the whole width, then it scrolls.
  const slots = Math.min(SAMPLES, Math.max(30, values.length));
  const step = w / (slots - 1);
  const start = slots - values.length;
  line.setAttribute('points', values.map((v, i) =>
    `${((start + i) * step).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
  svg.dataset.points = String(values.length);
}
function spark(values, fromZero) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 64 20');
  svg.setAttribute('preserveAspectRatio', 'none');
  drawLine(svg, values, 64, 20, fromZero);
  return svg;
}

// ---- the list: only the rows in view are in the document
function applyFilter() {
  const q = $('filter').value.trim().toLowerCase();
  order = [...procs.values()]
    .filter(({ row }) => !q || `${row.name} ${row.namespace} ${row.status} ${row.id}`.toLowerCase().includes(q))
    .sort((a, b) => a.row.id - b.row.id)
    .map((p) => p.row.id);
  $('count').textContent = `${order.length} of ${procs.size} processes`;
  $('spacer').style.height = `${order.length * ROW_HEIGHT}px`;
  renderRows();
}

function renderRows() {
  const vp = $('viewport');
  const inView = Math.ceil(vp.clientHeight / ROW_HEIGHT);
  const top = Math.min(Math.floor(vp.scrollTop / ROW_HEIGHT), Math.max(0, order.length - inView));
  const first = Math.max(0, top - 5);
  const last = Math.min(order.length, top + inView + 5);
  const rows = $('rows');
  rows.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
  const frag = document.createDocumentFragment();
  for (let i = first; i < last; i++) frag.appendChild(rowElement(procs.get(order[i])));
  rows.replaceChildren(frag);
}

function rowElement(p) {
  const r = p.row;
  const e = el('div', `row${r.id === selected ? ' sel' : ''}`);
  e.setAttribute('role', 'row');
  e.dataset.id = r.id;
  e.appendChild(el('span', 'c-id', String(r.id)));
  const name = el('span', 'c-name', r.name);
  if (r.namespace && r.namespace !== 'default') name.appendChild(el('span', 'ns', r.namespace));
  e.appendChild(name);
  const st = el('span', 'c-status');
  st.appendChild(el('span', `st ${r.status}`, r.status));
  e.appendChild(st);
  e.appendChild(el('span', 'c-pid', r.pid ? String(r.pid) : '–'));
  e.appendChild(el('span', 'c-up', duration(uptimeOf(r))));
  e.appendChild(el('span', 'c-rs', String(r.restarts ?? 0)));
  const cpu = el('span', 'c-cpu');
  cpu.appendChild(el('em', null, `${(r.cpu ?? 0).toFixed(1)}%`));
  cpu.appendChild(spark(p.cpu, true));
  e.appendChild(cpu);
  const mem = el('span', 'c-mem');
  mem.appendChild(el('em', null, bytes(r.mem)));
  mem.appendChild(spark(p.mem, false));
  e.appendChild(mem);
  return e;
}

function renderHost() {
  const h = $('host');
  const used = host.total_mem ? host.total_mem - host.free_mem : NaN;
  const items = [
    ['host', host.hostname],
    ['load', (host.loadavg || []).map((l) => l.toFixed(2)).join(' ')],
    ['cpus', host.cpus],
    ['memory', `${bytes(used)} / ${bytes(host.total_mem)}`],
    ['up', duration((host.uptime || 0) * 1000)],
  ];
  h.replaceChildren(...items.map(([k, v]) => {
    const s = el('span', null, `${k} `);
    s.appendChild(el('b', null, String(v ?? '–')));
    return s;
  }));
}

// ---- the live feed
function take(list, withHistory) {
  const seen = new Set();
  for (const r of list) {
    seen.add(r.id);
    let p = procs.get(r.id);
    if (!p) { p = { row: r, cpu: [], mem: [] }; procs.set(r.id, p); }
    if (withHistory && Array.isArray(r.history)) {
      p.cpu = r.history.map((s) => s[0]);
      p.mem = r.history.map((s) => s[1]);
    }
    p.row = r;
    p.cpu.push(r.cpu ?? 0); p.mem.push(r.mem ?? 0);
    if (p.cpu.length > SAMPLES) p.cpu.splice(0, p.cpu.length - SAMPLES);
    if (p.mem.length > SAMPLES) p.mem.splice(0, p.mem.length - SAMPLES);
  }
  for (const id of [...procs.keys()]) if (!seen.has(id)) procs.delete(id);
  applyFilter();
  if (selected !== null) {
    if (procs.has(selected)) renderSelected(); else closeDetail();
  }
}

function connect() {
  const es = new EventSource(`/api/events?token=${encodeURIComponent(TOKEN)}`);
  const conn = $('conn');
  es.addEventListener('hello', (e) => {
    const d = JSON.parse(e.data);
    conn.textContent = 'live'; conn.className = 'conn on';
    procs.clear();
    host = d.host; renderHost();
    take(d.processes, true);
  });
  es.addEventListener('list', (e) => {
    const d = JSON.parse(e.data);
    host = d.host; renderHost();
    take(d.processes, false);
  });
  es.onerror = () => {
    conn.className = 'conn off';
    if (es.readyState !== EventSource.CLOSED) { conn.textContent = 'reconnecting…'; return; }
    // Refused (a replaced token) or a daemon that went away: try again shortly.
    conn.textContent = 'disconnected: if the token was replaced, open the URL `pm2 web` prints';
    setTimeout(connect, 5000);
  };
}

// ---- the selected app
let logSource = null;
let paused = false;
const held = [];

function select(id) {
  selected = id;
  detailOf = null;
  $('detail-pane').hidden = false;
  $('d-env').replaceChildren();
  $('d-env-box').open = false;
  renderRows();
  renderSelected();
  loadDetail();
  openLog();
}

function closeDetail() {
  selected = null;
  $('detail-pane').hidden = true;
  if (logSource) { logSource.close(); logSource = null; }
}

let detailOf = null; // the pid, status and action count the details were loaded for

function renderSelected() {
  const p = procs.get(selected);
  if (!p) return;
  const r = p.row;
  // A new process (restart, start) brings its own metrics and actions.
  if (detailOf !== null && detailOf !== `${r.pid}:${r.status}:${r.actions}`) loadDetail();
  $('d-title').textContent = `${r.name} (${r.id}) — ${r.status}`;
  $('d-cpu').textContent = `${(r.cpu ?? 0).toFixed(1)}%`;
  $('d-mem').textContent = bytes(r.mem);
  drawLine($('d-cpu-chart'), p.cpu, 240, 60, true);
  drawLine($('d-mem-chart'), p.mem, 240, 60, false);
}

function kvRows(table, pairs) {
  table.replaceChildren(...pairs.map(([k, v]) => {
    const tr = el('tr');
    tr.appendChild(el('td', null, k));
    tr.appendChild(el('td', null, typeof v === 'string' ? v : JSON.stringify(v)));
    return tr;
  }));
}

async function loadDetail() {
  const id = selected;
  let p;
  try { p = await api(`/api/process/${id}`); } catch (e) { toast(e.message, true); return; }
  if (id !== selected) return;
  const e = p.pm2_env || {};
  detailOf = `${p.pid}:${e.status}:${(e.axm_actions || []).length}`;
  kvRows($('d-fields'), [
    ['status', e.status], ['name', p.name], ['namespace', e.namespace], ['pid', p.pid],
    ['version', e.version], ['restarts', e.restart_time], ['unstable restarts', e.unstable_restarts],
    ['uptime', duration(uptimeOf({ status: e.status, uptime: e.pm_uptime }))],
    ['created at', e.created_at ? new Date(e.created_at).toISOString() : '–'],
    ['script path', e.pm_exec_path], ['script args', (e.args || []).join(' ')],
    ['interpreter', e.exec_interpreter], ['interpreter args', (e.node_args || []).join(' ')],
    ['exec mode', e.exec_mode], ['instances', e.instances], ['exec cwd', e.pm_cwd],
    ['out log', e.pm_out_log_path], ['error log', e.pm_err_log_path],
    ['watch', e.watch], ['autorestart', e.autorestart], ['max memory restart', e.max_memory_restart],
    ['cron restart', e.cron_restart], ['node version', e.node_version],
  ].filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const metrics = Object.entries(e.axm_monitor || {});
  $('d-metrics-box').hidden = metrics.length === 0;
  kvRows($('d-metrics'), metrics.map(([k, m]) => [k, m && typeof m === 'object' ? `${m.value ?? ''}${m.unit ? ` ${m.unit}` : ''}` : m]));
  const actions = e.axm_actions || [];
  $('d-custom-box').hidden = actions.length === 0;
  $('d-custom').replaceChildren(...actions.map((a) => {
    const line = el('div', 'custom');
    const b = el('button', null, a.action_name);
    b.dataset.custom = a.action_name;
    const param = el('input');
    param.type = 'text'; param.placeholder = 'parameter (optional)';
    param.setAttribute('aria-label', `${a.action_name} parameter`);
    b.addEventListener('click', () => act('trigger', { name: a.action_name, param: param.value || undefined }));
    line.append(b, param);
    return line;
  }));
}

// ---- the log
function openLog() {
  if (logSource) logSource.close();
  const box = $('log');
  box.replaceChildren();
  held.length = 0;
  const id = selected;
  logSource = new EventSource(`/api/logs?id=${id}&token=${encodeURIComponent(TOKEN)}`);
  logSource.addEventListener('tail', (e) => {
    const d = JSON.parse(e.data);
    for (const l of d.out) addLine(l, false);
    for (const l of d.err) addLine(l, true);
    $('log').scrollTop = $('log').scrollHeight;
  });
  logSource.addEventListener('log', (e) => {
    const d = JSON.parse(e.data);
    for (const l of String(d.data).replace(/\n$/, '').split('\n')) addLine(l, d.err);
  });
  logSource.addEventListener('event', (e) => {
    const d = JSON.parse(e.data);
    addLine(`[pm2] ${d.event}`, false, 'ev');
  });
}

function addLine(text, err, cls) {
  const line = el('div', cls || (err ? 'err' : null), text);
  if (err) line.dataset.stream = 'err';
  if (paused) { held.push(line); if (held.length > LOG_LINES) held.shift(); return; }
  appendLines([line]);
}

function appendLines(lines) {
  const box = $('log');
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  const q = $('log-search').value;
  for (const l of lines) { mark(l, q); box.appendChild(l); }
  while (box.childElementCount > LOG_LINES) box.firstChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight;
  countLog();
}

function mark(line, q) {
  const text = line.textContent;
  if (!q) { line.classList.remove('hide'); line.replaceChildren(text); return; }
  const at = text.toLowerCase().indexOf(q.toLowerCase());
  if (at < 0) { line.classList.add('hide'); return; }
  line.classList.remove('hide');
  const m = el('mark', null, text.slice(at, at + q.length));
  line.replaceChildren(text.slice(0, at), m, text.slice(at + q.length));
}

function countLog() {
  const box = $('log');
  const shown = box.querySelectorAll('div:not(.hide)').length;
  $('log-count').textContent = `${shown} lines${paused ? `, ${held.length} held` : ''}`;
}

// ---- actions
function ask(text) {
  return new Promise((resolve) => {
    $('confirm-text').textContent = text;
    $('confirm').hidden = false;
    const done = (yes) => { $('confirm').hidden = true; $('confirm-yes').onclick = null; $('confirm-no').onclick = null; resolve(yes); };
    $('confirm-yes').onclick = () => done(true);
    $('confirm-no').onclick = () => done(false);
  });
}

function toast(text, bad) {
  const t = el('div', `toast${bad ? ' bad' : ''}`, text);
  $('toasts').appendChild(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

async function act(action, extra = {}) {
  const p = procs.get(selected);
  if (!p) return;
  const what = action === 'trigger' ? `run ${extra.name}${extra.param ? ` with "${extra.param}"` : ''} on` : action;
  if (!(await ask(`${what[0].toUpperCase()}${what.slice(1)} ${p.row.name} (${p.row.id})?`))) return;
  try {
    const r = await api('/api/action', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ action, id: p.row.id }, extra)),
    });
    if (action === 'trigger') toast(`${r.name} on ${p.row.name}: ${JSON.stringify(r.return)}`);
    else if (action === 'flush') toast(`Flushed ${p.row.name}'s logs`);
    else toast(`${action} ${r.name} (${r.id}): ${r.status}${r.pid ? `, pid ${r.pid}` : ''}`);
    if (action === 'flush') $('log').replaceChildren();
    if (action !== 'delete') loadDetail();
  } catch (e) {
    toast(`${action} ${p.row.name}: ${e.message}`, true);
  }
}

async function showEnv() {
  try {
    const r = await api(`/api/env/${selected}`);
    kvRows($('d-env'), Object.entries(r.env));
  } catch (e) {
    // 403: the daemon serves no env without `pm2 web --env`; say so where the env would be.
    if (e.status !== 403) return toast(e.message, true);
    const row = el('tr');
    row.appendChild(el('td', 'env-off', e.message));
    $('d-env').replaceChildren(row);
  }
}

// ---- wiring
$('viewport').addEventListener('scroll', () => requestAnimationFrame(renderRows));
window.addEventListener('resize', renderRows);
$('filter').addEventListener('input', () => { $('viewport').scrollTop = 0; applyFilter(); });
$('rows').addEventListener('click', (e) => {
  const row = e.target.closest('.row');
  if (row) select(Number(row.dataset.id));
});
$('d-actions').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (b) act(b.dataset.action);
});
$('d-env-load').addEventListener('click', showEnv);
$('log-pause').addEventListener('click', () => {
  paused = !paused;
  $('log-pause').setAttribute('aria-pressed', String(paused));
  $('log-pause').textContent = paused ? 'Resume' : 'Pause';
  if (!paused) appendLines(held.splice(0));
  countLog();
});
$('log-search').addEventListener('input', () => {
  const q = $('log-search').value;
  for (const l of $('log').children) mark(l, q);
  $('log').scrollTop = $('log').scrollHeight;
  countLog();
});
connect();
