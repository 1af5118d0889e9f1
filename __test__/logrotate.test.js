'use strict';
// Log rotation by the daemon (`pm2 set pm2:log_rotate true`, pm2-logrotate's
// keys): every line lands in exactly one file across many rotations while an
// app writes fast; retain, compress, date names and rotateInterval act on the
// files; off by default, and off while a process named pm2-logrotate is online.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');
const { makeHome, waitFor, cleanupHome, cli } = require('./support/home');

const home = makeHome('logrotate');
const apps = path.join(__dirname, 'apps');
const logs = path.join(home, 'logs');
const env = { ...process.env, PM2_HOME: home };

function run(...args) {
  const r = spawnSync(cli, args, { env, encoding: 'utf8', cwd: apps, timeout: 20000 });
  assert.strictEqual(r.status, 0, `pm2 ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** pm2.log with its rotated copies (it rotates too, maybe compressed), oldest first. */
function pm2Log() {
  const copies = fs.readdirSync(home).filter((f) => /^pm2__.*\.log(\.gz)?$/.test(f))
    .map((f) => path.join(home, f))
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  return [...copies, path.join(home, 'pm2.log')].map((f) => {
    const bytes = fs.readFileSync(f);
    return (f.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString();
  }).join('');
}

/** `pm2 set` each pair, then waits for the daemon to say it applies `expect`. */
async function configure(pairs, expect) {
  for (const [k, v] of pairs) run('set', k, v);
  await waitFor(() => {
    const states = pm2Log().split('\n').filter((l) => l.includes('log rotation: o'));
    return states.length && states[states.length - 1].includes(expect);
  }, { timeout: 5000, interval: 100, what: `the daemon to apply ${expect}` });
}

/** Rotated copies of `<name>-out.log`. */
function rotated(name) {
  return fs.readdirSync(logs).filter((f) => f.startsWith(`${name}-out__`)).sort();
}

function start(name, extraEnv) {
  const e = { ...env, ...extraEnv };
  const r = spawnSync(cli, ['start', path.join(apps, 'seq-writer.js'), '--name', name], { env: e, encoding: 'utf8', timeout: 20000 });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
}

function contents(file) {
  const bytes = fs.readFileSync(path.join(logs, file));
  return file.endsWith('.gz') ? zlib.gunzipSync(bytes).toString() : bytes.toString();
}

async function waitDone(name, total) {
  // The last line may be in a rotated file already (a file being compressed
  // may vanish between listing and reading: the check runs again).
  await waitFor(() => [...rotated(name), `${name}-out.log`].some((f) => contents(f).includes(`DONE ${total}\n`)),
    { timeout: 30000, interval: 100, what: `${name} to write its ${total} lines` });
}

test.before(() => { run('ping'); });
test.after(() => cleanupHome(home));

test('off by default: pm2-logrotate keys alone rotate nothing', async () => {
  run('set', 'pm2-logrotate:max_size', '1K');
  start('plain', { SEQ_LINES: '2000' });
  await waitDone('plain', 2000);
  assert.ok(fs.statSync(path.join(logs, 'plain-out.log')).size > 10 * 1024);
  assert.deepStrictEqual(rotated('plain'), []);
  assert.doesNotMatch(pm2Log(), /log rotation: on/);
  run('delete', 'plain');
});

test('a value the daemon cannot use is named in pm2.log', async () => {
  run('set', 'pm2:log_rotate', 'yes');
  await waitFor(() => /log rotation: pm2:log_rotate "yes" is not true or false; rotation stays off/.test(pm2Log()),
    { timeout: 5000, interval: 100, what: 'the switch named' });
  run('set', 'pm2-logrotate:max_size', 'huge');
  run('set', 'pm2:log_rotate', 'true');
  await waitFor(() => /log rotation: pm2-logrotate:max_size "huge" is not a size like 10M, 500K or 1G; using the default/.test(pm2Log()),
    { timeout: 5000, interval: 100, what: 'max_size named' });
  assert.match(pm2Log(), /log rotation: on \(max_size 10485760 bytes/);
});

test('size rotation keeps every line exactly once across many rotations of a fast writer', async () => {
  await configure([['pm2-logrotate:retain', 'all'], ['pm2-logrotate:max_size', '64K'], ['pm2:log_rotate', 'true']],
    'max_size 65536 bytes, retain all');
  const total = 200000;
  start('fast', { SEQ_LINES: String(total) });
  await waitDone('fast', total);
  const files = rotated('fast');
  assert.ok(files.length >= 50, `${files.length} rotations`);
  const seen = new Uint8Array(total);
  let broken = 0;
  for (const f of [...files, 'fast-out.log']) {
    for (const line of contents(f).split('\n')) {
      if (!line || line.startsWith('DONE')) continue;
      const m = /^seq (\d+) x{20}$/.exec(line);
      if (!m) { broken++; continue; }
      seen[Number(m[1])]++;
    }
  }
  assert.strictEqual(broken, 0, 'no line split across files');
  const lost = seen.filter((n) => n === 0).length;
  const duplicated = seen.filter((n) => n > 1).length;
  assert.deepStrictEqual({ lost, duplicated }, { lost: 0, duplicated: 0 });
  // Each rotated file was cut once it reached max_size, at a line's end.
  for (const f of files) {
    const size = fs.statSync(path.join(logs, f)).size;
    assert.ok(size >= 64 * 1024 && size < 64 * 1024 + 256 * 1024, `${f}: ${size}`);
  }
  run('delete', 'fast');
});

test('lines longer than a read of the pipe are never cut by a rotation', async () => {
  // Lines of 1 KB written 100 at a time: the daemon's reads of the pipe end
  // mid-line, and a file that is full waits for the line to end.
  await configure([['pm2-logrotate:retain', 'all'], ['pm2-logrotate:max_size', '16K'], ['pm2:log_rotate', 'true']],
    'max_size 16384 bytes, retain all');
  const total = 3000;
  start('long', { SEQ_LINES: String(total), SEQ_PAD: '1000' });
  await waitDone('long', total);
  const files = rotated('long');
  assert.ok(files.length >= 20, `${files.length} rotations`);
  const seen = new Uint8Array(total);
  const broken = [];
  for (const f of [...files, 'long-out.log']) {
    const text = contents(f);
    if (f !== 'long-out.log') assert.ok(text.endsWith('\n'), `${f} ends mid-line`);
    for (const line of text.split('\n')) {
      const m = /^seq (\d+) x{1000}$/.exec(line);
      if (m) seen[Number(m[1])]++; else if (line && !line.startsWith('DONE')) broken.push(`${f}: ${line.slice(0, 40)}`);
    }
  }
  assert.deepStrictEqual(broken, []);
  assert.deepStrictEqual({ lost: seen.filter((n) => n === 0).length, duplicated: seen.filter((n) => n > 1).length },
    { lost: 0, duplicated: 0 });
  run('delete', 'long');
});

/**
 * Four instances write numbered lines into one merged log while it rotates
 * every few kilobytes (and, with `rotateInterval`, every second too): each
 * rotation races the others' writes and rotations. Every line of every
 * instance must be found exactly once, in one piece.
 */
async function sharedLogKeepsEveryLine(name, { maxSize, compress, rotateInterval, writer }) {
  await configure([['pm2-logrotate:max_size', `${maxSize / 1024}K`], ['pm2-logrotate:retain', 'all'],
    ['pm2-logrotate:compress', String(compress)], ['pm2-logrotate:rotateInterval', rotateInterval],
    ['pm2:log_rotate', 'true']],
  `max_size ${maxSize} bytes, retain all, compress ${compress}, dateFormat YYYY-MM-DD_HH-mm-ss, rotateInterval ${rotateInterval},`);
  const instances = 4;
  const total = Number(writer.SEQ_LINES);
  const line = new RegExp(`^i(\\d) seq (\\d+) x{${writer.SEQ_PAD || 20}}$`);
  const r = spawnSync(cli, ['start', path.join(apps, 'seq-writer.js'), '--name', name, '-i', String(instances), '--merge-logs'],
    { env: { ...env, ...writer, SEQ_BY_INSTANCE: '1' }, encoding: 'utf8', timeout: 20000 });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  const ids = [...Array(instances).keys()];
  // A file being compressed may vanish between listing and reading: the
  // check runs again.
  const all = () => [...rotated(name), `${name}-out.log`].map(contents).join('');
  await waitFor(() => { const t = all(); return ids.every((i) => t.includes(`i${i} DONE ${total}\n`)); },
    { timeout: 60000, interval: 200, what: 'every instance to write every line' });
  if (compress) {
    await waitFor(() => rotated(name).every((f) => f.endsWith('.gz')), { timeout: 10000, interval: 50, what: 'compression' });
  }
  const seen = ids.map(() => new Uint8Array(total));
  const broken = [];
  for (const text of all().split('\n')) {
    const m = line.exec(text);
    if (m) seen[m[1]][m[2]]++; else if (text && !/^i\d DONE/.test(text)) broken.push(text.slice(0, 60));
  }
  assert.deepStrictEqual(broken, []);
  const counts = seen.map((s) => ({ lost: s.filter((n) => n === 0).length, duplicated: s.filter((n) => n > 1).length }));
  assert.deepStrictEqual(counts, ids.map(() => ({ lost: 0, duplicated: 0 })));
  assert.ok(rotated(name).length >= 5, `${rotated(name).length} rotations`);
  run('delete', name);
}

test('instances sharing their log files (merge_logs) lose no line when it rotates', async () => {
  await sharedLogKeepsEveryLine('shared', {
    maxSize: 8 * 1024, compress: false, rotateInterval: '0 0 * * *', writer: { SEQ_LINES: '20000' },
  });
});

test('instances sharing their log files lose no line when it rotates on size and time, with compression', async () => {
  await sharedLogKeepsEveryLine('sharedgz', {
    maxSize: 8 * 1024, compress: true, rotateInterval: '* * * * * *', writer: { SEQ_LINES: '1500', SEQ_EVERY_MS: '2' },
  });
  await configure([['pm2-logrotate:compress', 'false'], ['pm2-logrotate:rotateInterval', '0 0 * * *']],
    'compress false, dateFormat YYYY-MM-DD_HH-mm-ss, rotateInterval 0 0 * * *,');
});

test('retain keeps the newest rotated files only', async () => {
  await configure([['pm2-logrotate:max_size', '1K'], ['pm2-logrotate:retain', '3']], 'max_size 1024 bytes, retain 3,');
  // The writer reads the pipe in chunks of up to 64 KiB: enough output for many.
  start('kept', { SEQ_LINES: '30000' });
  await waitDone('kept', 30000);
  const files = await waitFor(() => { const f = rotated('kept'); return f.length === 3 && f; },
    { timeout: 5000, interval: 50, what: `three rotated files (${rotated('kept').join(' ')})` });
  // The newest are kept: the last rotated file holds lines near the end.
  const newest = files.map(contents).join('');
  assert.match(newest, /seq 299\d\d /);
  assert.doesNotMatch(newest, /^seq 0 /m);
  // pm2.log rotates too, into PM2_HOME/pm2__<date>.log, its size checked every
  // workerInterval. What it holds since its last rotation depends on timing:
  // the daemon logs the start and delete of a short app until it is past max_size.
  const daemonLog = path.join(home, 'pm2.log');
  for (let i = 0; i < 20 && fs.statSync(daemonLog).size <= 2048; i++) {
    start('filler', { SEQ_LINES: '1' });
    run('delete', 'filler');
  }
  assert.ok(fs.statSync(daemonLog).size > 1024, 'pm2.log past max_size');
  await configure([['pm2-logrotate:workerInterval', '1']], 'workerInterval 1 s');
  await waitFor(() => fs.readdirSync(home).some((f) => /^pm2__\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(\.\d+)?\.log$/.test(f)),
    { timeout: 5000, interval: 100, what: 'pm2.log rotated' });
  run('delete', 'kept');
});

test('compress writes valid gzip files and leaves no plain or partial copy', async () => {
  await configure([['pm2-logrotate:retain', '30'], ['pm2-logrotate:compress', 'true']], 'compress true');
  start('zipped', { SEQ_LINES: '1000' });
  await waitDone('zipped', 1000);
  const files = await waitFor(() => { const f = rotated('zipped'); return f.length > 0 && f.every((n) => n.endsWith('.log.gz')) && f; },
    { timeout: 5000, interval: 50, what: 'gzipped rotated files' });
  const text = files.map(contents).join('') + contents('zipped-out.log');
  for (let i = 0; i < 1000; i++) assert.ok(text.includes(`seq ${i} `), `line ${i}`);
  assert.match(files[0], /^zipped-out__\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(\.\d+)?\.log\.gz$/);
  run('delete', 'zipped');
  await configure([['pm2-logrotate:compress', 'false']], 'compress false');
});

test('dateFormat names the rotated files; two rotations in one period get numbered', async () => {
  // Every rotated file is kept: how many rotations 20000 lines make depends on
  // how the pipe's chunks fall, and retain would delete the first ones.
  await configure([['pm2-logrotate:retain', 'all'], ['pm2-logrotate:dateFormat', 'YYYY']], 'dateFormat YYYY,');
  start('dated', { SEQ_LINES: '20000' });
  await waitDone('dated', 20000);
  const year = new Date().getFullYear();
  const files = rotated('dated');
  assert.ok(files.length >= 2, files.join());
  assert.ok(files.includes(`dated-out__${year}.log`), files.join());
  assert.ok(files.includes(`dated-out__${year}.1.log`), files.join());
  for (const f of files) assert.match(f, new RegExp(`^dated-out__${year}(\\.\\d+)?\\.log$`));
  run('delete', 'dated');
  await configure([['pm2-logrotate:retain', '30'], ['pm2-logrotate:dateFormat', 'YYYY-MM-DD_HH-mm-ss']],
    'dateFormat YYYY-MM-DD_HH-mm-ss');
});

test('rotateInterval rotates on its cron pattern whatever the size', async () => {
  await configure([['pm2-logrotate:max_size', '10M'], ['pm2-logrotate:rotateInterval', '*/2 * * * * *']],
    'rotateInterval */2 * * * * *');
  start('timed', { SEQ_EVERY_MS: '100' });
  const files = await waitFor(() => { const f = rotated('timed'); return f.length >= 2 && f; },
    { timeout: 8000, interval: 100, what: 'two time-based rotations' });
  for (const f of files) assert.ok(fs.statSync(path.join(logs, f)).size < 1024, f);
  run('delete', 'timed');
  await configure([['pm2-logrotate:rotateInterval', '0 0 * * *']], 'rotateInterval 0 0 * * *');
});

test('while a process named pm2-logrotate is online the daemon leaves rotation to it', async () => {
  await configure([['pm2-logrotate:max_size', '1K']], 'max_size 1024 bytes');
  start('pm2-logrotate', { SEQ_EVERY_MS: '100000' });
  await waitFor(() => /pm2-logrotate module is online, it rotates the logs and the daemon does not/.test(pm2Log()),
    { timeout: 5000, interval: 50, what: 'the daemon to step back' });
  start('left', { SEQ_LINES: '2000' });
  await waitDone('left', 2000);
  assert.deepStrictEqual(rotated('left'), []);
  run('stop', 'pm2-logrotate');
  await waitFor(() => /pm2-logrotate module is not online, the daemon rotates the logs/.test(pm2Log()),
    { timeout: 5000, interval: 50, what: 'the daemon to rotate again' });
  run('delete', 'all');
});
