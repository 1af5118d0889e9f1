'use strict';
// A bus subscriber that never reads must not grow the daemon while an app
// logs heavily: its events are dropped (and reported), the others' are not.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, connect, readFrames, daemonPid, rssBytes, pm2LogLines, waitFor } = require('./support');

const MB = 1024 * 1024;
const LOG_MB = 60;

test('a subscriber that never reads loses events; the daemon stays bounded and others keep receiving', async (t) => {
  const home = makeHome('faults-stalled-sub');
  t.after(() => cleanupHome(home));
  const env = { ...process.env, PM2_HOME: home };
  execFileSync(cli, ['ping'], { env, stdio: 'ignore' });
  const pid = daemonPid(home);
  const baseline = rssBytes(pid);

  const stalled = await connect(path.join(home, 'pub.sock'));
  t.after(() => stalled.destroy());
  stalled.pause();
  const reader = await connect(path.join(home, 'pub.sock'));
  t.after(() => reader.destroy());
  let logEvents = 0;
  let logBytes = 0;
  readFrames(reader, (args) => {
    if (args[0].toString() === 's:log:out') { logEvents++; logBytes += args[1].length; }
  });

  // LOG_MB of 10 KB lines, 1 MB every 30 ms (a pace a reading subscriber can
  // follow), then idle: the test bounds its own disk use.
  const app = path.join(home, 'chatty.js');
  fs.writeFileSync(app, `const line = 'x'.repeat(10 * 1024);
let left = ${LOG_MB};
const burst = setInterval(() => {
  for (let i = 0; i < 100; i++) console.log(line);
  if (--left === 0) clearInterval(burst);
}, 30);
setInterval(() => {}, 1000);
`);
  execFileSync(cli, ['start', app, '--name', 'chatty'], { env, stdio: 'ignore' });
  const outLog = path.join(home, 'logs', 'chatty-out.log');
  const logged = () => { try { return fs.statSync(outLog).size; } catch { return 0; } };

  let peak = baseline;
  await waitFor(() => { peak = Math.max(peak, rssBytes(pid)); return logged() >= LOG_MB * 100 * (10 * 1024 + 1); },
    { timeout: 30000, what: 'the app to finish logging' });
  const grew = (peak - baseline) / MB;
  t.diagnostic(`daemon RSS ${(baseline / MB).toFixed(1)} MB → peak ${(peak / MB).toFixed(1)} MB over a ${LOG_MB} MB log`);
  assert.ok(grew < 32, `daemon RSS grew ${grew.toFixed(1)} MB with a stalled subscriber`);

  const dropLine = () => pm2LogLines(home).find((l) => /pub\.sock subscriber #\d+ is not reading: \d+ events dropped/.test(l));
  await waitFor(dropLine, { what: 'pm2.log to report the drops for the stalled subscriber' });
  // Had the stalled subscriber's backlog cost the reader its events, it would
  // have stopped near the few MB that fit before the drops began.
  await waitFor(() => logBytes > logged() / 2, { what: 'the reading subscriber to receive most of the log' });
  t.diagnostic(`reader got ${logEvents} log:out events, ${(logBytes / MB).toFixed(1)} MB; ${dropLine()}`);
});
