//! AMP v1 framing as used by axon.
//!
//! A frame is one header byte `(version << 4) | argc`, then for each argument a
//! 4-byte big-endian length and that many bytes. Arguments carry a type prefix:
//! `s:` for a UTF-8 string, `j:` for JSON, anything else is a raw buffer.

use serde_json::Value;

/// AMP protocol version carried in the high nibble of the header byte.
pub(crate) const VERSION: u8 = 1;
/// A frame holds at most 15 arguments (the low nibble of the header).
pub const MAX_ARGS: usize = 15;
/// [`Decoder::new`]'s limit: larger frames are refused instead of being buffered.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Json(Value),
    Buf(Vec<u8>),
}

impl Arg {
    /// The argument as JSON: strings become JSON strings, buffers are lossily decoded.
    pub fn into_json(self) -> Value {
        match self {
            Arg::Str(s) => Value::String(s),
            Arg::Json(v) => v,
            Arg::Buf(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => Some(s),
            Arg::Json(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Appends the argument's bytes (type prefix included) to `out`.
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Arg::Str(s) => {
                out.extend_from_slice(b"s:");
                out.extend_from_slice(s.as_bytes());
            }
            Arg::Json(v) => {
                out.extend_from_slice(b"j:");
                serde_json::to_writer(&mut *out, v).expect("serializing a Value cannot fail");
            }
            Arg::Buf(b) => out.extend_from_slice(b),
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Arg, FrameError> {
        match bytes {
            [b's', b':', rest @ ..] => String::from_utf8(rest.to_vec())
                .map(Arg::Str)
                .map_err(|_| FrameError::BadString),
            [b'j', b':', rest @ ..] => serde_json::from_slice(rest)
                .map(Arg::Json)
                .map_err(|e| FrameError::BadJson(e.to_string())),
            other => Ok(Arg::Buf(other.to_vec())),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("unsupported AMP version {0}")]
    BadVersion(u8),
    #[error("AMP frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("AMP string argument is not valid UTF-8")]
    BadString,
    #[error("AMP JSON argument does not parse: {0}")]
    BadJson(String),
}

/// Encodes one frame.
pub fn encode(args: &[Arg]) -> Vec<u8> {
    assert!(
        args.len() <= MAX_ARGS,
        "an AMP frame carries at most 15 arguments"
    );
    let mut out = vec![(VERSION << 4) | args.len() as u8];
    for arg in args {
        append_arg(&mut out, arg);
    }
    out
}

/// Appends one argument, its length first, to a frame being encoded.
pub(crate) fn append_arg(out: &mut Vec<u8>, arg: &Arg) {
    // Written in place (a list reply can be megabytes): length slot first,
    // filled in once the argument is out.
    let slot = out.len();
    out.extend_from_slice(&[0; 4]);
    arg.encode_into(out);
    let len = (out.len() - slot - 4) as u32;
    out[slot..slot + 4].copy_from_slice(&len.to_be_bytes());
}

/// A frame this large that fills the decoder's buffer is handed over
/// without a copy.
const TAKE_OVER: usize = 256 * 1024;

/// Incremental decoder: feed it bytes as they arrive, take whole frames out.
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`: frames taken out are dropped from
    /// the buffer at the next push, not one by one (many small pipelined
    /// frames would otherwise move the rest of the buffer once each).
    start: usize,
    /// Frames whose announced size passes this are an error, found as soon as
    /// the length arrives, so a peer cannot make us buffer more.
    limit: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::with_limit(MAX_FRAME_BYTES)
    }
}

impl Decoder {
    /// A decoder refusing frames over [`MAX_FRAME_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder refusing frames over `limit` bytes (`usize::MAX`: any size).
    pub fn with_limit(limit: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            start: 0,
            limit,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or an error
    /// when the stream cannot be a valid AMP stream (the caller should drop it).
    pub fn next_frame(&mut self) -> Result<Option<Vec<Arg>>, FrameError> {
        match self.next_raw_frame()? {
            Some(raw) => raw
                .iter()
                .map(|a| Arg::decode(a))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            None => Ok(None),
        }
    }

    /// Like [`Decoder::next_frame`], with each argument left as its bytes
    /// (type prefix included), for callers that parse lazily.
    pub fn next_raw_frame(&mut self) -> Result<Option<Vec<Vec<u8>>>, FrameError> {
        let buf = &self.buf[self.start..];
        let Some(&header) = buf.first() else {
            return Ok(None);
        };
        let version = header >> 4;
        if version != VERSION {
            return Err(FrameError::BadVersion(version));
        }
        let argc = (header & 0x0f) as usize;
        let mut spans = Vec::with_capacity(argc);
        let mut off = 1;
        for _ in 0..argc {
            let Some(len_bytes) = buf.get(off..off + 4) else {
                return Ok(None);
            };
            let len = u32::from_be_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
            if (off + 4).saturating_add(len) > self.limit {
                return Err(FrameError::TooLarge((off + 4).saturating_add(len)));
            }
            off += 4;
            if buf.len() < off + len {
                return Ok(None);
            }
            spans.push(off..off + len);
            off += len;
        }
        if self.start == 0 && off == buf.len() && off >= TAKE_OVER {
            // A large frame alone in the buffer (a process list): its first
            // argument keeps the buffer instead of being copied out of it.
            let mut whole = std::mem::take(&mut self.buf);
            let mut rest: Vec<Vec<u8>> = spans[1..]
                .iter()
                .map(|s| whole[s.clone()].to_vec())
                .collect();
            whole.truncate(spans[0].end);
            whole.drain(..spans[0].start);
            rest.insert(0, whole);
            return Ok(Some(rest));
        }
        let args = spans.into_iter().map(|span| buf[span].to_vec()).collect();
        self.start += off;
        Ok(Some(args))
    }

    /// The buffer to read the next bytes into (appending to it, as
    /// `read_buf` does), with room for at least `min` bytes, or for the rest
    /// of the frame under way when its length is known: a large frame is
    /// read into place, not copied in chunk by chunk.
    pub fn read_buffer(&mut self, min: usize) -> &mut Vec<u8> {
        self.buf.drain(..self.start);
        self.start = 0;
        let want = self
            .pending_frame_len()
            .unwrap_or(0)
            .max(self.buf.len() + min);
        self.buf.reserve(want - self.buf.len());
        &mut self.buf
    }

    /// The whole length of the frame at the start of the buffer, once the
    /// header and its first argument's length have arrived (the first
    /// argument is the body, the largest by far); `None` before, or past
    /// the limit.
    fn pending_frame_len(&self) -> Option<usize> {
        let buf = &self.buf[self.start..];
        let len = u32::from_be_bytes(buf.get(1..5)?.try_into().expect("4 bytes")) as usize;
        Some(5 + len).filter(|&n| n <= self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_each_argument_kind() {
        let args = vec![
            Arg::Json(json!({"type": "call", "method": "ping", "args": []})),
            Arg::Str("4242:0".into()),
            Arg::Buf(vec![0, 1, 2]),
        ];
        let bytes = encode(&args);
        assert_eq!(bytes[0], 0x13);
        let mut dec = Decoder::new();
        dec.push(&bytes);
        assert_eq!(dec.next_frame().unwrap(), Some(args));
        assert_eq!(dec.next_frame().unwrap(), None);
    }

    #[test]
    fn waits_for_the_rest_of_a_split_frame() {
        let bytes = encode(&[Arg::Str("hello".into()), Arg::Json(json!([1, 2]))]);
        let mut dec = Decoder::new();
        for chunk in bytes.chunks(3) {
            assert_eq!(dec.next_frame().unwrap(), None);
            dec.push(chunk);
        }
        let frame = dec.next_frame().unwrap().unwrap();
        assert_eq!(frame[0], Arg::Str("hello".into()));
        assert_eq!(frame[1], Arg::Json(json!([1, 2])));
    }

    #[test]
    fn decodes_back_to_back_frames() {
        let mut bytes = encode(&[Arg::Str("a".into())]);
        bytes.extend(encode(&[Arg::Str("b".into())]));
        let mut dec = Decoder::new();
        dec.push(&bytes);
        assert_eq!(
            dec.next_frame().unwrap().unwrap(),
            vec![Arg::Str("a".into())]
        );
        assert_eq!(
            dec.next_frame().unwrap().unwrap(),
            vec![Arg::Str("b".into())]
        );
    }

    #[test]
    fn rejects_garbage_and_oversized_frames() {
        let mut dec = Decoder::new();
        dec.push(b"GET / HTTP/1.1\r\n");
        assert_eq!(dec.next_frame(), Err(FrameError::BadVersion(4)));

        let mut dec = Decoder::new();
        dec.push(&[0x11, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(dec.next_frame(), Err(FrameError::TooLarge(_))));

        let mut dec = Decoder::new();
        dec.push(&encode(&[Arg::Buf(b"j:{not json".to_vec())]));
        assert!(matches!(dec.next_frame(), Err(FrameError::BadJson(_))));
    }

    #[test]
    fn refuses_a_frame_over_its_limit_from_the_length_alone() {
        let big = encode(&[Arg::Buf(vec![b'x'; 100])]);
        let mut dec = Decoder::with_limit(64);
        dec.push(&big[..5]);
        assert_eq!(dec.next_frame(), Err(FrameError::TooLarge(105)));

        let mut dec = Decoder::with_limit(105);
        dec.push(&big);
        assert!(dec.next_frame().unwrap().is_some());

        let mut dec = Decoder::with_limit(usize::MAX);
        dec.push(&[0x11, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(dec.next_frame(), Ok(None));
    }
}
