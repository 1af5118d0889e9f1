'use strict';
// Implementations under test: {name, bin, pkg, home}. Installs pm2 from npm into a cache,
// runs CLI commands under a private PM2_HOME, and tears everything down (even on failure).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { sleep, now, alive } = require('./measure');

const PM2_VERSION = '7.0.4';

function cacheDir() {
  const inBench = path.join(__dirname, '..', '.cache');
  try { fs.mkdirSync(inBench, { recursive: true }); fs.accessSync(inBench, fs.constants.W_OK); return inBench; } catch {
    const d = path.join(os.tmpdir(), 'pm2-bench-cache'); fs.mkdirSync(d, { recursive: true }); return d;
  }
}

// npm install --prefix <cache>/pm2-7.0.4 pm2@7.0.4, once.
function installPm2(log) {
  const prefix = path.join(cacheDir(), `pm2-${PM2_VERSION}`);
  const pkg = path.join(prefix, 'node_modules', 'pm2');
  const bin = path.join(prefix, 'node_modules', '.bin', 'pm2');
  let have = null;
  try { have = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version; } catch { /* not yet */ }
  if (have !== PM2_VERSION || !fs.existsSync(bin)) {
    log(`installing pm2@${PM2_VERSION} into ${prefix} ...`);
    fs.mkdirSync(prefix, { recursive: true });
    const r = spawnSync('npm', ['install', '--prefix', prefix, `pm2@${PM2_VERSION}`, '--no-audit', '--no-fund', '--no-save', '--loglevel=error'],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 });
    if (r.status !== 0 || !fs.existsSync(bin)) throw new Error('npm install pm2 failed');
  }
  return { bin, pkg, version: PM2_VERSION };
}

