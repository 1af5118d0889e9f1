'use strict';
// pm2-runtime, the container entry point: the same one-app HTTP server run in the foreground
// by each implementation's `pm2-runtime app.js`. Records the time from spawning the command
// to the app listening (the app stamps the wall clock in its `listen` callback), then, after
// the settle time, the RSS of the pm2-runtime process itself (the app aside; the note gives
// the app's and the sum). SIGTERM then stops it; teardown kills whatever is left.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const M = require('./measure');

const KEYS = ['runtime_rss', 'runtime_online', 'runtime_floor'];
const nowEpoch = () => performance.timeOrigin + performance.now();

const APP = (port, stamps) => `
require('http').createServer((req, res) => res.end('ok')).listen(${port}, '127.0.0.1', () => {
  require('fs').writeFileSync(${JSON.stringify(stamps)}, (performance.timeOrigin + performance.now()).toFixed(3) + ' ' + process.pid + '\\n');
});
`;

// pm2's package has a pm2-runtime script beside its pm2 bin; ours is the CLI under that name.
function runtimeCommand(impl) {
  const sibling = path.join(path.dirname(impl.bin), 'pm2-runtime');
  return fs.existsSync(sibling) ? { file: sibling, argv0: undefined } : { file: impl.bin, argv0: 'pm2-runtime' };
}

// Resolves with the app's stamp `[epoch ms, pid]` once it has written it.
async function untilListening(stamps, start) {
  const deadline = M.now() + 30000;
  for (;;) {
    let stamp = null;
    try { stamp = fs.readFileSync(stamps, 'utf8').trim().split(' ').map(Number); } catch { /* not yet */ }
    if (stamp && stamp.length === 2) return stamp;
    if (M.now() > deadline) throw new Error(`the app never listened (${start})`);
    await M.sleep(2);
  }
}

// The floor: the same app started bare with `node`, spawn → listening.
async function bare(app, stamps, rec) {
  fs.rmSync(stamps, { force: true });
  const t0 = nowEpoch();
  const cp = spawn(process.execPath, [app], { stdio: 'ignore' });
  const exited = new Promise((r) => cp.on('exit', r));
  try {
    const [at] = await untilListening(stamps, 'bare node');
    rec('runtime_floor', at - t0);
  } finally {
    cp.kill('SIGKILL');
    await exited;
  }
}

async function runtime(base, ctx, rec) {
  const { cfg } = ctx;
  const impl = ctx.home(base);
  const dir = path.join(impl.home, 'fx');
  fs.mkdirSync(dir, { recursive: true });
  const port = await M.freePort();
  const stamps = path.join(dir, 'listening');
  const app = path.join(dir, 'server.js');
  fs.writeFileSync(app, APP(port, stamps));
  const { file, argv0 } = runtimeCommand(impl);
  const out = fs.openSync(path.join(impl.home, 'runtime.log'), 'w');
  const t0 = nowEpoch();
  const cp = spawn(file, [app], { argv0, cwd: dir, env: { ...process.env, PM2_HOME: impl.home }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  ctx.track(cp);
  const exited = new Promise((r) => cp.on('exit', r));
  try {
    const [at, appPid] = await untilListening(stamps, 'under pm2-runtime');
    rec('runtime_online', at - t0);
    await M.sleep(cfg.settleMs);
    const rss = M.rssMB(cp.pid);
    const appRss = M.rssMB(appPid);
    rec('runtime_rss', rss, `app ${appRss.toFixed(1)} MB, pm2-runtime + app ${(rss + appRss).toFixed(1)} MB`);
  } finally {
    cp.kill('SIGTERM');
    await Promise.race([exited, M.sleep(10000)]);
  }
  if (ctx.wantKey('runtime_floor')) await bare(app, stamps, rec);
}

module.exports = { runtime, KEYS };
