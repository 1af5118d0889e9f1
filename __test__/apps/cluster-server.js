'use strict';
// A plain HTTP server, as an app would write it, for the cluster-mode tests: it listens on
// PORT (a number, 0, or a unix socket path) and HOST, and answers with who it is. It reports
// where it listens on the bus, sends 'ready' after READY_DELAY ms when that is set, answers a
// 'ping' message and throws on a 'crash' message.
const http = require('http');
const cluster = require('cluster');

const raw = process.env.PORT || '0';
const port = /^\d+$/.test(raw) ? Number(raw) : raw;
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      pid: process.pid,
      worker: cluster.worker ? cluster.worker.id : null,
      isWorker: cluster.isWorker,
      instance: process.env.NODE_APP_INSTANCE,
      counter: process.env.COUNTER,
      name: process.env.name,
    })
  );
});
server.listen(port, process.env.HOST || undefined, () => {
  const a = server.address();
  process.send({ type: 'cluster-test:listening', data: { port: typeof a === 'string' ? a : a.port } });
  if (process.env.READY_DELAY) setTimeout(() => process.send('ready'), Number(process.env.READY_DELAY));
});
process.on('message', (m) => {
  if (m && m.topic === 'crash') setImmediate(() => { throw new Error('crash requested'); });
  if (m && m.topic === 'ping') process.send({ type: 'cluster-test:pong', data: { pid: process.pid, got: m.data } });
});
