'use strict';
// Headless Chromium (Debian's package, nothing downloaded) driven over the
// DevTools protocol with a small WebSocket client: enough to open a page,
// evaluate expressions in it and take a screenshot.

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const crypto = require('crypto');
const { spawn } = require('child_process');

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/** A WebSocket client for one CDP target: `send(method, params)` resolves with its result. */
function connect(wsUrl) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = http.request(wsUrl.replace(/^ws:/, 'http:'), {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
    });
    req.on('error', reject);
    req.on('response', (r) => reject(new Error(`no WebSocket upgrade: HTTP ${r.statusCode}`)));
    req.on('upgrade', (_res, sock) => {
      let buf = Buffer.alloc(0);
      let nextId = 1;
      const pending = new Map();
      const listeners = [];
      let parts = [];
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (buf.length < 2) return;
          const fin = buf[0] & 0x80;
          const op = buf[0] & 0x0f;
          let len = buf[1] & 0x7f;
          let at = 2;
          if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
          else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
          if (buf.length < at + len) return;
          const payload = buf.subarray(at, at + len);
          buf = buf.subarray(at + len);
          if (op === 0x8) { sock.end(); return; }
          if (op !== 0x1 && op !== 0x0) continue;
          parts.push(payload);
          if (!fin) continue;
          const msg = JSON.parse(Buffer.concat(parts).toString('utf8'));
          parts = [];
          if (msg.id && pending.has(msg.id)) {
            const { ok, fail } = pending.get(msg.id);
            pending.delete(msg.id);
            if (msg.error) fail(new Error(`${msg.error.message} ${msg.error.data || ''}`)); else ok(msg.result);
          } else if (msg.method) {
            for (const l of listeners) l(msg);
          }
        }
      });
      sock.on('close', () => { for (const { fail } of pending.values()) fail(new Error('CDP connection closed')); pending.clear(); });
      function frame(text) {
        const data = Buffer.from(text);
        const mask = crypto.randomBytes(4);
        const head = data.length < 126 ? Buffer.from([0x81, 0x80 | data.length])
          : data.length < 65536 ? Buffer.from([0x81, 0x80 | 126, data.length >> 8, data.length & 0xff])
            : (() => { const h = Buffer.alloc(10); h[0] = 0x81; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(data.length), 2); return h; })();
        const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]));
        return Buffer.concat([head, mask, masked]);
      }
      resolve({
        send(method, params = {}) {
          const id = nextId++;
          return new Promise((ok, fail) => {
            pending.set(id, { ok, fail });
            sock.write(frame(JSON.stringify({ id, method, params })));
          });
        },
        on(fn) { listeners.push(fn); },
        close() { sock.destroy(); },
      });
    });
    req.end();
  });
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (r) => {
      let s = '';
      r.on('data', (d) => { s += d; });
      r.on('end', () => { try { resolve(JSON.parse(s)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

/**
 * Starts Chromium on `url`; resolves with `{page, evaluate, screenshot, close}`.
 * `close()` ends the browser's whole process group and removes its profile.
 */
async function openPage(url, { width = 1280, height = 800 } = {}) {
  if (!CHROMIUM) throw new Error('Chromium is not installed (apt-get install chromium)');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-chromium-'));
  const child = spawn(CHROMIUM, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--disable-background-networking', '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', `--window-size=${width},${height}`, url,
  ], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    const port = await new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${err}`)), 30000);
      child.stderr.on('data', (d) => {
        err += d;
        const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Chromium exited (${code}): ${err}`)); });
    });
    let target;
    const deadline = Date.now() + 10000;
    while (!target && Date.now() < deadline) {
      target = (await getJson(`http://127.0.0.1:${port}/json/list`)).find((t) => t.type === 'page');
      if (!target) await new Promise((r) => setTimeout(r, 50));
    }
    if (!target) throw new Error('no page target in Chromium');
    const page = await connect(target.webSocketDebuggerUrl);
    await page.send('Runtime.enable');
    await page.send('Page.enable');
    const evaluate = async (expression) => {
      const r = await page.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text}`);
      return r.result.value;
    };
    const screenshot = async (file) => {
      const r = await page.send('Page.captureScreenshot', { format: 'png' });
      fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
    };
    return { page, evaluate, screenshot, close: () => { page.close(); close(); } };
  } catch (e) {
    close();
    throw e;
  }
}

module.exports = { CHROMIUM, openPage };
