'use strict';
// What a user at a terminal sees: `pm2 ls` picking PM2's full, condensed or
// minimal table by the terminal's width (tmux panes of three widths),
// `pm2 attach` (the app's output here, typed lines to its stdin, Ctrl-C
// leaves it running), the API's attach, `pm2 examples`, and the names (never
// the values) of the variables a restart without --update-env leaves out.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { hasTmux, tmuxServer } = require('./support/tmux');
const { makeHome, waitFor, cleanupHome, cli, cliRunner, root } = require('./support/home');

const home = makeHome('terminal');
const apps = path.join(home, 'apps');
fs.mkdirSync(apps);
const env = { ...process.env, PM2_HOME: home };
const { pm2, jlist } = cliRunner(env, apps);

const tmux = tmuxServer('terminal');

test.after(() => {
  if (hasTmux) tmux('kill-server');
  cleanupHome(home);
});

function needTmux(t) {
  if (hasTmux) return true;
  // CI installs tmux (.ci/run); elsewhere the test says why it did not run.
  if (process.env.CI) assert.fail('tmux is needed for this test and is not installed');
  t.skip('tmux is not installed');
  return false;
}

/** Runs `command` (a shell line) in a fresh tmux pane `width` columns wide. */
function pane(name, width, command) {
  const started = tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', '40',
    '-e', `PM2_HOME=${home}`, 'sh', '-c', `${command}; exec sleep 600`);
  assert.strictEqual(started.status, 0, started.stderr);
  return () => tmux('capture-pane', '-p', '-t', name).stdout;
}

fs.writeFileSync(path.join(apps, 'echo.js'), `
process.stdin.on('data', (d) => {
  console.log('got: ' + JSON.stringify(String(d)));
  console.error('err: ' + JSON.stringify(String(d)));
});
setInterval(() => {}, 1000);
`);

test('pm2 ls prints the full, condensed or minimal table by the terminal width', async (t) => {
  if (!needTmux(t)) return;
  assert.strictEqual(pm2('start', 'echo.js', '--name', 'web').code, 0);
  // With a 3-character name, the full table is 132 columns wide and the
  // condensed one 67; each is used when it fits.
  const layouts = [
    [132, /│ id │ name   │ namespace   │ version │ mode    │ pid      │ uptime │ ↺    │ status    │ cpu      │ mem      │ user     │ watching │/],
    [131, /│ id │ name   │ mode     │ ↺    │ status    │ cpu      │ memory   │/],
    [67, /│ id │ name   │ mode     │ ↺    │ status    │ cpu      │ memory   │/],
    [66, /│ id │ name   │ status    │ cpu    │ mem      │/],
  ];
  for (const [width, header] of layouts) {
    const screen = pane(`ls${width}`, width, `'${cli}' ls; echo "ls exited $?"`);
    const s = await waitFor(() => /ls exited 0/.test(screen()) && screen(), { what: `pm2 ls at ${width} columns` });
    assert.match(s, header, `at ${width} columns:\n${s}`);
    assert.match(s, /│ 0  │ web /, s);
  }
  // Not a terminal (a pipe): the full table, whatever the width.
  const piped = pm2('ls');
  assert.match(piped.out, /│ namespace   │/);
});

test('pm2 attach shows the app\'s output, sends typed lines to it, and Ctrl-C leaves it running', async (t) => {
  if (!needTmux(t)) return;
  const [app] = (await jlist()).filter((p) => p.name === 'web');
  assert.strictEqual(app.pm2_env.status, 'online');
  // Ctrl-C interrupts the whole foreground group: the shell around attach
  // traps it to live on and report attach's exit, as an interactive one does.
  const screen = pane('attach', 100, `trap : INT; '${cli}' attach ${app.pm_id}; echo "attach exited $?"`);
  // A line typed before attach listens on the daemon's bus would lose its
  // reply: type until the reply shows.
  await waitFor(() => {
    tmux('send-keys', '-t', 'attach', 'hello there', 'Enter');
    return /got: "hello there\\n"/.test(screen());
  }, { interval: 300, what: 'the app\'s reply to a typed line' });
  assert.match(screen(), /err: "hello there\\n"/, 'the app\'s stderr is shown too');
  tmux('send-keys', '-t', 'attach', 'C-c');
  await waitFor(() => /attach exited 0/.test(screen()), { what: 'attach to end on Ctrl-C' });
  const [after] = (await jlist()).filter((p) => p.name === 'web');
  assert.strictEqual(after.pm2_env.status, 'online');
  assert.strictEqual(after.pid, app.pid, 'the app was not restarted');

  // Bad ids: a clear error and a failure status, as PM2 for a name.
  const byName = pm2('attach', 'web');
  assert.strictEqual(byName.code, 1);
  assert.match(byName.err, /pm_id must be a process number/);
  const unknown = pm2('attach', '42');
  assert.strictEqual(unknown.code, 1);
  assert.match(unknown.err, /Process with ID <42> unknown/);
});

