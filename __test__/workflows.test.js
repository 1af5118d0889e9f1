'use strict';
// Everyday workflows as PM2 has them: script paths as targets, starting a
// managed script again, ecosystem restarts that start missing apps, and the
// names PM2 gives to command strings.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, cli, root } = require('./support/home');
const { freePort } = require('./support/http');

const home = makeHome('workflows');
const work = path.join(home, 'work');
fs.mkdirSync(work);
const env = { ...process.env, PM2_HOME: home };
test.after(() => cleanupHome(home));

function pm2(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: work, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const list = () => JSON.parse(pm2('jlist').out);
const byName = (name) => list().filter((p) => p.name === name);
fs.writeFileSync(path.join(work, 'app.js'), 'setInterval(() => {}, 1000);');

test('a script path is a target: stop app.js, restart ./app.js, API delete', async () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', 'svc').code, 0);
  let r = pm2('stop', 'app.js');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('svc')[0].pm2_env.status, 'stopped');
  r = pm2('restart', './app.js');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('svc')[0].pm2_env.status, 'online');
  const api = new (require(root).custom)({ pm2_home: home, cwd: work });
  await api.connect();
  try {
    const deleted = await api.delete('./app.js');
    assert.deepStrictEqual(deleted.map((p) => p.name), ['svc']);
  } finally {
    await api.disconnect();
  }
  assert.deepStrictEqual(byName('svc'), []);
});

test('starting a managed script again: restarted when stopped, refused when running, new under another name', () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', 'again').code, 0);
  const [first] = byName('again');
  assert.strictEqual(pm2('stop', 'again').code, 0);
  let r = pm2('start', 'app.js', '--name', 'again');
  assert.strictEqual(r.code, 0, r.err);
  const after = byName('again');
  assert.strictEqual(after.length, 1, 'no second process');
  assert.strictEqual(after[0].pm_id, first.pm_id);
  assert.strictEqual(after[0].pm2_env.status, 'online');
  r = pm2('start', 'app.js', '--name', 'again');
  assert.notStrictEqual(r.code, 0);
  assert.match(r.err, /Script already launched, add -f option to force re-execution/);
  r = pm2('start', 'app.js', '--name', 'again-2');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('again-2').length, 1);
  pm2('delete', 'all');
});

test('restart of an ecosystem file starts its apps that are not running', () => {
  const eco = path.join(work, 'ecosystem.config.js');
  fs.writeFileSync(eco, `module.exports = { apps: [
    { name: 'eco-up', script: './app.js' },
    { name: 'eco-new', script: './app.js' },
  ] };`);
  assert.strictEqual(pm2('start', eco, '--only', 'eco-up').code, 0);
  const r = pm2('restart', eco);
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('eco-new')[0].pm2_env.status, 'online');
  assert.strictEqual(byName('eco-up')[0].pm2_env.restart_time, 1);
  const reload = pm2('reload', eco);
  assert.strictEqual(reload.code, 0, reload.err);
  pm2('delete', 'all');
});

test('command strings get PM2\'s names, and those names are targets', () => {
  let r = pm2('start', 'node app.js --port 3000');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('node app').length, 1);
  r = pm2('start', 'python3 -m http.server 0');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('python3 -m http').length, 1);
  r = pm2('restart', 'node app');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('node app')[0].pm2_env.restart_time, 1);
  pm2('delete', 'all');
});

test('YAML ecosystem files start their apps, from the CLI and the API', async () => {
  const yml = path.join(work, 'process.yml');
  fs.writeFileSync(yml, 'apps:\n  - name: yaml-cli\n    script: ./app.js\n    env:\n      FROM: yaml\n');
  const r = pm2('start', yml);
  assert.strictEqual(r.code, 0, r.err);
  const [p] = byName('yaml-cli');
  assert.strictEqual(p.pm2_env.env.FROM, 'yaml');
  const yaml2 = path.join(work, 'api.yaml');
  fs.writeFileSync(yaml2, 'apps:\n  - name: yaml-api\n    script: ./app.js\n');
  const api = new (require(root).custom)({ pm2_home: home, cwd: work });
  await api.connect();
  try {
    await api.start(yaml2);
    assert.strictEqual(byName('yaml-api').length, 1);
    fs.writeFileSync(yaml2, 'apps:\n  - name: [broken\n');
    await assert.rejects(api.start(yaml2), /Error parsing .*api\.yaml/);
  } finally {
    await api.disconnect();
  }
  const broken = pm2('start', yaml2);
  assert.notStrictEqual(broken.code, 0);
  assert.match(broken.err, /malformated/);
  pm2('delete', 'all');
});

