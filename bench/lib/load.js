'use strict';
// Bounded HTTP load loop on loopback, run as a child process so the parent can block on CLI
// commands meanwhile; the fallback when wrk is missing (lib/http-load.js).
// Usage: node load.js <url> <concurrency> <maxSeconds> [keepalive=1|0 (0: a new connection per request)]
// Stops at maxSeconds or on SIGTERM/SIGINT, then prints one JSON line:
// {ok, failed, errors: {code: count}, seconds, rps}
const http = require('http');

const [url, conc = '16', maxSec = '30', ka = '1'] = process.argv.slice(2);
const u = new URL(url);
const agent = new http.Agent({ keepAlive: ka === '1', maxSockets: Number(conc) });
let ok = 0; let failed = 0; const errors = {};
let running = true;
const t0 = process.hrtime.bigint();

function fail(code) { failed++; errors[code] = (errors[code] || 0) + 1; }

function one(done) {
  let finished = false;
  const end = (good, code) => { if (finished) return; finished = true; if (good) ok++; else fail(code); done(good); };
  // without keep-alive, say `Connection: close` (as wrk -H does): with a finite maxSockets
  // Node's agent would otherwise keep reusing its sockets even with keepAlive: false
  const headers = ka === '1' ? {} : { Connection: 'close' };
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, agent, headers, timeout: 5000 }, (res) => {
    res.on('data', () => {});
    res.on('end', () => end(res.statusCode === 200, `HTTP ${res.statusCode}`));
    res.on('error', (e) => end(false, e.code || e.message));
  });
  req.on('timeout', () => { req.destroy(); end(false, 'timeout'); });
  req.on('error', (e) => end(false, e.code || e.message));
  req.end();
}

let workers = Number(conc);
// after a failure, wait 10 ms (a client's retry pace) so a refused port does not turn into a
// tight loop of thousands of failures per second
function loop() { if (!running) { if (--workers === 0) finish(); return; } one((good) => (good ? loop() : setTimeout(loop, 10))); }
function finish() {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ ok, failed, errors, seconds, rps: ok / seconds }) + '\n');
  process.exit(0);
}
function stop() { running = false; setTimeout(finish, 6000).unref(); } // in-flight requests time out after 5 s
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, Number(maxSec) * 1000);
for (let i = 0; i < Number(conc); i++) loop();
