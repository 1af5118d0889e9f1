'use strict';
// A small HTTP server: `pm2 start examples/hello.js` (PORT defaults to 3000).
const http = require('http');

const port = Number(process.env.PORT) || 3000;
const instance = process.env.NODE_APP_INSTANCE ?? '-';

const server = http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from pid ${process.pid} (instance ${instance})\n`);
  })
  .listen(port, () => {
    console.log(`hello: listening on http://localhost:${port} (pid ${process.pid})`);
  });

// A graceful stop (SIGINT from pm2, or its 'shutdown' message): finish in-flight requests.
function shutdown() {
  console.log('hello: shutting down');
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
}
process.on('SIGINT', shutdown);
process.on('message', (msg) => msg === 'shutdown' && shutdown());