test('pm2 init writes a starter ecosystem file that starts; init simple the shortest; ecosystem is an alias', () => {
  const dir = fs.mkdtempSync(path.join(home, 'init-'));
  const run = (...args) => spawnSync(cli, args, { env, encoding: 'utf8', cwd: dir });
  let r = run('init');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /File .*ecosystem\.config\.js generated/);
  const full = require(path.join(dir, 'ecosystem.config.js'));
  assert.strictEqual(full.apps[0].script, './app.js');
  assert.strictEqual(full.apps[0].env_production.NODE_ENV, 'production');
  r = run('ecosystem', 'simple');
  assert.strictEqual(r.status, 0, r.stderr);
  const simple = fs.readFileSync(path.join(dir, 'ecosystem.config.js'), 'utf8');
  assert.doesNotMatch(simple, /env_production/, 'the existing file is replaced, as PM2 does');
  fs.writeFileSync(path.join(dir, 'app.js'), 'setInterval(() => {}, 1000);');
  r = run('start', 'ecosystem.config.js');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(byName('app1')[0].pm2_env.status, 'online');
  pm2('delete', 'all');
});

test('pm2 logs --json --nostream prints the tail as JSON lines', async () => {
  fs.writeFileSync(path.join(work, 'talk.js'), 'console.log("hello out"); console.error("hello err"); setInterval(() => {}, 1000);');
  assert.strictEqual(pm2('start', 'talk.js').code, 0);
  const { waitFor } = require('./support/home');
  const lines = await waitFor(() => {
    const out = pm2('logs', 'talk', '--json', '--nostream', '--lines', '5').out.trim();
    const parsed = out ? out.split('\n').map((l) => JSON.parse(l)) : [];
    return parsed.length >= 2 && parsed;
  }, { what: 'the tail as JSON' });
  assert.deepStrictEqual(
    lines.map((l) => [l.app_name, l.type, l.message]).sort(),
    [['talk', 'err', 'hello err'], ['talk', 'out', 'hello out']]
  );
  pm2('delete', 'all');
});

test('pm2 logs streams as PM2 does: --json with process events and no daemon lines, --format with app=pm2 and type=error, prefixes that widen', async (t) => {
  fs.writeFileSync(path.join(work, 'ticker.js'), 'setInterval(() => { console.log("tick"); console.error("tock"); }, 100);');
  assert.strictEqual(pm2('start', 'ticker.js').code, 0);
  t.after(() => pm2('delete', 'ticker'));
  const id = byName('ticker')[0].pm_id;
  const { waitFor } = require('./support/home');
  const { spawn } = require('child_process');
  /** Follows `pm2 logs <style>` (all apps: the daemon's lines too) until `done(out)` holds after a restart. */
  async function follow(style, ready, done) {
    const child = spawn(cli, ['logs', '--lines', '0', ...style], { env, cwd: work });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    await waitFor(() => ready(out), { what: `a streamed line of logs ${style.join(' ')}` });
    assert.strictEqual(pm2('restart', 'ticker').code, 0);
    await waitFor(() => done(out), { what: `the restart in logs ${style.join(' ')}` });
    child.kill('SIGKILL');
    return out;
  }
  const json = await follow(['--json'], (o) => /"message":"tick"/.test(o), (o) => /"status":"restart"/.test(o) && /"status":"online"/.test(o));
  const events = json.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.type === 'process_event');
  assert.deepStrictEqual(Object.keys(events[0]), ['timestamp', 'type', 'status', 'app_name']);
  assert.ok(events.every((e) => e.app_name === 'ticker' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(e.timestamp)));
  assert.doesNotMatch(json, /"type":"PM2"|Stopping app/, 'no daemon lines in --json');

  const format = await follow(['--format'], (o) => /type=error message=tock/.test(o), (o) => /app=pm2 message=App \[ticker:\d+\] online/.test(o));
  assert.match(format, new RegExp(`^timestamp=\\S+ app=ticker id=${id} type=out message=tick$`, 'm'));
  assert.match(format, /^timestamp=\S+ app=pm2 message=Stopping app:ticker id:\d+$/m);

  const label = `${id}|ticker`;
  const plain = await follow([], (o) => o.includes('| tick'), (o) => /\| App \[ticker:\d+\] online/.test(o));
  assert.ok(plain.split('\n').includes(`${label}${' '.repeat(2)}| tick`), plain);
  assert.ok(plain.split('\n').some((l) => l.startsWith(`PM2${' '.repeat(label.length - 1)}| Stopping app:ticker`)), plain);
});

