'use strict';
// App options whose effect a user sees: wait_ready, shutdown_with_message,
// stop_exit_codes, exp_backoff_restart_delay, exceptions, signals, env updates.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { makeHome, waitFor, cleanupHome } = require('./support/home');

const home = makeHome('options');
const apps = path.join(__dirname, 'apps');
const pm2 = new (require('..').custom)({ pm2_home: home });

test.before(() => pm2.connect());
test.after(async () => {
  try { await pm2.disconnect(); } catch {}
  cleanupHome(home);
});

const status = async (name) => (await pm2.list()).find((p) => p.name === name).pm2_env.status;
const starts = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').map(Number) : []);

test('wait_ready keeps the app launching until it sends ready', async () => {
  await pm2.start({ script: path.join(apps, 'ready.js'), name: 'ready', wait_ready: true, env: { READY_AFTER: '400', SHUTDOWN_FILE: path.join(home, 'sd') } });
  assert.strictEqual(await status('ready'), 'launching');
  await waitFor(async () => (await status('ready')) === 'online', { what: 'online after ready' });
});

test('shutdown_with_message stops the app with a shutdown message instead of a signal', async () => {
  const file = path.join(home, 'sd2');
  await pm2.start({ script: path.join(apps, 'ready.js'), name: 'polite', shutdown_with_message: true, env: { SHUTDOWN_FILE: file } });
  await pm2.stop('polite');
  assert.strictEqual(fs.readFileSync(file, 'utf8'), 'got shutdown');
  assert.strictEqual(await status('polite'), 'stopped');
});

test('sendSignalToProcessName delivers the signal to the app', async () => {
  await pm2.sendSignalToProcessName('SIGUSR2', 'ready');
  await waitFor(() => /got SIGUSR2/.test(fs.readFileSync(path.join(home, 'logs', 'ready-out.log'), 'utf8')), { what: 'signal handled' });
  await assert.rejects(pm2.sendSignalToProcessName('SIGUSR2', 'ghost'), /not found/);
});

test('an exit code listed in stop_exit_codes is not restarted', async () => {
  const file = path.join(home, 'codes');
  await pm2.start({ script: path.join(apps, 'exit-code.js'), name: 'done', stop_exit_codes: [3], env: { EXIT_CODE: '3', STARTS_FILE: file } });
  await waitFor(async () => (await status('done')) === 'stopped', { what: 'stopped' });
  assert.strictEqual(starts(file).length, 1);
});

test('exp_backoff_restart_delay grows the delay between restarts', async () => {
  // The daemon stamps each bus event, so exit→online gaps measure the delay
  // itself, without Node's boot time (which varies under load): a fork app
  // is online as soon as it is spawned.
  const bus = await pm2.launchBus();
  const events = [];
  bus.on('process:event', (e) => { if (e.process.name === 'backoff') events.push(e); });
  const file = path.join(home, 'backoff');
  await pm2.start({ script: path.join(apps, 'exit-code.js'), name: 'backoff', exp_backoff_restart_delay: 100, env: { EXIT_CODE: '1', STARTS_FILE: file } });
  await waitFor(() => starts(file).length >= 4 && events.filter((e) => e.event === 'online').length >= 4, { what: '4 starts' });
  await pm2.stop('backoff');
  bus.close();
  const gaps = [];
  events.forEach((e, i) => {
    if (e.event !== 'exit') return;
    const next = events.slice(i + 1).find((n) => n.event === 'online');
    if (next) gaps.push(next.at - e.at);
  });
  assert.ok(gaps.length >= 3, `restarts seen: ${gaps.length}`);
  assert.ok(gaps[0] >= 95, `first delay ${gaps[0]}`);
  assert.ok(gaps[1] >= gaps[0] * 1.3 && gaps[2] >= gaps[1] * 1.3, `delays grow: ${gaps.join(', ')}`);
  const [p] = (await pm2.list()).filter((x) => x.name === 'backoff');
  assert.ok(p.pm2_env.prev_restart_delay >= 225);
});

test('an uncaught exception is published as process:exception before the app exits', async () => {
  const bus = await pm2.launchBus();
  const got = new Promise((resolve) => bus.on('process:exception', resolve));
  await pm2.start({ script: path.join(apps, 'throw.js'), name: 'thrower', autorestart: false });
  const packet = await got;
  bus.close();
  assert.strictEqual(packet.process.name, 'thrower');
  assert.match(packet.data.message, /boom from app/);
  assert.match(fs.readFileSync(path.join(home, 'logs', 'thrower-error.log'), 'utf8'), /boom from app/);
});

test('restart with updateEnv refreshes the env from the client; without it the env is kept', async () => {
  const out = path.join(home, 'env.json');
  process.env.CHANGING = 'one';
  await pm2.start({ script: path.join(apps, 'env-dump.js'), name: 'envs', env: { OUT_FILE: out } });
  const read = () => JSON.parse(fs.readFileSync(out, 'utf8')).env.CHANGING;
  await waitFor(() => fs.existsSync(out) && read() === 'one', { what: 'first env' });
  process.env.CHANGING = 'two';
  fs.rmSync(out);
  await pm2.restart('envs');
  await waitFor(() => fs.existsSync(out), { what: 'restarted' });
  assert.strictEqual(read(), 'one');
  fs.rmSync(out);
  await pm2.restart('envs', { updateEnv: true });
  await waitFor(() => fs.existsSync(out), { what: 'restarted with env' });
  assert.strictEqual(read(), 'two');
  delete process.env.CHANGING;
});

test('log_type json writes one JSON object per chunk', async () => {
  await pm2.start({ script: path.join(apps, 'echo.js'), name: 'jsonlog', log_type: 'json' });
  const file = path.join(home, 'logs', 'jsonlog-out.log');
  const line = await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n')[0], { what: 'json line' });
  const entry = JSON.parse(line);
  assert.strictEqual(entry.app_name, 'jsonlog');
  assert.strictEqual(entry.type, 'out');
  assert.match(entry.message, /started jsonlog/);
});

test('--parallel bounds how many processes a restart acts on at once', async () => {
  const { cliRunner } = require('./support/home');
  const { pm2: cli } = cliRunner({ ...process.env, PM2_HOME: home }, home);
  for (const name of ['par-a', 'par-b']) await pm2.start({ script: path.join(apps, 'echo.js'), name });
  const bus = await pm2.launchBus();
  const events = [];
  bus.on('process:event', (e) => { if (e.process.name.startsWith('par-')) events.push(e); });
  const r = cli('restart', 'par-a', 'par-b', '--parallel', '1');
  assert.strictEqual(r.code, 0, r.err);
  const at = (name, event) => events.find((e) => e.process.name === name && e.event === event)?.at;
  await waitFor(() => at('par-a', 'online') && at('par-b', 'online'), { what: 'both restarted' });
  bus.close();
  // One at a time: the second app is stopped only once the first runs again.
  const [first, second] = at('par-a', 'exit') < at('par-b', 'exit') ? ['par-a', 'par-b'] : ['par-b', 'par-a'];
  assert.ok(at(second, 'exit') >= at(first, 'online'), JSON.stringify(events.map((e) => [e.process.name, e.event, e.at])));
  for (const bad of ['0', 'two']) {
    const refused = cli('restart', 'par-a', '--parallel', bad);
    assert.strictEqual(refused.code, 1, `--parallel ${bad}: ${refused.err}`);
    assert.match(refused.err, /invalid value .* for '--parallel <number>'/);
  }
  await pm2.delete('par-a');
  await pm2.delete('par-b');
});
