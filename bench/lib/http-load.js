'use strict';
// HTTP load for the cluster rows: wrk (Debian's package) when it is there, else the bundled
// Node loop (lib/load.js), said so in the report. Only ever aimed at 127.0.0.1.
//   setup({log})                      -> description of the tool, or null if it fell back
//   start(ctx, url, {conns, seconds, keepAlive}) -> {stop(), done: Promise<result>}
// result: {requests, ok, failed, total, errors: {kind: n}, seconds, rps}
//   failed counts every request a client saw fail: refused or reset connections, reads or
//   writes that failed, timeouts and non-2xx answers; total = ok + failed.
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const M = require('./measure');

const TIMEOUT_S = 5; // a request without its answer after 5 s is a failure, for both tools
let wrkBin = null;
let wrkVersion = '?';
let threads = 1;

// Find wrk; if missing and we are root with apt-get, install the Debian package (as for hyperfine).
function setup({ allowInstall = true, log = () => {}, wrkThreads = 1 } = {}) {
  threads = wrkThreads;
  let bin = M.which('wrk');
  if (!bin && allowInstall && process.getuid && process.getuid() === 0 && M.which('apt-get')) {
    log('wrk not found: apt-get install -y wrk');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { env, stdio: 'ignore', timeout: 180000 };
    let r = spawnSync('apt-get', ['install', '-y', '-q', 'wrk'], opts);
    if (r.status !== 0) { spawnSync('apt-get', ['update', '-q'], opts); r = spawnSync('apt-get', ['install', '-y', '-q', 'wrk'], opts); }
    bin = M.which('wrk');
  }
  if (!bin) {
    log('wrk is not available (not installed, and not root with apt-get): the cluster rows use the built-in Node load loop (lib/load.js) instead');
    wrkBin = null;
    return null;
  }
  wrkBin = bin;
  const v = `${spawnSync(bin, ['-v'], { encoding: 'utf8' }).stdout || ''}`.split('\n')[0];
  const m = v.match(/wrk\s+(\S+)/);
  wrkVersion = m ? m[1] : '?';
  return `wrk ${wrkVersion}`;
}
function disable() { wrkBin = null; }
const toolName = () => (wrkBin ? `wrk ${wrkVersion} (${threads} thread${threads > 1 ? 's' : ''}, --timeout ${TIMEOUT_S}s)` : 'built-in Node load loop (lib/load.js; wrk not available)');

// "12.34k" -> 12340
function num(s) {
  const m = /^([\d.]+)([kMG]?)$/.exec(s);
  if (!m) return Number(s);
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 })[m[2]];
}

// Parse wrk's summary.
function parseWrk(out) {
  const req = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  if (!req) throw new Error(`cannot parse wrk output: ${out.slice(0, 400)}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[req[3]];
  const requests = Number(req[1]);
  const seconds = Number(req[2]) * unit;
  const errors = {};
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (se) {
    const [, c, r, w, t] = se.map(Number);
    if (c) errors['connect error'] = c;
    if (r) errors['read error'] = r;
    if (w) errors['write error'] = w;
    if (t) errors.timeout = t;
  }
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx && Number(non2xx[1])) errors['non-2xx'] = Number(non2xx[1]);
  const rpsLine = /Requests\/sec:\s+([\d.]+[kMG]?)/.exec(out);
  const nonOk = errors['non-2xx'] || 0;
  const ok = requests - nonOk;
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return { requests, ok, failed, total: ok + failed, errors, seconds, rps: rpsLine ? num(rpsLine[1]) : requests / seconds };
}

// Start a load run for at most `seconds` (stop() ends it early; the result is the same summary).
function start(ctx, url, { conns = 16, seconds = 10, keepAlive = true } = {}) {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load only against 127.0.0.1, not ${url}`);
  let cp; let parse;
  if (wrkBin) {
    const args = ['-t', String(threads), '-c', String(conns), '-d', `${seconds}s`, '--timeout', `${TIMEOUT_S}s`];
    if (!keepAlive) args.push('-H', 'Connection: close');
    args.push(url);
    cp = spawn(wrkBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    parse = parseWrk;
  } else {
    cp = spawn(process.execPath, [path.join(__dirname, 'load.js'), url, String(conns), String(seconds), keepAlive ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    parse = (out) => {
      const r = JSON.parse(out);
      return { requests: r.ok + r.failed, ok: r.ok, failed: r.failed, total: r.ok + r.failed, errors: r.errors, seconds: r.seconds, rps: r.rps };
    };
  }
  ctx.track(cp);
  let out = ''; let err = '';
  cp.stdout.on('data', (d) => { out += d; });
  cp.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve, reject) => cp.on('exit', (code, sig) => {
    try { resolve(parse(out)); } catch (e) { reject(new Error(`load tool exited ${code ?? sig}: ${e.message}; stderr: ${err.slice(0, 300)}`)); }
  }));
  // wrk prints its summary on SIGINT; the Node loop on SIGTERM or SIGINT
  return { stop: () => { try { cp.kill('SIGINT'); } catch { /* gone */ } }, done };
}

module.exports = { setup, disable, start, toolName, parseWrk, TIMEOUT_S };
