'use strict';
// A cluster app that uses @pm2/io and shuts down on SIGINT: it logs the
// shutdown, closes its server and exits 0. @pm2/io exits 1 when it finds
// its IPC channel gone.
require('@pm2/io').init({});
const http = require('http');
const server = http.createServer((req, res) => res.end(String(process.pid)));
server.listen(Number(process.env.PORT || 0), () => {
  process.send({ type: 'cluster-test:listening', data: { port: server.address().port } });
});
process.on('SIGINT', () => {
  console.log(`graceful shutdown of ${process.pid}`);
  server.close(() => process.exit(0));
});
