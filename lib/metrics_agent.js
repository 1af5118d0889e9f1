'use strict';
// The metrics and actions every node app under the daemon reports, without @pm2/io: the
// same names, units and types PM2's bundled agent uses, sent over the IPC channel as
// `axm:monitor` (the daemon merges them into pm2_env.axm_monitor) and `axm:action`.
// Cheap by design: Node's own counters read once a second, only changed values sent (every
// second while someone reads them, less often otherwise, as the daemon says), HTTP
// seen through diagnostics_channel (no patching), every timer unref'd so the agent never
// keeps an app alive, and the profilers loaded only when an action asks for them.
// Under Bun it reports what Bun has: no libuv handle counts, no HTTP channels, no heap sampling
// profiler.

const SAMPLE_MS = 1000;
const MAX_REPORT_EVERY = 60; // samples: however slow the daemon asks, a report a minute at least
// The event-loop delay is how late the sampling timer itself runs: one wake-up a second in
// all. A separate, finer probe cost an idle app far more than its work (each wake-up of an
// idle process pays for cold caches: measured, a 250 ms probe and the 1 s report together
// took 1.3–2.2 ms of CPU a second, the report alone 0.5–0.8 ms). A blocked loop shows
// whatever the resolution. The percentiles come from the last LAGS delays (40 s).
const LAGS = 40;
const HTTP_WINDOW_S = 60;
const HTTP_LATENCIES = 1024; // the most recent responses kept for the mean and p95
const BUN = typeof Bun !== 'undefined';

const MIB = 1024 * 1024;
// Milliseconds from a monotonic clock (process.hrtime needs no module; `performance` loads one).
const ms = () => {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
};
const two = (x) => Math.round(x * 100) / 100;

// name → [type, unit]; the order is PM2's, so a first report lists them as PM2 does.
const METRICS = {
  'Heap Size': ['internal/v8/heap/total', 'MiB'],
  'Heap Usage': ['internal/v8/heap/usage', '%'],
  'Used Heap Size': ['internal/v8/heap/used', 'MiB'],
  'Active requests': ['internal/libuv/requests'],
  'Active handles': ['internal/libuv/handles'],
  'Event Loop Latency': ['internal/libuv/latency/p50', 'ms'],
  'Event Loop Latency p95': ['internal/libuv/latency/p95', 'ms'],
  'HTTP Mean Latency': ['internal/http/builtin/latency/p50', 'ms'],
  'HTTP P95 Latency': ['internal/http/builtin/latency/p95', 'ms'],
  HTTP: ['internal/http/builtin/reqs', 'req/min'],
};

// libuv request types, as process.getActiveResourcesInfo() names them; the rest are handles.
const REQUEST = /Req|^Query|^(?:Write|Shutdown|Connect|Send)Wrap$/;

function send(msg) {
  if (!process.connected) return false;
  try {
    process.send(msg, () => {}); // a callback: a closed channel is an error passed here, not thrown
    return true;
  } catch {
    return false;
  }
}

// ---- metrics ------------------------------------------------------------------------------

function startMetrics(everySample) {
  const loop = loopDelay();
  // Bun publishes no http.server diagnostics channels
  const http = BUN ? { sample: () => ({}) } : watchHttp();
  const sent = new Map(); // name → the value last sent
  let inFlight = false;

  const sample = () => {
    const values = {};
    // V8's total and used heap, as v8.getHeapStatistics() has them, without loading `v8`
    const { heapTotal, heapUsed } = process.memoryUsage();
    values['Heap Size'] = (heapTotal / MIB).toFixed(2);
    values['Heap Usage'] = two((heapUsed / heapTotal) * 100);
    values['Used Heap Size'] = (heapUsed / MIB).toFixed(2);
    if (!BUN) {
      // Bun lists no resources here: its counts would always read 0
      let requests = 0;
      let handles = 0;
      for (const kind of process.getActiveResourcesInfo()) {
        if (REQUEST.test(kind)) requests++;
        else if (kind !== 'Timeout' && kind !== 'Immediate') handles++;
      }
      values['Active requests'] = requests;
      values['Active handles'] = handles;
    }
    Object.assign(values, loop.sample());
    Object.assign(values, http.sample());
    return values;
  };

  const report = () => {
    if (inFlight || !process.connected) return;
    const data = {};
    const changed = [];
    for (const [name, value] of Object.entries(sample())) {
      if (sent.get(name) === value) continue;
      const [type, unit] = METRICS[name];
      data[name] = unit ? { historic: true, unit, type, value } : { historic: true, type, value };
      changed.push([name, value]);
    }
    if (changed.length === 0) return;
    // One message in flight at most: a slow or closed channel never queues metrics up.
    inFlight = true;
    try {
      // `pace`: this agent reports as often as the daemon tells it (see reportEvery)
      process.send({ type: 'axm:monitor', data, pace: !BUN }, (err) => {
        inFlight = false;
        if (!err) for (const [name, value] of changed) sent.set(name, value);
      });
    } catch {
      inFlight = false;
    }
  };

  // Samples between reports: every one until the daemon says how often (see reportEvery).
  let every = 1;
  let since = 0;
  reportEvery((ms) => {
    every = Math.max(1, Math.min(MAX_REPORT_EVERY, Math.round(ms / SAMPLE_MS)));
    since = Math.min(since, every - 1); // a shorter pace takes effect at the next sample
  });
  let last = ms();
  setInterval(() => {
    const now = ms();
    loop.add(now - last - SAMPLE_MS);
    last = now;
    everySample();
    if (++since >= every) {
      since = 0;
      report();
    }
  }, SAMPLE_MS).unref();
}