test("process:event comes in PM2's order: online then start (manually) for start, resurrect and scale; exit, online, restart for a restart", async (t) => {
  const { waitFor } = require('./support/home');
  const api = new (require(root).custom)({ pm2_home: home, cwd: work });
  await api.connect();
  const bus = await api.launchBus();
  t.after(async () => { bus.close(); await api.disconnect(); });
  const seen = [];
  bus.on('process:event', (e) => { if (e.process.name === 'order') seen.push(`${e.event}${e.manually ? '(m)' : ''}`); });
  const step = async (args, expected) => {
    seen.length = 0;
    const r = pm2(...args);
    assert.strictEqual(r.code, 0, r.err);
    await waitFor(() => seen.length >= expected.length, { what: `the events of pm2 ${args.join(' ')}` });
    assert.deepStrictEqual(seen, expected, `pm2 ${args.join(' ')}`);
  };
  await step(['start', 'app.js', '--name', 'order'], ['online', 'start(m)']);
  await step(['restart', 'order'], ['exit', 'online', 'restart(m)']);
  assert.strictEqual(pm2('save').code, 0);
  await step(['delete', 'order'], ['exit']); // `delete` itself is announced for an id already gone: PM2 publishes nothing
  await step(['resurrect'], ['online', 'start(m)']);
  await step(['scale', 'order', '2'], ['online', 'start(m)']);
  const launches = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8').split('\n').filter((l) => /App \[order:\d+\] starting in -fork mode-/.test(l));
  assert.strictEqual(launches.length, 4, 'each launch is still logged');
  pm2('delete', 'all');
});

test('pm2 env prints the app env with PM2\'s fields, in PM2\'s order', () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', 'envy').code, 0);
  const [p] = byName('envy');
  const out = pm2('env', String(p.pm_id)).out.trim().split('\n');
  const keys = out.map((l) => l.slice(0, l.indexOf(':')));
  assert.deepStrictEqual(keys.slice(0, 3), ['node_version', 'version', 'unique_id']);
  assert.deepStrictEqual(keys.slice(-4), ['NODE_APP_INSTANCE', 'vizion_running', 'km_link', 'namespace']);
  assert.ok(out.includes(`PM2_HOME: ${home}`), 'the app env is there');
  pm2('delete', 'all');
});

test('pm2.log and pm2 logs carry PM2\'s lifecycle lines', async () => {
  fs.writeFileSync(path.join(work, 'exit3.js'), 'setTimeout(() => process.exit(3), 200);');
  assert.strictEqual(pm2('start', 'app.js', '--name', 'life').code, 0);
  assert.strictEqual(pm2('start', 'exit3.js', '--no-autorestart').code, 0);
  const { waitFor } = require('./support/home');
  await waitFor(() => byName('exit3')[0].pm2_env.status === 'stopped', { what: 'exit3 exited' });
  assert.strictEqual(pm2('stop', 'life').code, 0);
  const log = fs.readFileSync(path.join(home, 'pm2.log'), 'utf8');
  const id = byName('life')[0].pm_id;
  const exit3 = byName('exit3')[0].pm_id;
  for (const line of [
    `App [life:${id}] starting in -fork mode-`,
    `App [life:${id}] online`,
    `App [exit3:${exit3}] exited with code [3] via signal [SIGINT]`,
    `Stopping app:life id:${id}`,
  ]) {
    assert.ok(log.includes(`PM2 log: ${line}`), `pm2.log has "${line}"`);
  }
  const tail = pm2('logs', '--nostream', '--lines', '20', '--raw').out;
  assert.match(tail, /Stopping app:life/);
  pm2('delete', 'all');
});

