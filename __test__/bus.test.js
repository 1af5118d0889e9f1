'use strict';
// The bus emitter's topic matching: `*` captures, leading capture arguments, once/off/close.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Bus } = require('../lib/bus');

function publish(bus, event, payload) {
  bus._dispatch(event, JSON.stringify(payload));
}

const logOut = { process: { pm_id: 0, name: 'api', rev: null, namespace: 'default' }, at: 1, data: 'hello\n' };

test('an exact topic gets the parsed payload only', () => {
  const bus = new Bus();
  const seen = [];
  bus.on('log:out', (...args) => seen.push(args));
  publish(bus, 'log:out', logOut);
  publish(bus, 'log:err', logOut);
  publish(bus, 'log:outer', logOut);
  assert.deepEqual(seen, [[logOut]]);
});

test("'*' matches every event and passes its name first", () => {
  const bus = new Bus();
  const seen = [];
  bus.on('*', (event, data) => seen.push([event, data]));
  publish(bus, 'process:event', { event: 'online' });
  publish(bus, 'log:PM2', { data: 'x' });
  assert.deepEqual(seen, [
    ['process:event', { event: 'online' }],
    ['log:PM2', { data: 'x' }],
  ]);
});

test("'log:*' passes the log type first", () => {
  const bus = new Bus();
  const seen = [];
  bus.on('log:*', (type, data) => seen.push([type, data.data]));
  publish(bus, 'log:out', logOut);
  publish(bus, 'log:err', { ...logOut, data: 'oops' });
  publish(bus, 'log:', logOut); // '*' needs at least one character
  publish(bus, 'process:event', {});
  assert.deepEqual(seen, [
    ['out', 'hello\n'],
    ['err', 'oops'],
  ]);
});

test('several wildcards capture in order; the match is anchored', () => {
  const bus = new Bus();
  const seen = [];
  bus.on('axm:*:*', (a, b, data) => seen.push([a, b, data]));
  publish(bus, 'axm:scoped_action:stream', 1);
  publish(bus, 'xaxm:a:b', 2);
  publish(bus, 'axm:reply', 3);
  assert.deepEqual(seen, [['scoped_action', 'stream', 1]]);
});

test('regex characters in a pattern are literal', () => {
  const bus = new Bus();
  const seen = [];
  bus.on('a.b*', (rest, data) => seen.push([rest, data]));
  publish(bus, 'a.bc', 1);
  publish(bus, 'axbc', 2);
  assert.deepEqual(seen, [['c', 1]]);
});

test('listeners run in registration order across patterns, payload parsed once', () => {
  const bus = new Bus();
  const order = [];
  let first;
  bus.on('process:*', (_e, d) => {
    order.push('wild');
    first = d;
  });
  bus.on('process:event', (d) => {
    order.push('exact');
    assert.equal(d, first, 'both listeners get the same parsed object');
  });
  publish(bus, 'process:event', { event: 'exit' });
  assert.deepEqual(order, ['wild', 'exact']);
});

test('the payload is not parsed when nobody listens to the topic', () => {
  const bus = new Bus();
  bus.on('log:out', () => {});
  assert.doesNotThrow(() => bus._dispatch('log:err', '{not json'));
  const seen = [];
  bus.on('raw', (d) => seen.push(d));
  bus._dispatch('raw', '{not json');
  assert.deepEqual(seen, ['{not json'], 'a payload that is not JSON is passed as text');
});

test('once fires a single time', () => {
  const bus = new Bus();
  let n = 0;
  bus.once('pm2:kill', () => n++);
  publish(bus, 'pm2:kill', { status: 'killed' });
  publish(bus, 'pm2:kill', { status: 'killed' });
  assert.equal(n, 1);
  assert.equal(bus.listenerCount('pm2:kill'), 0);
});

test('off removes a pattern, or one function of it', () => {
  const bus = new Bus();
  const seen = [];
  const a = () => seen.push('a');
  const b = () => seen.push('b');
  bus.on('log:*', a);
  bus.on('log:*', b);
  bus.on('process:event', a);
  bus.off('log:*', a);
  publish(bus, 'log:out', {});
  assert.deepEqual(seen, ['b']);
  bus.off('log:*');
  publish(bus, 'log:out', {});
  publish(bus, 'process:event', {});
  assert.deepEqual(seen, ['b', 'a']);
  bus.off();
  assert.equal(bus.listenerCount(), 0);
});

test('a listener removed during delivery still gets the current event; later ones see the change', () => {
  const bus = new Bus();
  const seen = [];
  const second = () => seen.push('second');
  bus.on('x', () => {
    seen.push('first');
    bus.off('x', second);
  });
  bus.on('x', second);
  publish(bus, 'x', 1);
  publish(bus, 'x', 2);
  assert.deepEqual(seen, ['first', 'second', 'first']);
});

test('close releases the native subscription once and stops delivery', () => {
  const bus = new Bus();
  let closes = 0;
  let released = 0;
  bus._handle = { close: () => closes++ };
  bus._onClose = () => released++;
  const seen = [];
  bus.on('*', (e) => seen.push(e));
  bus.close();
  bus.close();
  publish(bus, 'process:event', {});
  assert.equal(closes, 1);
  assert.equal(released, 1);
  assert.deepEqual(seen, []);
  assert.equal(bus.closed, true);
});

test('emit delivers an object locally, on/once chain', () => {
  const bus = new Bus();
  const seen = [];
  assert.equal(
    bus.on('human:*', (name, d) => seen.push([name, d])).once('human:event', (d) => seen.push(d)),
    bus
  );
  bus.emit('human:event', { __name: 'deploy' });
  assert.deepEqual(seen, [['event', { __name: 'deploy' }], { __name: 'deploy' }]);
});

test('on needs a function', () => {
  assert.throws(() => new Bus().on('x'), TypeError);
});