// The daemon says how often to report: every second while someone reads the metrics (the
// list, an app's details), less often otherwise, as each report wakes it. It says so in an
// internal message (`cmd` NODE_…), which Node hands to 'internalMessage' listeners only: the
// app's own 'message' listeners never see it, and listening keeps no app alive. Bun has no
// such messages: there the agent reports every second.
function reportEvery(set) {
  if (BUN) return;
  process.on('internalMessage', (msg) => {
    if (msg && msg.cmd === 'NODE_PM2_METRICS' && Number.isFinite(msg.every) && msg.every > 0) set(msg.every);
  });
}

// The p50 and p95 of the last LAGS delays of the sampling timer. A JS timer rather than
// perf_hooks' monitorEventLoopDelay, whose module and histogram add ~1 MB to every app.
function loopDelay() {
  const lags = new Float64Array(LAGS);
  const sorted = new Float64Array(LAGS);
  let n = 0; // delays so far (the ring is full from LAGS on)
  return {
    add(lag) {
      lags[n % LAGS] = Math.max(0, lag);
      n++;
    },
    sample() {
      const count = Math.min(n, LAGS);
      if (count === 0) return {};
      sorted.set(lags);
      const seen = sorted.subarray(0, count).sort();
      const at = (p) => seen[Math.min(count - 1, Math.floor(count * p))].toFixed(2);
      return { 'Event Loop Latency': at(0.5), 'Event Loop Latency p95': at(0.95) };
    },
  };
}

// Requests served by http/https servers in this process, from Node's diagnostics channels.
function watchHttp() {
  const dc = require('diagnostics_channel');
  const started = Symbol('pm2.requestStart');
  const buckets = new Uint32Array(HTTP_WINDOW_S); // requests finished, per second
  const durations = new Float64Array(HTTP_LATENCIES);
  const finishedAt = new Float64Array(HTTP_LATENCIES).fill(-Infinity); // unused slots are never recent
  let next = 0; // ring position in durations
  let firstSecond = -1;
  let lastSecond = -1;
  const second = () => Math.floor(ms() / 1000);
  const advance = (now) => {
    // zero the buckets of the seconds that passed since the last request
    for (let s = Math.max(lastSecond + 1, now - HTTP_WINDOW_S + 1); s <= now; s++) {
      buckets[s % HTTP_WINDOW_S] = 0;
    }
    lastSecond = now;
  };
  dc.subscribe('http.server.request.start', ({ response }) => {
    if (response) response[started] = ms();
  });
  dc.subscribe('http.server.response.finish', ({ response }) => {
    const t0 = response && response[started];
    if (t0 === undefined) return;
    const t = ms();
    const now = Math.floor(t / 1000);
    if (firstSecond < 0) firstSecond = now;
    if (now !== lastSecond) advance(now);
    buckets[now % HTTP_WINDOW_S]++;
    durations[next] = t - t0;
    finishedAt[next] = t;
    next = (next + 1) % HTTP_LATENCIES;
  });
  return {
    sample() {
      if (firstSecond < 0) return {}; // no HTTP server has answered yet: no HTTP metrics
      const now = second();
      if (now !== lastSecond) advance(now);
      let count = 0;
      for (const n of buckets) count += n;
      // req/min over the last minute, or over the time since the first request if shorter
      const span = Math.min(HTTP_WINDOW_S, now - firstSecond + 1);
      const out = {}; // PM2's order: the latencies, then HTTP
      const since = ms() - HTTP_WINDOW_S * 1000;
      const recent = [];
      for (let i = 0; i < HTTP_LATENCIES; i++) {
        if (finishedAt[i] > since) recent.push(durations[i]);
      }
      if (recent.length) {
        recent.sort((a, b) => a - b);
        out['HTTP Mean Latency'] = two(recent.reduce((a, b) => a + b, 0) / recent.length);
        out['HTTP P95 Latency'] = two(recent[Math.min(recent.length - 1, Math.floor(recent.length * 0.95))]);
      }
      out.HTTP = two((count * 60) / span);
      return out;
    },
  };
}

