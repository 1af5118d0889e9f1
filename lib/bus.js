'use strict';
// The emitter `launchBus` hands out. Topics are matched on this side, as PM2's
// subscribers do: a pattern is the topic itself, where `*` matches one or more
// characters and each text it matched is passed to the listener before the payload.
//   bus.on('process:event', (data) => ...)
//   bus.on('log:*', (type, data) => ...)      // type: 'out', 'err', 'PM2'
//   bus.on('*', (event, data) => ...)

function compile(pattern) {
  if (!pattern.includes('*')) return null;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('(.+)');
  return new RegExp(`^${source}$`);
}

class Bus {
  constructor() {
    this._listeners = []; // {pattern, re, fn, once}
    this._handle = null; // the native subscription
    this._onClose = null;
    this.closed = false;
  }

  on(pattern, fn) {
    if (typeof fn !== 'function') throw new TypeError('bus.on(pattern, fn): fn must be a function');
    pattern = String(pattern);
    this._listeners.push({ pattern, re: compile(pattern), fn, once: false });
    return this;
  }

  once(pattern, fn) {
    this.on(pattern, fn);
    this._listeners[this._listeners.length - 1].once = true;
    return this;
  }

  /** Removes `fn` from `pattern`, every listener of `pattern` without `fn`, or all without arguments. */
  off(pattern, fn) {
    if (pattern === undefined) {
      this._listeners = [];
    } else {
      pattern = String(pattern);
      this._listeners = this._listeners.filter((l) => l.pattern !== pattern || (fn !== undefined && l.fn !== fn));
    }
    return this;
  }

  listenerCount(pattern) {
    return pattern === undefined
      ? this._listeners.length
      : this._listeners.filter((l) => l.pattern === String(pattern)).length;
  }

  /** Stops the subscription: nothing is delivered afterwards and nothing keeps Node alive. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this._listeners = [];
    const handle = this._handle;
    this._handle = null;
    if (handle) handle.close();
    if (this._onClose) this._onClose(this);
  }

  // Delivers one published message; the JSON payload is parsed once, and only if someone listens.
  _dispatch(event, payload, isJson = true) {
    if (this.closed || this._listeners.length === 0) return;
    let parsed = false;
    let data;
    for (const l of this._listeners.slice()) {
      let captures;
      if (l.re === null) {
        if (l.pattern !== event) continue;
      } else {
        const m = l.re.exec(event);
        if (m === null) continue;
        captures = m.slice(1);
      }
      if (!parsed) {
        data = isJson ? parsePayload(payload) : payload;
        parsed = true;
      }
      if (l.once) this._listeners = this._listeners.filter((x) => x !== l);
      if (captures) l.fn(...captures, data);
      else l.fn(data);
    }
  }
}

Bus.prototype.addListener = Bus.prototype.on;
Bus.prototype.removeListener = Bus.prototype.off;
Bus.prototype.removeAllListeners = function removeAllListeners(pattern) {
  return this.off(pattern);
};
// Delivers `data` to this bus's own listeners (local only; nothing is published).
Bus.prototype.emit = function emit(event, data) {
  this._dispatch(String(event), data, false);
  return true;
};

function parsePayload(payload) {
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

module.exports = { Bus, compile };
