'use strict';
// `pm2 serve <dir> [port]`: a static file server run as a managed app.
// Configured through its environment:
//   PM2_SERVE_PATH     the folder to serve (default: cwd)
//   PM2_SERVE_PORT     the port (default 8080); PM2_SERVE_HOST the address
//   PM2_SERVE_SPA      'true': unknown paths get index.html (single-page apps)
//   PM2_SERVE_HOMEPAGE the page for '/' (default /index.html)
//   PM2_SERVE_BASIC_AUTH 'true' with PM2_SERVE_BASIC_AUTH_USERNAME/_PASSWORD

const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const env = process.env;
const root = path.resolve(env.PM2_SERVE_PATH || process.cwd());
const port = Number(env.PM2_SERVE_PORT || 8080);
const host = env.PM2_SERVE_HOST || undefined;
const spa = env.PM2_SERVE_SPA === 'true';
const homepage = env.PM2_SERVE_HOMEPAGE || '/index.html';
const auth = env.PM2_SERVE_BASIC_AUTH === 'true'
  ? `Basic ${Buffer.from(`${env.PM2_SERVE_BASIC_AUTH_USERNAME || ''}:${env.PM2_SERVE_BASIC_AUTH_PASSWORD || ''}`).toString('base64')}`
  : null;

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.ico': 'image/x-icon', '.webp': 'image/webp', '.wasm': 'application/wasm',
  '.woff': 'font/woff', '.woff2': 'font/woff2', '.map': 'application/json', '.xml': 'application/xml', '.pdf': 'application/pdf',
};

/** Constant-time comparison of the Authorization header. */
function authorized(req) {
  if (!auth) return true;
  const given = Buffer.from(req.headers.authorization || '');
  const wanted = Buffer.from(auth);
  return given.length === wanted.length && crypto.timingSafeEqual(given, wanted);
}

/** The file under root that a URL path names, or null when it would leave root. */
function fileFor(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const file = path.join(root, path.normalize(decoded === '/' ? homepage : decoded));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendFile(req, res, file, stat) {
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
    'Content-Length': stat.size,
    'Last-Modified': stat.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') return res.end();
  fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

const server = http.createServer((req, res) => {
  if (!authorized(req)) {
    res.setHeader('WWW-Authenticate', 'Basic realm="pm2 serve"');
    return send(res, 401, 'Unauthorized\n');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed\n');
  let file = fileFor(req.url || '/');
  if (!file) return send(res, 403, 'Forbidden\n');
  fs.stat(file, (err, stat) => {
    if (!err && stat.isDirectory()) {
      file = path.join(file, 'index.html');
      return fs.stat(file, (e, s) => (e ? notFound(req, res) : sendFile(req, res, file, s)));
    }
    if (err) return notFound(req, res);
    return sendFile(req, res, file, stat);
  });
});

function notFound(req, res) {
  if (!spa) return send(res, 404, 'Not Found\n');
  const index = path.join(root, homepage);
  fs.stat(index, (err, stat) => (err ? send(res, 404, 'Not Found\n') : sendFile(req, res, index, stat)));
}

server.listen(port, host, () => {
  console.log(`Exposing ${root} directory on port ${server.address().port}`);
});