// ---- actions ------------------------------------------------------------------------------

// Snapshots and profiles go to <PM2_HOME>/profiles (never watched by the daemon), or to the
// directory given as the action's parameter; the reply says which file.
function outputFile(dir, ext) {
  const fs = require('fs');
  const path = require('path');
  const os = require('os');
  const home = process.env.PM2_HOME || path.join(os.homedir(), '.pm2');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const base = `${process.env.name || 'app'}-${process.env.pm_id || process.pid}-${stamp}.${ext}`;
  const target = dir ? path.resolve(String(dir)) : path.join(home, 'profiles');
  try {
    fs.mkdirSync(target, { recursive: true, mode: 0o700 });
    fs.accessSync(target, fs.constants.W_OK);
    return path.join(target, base);
  } catch (e) {
    if (dir) throw new Error(`cannot write into ${target}: ${e.message}`);
    return path.join(os.tmpdir(), base); // PM2_HOME not writable by this app's user
  }
}

function writeJson(file, value) {
  require('fs').writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
  return file;
}

let session = null;
function inspectorSession() {
  if (!session) {
    const { Session } = require('inspector');
    session = new Session();
    session.connect();
  }
  return session;
}

function post(method, params) {
  return new Promise((resolve, reject) =>
    inspectorSession().post(method, params || {}, (err, res) => (err ? reject(err) : resolve(res)))
  );
}

// One profiler of each kind at a time, as in PM2: `running` holds its uuid.
function profiler(kind) {
  const cpu = kind === 'cpu';
  let running = null;
  const domain = cpu ? 'Profiler' : 'HeapProfiler';
  return {
    async start(param) {
      if (param !== undefined) throw new Error(`km:${cpu ? 'cpu:profiling' : 'heap:sampling'}:start takes no parameter`);
      if (running) throw new Error('A profiling is already running');
      const run = { uuid: require('crypto').randomUUID(), at: Date.now() };
      run.ready = (async () => {
        await post(`${domain}.enable`);
        await post(cpu ? 'Profiler.start' : 'HeapProfiler.startSampling');
      })();
      running = run;
      try {
        await run.ready;
      } catch (e) {
        if (running === run) running = null;
        throw e;
      }
      return { success: true, uuid: run.uuid };
    },
    async stop(dir) {
      const run = running;
      if (!run) throw new Error('No profiling are already running');
      running = null;
      await run.ready; // a stop sent right after the start waits for the profiler to run
      const { profile } = await post(cpu ? 'Profiler.stop' : 'HeapProfiler.stopSampling');
      await post(`${domain}.disable`);
      const file = writeJson(outputFile(dir, cpu ? 'cpuprofile' : 'heapprofile'), profile);
      return { success: true, uuid: run.uuid, duration: Date.now() - run.at, file };
    },
  };
}

