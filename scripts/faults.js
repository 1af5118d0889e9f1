#!/usr/bin/env node
'use strict';
// The fault-injection suite (faults/): each test reproduces one finding of the
// hardening probe against a real daemon and fails if the fault comes back.
//
//   node scripts/faults.js          the whole suite (`npm run faults`)
//   node scripts/faults.js --fast   the fast subset that `npm test` runs
//   node scripts/faults.js faults/x.test.js   one file of it
//
// The suite runs inside a fresh PID namespace (`unshare --pid --fork
// --mount-proc`): some probes send requests that, in a faulty daemon, would
// signal other processes, and there they can only reach the suite's own.
// Where no namespace can be made (not root, no user namespaces), the tests
// marked `needsPidNamespace` are skipped and the rest run as usual.

const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const fast = process.argv.includes('--fast');
const extra = process.argv.slice(2).filter((a) => a !== '--fast');
// Test files named on the command line run alone; otherwise the whole folder.
const files = extra.filter((a) => a.endsWith('.js'));
const options = extra.filter((a) => !a.endsWith('.js'));

const env = { ...process.env, PM2_FAULTS_FULL: fast ? '' : '1' };
const nodeArgs = ['--test', '--test-concurrency=1', ...options, ...(files.length ? files : ['faults/'])];

function run(cmd, args, runEnv) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: runEnv });
}

let r;
if (!process.env.PM2_FAULTS_PID_NS) {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
  if (probe.status === 0) {
    r = run('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, ...nodeArgs], {
      ...env,
      PM2_FAULTS_PID_NS: '1',
    });
  } else {
    console.log('faults: no PID namespace here (needs root or user namespaces); tests that need one are skipped');
    r = run(process.execPath, nodeArgs, env);
  }
} else {
  r = run(process.execPath, nodeArgs, env);
}
process.exit(r.status === null ? 1 : r.status);
