// Writes its environment, argv and Node options to OUT_FILE, then idles.
require('fs').writeFileSync(process.env.OUT_FILE, JSON.stringify({ env: process.env, argv: process.argv.slice(2), title: process.title, execArgv: process.execArgv }));
setInterval(() => {}, 1000);