function startActions() {
  const cpu = profiler('cpu');
  const heap = profiler('heap');
  const ACTIONS = {
    'km:heapdump': [2, (dir) => ({ success: true, file: require('v8').writeHeapSnapshot(outputFile(dir, 'heapsnapshot')) })],
    'km:cpu:profiling:start': [2, (p) => cpu.start(p)],
    'km:cpu:profiling:stop': [1, (dir) => cpu.stop(dir)],
    'km:heap:sampling:start': [2, (p) => heap.start(p)],
    'km:heap:sampling:stop': [1, (dir) => heap.stop(dir)],
  };
  if (BUN) {
    // Bun's inspector has no HeapProfiler domain
    delete ACTIONS['km:heap:sampling:start'];
    delete ACTIONS['km:heap:sampling:stop'];
  }
  for (const [name, [arity]] of Object.entries(ACTIONS)) {
    send({ type: 'axm:action', data: { action_name: name, action_type: 'internal', arity } });
  }
  process.on('message', (msg) => {
    // the daemon sends the action's name, or {msg, opts, uuid} when there is a parameter
    const name = typeof msg === 'string' ? msg : msg && typeof msg.msg === 'string' ? msg.msg : null;
    const action = name && Object.prototype.hasOwnProperty.call(ACTIONS, name) && ACTIONS[name];
    if (!action) return;
    const param = msg && typeof msg === 'object' ? msg.opts : undefined;
    Promise.resolve()
      .then(() => action[1](param))
      .catch((e) => ({ success: false, err: e && e.message ? e.message : String(e) }))
      .then((ret) => send({ type: 'axm:reply', data: { at: Date.now(), action_name: name, return: ret } }));
  });
  // Listening for actions must not keep the app alive: Node refs the channel for each
  // 'message' listener, so take ours back out of the count (the app's own still count).
  const channel = process.channel;
  if (channel && typeof channel.unrefCounted === 'function') channel.unrefCounted();
  else if (BUN && channel && typeof channel.unref === 'function') return refWhileTheAppListens(channel);
  return () => {};
}

// Bun refs the channel for the first 'message' listener and counts nothing: ours is unref'd,
// and the channel is ref'd as soon as the app adds a listener of its own. Bun emits no
// 'removeListener' on process, so the returned check, run with each metrics sample, unrefs it
// once the app has none left.
function refWhileTheAppListens(channel) {
  channel.unref();
  let reffed = false;
  process.on('newListener', (event) => {
    if (event !== 'message') return;
    channel.ref();
    reffed = true;
  });
  return () => {
    if (reffed && process.listenerCount('message') <= 1) {
      channel.unref();
      reffed = false;
    }
  };
}

// The agent's configuration, in the keys PM2's agent sends (the daemon keeps them in
// pm2_env.axm_options), saying what this agent does.
function sendOptions() {
  // read rather than required: the module loader's lookup and cache cost every app ~0.2 ms
  const fs = require('fs');
  const version = JSON.parse(fs.readFileSync(require('path').join(__dirname, '..', 'package.json'), 'utf8')).version;
  send({
    type: 'axm:option:configuration',
    data: {
      error: true,
      heapdump: true,
      'feature.profiler.heapsnapshot': false,
      'feature.profiler.heapsampling': !BUN,
      'feature.profiler.cpu_js': true,
      latency: true,
      catchExceptions: true,
      profiling: true,
      metrics: { v8: true, network: false, eventLoop: true, runtime: false, http: !BUN },
      standalone: false,
      tracing: { enabled: false, outbound: false },
      module_conf: {},
      apm: { type: 'node', version },
      module_name: process.env.name || 'app',
      module_version: version,
    },
  });
}

// `application:dependencies` on the bus, once per start as PM2's agent sends it: the
// `dependencies` of the app's package.json (next to the script, or one or two folders up,
// where PM2's agent looks), each as { version: <range> }; {} when there is none.
function sendDependencies() {
  const fs = require('fs');
  const path = require('path');
  const dir = path.dirname(process.env.pm_exec_path || '.');
  const candidates = [dir, path.join(dir, '..'), path.join(dir, '..', '..')].map((d) => path.join(d, 'package.json'));
  const next = (i) => {
    if (i >= candidates.length) return report({});
    fs.readFile(candidates[i], 'utf8', (err, text) => {
      if (err) return next(i + 1);
      let deps = {};
      try {
        const pkg = JSON.parse(text);
        if (pkg && typeof pkg.dependencies === 'object' && pkg.dependencies) deps = pkg.dependencies;
      } catch {}
      report(deps);
    });
  };
  const report = (deps) => {
    const data = {};
    for (const [name, version] of Object.entries(deps)) data[name] = { version };
    send({ type: 'application:dependencies', data });
  };
  next(0);
}

function start() {
  if (!process.send) return;
  // The configuration goes first, so that what an app's own @pm2/io or pmx sends after it
  // (a module's module_conf, say) is what stays in axm_options.
  sendOptions();
  startMetrics(startActions());
  sendDependencies();
}

module.exports = { start, METRICS };