function describeOurs(root) {
  root = path.resolve(root);
  const nativeDir = require(path.join(root, 'lib', 'platform.js')).nativeDir() || path.join(root, 'npm', 'missing');
  const bin = path.join(nativeDir, 'pm2-cli');
  if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist (ours not built yet? use --ours-is-pm2 to test the harness)`);
  let version = '?';
  try { version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version; } catch { /* none */ }
  const git = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (git.status === 0) {
    version += ` @ ${git.stdout.trim()}`;
    if (spawnSync('git', ['-C', root, 'diff', '--quiet', 'HEAD'], { stdio: 'ignore' }).status === 1) version += '+dirty';
  }
  // what binaries are being measured (a debug build is much slower than a release one)
  const info = [];
  for (const name of ['pm2-daemon', 'pm2-cli']) {
    const p = path.join(nativeDir, name);
    try {
      const st = fs.statSync(p);
      const f = spawnSync('file', ['-b', p], { encoding: 'utf8' }).stdout || '';
      info.push(`${name} ${(st.size / 1e6).toFixed(1)} MB, built ${st.mtime.toISOString().slice(0, 16).replace('T', ' ')}${/debug_info/.test(f) ? ', has debug info' : ''}`);
    } catch { /* other layout */ }
  }
  return { bin, pkg: root, version, info: info.join('; ') };
}

// ---- homes and cleanup ---------------------------------------------------------------------
const live = new Map(); // home -> impl, for the exit handler
let tmpRoot = null;
let keepTmp = false;

function makeTmpRoot(keep) {
  // short path: unix socket paths ($PM2_HOME/rpc.sock) must stay under 108 bytes
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2b-'));
  keepTmp = !!keep;
  return tmpRoot;
}
let homeSeq = 0;
// A fresh PM2_HOME for one scenario run of one implementation.
function withHome(base, tag) {
  const home = path.join(tmpRoot, `${tag}${++homeSeq}`);
  fs.mkdirSync(home, { recursive: true });
  const impl = { ...base, home };
  live.set(home, impl);
  return impl;
}

const envOf = (impl, extra) => ({ ...process.env, PM2_HOME: impl.home, ...extra });

// Run `<impl.bin> ...args` with PM2_HOME set. Output goes to files, not pipes, so a daemon
// that inherits the CLI's stdio cannot keep us waiting.
function cli(impl, args, { timeout = 120000, env = {} } = {}) {
  const o = path.join(impl.home, `.cli-${process.pid}.out`);
  const e = path.join(impl.home, `.cli-${process.pid}.err`);
  const fo = fs.openSync(o, 'w'); const fe = fs.openSync(e, 'w');
  const t0 = now();
  let r;
  try { r = spawnSync(impl.bin, args, { env: envOf(impl, env), stdio: ['ignore', fo, fe], timeout }); } finally { fs.closeSync(fo); fs.closeSync(fe); }
  const ms = now() - t0;
  const stdout = fs.readFileSync(o, 'utf8'); const stderr = fs.readFileSync(e, 'utf8');
  return { code: r.status, signal: r.signal, error: r.error, ms, stdout, stderr };
}
function cliOk(impl, args, opts) {
  const r = cli(impl, args, opts);
  if (r.code !== 0) throw new Error(`${impl.name}: pm2 ${args.join(' ')} exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-600)}`);
  return r;
}

// `pm2 jlist` -> array; tolerant of banner lines around the JSON.
function jlist(impl) {
  const r = cliOk(impl, ['jlist'], { timeout: 30000 });
  const s = r.stdout; let a = s.indexOf('['); const b = s.lastIndexOf(']');
  try { return JSON.parse(s.trim()); } catch { /* fall through */ }
  while (a !== -1 && a < b) { try { return JSON.parse(s.slice(a, b + 1)); } catch { a = s.indexOf('[', a + 1); } }
  throw new Error(`${impl.name}: cannot parse jlist output: ${s.slice(0, 300)}`);
}
const statusOf = (p) => (p.pm2_env && p.pm2_env.status) || p.status;

// Poll jlist until pred(list) holds; returns the list. Throws on timeout.
async function waitList(impl, pred, { timeout = 60000, interval = 20, what = 'condition' } = {}) {
  const t0 = now(); let list = [];
  for (;;) {
    list = jlist(impl);
    if (pred(list)) return list;
    if (now() - t0 > timeout) throw new Error(`${impl.name}: timed out waiting for ${what} (${list.length} procs: ${list.map(statusOf).join(',')})`);
    await sleep(interval);
  }
}

function daemonPid(impl) {
  try { return Number(fs.readFileSync(path.join(impl.home, 'pm2.pid'), 'utf8').trim()) || null; } catch { return null; }
}
async function waitDaemonPid(impl, timeout = 10000) {
  const t0 = now();
  for (;;) { const p = daemonPid(impl); if (p && alive(p)) return p; if (now() - t0 > timeout) throw new Error(`${impl.name}: no live pid in ${impl.home}/pm2.pid`); await sleep(10); }
}

// Pids that belong to a home: PM2_HOME=<home> in their environment or the home / tmp root in their command line.
function strayPids(home, { subtree = false } = {}) {
  const out = [];
  const needle = Buffer.from(`PM2_HOME=${home}${subtree ? '/' : '\0'}`);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${d}/environ`);
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (env.includes(needle) || cmd.includes(home + '/')) out.push(Number(d));
    } catch { /* gone or not ours */ }
  }
  return out;
}

// Only real pids: kill(0) or kill(-1) would reach the bench itself.
function killPids(pids) { for (const p of pids) { if (p > 1) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } }

// Synchronous so it can run from process 'exit'. `<impl> kill`, then SIGKILL anything left.
function teardownSync(impl) {
  if (!live.has(impl.home)) return;
  const pid = daemonPid(impl);
  if (fs.existsSync(impl.home) && (pid && alive(pid))) {
    try { spawnSync(impl.bin, ['kill'], { env: envOf(impl), stdio: 'ignore', timeout: 15000 }); } catch { /* force below */ }
  }
  const deadline = Date.now() + 3000;
  while (pid && alive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.02']);
  killPids([...(pid && alive(pid) ? [pid] : []), ...strayPids(impl.home)]);
  live.delete(impl.home);
  if (!keepTmp) fs.rmSync(impl.home, { recursive: true, force: true });
}

function teardownAll() {
  for (const impl of [...live.values()]) { try { teardownSync(impl); } catch { /* keep going */ } }
  if (tmpRoot) {
    try { killPids(strayPids(tmpRoot, { subtree: true })); } catch { /* ignore */ }
    if (!keepTmp) fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
}

module.exports = { installPm2, describeOurs, makeTmpRoot, withHome, cli, cliOk, jlist, statusOf, waitList, daemonPid, waitDaemonPid, teardownSync, teardownAll, strayPids, killPids, envOf, PM2_VERSION, getTmpRoot: () => tmpRoot };
