// A small HTTP app for the container example. It tells pm2 when it is ready
// to serve (`wait_ready` in ecosystem.config.js): pm2 keeps it "launching"
// until then, and the web interface's /ready answers 503 meanwhile, so an
// orchestrator sends no traffic to a container whose app is still warming up.
'use strict';
const http = require('http');

const port = Number(process.env.PORT || 3000);
// Stands for the work an app does before it can serve: caches, connections…
const warmUpMs = Number(process.env.WARM_UP_MS || 1000);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n');
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ hello: 'world', pid: process.pid }) + '\n');
});

setTimeout(() => {
  server.listen(port, () => {
    console.log(`listening on ${server.address().port}`);
    if (process.send) process.send('ready');
  });
}, warmUpMs);

// pm2 stops an app with SIGINT (then SIGKILL after kill_timeout): finish the
// requests under way, then exit.
process.on('SIGINT', () => {
  console.log('shutting down');
  server.close(() => process.exit(0));
});