test('the API\'s attach sends its stdin\'s lines with the separator and ends with its stdin', async () => {
  const [app] = (await jlist()).filter((p) => p.name === 'web');
  const script = `
const PM2 = require(${JSON.stringify(root)}).custom;
const api = new PM2({ pm2_home: ${JSON.stringify(home)} });
api.attach(${app.pm_id}, '<END>', (err, res) => {
  console.log('attach done: ' + (err ? err.message : JSON.stringify(res)));
  api.disconnect();
});`;
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stdin.write('from the api\n');
  const outLog = path.join(home, 'logs', 'web-out.log');
  await waitFor(() => fs.readFileSync(outLog, 'utf8').includes('got: "from the api<END>"'), { what: 'the line in the app' });
  child.stdin.end();
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.strictEqual(code, 0);
  assert.match(out, /attach done: \{"success":true\}/);
});

test('pm2 examples prints usage examples of commands this pm2 runs', () => {
  const r = pm2('examples');
  assert.strictEqual(r.code, 0, r.err);
  assert.match(r.out, /^\[PM2\] pm2 usage examples:\n/);
  const commands = r.out.split('\n').filter((l) => l.startsWith('  $ pm2 ')).map((l) => l.slice(4));
  assert.ok(commands.length >= 5, r.out);
  for (const c of commands) {
    const name = c.split(' && ')[0].split(' ')[1];
    const help = spawnSync(cli, [name, '--help'], { env, encoding: 'utf8' });
    assert.strictEqual(help.status, 0, `${c}: ${help.stdout}${help.stderr}`);
  }
});

test('a restart without --update-env names the variables the app does not get, never their values', async () => {
  fs.writeFileSync(path.join(apps, 'idle.js'), 'setInterval(() => {}, 1000);\n');
  const base = { ...env, PM2_TERMINAL_TEST_TOKEN: 'first-value' };
  const run = (extra, ...args) => spawnSync(cli, args, { env: { ...base, ...extra }, cwd: apps, encoding: 'utf8' });
  assert.strictEqual(run({}, 'start', 'idle.js', '--name', 'idle1').status, 0);
  assert.strictEqual(run({}, 'start', 'idle.js', '--name', 'idle2').status, 0);

  // Nothing changed: PM2's advice alone.
  let r = run({}, 'restart', 'idle1');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /Use --update-env to update environment variables/);
  assert.doesNotMatch(r.stdout, /differ in this shell/);

  // A changed and a new variable, over two apps: named once, values never shown.
  r = run({ PM2_TERMINAL_TEST_TOKEN: 's3cret-token-value', PM2_TERMINAL_TEST_NEW: 'n3w-value' }, 'restart', 'idle1', 'idle2');
  assert.strictEqual(r.status, 0, r.stderr);
  const hints = r.stdout.split('\n').filter((l) => /differ in this shell/.test(l));
  assert.strictEqual(hints.length, 1, r.stdout);
  assert.match(hints[0], /PM2_TERMINAL_TEST_NEW, PM2_TERMINAL_TEST_TOKEN/);
  assert.doesNotMatch(r.stdout + r.stderr, /s3cret-token-value|n3w-value/);
  let [idle1] = (await jlist()).filter((p) => p.name === 'idle1');
  assert.strictEqual(idle1.pm2_env.env.PM2_TERMINAL_TEST_TOKEN, 'first-value', 'the app kept its env');

  // With --update-env the app gets them, and the next plain restart has nothing to name.
  r = run({ PM2_TERMINAL_TEST_TOKEN: 's3cret-token-value' }, 'restart', 'idle1', '--update-env');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /differ in this shell|Use --update-env/);
  [idle1] = (await jlist()).filter((p) => p.name === 'idle1');
  assert.strictEqual(idle1.pm2_env.env.PM2_TERMINAL_TEST_TOKEN, 's3cret-token-value');
  r = run({ PM2_TERMINAL_TEST_TOKEN: 's3cret-token-value' }, 'restart', 'idle1');
  assert.doesNotMatch(r.stdout, /differ in this shell/);
});
