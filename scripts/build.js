#!/usr/bin/env node
'use strict';
// Builds everything from source with the machine's Rust toolchain:
// the napi addon (through the napi-rs CLI), the daemon and the native CLI,
// all placed in npm/linux-x64-gnu/ where the package loads them from.

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'npm', 'linux-x64-gnu');
const profile = process.env.PM2_BUILD_PROFILE || 'release';
const targetDir = path.join(root, 'target', profile);

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function napiCli() {
  try {
    const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [root] });
    const bin = require(pkg).bin;
    return path.join(path.dirname(pkg), typeof bin === 'string' ? bin : bin.napi);
  } catch {
    return null;
  }
}

function copyExecutable(name) {
  const from = path.join(targetDir, name);
  const to = path.join(outDir, name);
  fs.copyFileSync(from, `${to}.partial`);
  fs.chmodSync(`${to}.partial`, 0o755);
  fs.renameSync(`${to}.partial`, to);
}

const profileArgs = profile === 'release' ? ['--release'] : ['--profile', profile];
const napi = napiCli();
if (napi) {
  run(process.execPath, [
    napi, 'build', '--platform', ...profileArgs, '--package', 'pm2-node',
    '--output-dir', 'npm/linux-x64-gnu', '--no-js', '--dts', 'native.d.ts',
  ]);
} else {
  // Without the napi-rs CLI (it is a devDependency): the addon is the cdylib itself.
  run('cargo', ['build', ...profileArgs, '-p', 'pm2-node']);
  fs.copyFileSync(path.join(targetDir, 'libpm2_node.so'), path.join(outDir, 'pm2.linux-x64-gnu.node'));
}
run('cargo', ['build', ...profileArgs, '-p', 'pm2-daemon', '-p', 'pm2-cli']);
copyExecutable('pm2-daemon');
copyExecutable('pm2-cli');
console.log(`pm2: built into ${path.relative(root, outDir)}/`);

// In a checkout, link the package's own bin so `npx pm2 …` runs this build:
// npm links the bins of dependencies into node_modules/.bin, never the root
// package's. Installed as a dependency (inside node_modules), npm links it.
if (path.basename(path.dirname(path.resolve(root))) !== 'node_modules') {
  const binDir = path.join(root, 'node_modules', '.bin');
  fs.mkdirSync(binDir, { recursive: true });
  for (const [name, file] of Object.entries(require('../package.json').bin)) {
    const link = path.join(binDir, name);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.relative(binDir, path.join(root, file)), link);
  }
}
