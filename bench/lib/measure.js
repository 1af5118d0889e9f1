'use strict';
// Low-level measurement helpers: /proc readers, statistics, timing loops (hyperfine or our own).
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { spawnSync } = require('child_process');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic

function alive(pid) {
  if (!pid) return false;
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(st); // zombies count as dead
  } catch { return false; }
}

// VmRSS / VmHWM of a pid, in MB (MiB). null if the process is gone.
function procStatusKB(pid, field) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}
const rssMB = (pid) => { const k = procStatusKB(pid, 'VmRSS'); return k == null ? null : k / 1024; };
const hwmMB = (pid) => { const k = procStatusKB(pid, 'VmHWM'); return k == null ? null : k / 1024; };

let CLK_TCK = 100;
try { CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100; } catch { /* keep 100 */ }

// utime+stime of a process (all its threads), in ms of CPU.
function cpuMs(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14, 15
  } catch { return null; }
}

function stats(samples) {
  const s = samples.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// ---- command latency: hyperfine when available, else our own loop -------------------------
let hyperfineBin = null;
let hyperfineNoShell = false;

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

// Find hyperfine; if missing and we are root with apt-get, install the Debian package.
function setupHyperfine({ allowInstall = true, log = () => {} } = {}) {
  let bin = which('hyperfine');
  if (!bin && allowInstall && process.getuid && process.getuid() === 0 && which('apt-get')) {
    log('hyperfine not found: apt-get install -y hyperfine');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { env, stdio: 'ignore', timeout: 180000 };
    let r = spawnSync('apt-get', ['install', '-y', '-q', 'hyperfine'], opts);
    if (r.status !== 0) { spawnSync('apt-get', ['update', '-q'], opts); r = spawnSync('apt-get', ['install', '-y', '-q', 'hyperfine'], opts); }
    bin = which('hyperfine');
    if (!bin) log('could not install hyperfine; using the built-in timing loop');
  }
  hyperfineBin = bin;
  if (bin) {
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout || '';
    const m = v.match(/(\d+)\.(\d+)/);
    hyperfineNoShell = m && (Number(m[1]) > 1 || Number(m[2]) >= 13); // -N appeared in 1.13
    return v.trim();
  }
  return null;
}
function disableHyperfine() { hyperfineBin = null; }

// Times `argv` (no shell) `runs` times after `warmup` runs; returns the list of wall times in ms.
function timeCommand(argv, { env = process.env, runs = 10, warmup = 3, tmpDir = os.tmpdir() } = {}) {
  if (hyperfineBin) {
    const out = path.join(tmpDir, `hf-${process.pid}-${Date.now()}.json`);
    const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
    const cmd = argv.map(quote).join(' ');
    const args = ['--style', 'none', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out];
    if (hyperfineNoShell) args.push('-N');
    args.push(cmd);
    const r = spawnSync(hyperfineBin, args, { env, encoding: 'utf8', timeout: 600000 });
    if (r.status !== 0) throw new Error(`hyperfine failed for ${cmd}: ${(r.stderr || '').trim().slice(0, 400)}`);
    const times = JSON.parse(fs.readFileSync(out, 'utf8')).results[0].times.map((t) => t * 1000);
    fs.rmSync(out, { force: true });
    return times;
  }
  const times = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = now();
    const r = spawnSync(argv[0], argv.slice(1), { env, stdio: 'ignore', timeout: 60000 });
    const dt = now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    if (i >= warmup) times.push(dt);
  }
  return times;
}
const timerName = () => (hyperfineBin ? `hyperfine${hyperfineNoShell ? ' -N' : ''}` : 'built-in spawnSync loop');

module.exports = { sleep, now, alive, rssMB, hwmMB, cpuMs, stats, freePort, which, setupHyperfine, disableHyperfine, timeCommand, timerName, CLK_TCK };
