#!/usr/bin/env node
'use strict';
// Writes crates/daemon/hot-code.txt: the daemon's functions that an
// everyday session runs, busiest first. The linker places them side by
// side at the front of the code (crates/daemon/build.rs), so the pages a
// running daemon keeps resident hold its working code and little else; see
// "Code layout" in docs/performance.md.
//
//   node scripts/hot-code.js        # after `npm run build` (it drives the built CLI)
//
// It runs the daemon that build made (target/release/pm2-daemon, which
// keeps its symbols) under valgrind's callgrind in a temp PM2_HOME, drives
// it through the CLI (fork and cluster apps, logs, listings, restarts,
// reloads, metrics, save and resurrect, logrotate settings), stops it, and
// lists every function of that binary that ran, by instructions spent in
// it. The names fit only the build they were read from (features and
// profile settings change them): make the list again after changing the
// daemon's dependencies or the release profile, then build again. Code
// changed since the list was made still links; it just sits outside the
// packed part. Needs valgrind.

const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'crates', 'daemon', 'hot-code.txt');
const cli = path.join(require(path.join(root, 'lib', 'platform.js')).nativeDir(), 'pm2-cli');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The daemon scripts/build.js built, before it stripped its copy. */
function builtDaemon() {
  const bin = path.join(root, 'target', 'release', 'pm2-daemon');
  const symbols = execFileSync('readelf', ['-S', '-W', bin]).toString().includes('.symtab');
  if (!symbols) throw new Error(`${bin} has no symbol table: build with \`npm run build\` first`);
  return bin;
}

async function waitFor(what, test, ms = 120000) {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The everyday work: what a user's session and the benchmarks ask of a daemon. */
async function drive(home) {
  const env = { ...process.env, PM2_HOME: home };
  const pm2 = (...args) => execFileSync(cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 }).toString();
  const apps = path.join(home, 'apps');
  fs.mkdirSync(apps);
  const idle = path.join(apps, 'idle.js');
  fs.writeFileSync(idle, 'setInterval(() => {}, 1000);\n');
  const http = path.join(apps, 'http.js');
  fs.writeFileSync(http, "require('http').createServer((q, s) => s.end('ok')).listen(0);\n");
  const flood = path.join(apps, 'flood.js');
  fs.writeFileSync(flood, "const s = 'x'.repeat(99) + '\\n'; let n = 0; (function f() { while (n++ < 20000) if (!process.stdout.write(s)) return process.stdout.once('drain', f); console.error('done'); })(); setInterval(() => {}, 1000);\n");
  const eco = path.join(apps, 'ecosystem.config.js');
  fs.writeFileSync(eco, `module.exports = { apps: [
    { name: 'web', script: ${JSON.stringify(http)}, exec_mode: 'cluster', instances: 2 },
    { name: 'worker', script: ${JSON.stringify(idle)}, env: { A: '1' } },
    { name: 'worker2', script: ${JSON.stringify(idle)}, max_memory_restart: '200M' },
  ] };\n`);

  pm2('ping');
  pm2('start', idle, '--name', 'one');
  pm2('start', eco);
  pm2('start', flood, '--name', 'flood');
  const outLog = path.join(home, 'logs', 'flood-out.log');
  await waitFor('the flood', () => fs.existsSync(outLog) && fs.statSync(outLog).size >= 2000000);
  for (let i = 0; i < 3; i++) { pm2('jlist'); pm2('ls'); }
  pm2('describe', 'one');
  pm2('logs', '--nostream', '--lines', '5');
  await sleep(5000); // metrics from the agents, memory polling, a state-record write
  pm2('restart', 'one');
  pm2('reload', 'web');
  pm2('restart', 'all');
  pm2('stop', 'worker');
  pm2('start', 'worker');
  pm2('scale', 'web', '3');
  pm2('set', 'pm2-logrotate:max_size', '10M');
  pm2('save');
  pm2('flush');
  pm2('reloadLogs');
  pm2('stop', 'all');
  pm2('delete', 'all');
  pm2('resurrect');
  pm2('jlist');
  pm2('delete', 'all');
  pm2('kill');
}

/** Self cost of each function of `binary` in a callgrind profile. */
function costs(profile, binary) {
  const names = new Map(); // "(12)" -> name, shared by fn= and cfn=
  const objects = new Map();
  const name = (spec, table) => {
    const m = /^(\(\d+\))(?: (.*))?$/.exec(spec);
    if (!m) return spec;
    if (m[2] !== undefined) table.set(m[1], m[2]);
    return table.get(m[1]);
  };
  const self = new Map();
  let ob = null;
  let fn = null;
  let skipNext = false;
  for (const line of fs.readFileSync(profile, 'utf8').split('\n')) {
    if (skipNext) { skipNext = false; continue; }
    if (line.startsWith('ob=')) ob = name(line.slice(3), objects);
    else if (line.startsWith('cob=')) name(line.slice(4), objects);
    else if (line.startsWith('fn=')) fn = name(line.slice(3), names);
    else if (line.startsWith('cfn=')) name(line.slice(4), names);
    else if (line.startsWith('calls=')) skipNext = true; // the call's inclusive cost
    else if (/^[+\-*\d]/.test(line) && ob === binary && fn) {
      // "<position> <instructions>"; positions may be relative (+3, -2, *).
      const ir = Number(line.trim().split(/\s+/)[1] || 0);
      self.set(fn, (self.get(fn) || 0) + ir);
    }
  }
  return self;
}

async function main() {
  const binary = builtDaemon();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2hc-'));
  const profile = path.join(home, 'callgrind.out');
  const daemon = spawn('valgrind', ['--tool=callgrind', '--demangle=no', `--callgrind-out-file=${profile}`, binary], {
    env: { ...process.env, PM2_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  daemon.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((r) => daemon.on('exit', r));
  try {
    await waitFor('the daemon under valgrind', () => fs.existsSync(path.join(home, 'rpc.sock')));
    await drive(home);
    await Promise.race([exited, sleep(60000).then(() => { throw new Error('the daemon did not exit'); })]);
    const self = costs(profile, fs.realpathSync(binary));
    if (self.size === 0) throw new Error(`no function of ${binary} in the profile:\n${stderr}`);
    const ranked = [...self].filter(([, ir]) => ir > 0).sort((a, b) => b[1] - a[1]).map(([f]) => f);
    fs.writeFileSync(out, ranked.join('\n') + '\n');
    console.log(`${ranked.length} functions written to ${path.relative(root, out)}`);
  } finally {
    try { daemon.kill('SIGKILL'); } catch { /* gone */ }
    try { execFileSync(cli, ['kill'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore', timeout: 10000 }); } catch { /* none left */ }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`hot-code: ${e.message}`); process.exit(1); });
