'use strict';
// The dashboard `pm2 web` serves, in headless Chromium (Debian's package):
// real apps listed live with their status and sparklines, an app's log
// streaming with its err lines marked, restart from the page changing the
// pid, custom actions with a parameter, the env shown on request with
// secrets masked; and the token and Origin checks refusing what they must.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const { makeHome, cleanupHome, waitFor, cli, root } = require('./support/home');
const { CHROMIUM, openPage } = require('./support/browser');

function pm2(home, args, extraEnv = {}, timeout = 20000) {
  const r = spawnSync(cli, args, { env: { ...process.env, PM2_HOME: home, ...extraEnv }, encoding: 'utf8', timeout });
  assert.strictEqual(r.status, 0, `pm2 ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r;
}

function jlist(home) {
  return JSON.parse(pm2(home, ['jlist']).stdout);
}

/** One HTTP exchange: `{status, body}`. */
function request(port, { path: p = '/', method = 'GET', headers = {}, body = '' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      const length = body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
      sock.write(`${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}${length}\r\n${body}`);
    });
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('error', reject);
    sock.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({ status: Number(data.split(' ')[1]), head: data.slice(0, split), body: data.slice(split + 4) });
    });
  });
}

function writeApps(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-apps-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Prints a numbered line on stdout, every third one on stderr too, and
  // answers a custom action with its parameter, as the in-app agent does.
  fs.writeFileSync(path.join(dir, 'ticker.js'), `
    let n = 0;
    setInterval(() => {
      n++;
      console.log('tick ' + n + ' from ' + process.pid);
      if (n % 3 === 0) console.error('oops ' + n);
    }, 200);
    process.send({ type: 'axm:action', data: { action_name: 'greet', action_type: 'custom', arity: 2, opts: true } });
    process.on('message', (m) => {
      if (m && m.msg === 'greet') process.send({ type: 'axm:reply', data: { action_name: 'greet', return: { hello: m.opts } } });
    });
  `);
  // Holds memory that grows, so its memory sparkline has a shape.
  fs.writeFileSync(path.join(dir, 'hog.js'), `
    const keep = [];
    setInterval(() => { if (keep.length < 40) keep.push(Buffer.alloc(1024 * 1024, 1)); }, 250);
  `);
  return dir;
}

test('the dashboard refuses requests without the token, and actions from another origin', async (t) => {
  const home = makeHome('dashboard-auth');
  t.after(() => cleanupHome(home));
  const dir = writeApps(t);
  pm2(home, ['start', path.join(dir, 'ticker.js'), '--name', 'ticker']);
  const on = pm2(home, ['web', '0']).stdout;
  const m = /Dashboard .*: http:\/\/127\.0\.0\.1:(\d+)\/dashboard\?token=([0-9a-f]+)/.exec(on);
  assert.ok(m, on);
  const port = Number(m[1]);
  const token = m[2];
  assert.strictEqual(fs.readFileSync(path.join(home, 'web.token'), 'utf8').trim(), token);
  assert.strictEqual(fs.statSync(path.join(home, 'web.token')).mode & 0o777, 0o600);

  for (const p of ['/dashboard', '/dashboard/app.js', '/api/events', '/api/logs?id=0', '/api/process/0', '/api/env/0']) {
    const r = await request(port, { path: p });
    assert.strictEqual(r.status, 401, p);
    assert.match(JSON.parse(r.body).err, /needs its token/);
    const wrong = await request(port, { path: `${p}${p.includes('?') ? '&' : '?'}token=${'0'.repeat(64)}` });
    assert.strictEqual(wrong.status, 403, p);
  }
  // The env is not served without `pm2 web --env`, even with the token.
  const env = await request(port, { path: `/api/env/0?token=${token}` });
  assert.strictEqual(env.status, 403);
  assert.match(JSON.parse(env.body).err, /pm2 web --env/);
  // PM2's JSON list stays where tools read it, without a token.
  assert.strictEqual((await request(port, { path: '/' })).status, 200);

  const pid = jlist(home)[0].pid;
  const action = JSON.stringify({ action: 'restart', id: 0 });
  const json = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  for (const headers of [json, { ...json, Origin: 'http://evil.example' }, { ...json, Origin: 'null' }]) {
    const r = await request(port, { method: 'POST', path: '/api/action', headers, body: action });
    assert.strictEqual(r.status, 403, JSON.stringify(headers));
    assert.match(JSON.parse(r.body).err, /Origin header must match the Host/);
  }
  const noToken = await request(port, { method: 'POST', path: '/api/action', headers: { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${port}` }, body: action });
  assert.strictEqual(noToken.status, 401);
  const asGet = await request(port, { path: `/api/action?token=${token}` });
  assert.strictEqual(asGet.status, 405);
  assert.strictEqual(jlist(home)[0].pid, pid, 'no refused request restarted the app');

  // From the page's own origin it acts, and errors are the daemon's.
  const same = { ...json, Origin: `http://127.0.0.1:${port}` };
  const unknown = await request(port, { method: 'POST', path: '/api/action', headers: same, body: JSON.stringify({ action: 'restart', id: 42 }) });
  assert.strictEqual(unknown.status, 422);
  assert.match(JSON.parse(unknown.body).err, /Process 42 not found/);
  const bogus = await request(port, { method: 'POST', path: '/api/action', headers: same, body: JSON.stringify({ action: 'explode', id: 0 }) });
  assert.match(JSON.parse(bogus.body).err, /unknown action "explode"/);
  const done = await request(port, { method: 'POST', path: '/api/action', headers: same, body: action });
  assert.strictEqual(done.status, 200, done.body);
  assert.strictEqual(JSON.parse(done.body).status, 'online');
  const after = jlist(home)[0];
  assert.notStrictEqual(after.pid, pid);
  assert.strictEqual(JSON.parse(done.body).pid, after.pid);
  assert.strictEqual(after.pm2_env.restart_time, 1);

  // The page may load nothing from elsewhere.
  const page = await request(port, { path: `/dashboard?token=${token}` });
  assert.strictEqual(page.status, 200);
  assert.match(page.head, /Content-Security-Policy: default-src 'none'; script-src 'self'/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'no resource from another site');

  // `pm2 web --new-token`: the old URL no longer opens the dashboard.
  const rotated = pm2(home, ['web', '--new-token']).stdout;
  const fresh = /dashboard\?token=([0-9a-f]+)/.exec(rotated);
  assert.ok(fresh && fresh[1] !== token, rotated);
  assert.strictEqual((await request(port, { path: `/dashboard?token=${token}` })).status, 403);
  assert.strictEqual((await request(port, { path: `/dashboard?token=${fresh[1]}` })).status, 200);
});

