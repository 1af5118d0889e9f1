'use strict';
// A daemon's cgroup for its apps was named `pm2-<pid>`, the pid as its own
// PID namespace sees it: daemons in two containers sharing a cgroup tree
// could take the same name, and one judged the other dead by a pid it could
// not see. Names are now unique and each daemon locks its cgroup while it
// lives: a daemon killed outright leaves its cgroup, the next daemon to start
// removes it once empty, and a live daemon's cgroup stays, empty or not.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { daemonHome, killDaemonOutright, pm2, list, writeApp, waitFor, isAlive, signalPid, needsPidNamespace } = require('./support');

/** The daemon's cgroup directory as pm2.log reports it, or null without cgroups. */
function cgroupDir(home) {
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  const m = /apps run in cgroups under (\S+):/.exec(log);
  return m ? m[1] : null;
}

test('a killed daemon leaves its cgroup; the next one removes it, a live one keeps its own', needsPidNamespace, async (t) => {
  const killed = daemonHome(t, 'faults-cgroup-killed');
  const dead = cgroupDir(killed);
  if (!dead) {
    t.skip('the daemon runs apps without cgroups here');
    return;
  }
  assert.match(path.basename(dead), /^pm2-\d+-\d+-[0-9a-f]{8}$/);
  const live = cgroupDir(daemonHome(t, 'faults-cgroup-live'));
  assert.notStrictEqual(live, dead);

  const script = writeApp(killed, 'app.js', 'setInterval(() => {}, 1000);');
  assert.strictEqual(pm2(killed, ['start', script]).code, 0);
  const appPid = (await list(killed))[0].pid;
  await killDaemonOutright(killed);
  assert.ok(fs.existsSync(dead), 'a daemon killed outright leaves its cgroup');

  // While its app runs the cgroup is in use: a new daemon leaves it.
  const whileBusy = cgroupDir(daemonHome(t, 'faults-cgroup-next'));
  assert.ok(fs.existsSync(path.join(dead, '0')), "the app's cgroup stays while the app runs");
  assert.notStrictEqual(whileBusy, dead);

  if (isAlive(appPid)) signalPid(appPid, 'SIGKILL');
  await waitFor(() => !isAlive(appPid), { what: 'the app to die' });
  daemonHome(t, 'faults-cgroup-after');
  assert.ok(!fs.existsSync(dead), 'the next daemon removes the empty cgroup of the killed one');
  assert.ok(fs.existsSync(live), 'the empty cgroup of a live daemon stays');
  assert.ok(fs.existsSync(whileBusy), 'and so does the cgroup of the other live daemon');
});
