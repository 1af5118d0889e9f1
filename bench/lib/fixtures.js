'use strict';
// Tiny apps the benchmarks run under each manager (written into each PM2_HOME, so every
// process a run starts has that home in its command line and can be found and killed).
const fs = require('fs');
const path = require('path');

const SCRIPTS = {
  // an idle app
  'idle.js': `setInterval(() => {}, 1e6);\n`,

  // N numbered lines to stdout as fast as it can, BENCH_BATCH lines per write (1 = one write
  // per line, like an app that logs), then idle (so the manager does not restart it)
  'lines.js': `
const fs = require('fs');
const N = Number(process.env.BENCH_LINES);
const BATCH = Number(process.env.BENCH_BATCH) || 1;
fs.writeFileSync(process.env.BENCH_T0, String(performance.timeOrigin + performance.now()));
let i = 0;
function pump() {
  while (i < N) {
    let s = '';
    const end = Math.min(N, i + BATCH);
    for (; i < end; i++) s += 'line ' + i + '\\n';
    if (!process.stdout.write(s)) return process.stdout.once('drain', pump);
  }
}
pump();
setInterval(() => {}, 1e6);
`,

  // ~BENCH_BYTES of 100-byte lines to stdout, then idle
  'flood.js': `
const TOTAL = Math.ceil(Number(process.env.BENCH_BYTES) / 100);
const PAD = ' ' + 'x'.repeat(88) + '\\n';
let i = 0;
function pump() {
  while (i < TOTAL) {
    let s = '';
    const end = Math.min(TOTAL, i + 655);
    for (; i < end; i++) s += String(i).padStart(11, '0') + PAD;
    if (!process.stdout.write(s)) return process.stdout.once('drain', pump);
  }
}
pump();
setInterval(() => {}, 1e6);
`,

  // appends a hi-res wall-clock timestamp (ms) at start, then crashes
  'crash.js': `require('fs').appendFileSync(process.env.BENCH_STAMPS, (performance.timeOrigin + performance.now()).toFixed(3) + '\\n');\nprocess.exit(1);\n`,

  // an HTTP server on a free port that appends its pid to BENCH_READY once listening
  // (one short O_APPEND write per app, so concurrent apps never interleave)
  'listen.js': `require('http').createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => require('fs').appendFileSync(process.env.BENCH_READY, process.pid + '\\n'));\n`,

  // minimal http app for cluster mode
  'http.js': `require('http').createServer((req, res) => res.end('ok')).listen(Number(process.env.BENCH_PORT), '127.0.0.1');\n`,

  // programmatic API: connect + list + disconnect
  'api.js': `
setTimeout(() => { console.error('api: timed out'); process.exit(2); }, 10000).unref();
const pm2 = require(process.env.BENCH_PKG);
pm2.connect((err) => {
  if (err) { console.error(err); process.exit(1); }
  pm2.list((err2, list) => {
    if (err2 || !Array.isArray(list)) { console.error(err2 || 'list is not an array'); process.exit(1); }
    pm2.disconnect();
  });
});
`,
};

function writeFixtures(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const out = {};
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, body);
    out[name.replace(/\.js$/, '')] = p;
  }
  return out;
}

// ecosystem.config.js with n copies of `script`, named <prefix>0..n-1
function writeEcosystem(dir, n, script, prefix = 'app') {
  const apps = Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, script }));
  const p = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(p, `module.exports = ${JSON.stringify({ apps }, null, 2)};\n`);
  return p;
}

// bytes of 'line 0\n' .. 'line N-1\n'
function linesBytes(n) {
  let total = 0;
  for (let d = 1, lo = 0; lo < n; d++, lo = lo ? lo * 10 : 10) {
    const hi = Math.min(n, lo ? lo * 10 : 10);
    total += (hi - lo) * (5 + d + 1);
  }
  return total;
}

module.exports = { writeFixtures, writeEcosystem, linesBytes };
