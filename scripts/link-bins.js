#!/usr/bin/env node
'use strict';
// postinstall: points the package's commands (bin/native/pm2, …, where
// npm's bin links lead) at this platform's native CLI, so that `pm2` on
// PATH starts no Node process. bin/pm2 and its siblings stay Node scripts,
// for `node node_modules/pm2/bin/pm2 …`. Where the links cannot be made (no
// native build for this platform, a read-only install), bin/native/* stay
// the Node scripts that run the CLI, so nothing breaks, it is only slower.
// In a checkout, scripts/build.js links node_modules/.bin itself and
// bin/native/* (in git) are left alone.

const fs = require('fs');
const path = require('path');
const { nativeDir, missingMessage, root } = require('../lib/platform');

function main() {
  if (path.basename(path.dirname(path.resolve(root))) !== 'node_modules') return;
  const dir = nativeDir();
  if (!dir) {
    // Not fatal at install time: require('pm2') and `pm2` report it when used.
    console.warn(missingMessage());
    return;
  }
  const cli = path.join(dir, 'pm2-cli');
  for (const name of Object.keys(require('../package.json').bin)) {
    const file = path.join(root, 'bin', 'native', name);
    const tmp = `${file}.native-link`;
    try {
      fs.rmSync(tmp, { force: true });
      fs.symlinkSync(path.relative(path.dirname(file), cli), tmp);
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      console.warn(`pm2: ${name} runs the native CLI through Node (${err.message})`);
    }
  }
}

main();
