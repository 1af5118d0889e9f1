'use strict';
// Plumbing shared by the fault-injection tests: the end-to-end helpers, raw
// frames on rpc.sock, and the switches between the fast subset and the whole
// suite.

const net = require('net');
const path = require('path');
const fs = require('fs');
const home = require('../__test__/support/home');
const { frame } = require('../__test__/support/amp');

/** True when the whole suite runs (`npm run faults`), false for `npm test`'s subset. */
const full = process.env.PM2_FAULTS_FULL === '1';
/** True inside the PID namespace scripts/faults.js makes. */
const inPidNamespace = process.env.PM2_FAULTS_PID_NS === '1';

/** Test options for a slow probe: it runs only in the whole suite. */
const slow = full ? {} : { skip: 'slow probe: runs with `npm run faults`' };
/** Test options for a probe that may signal other processes if the fault is back. */
const needsPidNamespace = inPidNamespace ? {} : { skip: 'needs the PID namespace of scripts/faults.js' };

/** An axon-rpc call frame. */
function call(method, args, id = `${process.pid}:${Math.random().toString(36).slice(2)}`) {
  return frame([{ type: 'call', method, args }, id]);
}

/**
 * Sends one call on a fresh connection to `rpc.sock` and resolves with the
 * decoded reply body (`{args}` or `{error}`), or rejects after `ms`.
 */
function rpc(pm2Home, method, args = [], ms = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(path.join(pm2Home, 'rpc.sock'));
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`${method}: no reply within ${ms} ms`)); }, ms);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const frames = decode(buf);
      if (frames.done.length) {
        clearTimeout(timer);
        s.destroy();
        resolve(frames.done[0][0]);
      }
    });
    s.on('close', () => { clearTimeout(timer); reject(new Error(`${method}: connection closed without a reply`)); });
    s.write(call(method, args));
  });
}

/** Splits `buf` into whole AMP frames, each a list of its arguments' bytes, and the rest. */
function splitFrames(buf) {
  const done = [];
  let off = 0;
  while (buf.length >= off + 1) {
    const argc = buf[off] & 0x0f;
    let p = off + 1;
    const args = [];
    for (let i = 0; i < argc; i++) {
      if (buf.length < p + 4 || buf.length < p + 4 + buf.readUInt32BE(p)) return { done, rest: buf.subarray(off) };
      const len = buf.readUInt32BE(p);
      args.push(buf.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    done.push(args);
    off = p;
  }
  return { done, rest: buf.subarray(off) };
}

/** Splits `buf` into whole AMP frames (args decoded) and the rest. */
function decode(buf) {
  const { done, rest } = splitFrames(buf);
  const arg = (raw) => {
    const text = raw.toString();
    return text.startsWith('j:') ? JSON.parse(text.slice(2)) : text.startsWith('s:') ? text.slice(2) : raw;
  };
  return { done: done.map((args) => args.map(arg)), rest };
}

/** Opens a socket to `sockPath`; resolves once connected. */
function connect(sockPath) {
  return new Promise((resolve, reject) => {
    const s = net.connect(sockPath);
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** Calls `onFrame(args)` for each AMP frame `socket` receives, its arguments left as bytes. */
function readFrames(socket, onFrame) {
  let rest = Buffer.alloc(0);
  socket.on('data', (d) => {
    const split = splitFrames(rest.length ? Buffer.concat([rest, d]) : d);
    split.done.forEach(onFrame);
    rest = split.rest;
  });
}

/** Runs the `pm2` CLI against `pm2Home`; returns `{code, out, err}`. */
function pm2(pm2Home, args, opts = {}) {
  const { spawnSync } = require('child_process');
  const r = spawnSync(home.cli, args, {
    env: { ...process.env, PM2_HOME: pm2Home, ...(opts.env || {}) },
    encoding: 'utf8',
    cwd: opts.cwd || __dirname,
    timeout: opts.timeout || 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A fresh PM2_HOME with a running daemon; removed (and everything in it killed) after the test. */
function daemonHome(t, tag) {
  const h = home.makeHome(tag);
  t.after(() => home.cleanupHome(h));
  const r = pm2(h, ['ping']);
  if (r.code !== 0) throw new Error(`daemon did not start: ${r.err}`);
  return h;
}

/** The daemon's pid from pm2.pid. */
function daemonPid(pm2Home) {
  return home.readPid(path.join(pm2Home, 'pm2.pid'));
}

/**
 * SIGKILLs the daemon of `pm2Home` and waits until it has let go of its
 * sockets. Its main thread shows as a zombie before its other threads have
 * exited, and until the last of them has, rpc.sock still takes connections
 * (and drops them): a client then would meet the dying daemon, not start a
 * new one.
 */
async function killDaemonOutright(pm2Home) {
  const pid = daemonPid(pm2Home);
  home.signalPid(pid, 'SIGKILL');
  const threadsLeft = () => {
    try {
      return fs.readdirSync(`/proc/${pid}/task`).filter((tid) => Number(tid) !== pid).length;
    } catch {
      return 0;
    }
  };
  await home.waitFor(() => !home.isAlive(pid) && threadsLeft() === 0, { what: 'the daemon and its threads to end' });
  return pid;
}

/** The process list through a raw call. */
async function list(pm2Home) {
  return (await rpc(pm2Home, 'getMonitorData', [{}])).args[0];
}

/** Writes `body` as an app script in `dir` and returns its path. */
function writeApp(dir, name, body) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body);
  return file;
}

/** The lines of the daemon's own log. */
function pm2LogLines(pm2Home) {
  try {
    return fs.readFileSync(path.join(pm2Home, 'pm2.log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** VmRSS of `pid` in bytes. */
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Number of open descriptors of `pid`. */
function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

module.exports = {
  ...home, full, inPidNamespace, slow, needsPidNamespace, frame, call, rpc, decode, connect, readFrames,
  pm2, daemonHome, daemonPid, killDaemonOutright, list, writeApp, pm2LogLines, rssBytes, fdCount,
};
