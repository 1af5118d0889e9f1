// Writes its environment and argv to OUT_FILE, then idles.
require('fs').writeFileSync(process.env.OUT_FILE, JSON.stringify({ env: process.env, argv: process.argv.slice(2), title: process.title }));
setInterval(() => {}, 1000);
