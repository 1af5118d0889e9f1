'use strict';
// Runs a node app for the daemon: `node [node_args] lib/container.js [args...]`, with the
// app's script in env pm_exec_path. It names the process, reports the node version, starts
// the metrics agent, turns a crash into a `process:exception` message, then hands over to
// the app as main module.
// Under Bun it is preloaded instead (`bun [node_args] --preload lib/container.js script
// [args...]`): Bun then runs the script as its entry point (require.main, import.meta.main).
// Deliberately tiny: it must cost the app next to nothing.

const script = process.env.pm_exec_path;
if (!script) {
  process.stderr.write('pm2 container: env pm_exec_path is not set\n');
  process.exit(1);
}

const bun = typeof Bun !== 'undefined';
process.title = process.env.PROCESS_TITLE || `${bun ? 'bun' : 'node'} ${script}`;
process.argv[1] = script; // argv[2..] are already the app's own arguments

if (
  process.env.disable_source_map_support !== 'true' &&
  process.env.source_map_support !== 'false' &&
  typeof process.setSourceMapsEnabled === 'function'
) {
  process.setSourceMapsEnabled(true);
}

if (process.send) process.send({ node_version: process.versions.node });
// PM2's metrics and actions (heap, event loop, handles, HTTP; heap dump and profiles), as
// PM2's bundled agent gives every app unless `pmx` (or `automation`) is false.
if (process.env.pmx !== 'false' && process.env.automation !== 'false') {
  require('./metrics_agent').start();
}
// No 'message' listener is added here, so the IPC channel keeps the app alive only if the
// app itself listens for messages (Node refs the channel for such listeners); an app that
// finishes its work exits. An explicit process.channel.unref() would also stop an app that
// waits on process.on('message') from staying alive, so it is not used.

function crash(err, origin) {
  // Like Node's default: an app that handles these events itself decides what happens.
  if (process.listenerCount(origin) > 1) return;
  console.error(err);
  process.exitCode = 1;
  const exit = () => process.exit(1);
  if (!process.send || !process.connected) return exit();
  try {
    process.send({ type: 'process:exception', data: describeError(err) }, exit);
  } catch {
    return exit();
  }
  setTimeout(exit, 500); // the send callback normally comes at once; this guards a stuck channel
}

function describeError(err) {
  if (err === null || typeof err !== 'object') {
    const text = String(err);
    return { message: text, stack: text, name: 'Error' };
  }
  const data = {};
  for (const key of Object.getOwnPropertyNames(err)) {
    try {
      JSON.stringify(err[key]); // skips what the channel cannot carry (cycles, BigInt)
      data[key] = err[key];
    } catch {}
  }
  data.message = err.message;
  data.stack = err.stack;
  data.name = err.name;
  return data;
}

process.on('uncaughtException', (err) => crash(err, 'uncaughtException'));

// Node >= 15 crashes on an unhandled rejection; keep that unless node was told otherwise.
const rejections = /--unhandled-rejections[= ](warn|none)\b/.test(
  `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS || ''}`
);
if (!rejections) process.on('unhandledRejection', (reason) => crash(reason, 'unhandledRejection'));

// A cluster worker (run with exec_mode=cluster_mode, where Node has loaded `cluster` already,
// so fork-mode apps do not load it; NODE_UNIQUE_ID tells nothing, Node deletes it at start)
// retires by a cluster disconnect (its own on the kill signal, below, or the primary's): Node
// then closes the worker's servers, and an HTTP server first closes its idle connections,
// which include a connection accepted a moment ago whose request is not read yet (that
// client would get a reset), and
// keep-alive connections a client may be sending its next request on. So, for that
// disconnect only: responses from then on say `Connection: close` (the client opens its next
// connection to another instance), and idle connections are closed a little later, once the
// server has stopped accepting and the requests already accepted are being answered.
// (A client that connects and then waits longer than that before sending its request still
// gets a reset, as with any server that closes idle connections.)
// (Bun's cluster workers have no 'internalMessage' event: Bun closes their servers itself.)
if (!bun && process.env.exec_mode === 'cluster_mode' && require('cluster').isWorker) {
  process.prependListener('internalMessage', (m) => {
    if (m && m.cmd === 'NODE_CLUSTER' && m.act === 'disconnect') retireGently();
  });
  process.on(process.env.kill_signal || 'SIGINT', drainOnKillSignal);
}

// The daemon stops or retires a cluster worker with its kill signal first, as PM2 does, so an
// app's own handler runs while its IPC channel is still up (@pm2/io exits 1 once the channel
// is gone). A worker whose app does not handle that signal drains instead of dying with
// requests in flight: it disconnects as above (servers closed, connections finished, channel
// closed), then ends by the signal as it would have.
// The daemon signals every process of the app, so the signal can come more than once: the
// ones that follow are part of the same stop (the daemon's SIGKILL ends a drain that hangs).
let draining = false;
function drainOnKillSignal(signal) {
  if (process.listenerCount(signal) > 1 || draining) return; // the app handles it
  draining = true;
  const die = () => {
    process.removeListener(signal, drainOnKillSignal);
    process.kill(process.pid, signal);
  };
  const worker = require('cluster').worker;
  if (!process.connected || !worker) return die();
  retireGently();
  process.once('disconnect', die);
  worker.disconnect();
}

function retireGently() {
  const http = require('http');
  // Node sets `shouldKeepAlive` on each response before writing its headers: it stays false.
  Object.defineProperty(http.ServerResponse.prototype, 'shouldKeepAlive', {
    configurable: true,
    get: () => false,
    set() {},
  });
  for (const mod of ['http', 'https']) {
    const proto = require(mod).Server.prototype;
    const closeIdle = proto.closeIdleConnections;
    if (typeof closeIdle !== 'function') continue;
    proto.closeIdleConnections = function () {
      // Unref'd: a worker with no connection left exits without waiting for it.
      setTimeout(() => closeIdle.call(this), 500).unref();
    };
  }
}

// An app that brings @pm2/io (PM2 modules such as pm2-server-monit do) finds it started, as
// under PM2, whose container starts the agent before the app: @pm2/io keeps one instance per
// process under a global symbol, so the app's own require gets the running one, and the
// metrics it declares are sent. Apps without it pay one failed module lookup.
if (process.env.pmx !== 'false' && process.env.automation !== 'false') {
  let io = null;
  try {
    const dir = require('path').dirname(script);
    io = require(bun ? installedIn(dir) : require.resolve('@pm2/io', { paths: [dir] }));
  } catch {
    // Not installed next to the app: nothing to start.
  }
  if (io && typeof io.init === 'function') {
    try {
      io.init();
    } catch (err) {
      process.stderr.write(`pm2 container: @pm2/io did not start: ${err.message}\n`);
    }
  }
}

// The @pm2/io package directory in a node_modules folder at or above `dir`. Bun's own lookup
// is not used: where it finds no node_modules folder it installs the package from the registry.
function installedIn(dir) {
  const path = require('path');
  const fs = require('fs');
  for (let at = dir; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'node_modules', '@pm2', 'io');
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(at) === at) throw new Error('@pm2/io is not installed');
  }
}

// Loads the script as the main module: CommonJS with require.main === module, or ESM for
// .mjs files and "type": "module" packages (Node's own entry-point logic decides).
if (!bun) require('module').runMain(script);