test('in Chromium: the live list, sparklines, the log stream, restart, a custom action and the masked env', { skip: !CHROMIUM && 'Chromium is not installed (apt-get install chromium)', timeout: 120000 }, async (t) => {
  const home = makeHome('dashboard-browser');
  t.after(() => cleanupHome(home));
  const dir = writeApps(t);
  pm2(home, ['start', path.join(dir, 'ticker.js'), '--name', 'ticker'], { API_KEY: 'sekrit-api-value', SHOWN_SETTING: 'plain-value' });
  pm2(home, ['start', path.join(dir, 'hog.js'), '--name', 'hog']);
  pm2(home, ['start', path.join(dir, 'ticker.js'), '--name', 'other', '--namespace', 'jobs']);
  const on = pm2(home, ['web', '0']).stdout;
  const url = /(http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=[0-9a-f]+)/.exec(on)[1];

  const browser = await openPage(url);
  t.after(() => browser.close());
  const ev = browser.evaluate;
  const rows = () => ev(`[...document.querySelectorAll('#rows .row')].map((r) => ({
    id: Number(r.dataset.id), name: r.querySelector('.c-name').firstChild.textContent,
    status: r.querySelector('.st').textContent, pid: r.querySelector('.c-pid').textContent,
    restarts: r.querySelector('.c-rs').textContent,
    points: r.querySelectorAll('svg.spark')[1].dataset.points }))`);

  // Every app listed with its status and pid, as `pm2 jlist` has them.
  const list = jlist(home);
  await waitFor(async () => {
    const shown = await rows();
    return shown.length === 3 && list.every((p) => shown.some((r) => r.name === p.name && r.status === 'online' && r.pid === String(p.pid)));
  }, { timeout: 20000, what: 'the three apps listed online with their pids' });
  assert.match(await ev(`document.getElementById('conn').textContent`), /live/);
  assert.match(await ev(`document.getElementById('host').textContent`), /memory .*\/ /);

  // Sparklines fill with the daemon's samples (one every 2 s).
  await waitFor(async () => (await rows()).every((r) => Number(r.points) >= 3), { timeout: 20000, what: 'sparklines with 3 points' });
  const hogPoints = await ev(`document.querySelector('#rows .row[data-id="1"] .c-mem svg polyline').getAttribute('points')`);
  const ys = hogPoints.split(' ').map((p) => Number(p.split(',')[1]));
  assert.ok(new Set(ys).size > 1, `the hog's memory line moves: ${hogPoints}`);

  // Selecting an app streams its log: out lines, and err lines marked.
  const ticker = list.find((p) => p.name === 'ticker');
  await ev(`document.querySelector('#rows .row[data-id="${ticker.pm_id}"]').click()`);
  await waitFor(() => ev(`[...document.querySelectorAll('#log div')].some((d) => d.textContent === 'tick 20 from ${ticker.pid}' || /^tick \\d+ from ${ticker.pid}$/.test(d.textContent) && Number(d.textContent.split(' ')[1]) > ${0})`), { what: 'a tick line in the log' });
  const errLine = await waitFor(() => ev(`(() => { const d = [...document.querySelectorAll('#log div.err')].find((d) => /^oops \\d+$/.test(d.textContent)); return d && d.textContent; })()`), { what: 'an err line marked' });
  assert.ok(!(await ev(`[...document.querySelectorAll('#log div.err')].some((d) => d.textContent.startsWith('tick'))`)), 'stdout lines are not marked err');
  // New lines arrive while the page is open (beyond what the files held).
  const last = () => ev(`Math.max(...[...document.querySelectorAll('#log div')].map((d) => /^tick (\\d+)/.exec(d.textContent)).filter(Boolean).map((m) => Number(m[1])))`);
  const before = await last();
  await waitFor(async () => (await last()) > before + 2, { what: 'new log lines streamed' });
  // The search keeps the lines that match.
  await ev(`(() => { const s = document.getElementById('log-search'); s.value = '${errLine}'; s.dispatchEvent(new Event('input')); })()`);
  const visible = await ev(`[...document.querySelectorAll('#log div:not(.hide)')].map((d) => d.textContent)`);
  assert.ok(visible.length >= 1 && visible.every((l) => l.includes(errLine)), JSON.stringify(visible));
  await ev(`(() => { const s = document.getElementById('log-search'); s.value = ''; s.dispatchEvent(new Event('input')); })()`);

  // Details: the describe fields, and the custom action the app registered.
  await waitFor(() => ev(`document.getElementById('d-fields').textContent.includes(${JSON.stringify(ticker.pm2_env.pm_exec_path)})`), { what: 'the script path in the details' });
  await waitFor(() => ev(`!!document.querySelector('#d-custom button[data-custom="greet"]')`), { what: 'the greet action listed' });

  // Restart from the page: confirmed, then the pid changes.
  await ev(`document.querySelector('#d-actions button[data-action="restart"]').click()`);
  assert.match(await ev(`document.getElementById('confirm-text').textContent`), /Restart ticker/);
  assert.strictEqual(jlist(home).find((p) => p.name === 'ticker').pid, ticker.pid, 'nothing happens before the confirmation');
  await ev(`document.getElementById('confirm-yes').click()`);
  const restarted = await waitFor(() => {
    const p = jlist(home).find((x) => x.name === 'ticker');
    return p.pid !== ticker.pid && p.pm2_env.status === 'online' && p;
  }, { timeout: 20000, what: 'the ticker restarted' });
  await waitFor(async () => (await rows()).some((r) => r.name === 'ticker' && r.pid === String(restarted.pid) && r.restarts === '1'), { timeout: 10000, what: 'the new pid in the list' });
  await waitFor(() => ev(`[...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('pid ${restarted.pid}'))`), { what: 'the answer shown' });
  await waitFor(() => ev(`[...document.querySelectorAll('#log div')].some((d) => d.textContent.endsWith('from ${restarted.pid}'))`), { what: 'the new process in the log' });

  // A custom action with a parameter, answered with what the app returned.
  await waitFor(() => ev(`!!document.querySelector('#d-custom button[data-custom="greet"]')`), { what: 'the greet action after the restart' });
  await ev(`(() => { const b = document.querySelector('#d-custom button[data-custom="greet"]'); b.nextSibling.value = 'world'; b.click(); })()`);
  await ev(`document.getElementById('confirm-yes').click()`);
  await waitFor(() => ev(`[...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('{"hello":"world"}'))`), { what: 'the action\'s reply' });

  // The env: without `pm2 web --env` the page says it needs it.
  assert.ok(!(await ev(`document.documentElement.outerHTML.includes('plain-value')`)), 'no env before it is asked for');
  await ev(`document.getElementById('d-env-box').open = true; document.getElementById('d-env-load').click()`);
  const off = await waitFor(() => ev(`(() => { const c = document.querySelector('#d-env td.env-off'); return c && c.textContent; })()`), { what: 'the note that the env needs --env' });
  assert.match(off, /pm2 web --env/);
  // With it (same address, same token): shown on request, secrets masked.
  pm2(home, ['web', new URL(url).port, '--env']);
  await ev(`document.getElementById('d-env-load').click()`);
  const env = await waitFor(() => ev(`(() => { const o = {}; for (const tr of document.querySelectorAll('#d-env tr')) o[tr.cells[0].textContent] = tr.cells[1].textContent; return o.SHOWN_SETTING && o; })()`), { what: 'the env table' });
  assert.strictEqual(env.SHOWN_SETTING, 'plain-value');
  assert.notStrictEqual(env.API_KEY, undefined);
  assert.ok(!env.API_KEY.includes('sekrit'), env.API_KEY);
  assert.ok(!(await ev(`document.documentElement.outerHTML.includes('sekrit-api-value')`)), 'the secret never reaches the page');

  if (process.env.PM2_DASHBOARD_SCREENSHOT) {
    await browser.screenshot(path.join(root, 'docs', 'dashboard.png'));
  }
});

