'use strict';
// `pm2 deploy` against real hosts: two sshd processes of this test on
// loopback (127.0.0.1 and 127.0.0.2, one port), each logging in to a folder
// of its own, a bare git repo holding a small web app, and the app really
// started and reloaded by the post-deploy hook on each host. PM2 7.0.4
// deploys a third layout, which ours then takes over.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const http = require('http');
const path = require('path');
const { spawn, spawnSync, execFileSync } = require('child_process');
const { makeHome, cleanupHome, cli, waitFor } = require('./support/home');
const { referencePm2 } = require('./support/pm2-reference');

function which(name, extra = []) {
  for (const dir of [...(process.env.PATH || '').split(':'), ...extra]) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

const sshd = which('sshd', ['/usr/sbin', '/usr/local/sbin']);
const missing = ['ssh', 'ssh-keygen', 'git'].filter((n) => !which(n));
if (!sshd) missing.push('sshd');
const skip = missing.length ? `needs ${missing.join(', ')} (apt-get install openssh-server openssh-client git)` : false;

const HOSTS = ['127.0.0.1', '127.0.0.2'];
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.com',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('pm2 deploy over ssh and git', { skip, concurrency: false }, () => {
  let root; // everything of this test: keys, sshd configs, hosts, repo
  const daemons = []; // sshd processes
  const homes = []; // PM2_HOMEs of the hosts and of PM2 7.0.4
  let port;
  let work; // the developer's clone, where `pm2 deploy` runs
  let sshOptions;
  const hostDir = (i) => path.join(root, `host${i + 1}`);
  const appPort = [];

  function git(cwd, ...args) {
    return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
  }

  /** Commits VERSION (and `broken` when asked) in the work clone and pushes it. */
  function release(version, { broken = false } = {}) {
    fs.writeFileSync(path.join(work, 'VERSION'), version);
    if (broken) fs.writeFileSync(path.join(work, 'broken'), 'post-deploy refuses this release\n');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', version);
    git(work, 'push', '-q', 'origin', 'main');
    return git(work, 'rev-parse', 'HEAD');
  }

  function deploy(...args) {
    const r = spawnSync(cli, ['deploy', 'ecosystem.config.js', ...args], {
      cwd: work, env: { ...process.env, PM2_HOME: path.join(root, 'local-pm2') }, encoding: 'utf8', timeout: 120000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  const deploysOf = (dir) => fs.readFileSync(path.join(dir, '.deploys'), 'utf8').trim().split('\n');
  const served = (i) => get(appPort[i]);

  async function startSshd(i) {
    const dir = hostDir(i);
    fs.mkdirSync(dir);
    // The login of this "host": its own folder, app port and PM2_HOME.
    const login = path.join(root, `login${i + 1}.sh`);
    fs.writeFileSync(login, [
      '#!/bin/sh',
      `cd '${dir}' || exit 1`,
      `export DEPLOY_TEST_HOST='${dir}' DEPLOY_TEST_PORT='${appPort[i]}' PATH='${process.env.PATH}'`,
      // The user's login shell runs the command, as sshd does (PM2 needs bash there).
      'exec "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"',
      '',
    ].join('\n'), { mode: 0o755 });
    const cfg = path.join(root, `sshd${i + 1}.conf`);
    fs.writeFileSync(cfg, [
      `HostKey ${root}/host_key`,
      `AuthorizedKeysFile ${root}/authorized_keys`,
      `PidFile ${root}/sshd${i + 1}.pid`,
      `ListenAddress ${HOSTS[i]}`,
      'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `ForceCommand ${login}`,
      '',
    ].join('\n'));
    const child = spawn(sshd, ['-f', cfg, '-D', '-e', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    daemons.push(child);
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`sshd exited: ${log}`);
      const r = spawnSync('ssh', [...sshOptions.flatMap((o) => ['-o', o]), HOSTS[i], 'true'], { timeout: 10000 });
      return r.status === 0;
    }, { timeout: 15000, interval: 100, what: `sshd on ${HOSTS[i]}:${port}` });
  }

  before(async () => {
    root = makeHome('deploy');
    // As root, sshd wants its privilege separation folder.
    if (process.getuid() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(root, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(root, 'user_key')]);
    fs.copyFileSync(path.join(root, 'user_key.pub'), path.join(root, 'authorized_keys'));
    port = await freePort();
    for (let i = 0; i < HOSTS.length; i++) appPort.push(await freePort());
    sshOptions = [
      'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR', 'BatchMode=yes',
      `Port=${port}`, `IdentityFile=${root}/user_key`,
    ];
    for (let i = 0; i < HOSTS.length; i++) {
      homes.push(path.join(hostDir(i), 'pm2'));
      await startSshd(i);
    }

    // The app, its ecosystem file and its deploy section, in a bare repo.
    const repo = path.join(root, 'repo.git');
    git(root, 'init', '-q', '--bare', '-b', 'main', repo);
    work = path.join(root, 'work');
    git(root, 'clone', '-q', repo, work);
    git(work, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    fs.writeFileSync(path.join(work, 'server.js'), [
      "const version = require('fs').readFileSync(__dirname + '/VERSION', 'utf8');",
      "require('http').createServer((req, res) => res.end(version)).listen(Number(process.env.DEPLOY_TEST_PORT), '127.0.0.1');",
      '',
    ].join('\n'));
    const user = require('os').userInfo().username;
    const startApp = `PM2_HOME="$DEPLOY_TEST_HOST/pm2" '${cli}' startOrReload ecosystem.config.js`;
    const config = {
      apps: [{ name: 'web', script: 'server.js' }],
      deploy: {
        production: {
          user, host: HOSTS, ref: 'origin/main', repo, path: 'app', ssh_options: sshOptions,
          env: { GREETING: "it's deployed" },
          'pre-setup': 'echo "pre-setup in $(pwd)"',
          'post-setup': 'echo "post-setup in $(pwd)"',
          'pre-deploy-local': 'echo pre-deploy-local >> ../local-hooks.log',
          'pre-deploy': 'echo "pre-deploy in $(pwd)"',
          'post-deploy': `test ! -e broken && echo "$GREETING" > ../../greeting && ${startApp}`,
        },
        legacy: { user, host: HOSTS[0], ref: 'origin/main', repo, path: path.join(root, 'legacy'), ssh_options: sshOptions,
          // PM2 expands `$` in hooks before they reach the host: a plain command.
          'post-deploy': `cp VERSION ${root}/legacy-deployed` },
      },
    };
    fs.writeFileSync(path.join(work, 'ecosystem.config.js'), `module.exports = ${JSON.stringify(config, null, 2)};\n`);
    fs.writeFileSync(path.join(work, '.gitignore'), 'node_modules\n');
    release('v1');
  });

  after(() => {
    for (const home of homes) cleanupHome(home);
    cleanupHome(path.join(root, 'local-pm2'));
    for (const child of daemons) child.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('setup clones the repo on every host into PM2\'s layout', () => {
    const r = deploy('production', 'setup');
    assert.strictEqual(r.code, 0, r.err + r.out);
    for (let i = 0; i < HOSTS.length; i++) {
      const app = path.join(hostDir(i), 'app');
      assert.ok(r.out.includes(`--> on host ${HOSTS[i]}`), r.out);
      assert.strictEqual(fs.readlinkSync(path.join(app, 'current')), path.join(app, 'source'));
      assert.ok(fs.statSync(path.join(app, 'source', '.git')).isDirectory());
      assert.ok(fs.statSync(path.join(app, 'shared', 'logs')).isDirectory());
      assert.ok(fs.statSync(path.join(app, 'shared', 'pids')).isDirectory());
      assert.ok(!fs.existsSync(path.join(app, '.deploys')), 'nothing deployed yet');
    }
    // pre-setup runs in the login folder, post-setup in current.
    assert.ok(r.out.includes(`pre-setup in ${hostDir(0)}\n`), r.out);
    assert.ok(r.out.includes(`post-setup in ${hostDir(0)}/app/current\n`), r.out);
    assert.match(r.out, /--> Success\n$/);
  });

  it('a deploy resets every host to the ref and runs the hooks in order; the app serves it', async () => {
    const v1 = git(work, 'rev-parse', 'HEAD');
    const r = deploy('production');
    assert.strictEqual(r.code, 0, r.err + r.out);
    const order = ['deploying origin/main', 'executing pre-deploy-local', 'executing pre-deploy `', 'resetting HEAD to origin/main',
      'executing post-deploy', 'successfully deployed origin/main'].map((s) => r.out.indexOf(s));
    assert.ok(order.every((at, k) => at >= 0 && (k === 0 || at > order[k - 1])), r.out);
    for (let i = 0; i < HOSTS.length; i++) {
      assert.deepStrictEqual(deploysOf(path.join(hostDir(i), 'app')), [v1]);
      assert.strictEqual(await waitFor(async () => (await served(i)) === 'v1' && 'v1', { what: `v1 on host ${i + 1}` }), 'v1');
      // The section's env reaches the hooks, quoted as written.
      assert.strictEqual(fs.readFileSync(path.join(hostDir(i), 'greeting'), 'utf8'), "it's deployed\n");
    }
    // pre-deploy-local ran here, once per host.
    assert.strictEqual(fs.readFileSync(path.join(root, 'local-hooks.log'), 'utf8'), 'pre-deploy-local\npre-deploy-local\n');
  });

  it('uncommitted local changes stop a deploy unless --force', () => {
    fs.appendFileSync(path.join(work, 'server.js'), '// local edit\n');
    try {
      const r = deploy('production');
      assert.strictEqual(r.code, 1);
      assert.match(r.err, /commit or stash your changes before deploying/);
      assert.doesNotMatch(r.out, /on host/, 'no host was contacted');
    } finally {
      git(work, 'checkout', '--', 'server.js');
    }
  });

  it('a second deploy moves every host on, and the app is reloaded with it', async () => {
    const v2 = release('v2');
    const r = deploy('production');
    assert.strictEqual(r.code, 0, r.err + r.out);
    for (let i = 0; i < HOSTS.length; i++) {
      assert.strictEqual(deploysOf(path.join(hostDir(i), 'app')).at(-1), v2);
      await waitFor(async () => (await served(i)) === 'v2', { what: `v2 on host ${i + 1}` });
    }
  });

  it('list, curr and prev read what the hosts hold', () => {
    const [v1, v2] = deploysOf(path.join(hostDir(0), 'app'));
    let r = deploy('production', 'list');
    assert.strictEqual(r.code, 0, r.err);
    assert.ok(r.out.includes(`--> on host ${HOSTS[0]}\n0\t${v2}\n1\t${v1}\n--> on host ${HOSTS[1]}\n0\t${v2}\n1\t${v1}\n`), r.out);
    r = deploy('production', 'curr');
    assert.strictEqual(r.code, 0, r.err);
    assert.ok(r.out.includes(`\n${v2.slice(0, 7)}\n`), r.out);
    r = deploy('production', 'previous');
    assert.strictEqual(r.code, 0, r.err);
    assert.ok(r.out.includes(`--> on host ${HOSTS[1]}\n${v1}\n`), r.out);
  });

  it('exec runs a command in current on every host (the section\'s env is for post-deploy only, as in PM2)', () => {
    const r = deploy('production', 'exec', 'cat VERSION; echo " [$GREETING] in $(pwd)"');
    assert.strictEqual(r.code, 0, r.err);
    for (let i = 0; i < HOSTS.length; i++) {
      assert.ok(r.out.includes(`v2 [] in ${hostDir(i)}/app/current\n`), r.out);
    }
    // Several words each reach the host whole: spaces, quotes and `;` stay in their word.
    const words = deploy('production', 'exec', 'printf', '<%s>', 'a b', "it's", 'x;echo injected');
    assert.strictEqual(words.code, 0, words.err);
    assert.ok(words.out.includes("<a b><it's><x;echo injected>"), words.out);
    assert.ok(!/^injected$/m.test(words.out), words.out);
    const failed = deploy('production', 'exec', 'exit 7');
    assert.strictEqual(failed.code, 1);
    assert.match(failed.err, /Deploy failed on host 127\.0\.0\.1\nDeploy failed with exit code: 7/);
  });

  it('revert 1 goes back to the deploy before the last, and records it', async () => {
    const [v1, v2] = deploysOf(path.join(hostDir(0), 'app'));
    const r = deploy('production', 'revert', '1');
    assert.strictEqual(r.code, 0, r.err + r.out);
    assert.ok(r.out.includes(`reverting 1 deploy(s)\n  ○ deploying ${v1}`), r.out);
    for (let i = 0; i < HOSTS.length; i++) {
      assert.deepStrictEqual(deploysOf(path.join(hostDir(i), 'app')), [v1, v2, v1]);
      await waitFor(async () => (await served(i)) === 'v1', { what: `v1 again on host ${i + 1}` });
    }
    const tooFar = deploy('production', 'revert', '9');
    assert.strictEqual(tooFar.code, 1);
    assert.match(tooFar.err, /cannot go back 9 deploy\(s\): the host has recorded 3/);
  });

  it('a failing post-deploy leaves current on the last good release and fails the command', async () => {
    const before = deploysOf(path.join(hostDir(0), 'app'));
    const good = before.at(-1);
    release('v3', { broken: true });
    const r = deploy('production');
    assert.strictEqual(r.code, 1, r.out);
    assert.match(r.err, /post-deploy hook failed/);
    assert.match(r.err, /Deploy failed on host 127\.0\.0\.1/);
    assert.doesNotMatch(r.out, new RegExp(`on host ${HOSTS[1].replace(/\./g, '\\.')}`), 'the next host is left alone');
    const app = path.join(hostDir(0), 'app');
    assert.deepStrictEqual(deploysOf(app), before);
    assert.strictEqual(git(path.join(app, 'current'), 'rev-parse', 'HEAD'), good);
    assert.ok(!fs.existsSync(path.join(app, 'current', 'broken')));
    assert.strictEqual(fs.readFileSync(path.join(app, 'current', 'VERSION'), 'utf8'), 'v1');
    assert.strictEqual(await served(0), 'v1');
    assert.strictEqual(await served(1), 'v1');
    // Fixed in the next commit: the deploy goes through.
    git(work, 'rm', '-q', 'broken');
    git(work, 'commit', '-q', '-m', 'v3 fixed');
    git(work, 'push', '-q', 'origin', 'main');
    // With --force, even from a work tree with local edits.
    fs.appendFileSync(path.join(work, 'server.js'), '// local edit\n');
    const fixed = deploy('production', '--force');
    git(work, 'checkout', '--', 'server.js');
    assert.strictEqual(fixed.code, 0, fixed.err + fixed.out);
    await waitFor(async () => (await served(0)) === 'v3' && (await served(1)) === 'v3', { what: 'v3 on both hosts' });
  });

  it('require(\'pm2\').deploy runs the same command', async () => {
    const PM2 = require('..').custom;
    const api = new PM2({ pm2_home: path.join(root, 'local-pm2'), cwd: work });
    await api.deploy('ecosystem.config.js', ['production', 'exec', 'touch ran-by-api']);
    for (let i = 0; i < HOSTS.length; i++) {
      assert.ok(fs.existsSync(path.join(hostDir(i), 'app', 'current', 'ran-by-api')), `host ${i + 1}`);
    }
    await assert.rejects(api.deploy('ecosystem.config.js', { rawArgs: ['node', 'pm2', 'deploy', 'ecosystem.config.js', 'staging'] }),
      /pm2 deploy ecosystem\.config\.js staging exited with code 1/);
  });

  it('errors name what is wrong: an unknown environment, an unknown option', () => {
    let r = deploy('staging');
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /staging environment is not defined in ecosystem\.config\.js file/);
    r = deploy('production', 'list', '--verbose');
    assert.strictEqual(r.code, 1);
    assert.match(r.err, /unknown option --verbose/);
  });

  it('takes over a host set up and deployed by PM2 7.0.4, with the same layout', async () => {
    const ref = referencePm2();
    const theirHome = makeHome('deploy-ref');
    homes.push(theirHome);
    const theirs = (...args) => spawnSync(ref.bin, ['deploy', 'ecosystem.config.js', 'legacy', ...args], {
      cwd: work, env: { ...process.env, PM2_HOME: theirHome }, encoding: 'utf8', timeout: 120000,
    });
    let r = theirs('setup');
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    r = theirs();
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    const legacy = path.join(root, 'legacy');
    const head = git(work, 'rev-parse', 'HEAD');
    assert.deepStrictEqual(deploysOf(legacy), [head]);
    // The same layout as ours.
    const layout = (dir) => ['.deploys', 'current', 'shared/logs', 'shared/pids', 'source/.git']
      .filter((p) => fs.existsSync(path.join(dir, p)));
    assert.deepStrictEqual(layout(legacy), layout(path.join(hostDir(0), 'app')));
    assert.strictEqual(fs.readlinkSync(path.join(legacy, 'current')), path.join(legacy, 'source'));

    const v4 = release('v4');
    r = deploy('legacy');
    assert.strictEqual(r.code, 0, r.err + r.out);
    assert.deepStrictEqual(deploysOf(legacy), [head, v4]);
    assert.strictEqual(fs.readFileSync(path.join(root, 'legacy-deployed'), 'utf8'), 'v4');
    r = deploy('legacy', 'revert', '1');
    assert.strictEqual(r.code, 0, r.err + r.out);
    assert.strictEqual(git(path.join(legacy, 'current'), 'rev-parse', 'HEAD'), head);
    assert.strictEqual(fs.readFileSync(path.join(root, 'legacy-deployed'), 'utf8'), 'v3');
    // And PM2 reads what ours recorded.
    r = theirs('list');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`0\t${head}\n1\t${v4}\n2\t${head}\n`), r.stdout);
    // A ref on the command line is deployed instead of the ref setting.
    r = deploy('legacy', v4.slice(0, 10));
    assert.strictEqual(r.code, 0, r.err + r.out);
    assert.strictEqual(git(path.join(legacy, 'current'), 'rev-parse', 'HEAD'), v4);
    assert.deepStrictEqual(deploysOf(legacy), [head, v4, head, v4]);
  });
});
