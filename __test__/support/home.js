'use strict';
// Shared plumbing for the end-to-end tests: a private PM2_HOME per test file,
// waiting on conditions instead of sleeping blindly, and a cleanup that kills
// the daemon and every process it started even when a test failed.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..', '..');
// The native CLI itself (this platform's build, as the pm2 command runs it);
// PM2_TEST_CLI runs the tests against another build of it (the musl one:
// scripts/test-platforms.js).
const cli = process.env.PM2_TEST_CLI
  ? path.resolve(process.env.PM2_TEST_CLI)
  : path.join(require('../../lib/platform').nativeDir() || path.join(root, 'npm', 'missing'), 'pm2-cli');

function makeHome(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm2-${tag}-`));
}

/** Polls `check` (sync or async) until it returns a truthy value, or fails after `timeout` ms. */
async function waitFor(check, { timeout = 10000, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last && last.message ? last.message : last})`);
}

function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to the process `pid`. Anything but one process's pid is
 * refused: kill(0) and kill(-1) would reach the test's own process group (and
 * with it the test runner and CI), or every process there is.
 */
function signalPid(pid, signal) {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`not a pid to signal: ${pid}`);
  process.kill(pid, signal);
}

/** SIGKILLs `pid` if it is still there (see signalPid). */
function killQuietly(pid) {
  try { signalPid(pid, 'SIGKILL'); } catch (e) { if (e.code !== 'ESRCH') throw e; }
}

/** Every process whose environment names this PM2_HOME (daemon and apps). */
function processesOf(home) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (env.split('\0').includes(`PM2_HOME=${home}`)) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** Stops the daemon of `home` and kills anything left that belongs to it, then removes it. */
function cleanupHome(home) {
  try {
    execFileSync(cli, ['kill'], { env: { ...process.env, PM2_HOME: home }, stdio: 'ignore', timeout: 10000 });
  } catch {}
  for (const pid of processesOf(home)) killQuietly(pid);
  fs.rmSync(home, { recursive: true, force: true });
}

/** `pm2(...args)` runs the native CLI with `env` in `cwd`; `jlist()` parses its list (and fails the test on an error). */
function cliRunner(env, cwd, timeout = 20000) {
  const { spawnSync } = require('child_process');
  const assert = require('node:assert');
  function pm2(...args) {
    const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd, timeout });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }
  function jlist() {
    const r = pm2('jlist');
    assert.strictEqual(r.code, 0, r.err);
    return JSON.parse(r.out);
  }
  return { pm2, jlist };
}

function readPid(file) {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

module.exports = { root, cli, makeHome, waitFor, isAlive, signalPid, killQuietly, processesOf, cleanupHome, readPid, cliRunner };