test('pm2 serve serves a folder as a managed app, with --spa and basic auth', async () => {
  const site = fs.mkdtempSync(path.join(home, 'site-'));
  fs.writeFileSync(path.join(site, 'index.html'), '<h1>home</h1>');
  fs.writeFileSync(path.join(site, 'a.css'), 'body{}');
  const port = await freePort();
  const get = (p, headers = {}) => new Promise((resolve, reject) => {
    require('http').get({ host: '127.0.0.1', port, path: p, headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
  const { waitFor } = require('./support/home');
  let r = pm2('serve', site, String(port), '--spa');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName(`static-page-server-${port}`)[0].pm2_env.status, 'online');
  const home1 = await waitFor(() => get('/').catch(() => null), { what: 'the server answers' });
  assert.deepStrictEqual([home1.status, home1.body], [200, '<h1>home</h1>']);
  assert.match((await get('/a.css')).type, /text\/css/);
  assert.strictEqual((await get('/some/route')).body, '<h1>home</h1>', 'spa: unknown paths get index.html');
  assert.doesNotMatch((await get('/../../../etc/passwd')).body, /root:/, 'paths stay inside the folder');
  assert.doesNotMatch((await get('/%2e%2e/%2e%2e/etc/passwd')).body, /root:/);
  r = pm2('serve', site, String(port), '--basic-auth-username', 'u', '--basic-auth-password', 'p');
  assert.strictEqual(r.code, 0, r.err);
  await waitFor(async () => (await get('/').catch(() => ({}))).status === 401, { what: 'auth required' });
  const auth = { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
  assert.strictEqual((await get('/', auth)).status, 200);
  assert.strictEqual((await get('/nope', auth)).status, 404, 'no spa this time');
  pm2('delete', 'all');
});

test('/regex/ targets are JavaScript regexes over names: classes, no match, bad pattern', () => {
  for (const n of ['echo-1', 'echo-2', 'echo-3']) assert.strictEqual(pm2('start', 'app.js', '--name', n).code, 0);
  let r = pm2('stop', '/echo-[1,2]/');
  assert.strictEqual(r.code, 0, r.err);
  const status = () => Object.fromEntries(list().map((p) => [p.name, p.pm2_env.status]));
  assert.deepStrictEqual(status(), { 'echo-1': 'stopped', 'echo-2': 'stopped', 'echo-3': 'online' });
  r = pm2('stop', '/^nothing/');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /No process found/);
  r = pm2('stop', '/(/');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /Invalid regular expression: \/\(\/: \w/);
  assert.strictEqual(status()['echo-3'], 'online', 'a bad pattern stops nothing');
  pm2('delete', 'all');
});

function pm2Piped(input, ...args) {
  const r = spawnSync(cli, args, { env, input, encoding: 'utf8', cwd: work, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a config piped on stdin (`-`) is a target of stop, restart and delete', () => {
  const config = JSON.stringify({ apps: [{ name: 'pipe-a', script: './app.js' }, { name: 'pipe-b', script: './app.js' }] });
  assert.strictEqual(pm2Piped(config, 'start', '-').code, 0);
  assert.strictEqual(pm2('start', 'app.js', '--name', 'pipe-other').code, 0);
  let r = pm2Piped(config, 'stop', '-');
  assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual(byName('pipe-a').concat(byName('pipe-b')).map((p) => p.pm2_env.status), ['stopped', 'stopped']);
  assert.strictEqual(byName('pipe-other')[0].pm2_env.status, 'online');
  r = pm2Piped(config, 'restart', '-');
  assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual(byName('pipe-a').concat(byName('pipe-b')).map((p) => p.pm2_env.status), ['online', 'online']);
  r = pm2Piped(config, 'delete', '-');
  assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual(list().map((p) => p.name), ['pipe-other']);
  r = pm2Piped(config, 'stop', '-');
  assert.strictEqual(r.code, 0, 'apps of the config not running are left out quietly, as in PM2');
  r = pm2Piped('{ broken', 'delete', '-');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /Malformated config on stdin/);
  assert.strictEqual(byName('pipe-other').length, 1, 'a broken config deletes nothing');
  pm2('delete', 'all');
});

test('a numeric target is an app name before an id, as PM2 reads it', () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', '455').code, 0);
  const r = pm2('restart', '455');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('455')[0].pm2_env.restart_time, 1);
  const [p] = byName('455');
  assert.strictEqual(pm2('stop', String(p.pm_id)).code, 0, 'an id still works');
  assert.strictEqual(byName('455')[0].pm2_env.status, 'stopped');
  pm2('delete', 'all');
});

test('pm2 monitor / unmonitor set and clear the process\'s _km_monitored flag', () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', 'watched').code, 0);
  let r = pm2('monitor', 'watched');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('watched')[0].pm2_env._km_monitored, true);
  assert.strictEqual(pm2('restart', 'watched').code, 0);
  assert.strictEqual(byName('watched')[0].pm2_env._km_monitored, true, 'kept over a restart');
  r = pm2('unmonitor', String(byName('watched')[0].pm_id));
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('watched')[0].pm2_env._km_monitored, false);
  r = pm2('unmonitor');
  assert.strictEqual(r.code, 1);
  assert.match(r.err, /Please specify an <app_name\|pm_id>/);
  pm2('delete', 'all');
});