test('in Chromium: a list of 1,000 apps keeps only the rows in view in the page; scrolling, selecting and the filter reach any app', { skip: !CHROMIUM && 'Chromium is not installed (apt-get install chromium)', timeout: 180000 }, async (t) => {
  const home = makeHome('dashboard-many');
  t.after(() => cleanupHome(home));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-many-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const count = 1000;
  const apps = Array.from({ length: count }, (_, i) => ({ name: `sleeper-${i}`, script: '/bin/sleep', args: '600', interpreter: 'none', autorestart: false }));
  fs.writeFileSync(path.join(dir, 'ecosystem.config.js'), `module.exports = ${JSON.stringify({ apps })};`);
  pm2(home, ['start', path.join(dir, 'ecosystem.config.js')], {}, 120000);
  const url = /(http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=[0-9a-f]+)/.exec(pm2(home, ['web', '0']).stdout)[1];

  const browser = await openPage(url, { width: 1000, height: 500 });
  t.after(() => browser.close());
  const ev = browser.evaluate;
  const ids = () => ev(`[...document.querySelectorAll('#rows .row')].map((r) => Number(r.dataset.id))`);
  // The rows in the page are those whose box meets the list's viewport, and a few beyond.
  const inView = () => ev(`(() => {
    const vp = document.getElementById('viewport').getBoundingClientRect();
    return [...document.querySelectorAll('#rows .row')].filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > vp.top && b.top < vp.bottom; }).length;
  })()`);
  await waitFor(() => ev(`document.getElementById('count').textContent === '${count} of ${count} processes'`), { timeout: 60000, what: `${count} processes counted` });
  const visible = await inView();
  let shown = await ids();
  assert.ok(visible > 0 && shown.length <= visible + 12, `${shown.length} rows in the page, ${visible} in view, for ${count} apps`);
  assert.strictEqual(shown[0], 0);

  // Scrolled to near the end, the page holds the rows there and only those.
  const target = count - 3;
  await ev(`(() => { const v = document.getElementById('viewport'); v.scrollTop = ${target} * 32 - 100; v.dispatchEvent(new Event('scroll')); })()`);
  await waitFor(async () => (await ids()).includes(target), { what: `app ${target} in the page after scrolling` });
  shown = await ids();
  assert.ok(shown.length <= (await inView()) + 12 && shown.every((id) => id > count - 40), `rows in the page after scrolling: ${shown}`);

  // Selecting it opens its details, and the list still holds only the rows in view.
  await ev(`document.querySelector('#rows .row[data-id="${target}"]').click()`);
  await waitFor(() => ev(`document.getElementById('d-title').textContent.startsWith('sleeper-${target} (${target})')`), { what: 'the selected app\'s details' });
  await waitFor(() => ev(`document.getElementById('d-fields').textContent.includes('/bin/sleep')`), { what: 'its script in the details' });
  assert.strictEqual(await ev(`document.querySelector('#rows .row.sel').dataset.id`), String(target));
  assert.ok((await ids()).length <= (await inView()) + 12, 'only the rows in view once an app is selected');

  await ev(`(() => { const f = document.getElementById('filter'); f.value = 'sleeper-17'; f.dispatchEvent(new Event('input')); })()`);
  const names = await ev(`[...document.querySelectorAll('#rows .row')].map((r) => r.querySelector('.c-name').textContent)`);
  assert.deepStrictEqual(names.slice(0, 3), ['sleeper-17', 'sleeper-170', 'sleeper-171']);
  assert.strictEqual(await ev(`document.getElementById('count').textContent`), `11 of ${count} processes`);
});
