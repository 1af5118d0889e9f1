'use strict';
// Raw AMP frames, for tests that talk to rpc.sock byte by byte.

/** One AMP frame of axon args (strings as s:, objects as j:, Buffers as they are). */
function frame(args) {
  const parts = args.map((a) =>
    Buffer.isBuffer(a) ? a : Buffer.from(typeof a === 'string' ? `s:${a}` : `j:${JSON.stringify(a)}`));
  const out = [Buffer.from([0x10 | parts.length])];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, p);
  }
  return Buffer.concat(out);
}

module.exports = { frame };
