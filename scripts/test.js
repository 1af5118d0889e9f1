#!/usr/bin/env node
'use strict';
// `npm test`: the Rust tests of every crate, then the end-to-end tests that
// drive real daemons through require('pm2') and bin/pm2, then the fast subset
// of the fault-injection suite.

const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}

const hasNextest = spawnSync('cargo', ['nextest', '--version'], { stdio: 'ignore' }).status === 0;
if (hasNextest) run('cargo', ['nextest', 'run', '--workspace', '--no-fail-fast']);
else run('cargo', ['test', '--workspace']);
run(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), '__test__/']);
// The fast subset of the fault-injection suite (the whole one: `npm run faults`).
run(process.execPath, [path.join(__dirname, 'faults.js'), '--fast']);
