'use strict';
// The log rotation scenario: an app writes numbered lines at a steady rate while its out log
// is rotated about N times; then every line is looked for in the live file and all the rotated
// ones. Ours rotates in the daemon (`pm2 set pm2:log_rotate true`); pm2 7.0.4 rotates with the
// pm2-logrotate module (`pm2 install pm2-logrotate`, its copy-and-truncate), both configured
// with the same pm2-logrotate keys: max_size = the run's bytes / N, workerInterval 1 s (the
// module's minimum), a retain large enough to keep every file, no compression.
// Also recorded: the CPU the rotating side spent (daemon, plus the module for pm2) and its RSS.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const M = require('./measure');
const I = require('./impl');

const LINE_PAD = 'x'.repeat(24); // `seq <n> <pad>\n`: about 36 bytes a line

// Writes `rate` numbered lines a second, 1000 per write, for `seconds`, then `DONE <n>`.
const WRITER = `'use strict';
const rate = Number(process.env.BENCH_RATE), seconds = Number(process.env.BENCH_SECONDS);
const total = rate * seconds, perTick = 1000, tickMs = 1000 * perTick / rate;
let i = 0; const t0 = Date.now();
function tick() {
  const due = Math.min(total, Math.floor((Date.now() - t0) / tickMs + 1) * perTick);
  let chunk = '';
  while (i < due) chunk += 'seq ' + (i++) + ' ${LINE_PAD}\\n';
  if (chunk) process.stdout.write(chunk);
  if (i < total) setTimeout(tick, tickMs); else process.stdout.write('DONE ' + total + '\\n');
}
tick();
setInterval(() => {}, 1 << 30);
`;

function outFiles(dir, name) {
  return fs.readdirSync(dir).filter((f) => f === `${name}-out.log` || (f.startsWith(`${name}-out__`) && /\.log(\.gz)?$/.test(f)));
}

function read(file) {
  const b = fs.readFileSync(file);
  return file.endsWith('.gz') ? zlib.gunzipSync(b).toString() : b.toString();
}

// Lines lost (never written anywhere), lines found more than once (extra copies), and lines
// found cut or merged, over every file of the app's out log.
function count(dir, name, total) {
  const seen = new Uint8Array(total);
  let broken = 0;
  for (const f of outFiles(dir, name)) {
    for (const line of read(path.join(dir, f)).split('\n')) {
      if (!line || line.startsWith('DONE')) continue;
      const m = /^seq (\d+) x{24}$/.exec(line);
      if (m && Number(m[1]) < total) { if (seen[m[1]] < 255) seen[m[1]]++; } else broken++;
    }
  }
  let lost = 0; let dup = 0;
  for (const n of seen) { if (n === 0) lost++; else dup += n - 1; }
  return { lost, dup, broken };
}

async function rotation(base, ctx, rec) {
  if (!['rotate_lost', 'rotate_dup', 'rotate_cpu', 'rotate_rss'].some(ctx.wantKey)) return;
  const { cfg, log } = ctx;
  const impl = ctx.home(base);
  const isPm2 = /^pm2 /.test(impl.name);
  const name = 'rot';
  const seconds = cfg.rotations; // pm2-logrotate looks once a second at best
  const total = cfg.rotateRate * seconds;
  const bytes = total * `seq ${total} ${LINE_PAD}\n`.length;
  const maxSize = Math.max(1024, Math.floor(bytes / cfg.rotations));
  I.cliOk(impl, ['ping']);
  const daemon = await I.waitDaemonPid(impl);
  let modulePid = null;
  if (isPm2) {
    const r = I.cli(impl, ['install', 'pm2-logrotate'], { timeout: 300000 });
    const list = I.jlist(impl);
    const mod = list.find((p) => p.name === 'pm2-logrotate' && I.statusOf(p) === 'online');
    if (r.code !== 0 || !mod) {
      ctx.note('rotate_lost', 'pm2-logrotate could not be installed from npm: no figures for pm2');
      throw new Error(`pm2 install pm2-logrotate failed: ${(r.stderr || r.stdout).trim().slice(-300)}`);
    }
    modulePid = mod.pid;
  } else {
    I.cliOk(impl, ['set', 'pm2:log_rotate', 'true']);
  }
  for (const [k, v] of [['max_size', String(maxSize)], ['retain', '100000'], ['compress', 'false'], ['workerInterval', '1']]) {
    I.cliOk(impl, ['set', `pm2-logrotate:${k}`, v]);
  }
  if (isPm2) {
    // `pm2 set` restarts the module: use the new one's pid once it is up
    const list = await I.waitList(impl, (l) => l.some((p) => p.name === 'pm2-logrotate' && I.statusOf(p) === 'online' && p.pid !== modulePid), { what: 'pm2-logrotate restarted', timeout: 30000 }).catch(() => I.jlist(impl));
    modulePid = list.find((p) => p.name === 'pm2-logrotate').pid;
  }
  await M.sleep(2000); // settings applied (ours: re-read within a second)
  const app = path.join(impl.home, 'rot-writer.js');
  fs.writeFileSync(app, WRITER);
  const cpu = () => (M.cpuMs(daemon) || 0) + (modulePid ? M.cpuMs(modulePid) || 0 : 0);
  const rss = () => (M.rssMB(daemon) || 0) + (modulePid ? M.rssMB(modulePid) || 0 : 0);
  const cpu0 = cpu();
  const t0 = M.now();
  I.cliOk(impl, ['start', app, '--name', name, '--no-autorestart'], { env: { BENCH_RATE: String(cfg.rotateRate), BENCH_SECONDS: String(seconds) } });
  const dir = path.join(impl.home, 'logs');
  let peak = 0;
  const done = () => outFiles(dir, name).some((f) => { try { return read(path.join(dir, f)).includes(`DONE ${total}\n`); } catch { return false; } });
  while (!done()) {
    peak = Math.max(peak, rss());
    if (M.now() - t0 > (seconds + 120) * 1000) throw new Error(`${impl.name}: the writer's DONE line never reached the log`);
    await M.sleep(200);
  }
  // a rotation may be under way: two of the module's check periods
  await M.sleep(2500);
  peak = Math.max(peak, rss());
  const spent = cpu() - cpu0;
  const rotated = outFiles(dir, name).length - 1;
  const { lost, dup, broken } = count(dir, name, total);
  const what = `${rotated} rotations of ${(maxSize / 1e6).toFixed(2)} MB, ${total.toLocaleString('en-US')} lines in ${seconds} s${broken ? `, ${broken} lines cut or merged` : ''}`;
  log(`rotation / ${impl.name}: ${what}; lost ${lost}, duplicated ${dup}`);
  rec('rotate_lost', lost, what);
  rec('rotate_dup', dup, what);
  rec('rotate_cpu', spent, isPm2 ? 'daemon + pm2-logrotate module' : 'daemon');
  rec('rotate_rss', peak, isPm2 ? 'daemon + pm2-logrotate module, peak' : 'daemon, peak');
}

module.exports = { rotation, KEYS: ['rotate_lost', 'rotate_dup', 'rotate_cpu', 'rotate_rss'] };
