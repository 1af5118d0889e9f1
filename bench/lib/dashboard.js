'use strict';
// The web dashboard's cost: the daemon's CPU over the same window with N idle apps and
// `pm2 web` on, first with no page open (the dashboard must cost nothing then), then with
// one page's live feed (the server-sent events of /api/events) read throughout. pm2 has no
// such dashboard (its `pm2 web` serves JSON only): its column stays empty, with a note.
const http = require('http');
const path = require('path');
const M = require('./measure');
const I = require('./impl');
const { writeFixtures, writeEcosystem } = require('./fixtures');

const KEYS = ['dash_cpu_closed', 'dash_cpu_open'];

// Reads the event stream at `url` until `stop()`; resolves with the bytes and events read.
function readEvents(url) {
  let bytes = 0; let events = 0; let req;
  const done = new Promise((resolve, reject) => {
    req = http.get(url, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`GET /api/events: HTTP ${res.statusCode}`)); return; }
      res.on('data', (d) => { bytes += d.length; events += (d.toString().match(/^event: /gm) || []).length; });
      res.on('end', () => resolve({ bytes, events }));
      res.on('error', () => resolve({ bytes, events }));
    });
    req.on('error', (e) => (bytes ? resolve({ bytes, events }) : reject(e)));
  });
  return { stop: () => { req.destroy(); return done.catch(() => ({ bytes, events })).then(() => ({ bytes, events })); }, done };
}

async function dashboard(base, ctx, rec) {
  const { cfg } = ctx;
  const impl = ctx.home(base);
  const fx = writeFixtures(path.join(impl.home, 'fx'));
  const N = cfg.apps;
  I.cliOk(impl, ['ping']);
  const pid = await I.waitDaemonPid(impl);
  // pm2 7's CLI has no `pm2 web` at all.
  const on = I.cli(impl, ['web', '0']);
  const m = on.code === 0 && /(http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=[0-9a-f]+)/.exec(on.stdout);
  if (!m) {
    for (const k of KEYS) ctx.note(k, `${base.name}: \`pm2 web\` serves no dashboard`);
    return;
  }
  I.cliOk(impl, ['start', writeEcosystem(path.join(impl.home, 'fx'), N, fx.idle)], { timeout: 300000 });
  await I.waitList(impl, (l) => l.length === N && l.every((p) => I.statusOf(p) === 'online'), { timeout: 120000, what: `${N} apps online` });
  const events = m[1].replace('/dashboard?', '/api/events?');
  const window = cfg.cpuSeconds * 1000;
  const share = (ms) => `${((ms / window) * 100).toFixed(2)}% of a core`;
  await M.sleep(cfg.settleMs);

  let c0 = M.cpuMs(pid);
  await M.sleep(window);
  let c1 = M.cpuMs(pid);
  rec('dash_cpu_closed', ((c1 - c0) / window) * 100, `${c1 - c0} ms CPU in ${cfg.cpuSeconds} s; ${1000 / M.CLK_TCK} ms ticks`);

  const page = readEvents(events);
  await M.sleep(2500); // the first event and the sampler's first tick
  c0 = M.cpuMs(pid);
  await M.sleep(window);
  c1 = M.cpuMs(pid);
  const got = await page.stop();
  rec('dash_cpu_open', ((c1 - c0) / window) * 100, `${c1 - c0} ms CPU in ${cfg.cpuSeconds} s (${share(c1 - c0)}); the page got ${got.events} events, ${(got.bytes / 1024).toFixed(0)} kB`);
}

module.exports = { dashboard, KEYS };
