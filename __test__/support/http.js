'use strict';
// Requests to apps under test: a free port to give one, and its JSON answer.

const http = require('http');
const net = require('net');

/** A TCP port free on 127.0.0.1 at the time of asking. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The JSON answer to `GET /` on `target` (a port on 127.0.0.1, or a unix socket path):
 * on a new connection, or on a keep-alive connection of `agent` when given.
 */
function getJson(target, agent = false) {
  return new Promise((resolve, reject) => {
    const opts = typeof target === 'string' ? { socketPath: target } : { host: '127.0.0.1', port: target };
    const req = http.get({ ...opts, path: '/', agent, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

module.exports = { freePort, getJson };