test('--env <name> merges the ecosystem\'s deploy.<name>.env under the app\'s env', () => {
  fs.writeFileSync(path.join(work, 'env-ecosystem.json'), JSON.stringify({
    apps: [{ name: 'deployed', script: './app.js', env: { LAYER: 'app' }, env_production: { NODE_ENV: 'production' } }],
    deploy: { production: { user: 'x', env: { DEPLOY_VAR: 'from-deploy', LAYER: 'deploy' } } },
  }));
  let r = pm2('start', 'env-ecosystem.json', '--env', 'production');
  assert.strictEqual(r.code, 0, r.err);
  const [p] = byName('deployed');
  assert.strictEqual(p.pm2_env.env.DEPLOY_VAR, 'from-deploy');
  assert.strictEqual(p.pm2_env.env.LAYER, 'app', 'the app\'s env wins over the deploy section');
  assert.strictEqual(p.pm2_env.env.NODE_ENV, 'production');
  assert.strictEqual(p.pm2_env.deploy_env, undefined, 'the deploy section is not an option of the app');
  pm2('delete', 'all');
  r = pm2('start', 'env-ecosystem.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName('deployed')[0].pm2_env.env.DEPLOY_VAR, undefined, 'only under --env');
  pm2('delete', 'all');
});

test('pm_env as PM2 keeps it: no relative script once resolved, node_args a list after restart <json>', () => {
  fs.writeFileSync(path.join(work, 'args.json'), JSON.stringify({ apps: [{ name: 'harmony', script: './app.js', node_args: '--harmony' }] }));
  assert.strictEqual(pm2('start', 'args.json').code, 0);
  const scriptLines = pm2('prettylist').out.split('\n').filter((l) => /app\.js/.test(l));
  assert.deepStrictEqual(scriptLines.map((l) => l.trim().split(':')[0]), ['pm_exec_path'], 'one line per app names its script');
  assert.strictEqual(byName('harmony')[0].pm2_env.pm_exec_path, path.join(work, 'app.js'));
  const r = pm2('restart', 'args.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.deepStrictEqual(byName('harmony')[0].pm2_env.node_args, ['--harmony']);
  assert.match(pm2('prettylist').out, /node_args: \[ '--harmony' \]/);
  pm2('delete', 'all');
});

test('pm2 serve --port, and --spa serves a nested file as itself', async () => {
  const site = fs.mkdtempSync(path.join(home, 'spa-'));
  fs.writeFileSync(path.join(site, 'index.html'), 'index');
  fs.mkdirSync(path.join(site, 'a', 'b', 'c'), { recursive: true });
  fs.writeFileSync(path.join(site, 'a', 'b', 'c', 'other.html'), 'other');
  const port = 20000 + ((process.pid + 7) % 20000);
  const get = (p) => new Promise((resolve, reject) => {
    require('http').get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const { waitFor } = require('./support/home');
  const r = pm2('serve', site, '--port', String(port), '--spa');
  assert.strictEqual(r.code, 0, r.err);
  assert.strictEqual(byName(`static-page-server-${port}`).length, 1);
  assert.strictEqual(await waitFor(() => get('/a/b/c/other.html').catch(() => null), { what: 'the server answers' }), 'other');
  assert.strictEqual(await get('/a/b/c/missing'), 'index');
  pm2('delete', 'all');
});

test('the API as PM2\'s: start gives process.pid, a cluster reload the retired processes, PM2\'s not-found text', async () => {
  const api = new (require(root).custom)({ pm2_home: home, cwd: work });
  await api.connect();
  try {
    const started = await new Promise((resolve, reject) =>
      api.start({ script: './app.js', name: 'api-c', instances: 2, exec_mode: 'cluster' }, (e, apps) => (e ? reject(e) : resolve(apps))));
    const running = byName('api-c');
    assert.deepStrictEqual(started.map((p) => p.process.pid).sort(), running.map((p) => p.pid).sort());
    const reloaded = await api.reload('api-c');
    assert.deepStrictEqual(reloaded.map((p) => [p.pm_id, p.status]), running.map((p) => [`_old_${p.pm_id}`, 'stopped']));
    assert.deepStrictEqual(reloaded.map((p) => p.pm2_env.pm_id), running.map((p) => `_old_${p.pm_id}`));
    const after = byName('api-c');
    assert.ok(after.every((p) => p.pm2_env.status === 'online' && !running.some((r) => r.pid === p.pid)), 'new processes run');
    const fork = await api.start({ script: './app.js', name: 'api-f' });
    assert.strictEqual(fork[0].process.pid, byName('api-f')[0].pid);
    const forkReload = await api.reload('api-f');
    assert.deepStrictEqual(forkReload.map((p) => [p.pm_id, p.status]), [[byName('api-f')[0].pm_id, 'online']]);
    await assert.rejects(api.stop('nope'), { message: 'process or namespace not found' });
  } finally {
    await api.disconnect();
  }
  pm2('delete', 'all');
});

test('stop turns watching off, from the CLI and the API, so a restart does not watch again', async () => {
  assert.strictEqual(pm2('start', 'app.js', '--name', 'watched-cli', '--watch').code, 0);
  assert.strictEqual(byName('watched-cli')[0].pm2_env.watch, true);
  assert.strictEqual(pm2('stop', 'watched-cli').code, 0);
  assert.strictEqual(pm2('restart', 'watched-cli').code, 0);
  assert.strictEqual(byName('watched-cli')[0].pm2_env.watch, false);
  const api = new (require(root).custom)({ pm2_home: home, cwd: work });
  await api.connect();
  try {
    await api.start({ script: './app.js', name: 'watched-api', watch: true });
    await api.stop('watched-api');
    await api.restart('watched-api');
  } finally {
    await api.disconnect();
  }
  assert.strictEqual(byName('watched-api')[0].pm2_env.watch, false);
  pm2('delete', 'all');
});

test('PM2\'s output: reload prints no table, stop/delete <ecosystem> one line an app; unknown options are dropped', () => {
  fs.writeFileSync(path.join(work, 'cosmetic.json'), JSON.stringify({ apps: [{ name: 'cos', script: './app.js', foo_unknown: 1 }] }));
  let r = pm2('start', 'cosmetic.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /Unknown option foo_unknown in app cos: ignored/);
  assert.match(r.out, /App \[cos\] launched \(1 instances\)/);
  const [p] = byName('cos');
  assert.strictEqual(p.pm2_env.foo_unknown, undefined, 'dropped from pm2_env');
  r = pm2('reload', 'cos');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /\[cos\]\(\d+\) ✓/);
  assert.doesNotMatch(r.out, /│/, 'no table after reload');
  r = pm2('reload', 'cosmetic.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /│/);
  r = pm2('stop', 'cosmetic.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /Applying action/);
  assert.match(r.out, /\[cos\]\(\d+\) ✓/);
  r = pm2('delete', 'cosmetic.json');
  assert.strictEqual(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /Applying action/);
  assert.deepStrictEqual(byName('cos'), []);
});
