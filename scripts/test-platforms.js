#!/usr/bin/env node
'use strict';
// Builds the linux targets other than this machine's and tests what can run
// here (the macOS targets are checked by CI's `cargo clippy --target`):
//
// - linux-x64-musl: the daemon and the CLI are static executables; the
//   end-to-end CLI tests (__test__/cli.test.js) run against them.
// - linux-arm64-gnu and linux-arm64-musl: under qemu-user, a smoke test:
//   start an app, list it, stop it, kill the daemon.
//
// Needs the targets' Rust std (`rustup target add x86_64-unknown-linux-musl
// aarch64-unknown-linux-gnu aarch64-unknown-linux-musl`) and Debian's
// gcc-aarch64-linux-gnu, libc6-arm64-cross and qemu-user. A missing piece
// stops the run with a message naming it.
//
//   node scripts/test-platforms.js [musl] [arm64] [arm64-musl]   (default: all)

const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const wanted = process.argv.slice(2);
const want = (name) => wanted.length === 0 || wanted.includes(name);

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
}

function need(what, ok, hint) {
  if (!ok) {
    console.error(`test-platforms: ${what} is missing: ${hint}`);
    process.exit(1);
  }
}

function installedTargets() {
  const r = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n') : [];
}

/** True while `pid` runs (exists and is not a zombie). */
function running(pid) {
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits up to 10 s for `pid` to end. */
function ended(pid) {
  const deadline = Date.now() + 10000;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    spawnSync('sleep', ['0.05']);
  }
  return true;
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** True when `file` is an ELF executable with no program interpreter (static). */
function isStatic(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (b.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  }
  return true;
}

function musl() {
  const target = 'x86_64-unknown-linux-musl';
  need(`the Rust std for ${target}`, installedTargets().includes(target), `rustup target add ${target}`);
  run(process.execPath, ['scripts/build.js', '--target', target, '--no-addon']);
  const dir = path.join(root, 'npm', 'linux-x64-musl');
  for (const name of ['pm2-daemon', 'pm2-cli']) {
    if (!isStatic(path.join(dir, name))) throw new Error(`${name} for ${target} is not a static executable`);
  }
  console.log('linux-x64-musl: pm2-daemon and pm2-cli are static; running __test__/cli.test.js against them');
  run(process.execPath, ['--test', '__test__/cli.test.js'], {
    env: { ...process.env, PM2_TEST_CLI: path.join(dir, 'pm2-cli') },
  });
}

function arm64(target, platform) {
  const gnu = target.endsWith('-gnu');
  // The glibc build loads its C library from Debian's arm64 cross sysroot;
  // the musl one is static.
  const sysroot = gnu ? '/usr/aarch64-linux-gnu' : null;
  need(`the Rust std for ${target}`, installedTargets().includes(target), `rustup target add ${target}`);
  need('aarch64-linux-gnu-gcc', onPath('aarch64-linux-gnu-gcc'), 'apt-get install gcc-aarch64-linux-gnu');
  need('qemu-aarch64', onPath('qemu-aarch64'), 'apt-get install qemu-user');
  if (gnu) need(`the arm64 C library in ${sysroot}`, fs.existsSync(path.join(sysroot, 'lib')), 'apt-get install libc6-arm64-cross');
  run(process.execPath, ['scripts/build.js', '--target', target, '--no-addon']);
  const dir = path.join(root, 'npm', platform);
  if (!gnu) {
    for (const name of ['pm2-daemon', 'pm2-cli']) {
      if (!isStatic(path.join(dir, name))) throw new Error(`${name} for ${target} is not a static executable`);
    }
  }
  const qemu = ['qemu-aarch64', ...(sysroot ? ['-L', sysroot] : [])];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `pm2-${platform}-`));
  const home = path.join(work, 'home');
  // No binfmt_misc here: the CLI runs the daemon through a wrapper that runs
  // it under qemu too. The apps (node) are this machine's own programs.
  const daemon = path.join(work, 'pm2-daemon');
  fs.writeFileSync(daemon, `#!/bin/sh\nexec ${qemu.join(' ')} ${path.join(dir, 'pm2-daemon')} "$@"\n`, { mode: 0o755 });
  const app = path.join(work, 'app.js');
  const marker = path.join(work, 'started');
  fs.writeFileSync(app, `require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid));\nsetInterval(() => {}, 1000);\n`);
  const env = { ...process.env, PM2_HOME: home, PM2_DAEMON_BIN: daemon };
  const cli = (args) => spawnSync(qemu[0], [...qemu.slice(1), path.join(dir, 'pm2-cli'), ...args], { env, encoding: 'utf8', timeout: 60000 });
  const pm2 = (...args) => {
    const r = cli(args);
    console.log(`$ pm2 ${args.join(' ')} → exit ${r.status}\n${r.stdout}${r.stderr}`);
    if (r.status !== 0) throw new Error(`pm2 ${args.join(' ')} failed under qemu-aarch64`);
    return r.stdout;
  };
  try {
    pm2('start', app, '--name', 'arm-app');
    const deadline = Date.now() + 30000;
    while (!fs.existsSync(marker) || !fs.readFileSync(marker, 'utf8')) {
      if (Date.now() > deadline) throw new Error('the app never started');
      spawnSync('sleep', ['0.1']);
    }
    const pid = Number(fs.readFileSync(marker, 'utf8'));
    const list = JSON.parse(pm2('jlist'));
    if (list.length !== 1 || list[0].name !== 'arm-app' || list[0].pm2_env.status !== 'online' || list[0].pid !== pid) {
      throw new Error(`unexpected list: ${JSON.stringify(list.map((p) => [p.name, p.pid, p.pm2_env.status]))}`);
    }
    if (!/arm-app/.test(pm2('ls'))) throw new Error('pm2 ls does not show the app');
    pm2('stop', 'arm-app');
    if (running(pid)) throw new Error(`the app (pid ${pid}) still runs after pm2 stop`);
    if (JSON.parse(pm2('jlist'))[0].pm2_env.status !== 'stopped') throw new Error('the app is not stopped');
    const daemonPid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
    pm2('kill');
    if (!ended(daemonPid)) throw new Error(`the daemon (pid ${daemonPid}) still runs after pm2 kill`);
    console.log(`${platform} under qemu-aarch64: start, list, stop, kill: ok`);
  } finally {
    cli(['kill']);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (want('musl')) musl();
if (want('arm64')) arm64('aarch64-unknown-linux-gnu', 'linux-arm64-gnu');
if (want('arm64-musl')) arm64('aarch64-unknown-linux-musl', 'linux-arm64-musl');
