// Writes its environment, argv and Node options to OUT_FILE, then idles.
// Written whole, then renamed into place: a test that sees the file sees all of it.
const fs = require('fs');
const out = process.env.OUT_FILE;
const partial = `${out}.${process.pid}.partial`;
fs.writeFileSync(partial, JSON.stringify({ env: process.env, argv: process.argv.slice(2), title: process.title, execArgv: process.execArgv }));
fs.renameSync(partial, out);
setInterval(() => {}, 1000);
