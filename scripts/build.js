#!/usr/bin/env node
'use strict';
// Builds everything from source with the machine's Rust toolchain: the napi
// addon (through the napi-rs CLI), the daemon and the native CLI, all placed
// in npm/<platform>/ (napi-rs's platform names) where the package loads them
// from.
//
//   node scripts/build.js                      # this machine's platform
//   node scripts/build.js --target <triple>    # another one (see TARGETS)
//   node scripts/build.js --target <triple> --no-addon   # daemon and CLI only
//
// Cross builds need the target's Rust std (`rustup target add <triple>`) and,
// for the linux targets other than the host's, a linker for them: Debian's
// gcc-aarch64-linux-gnu for arm64, musl-tools for the x64 musl addon. The
// musl daemon and CLI are static executables.

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const profile = process.env.PM2_BUILD_PROFILE || 'release';

/** Rust target triple → napi-rs platform name (npm/<name>/). */
const TARGETS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
};

/** Linkers for cross builds from an x64 linux host (Debian's gcc-aarch64-linux-gnu). */
const CROSS_LINKERS = {
  'aarch64-unknown-linux-gnu': 'aarch64-linux-gnu-gcc',
  'aarch64-unknown-linux-musl': 'aarch64-linux-gnu-gcc',
};
/**
 * Linkers for a musl addon, which links against musl's libc.so (Debian's
 * musl-tools). Not for the executables: musl-gcc's specs turn Rust's
 * static-pie link into a dynamic one, while the host's cc links them static
 * with the musl start files Rust ships.
 */
const ADDON_LINKERS = {
  'x86_64-unknown-linux-musl': 'musl-gcc',
};

function arg(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' });
  return /^host: (\S+)$/m.exec(out)[1];
}

const host = hostTriple();
const target = arg('--target') || host;
const platform = TARGETS[target];
if (!platform) {
  console.error(`pm2: no package for ${target}; targets: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(1);
}
const buildAddon = !process.argv.includes('--no-addon');
const cross = target !== host;
const outDir = path.join(root, 'npm', platform);
// Cargo's `dev` profile builds into target/debug.
const profileDir = profile === 'dev' ? 'debug' : profile;
const targetDir = path.join(root, 'target', ...(cross ? [target] : []), profileDir);

const linkerVar = `CARGO_TARGET_${target.toUpperCase().replace(/-/g, '_')}_LINKER`;
const env = { ...process.env };
if (cross && CROSS_LINKERS[target] && process.platform === 'linux') {
  env[linkerVar] = env[linkerVar] || CROSS_LINKERS[target];
}

function run(cmd, args, extraEnv = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...env, ...extraEnv } });
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

/**
 * The build of the daemon keeps its symbol table for scripts/hot-code.js
 * (see Cargo.toml); the copy shipped goes without it. Where the target's
 * strip is not installed the copy keeps it: a larger file, nothing else.
 */
function stripTool() {
  if (target.includes('apple')) return process.platform === 'darwin' ? ['strip', '-x'] : null;
  const prefix = cross && CROSS_LINKERS[target] ? CROSS_LINKERS[target].replace(/gcc$/, '') : '';
  return [`${prefix}strip`, '--strip-all'];
}

function copyExecutable(name, { strip = false } = {}) {
  const from = path.join(targetDir, name);
  const to = path.join(outDir, name);
  fs.copyFileSync(from, `${to}.partial`);
  fs.chmodSync(`${to}.partial`, 0o755);
  const tool = strip && stripTool();
  if (tool) {
    try {
      execFileSync(tool[0], [...tool.slice(1), `${to}.partial`], { stdio: 'inherit' });
    } catch (e) {
      console.warn(`pm2: ${name} keeps its symbol table (${tool[0]}: ${e.code || e.message})`);
    }
  }
  fs.renameSync(`${to}.partial`, to);
}

// The napi-rs CLI looks for a `--profile dev` build under target/dev, where
// cargo never puts it: a dev build is asked for with no profile flag at all.
const profileArgs = { release: ['--release'], dev: [] }[profile] || ['--profile', profile];
const targetArgs = cross ? ['--target', target] : [];
if (buildAddon) {
  // A musl addon links against the system's musl dynamically: Node loads it
  // into its own process, which already has the C library.
  const addonEnv = target.endsWith('-musl')
    ? { RUSTFLAGS: `${env.RUSTFLAGS || ''} -C target-feature=-crt-static`.trim() }
    : {};
  if (cross && ADDON_LINKERS[target] && !env[linkerVar]) addonEnv[linkerVar] = ADDON_LINKERS[target];
  const napi = napiCli();
  if (napi) {
    run(process.execPath, [
      napi, 'build', '--platform', ...profileArgs, ...targetArgs, '--package', 'pm2-node',
      '--output-dir', `npm/${platform}`, '--no-js', '--dts', 'native.d.ts',
    ], addonEnv);
  } else {
    // Without the napi-rs CLI (it is a devDependency): the addon is the cdylib itself.
    run('cargo', ['build', ...profileArgs, ...targetArgs, '-p', 'pm2-node'], addonEnv);
    const lib = target.includes('apple') ? 'libpm2_node.dylib' : 'libpm2_node.so';
    fs.copyFileSync(path.join(targetDir, lib), path.join(outDir, `pm2.${platform}.node`));
  }
}
// The daemon and the CLI: static executables on musl (Rust's default there).
run('cargo', ['build', ...profileArgs, ...targetArgs, '-p', 'pm2-daemon', '-p', 'pm2-cli']);
copyExecutable('pm2-daemon', { strip: true });
copyExecutable('pm2-cli');
console.log(`pm2: built into ${path.relative(root, outDir)}/`);

// In a checkout, link the package's commands to this build so `npx pm2 …`
// runs it without Node: npm links the bins of dependencies into
// node_modules/.bin, never the root package's. Installed as a dependency
// (inside node_modules), npm links bin/native/* and scripts/link-bins.js points
// them at the native CLI.
if (!cross && path.basename(path.dirname(path.resolve(root))) !== 'node_modules') {
  const binDir = path.join(root, 'node_modules', '.bin');
  fs.mkdirSync(binDir, { recursive: true });
  for (const name of Object.keys(require('../package.json').bin)) {
    const link = path.join(binDir, name);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.relative(binDir, path.join(outDir, 'pm2-cli')), link);
  }
}
