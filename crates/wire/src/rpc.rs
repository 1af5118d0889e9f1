//! axon-rpc messages: what a `req` socket sends to `rpc.sock` and what comes back.
//!
//! Request: `[j:{"type":"call","method":M,"args":[…]}, s:<pid>:<counter>]`.
//! Reply: `[j:{"args":[…]}, s:<id>]` or `[j:{"error":msg,"stack":…}, s:<id>]`.

use crate::amp::Arg;
use serde_json::value::RawValue;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Call {
        method: String,
        args: Vec<Value>,
    },
    /// Introspection: `{"type":"methods"}`.
    Methods,
}

/// Why a frame could not be turned into a request; the text is what axon-rpc replies.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest(pub String);

/// Splits a frame into the request and the id to echo in the reply.
/// The id is `None` when the frame has no usable second argument; such a
/// frame cannot be answered and is dropped.
pub fn parse_request(frame: Vec<Arg>) -> (Result<Request, BadRequest>, Option<Arg>) {
    let mut it = frame.into_iter();
    let msg = it.next();
    let id = it.next();
    let request = match msg {
        Some(Arg::Json(Value::Object(map))) => {
            if map.get("type").and_then(Value::as_str) == Some("methods") {
                Ok(Request::Methods)
            } else {
                match (map.get("method"), map.get("args")) {
                    (None, _) => Err(BadRequest(".method required".into())),
                    (_, None) => Err(BadRequest(".args required".into())),
                    (Some(Value::String(m)), Some(Value::Array(a))) => Ok(Request::Call {
                        method: m.clone(),
                        args: a.clone(),
                    }),
                    (Some(Value::String(m)), Some(other)) => Ok(Request::Call {
                        method: m.clone(),
                        args: vec![other.clone()],
                    }),
                    (Some(_), _) => Err(BadRequest(".method must be a string".into())),
                }
            }
        }
        _ => Err(BadRequest("request must be a JSON object".into())),
    };
    (request, id)
}

/// Encodes a call request.
pub fn call_frame(method: &str, args: &[Value], id: &str) -> Vec<u8> {
    crate::amp::encode(&[
        Arg::Json(json!({"type": "call", "method": method, "args": args})),
        Arg::Str(id.to_string()),
    ])
}

pub fn reply_ok(args: Vec<Value>, id: Arg) -> Vec<u8> {
    // Moved into the body, not copied as `json!` would (list replies are big).
    let mut body = serde_json::Map::new();
    body.insert("args".into(), Value::Array(args));
    crate::amp::encode(&[Arg::Json(Value::Object(body)), id])
}

/// A success reply whose single argument is already JSON text.
pub fn reply_ok_json(arg_json: &str, id: Arg) -> Vec<u8> {
    let mut reply = JsonReply::with_capacity(arg_json.len());
    reply.json_mut().extend_from_slice(arg_json.as_bytes());
    reply.into_frame(id)
}

/// The start of a success reply's body, up to its one argument.
const OK_HEAD: &[u8] = b"j:{\"args\":[";
/// Header byte and the body's length slot, before [`OK_HEAD`].
const FRAME_HEAD: usize = 5;

/// A success reply with one argument written in place: the frame is laid
/// out around the argument's JSON, so a list of megabytes is written once
/// and never copied into a frame.
pub struct JsonReply {
    frame: Vec<u8>,
}

impl JsonReply {
    /// A reply with room for `json_len` bytes of argument.
    pub fn with_capacity(json_len: usize) -> JsonReply {
        // The tail: `]}`, the id's length slot and an id of a few bytes.
        let mut frame = Vec::with_capacity(FRAME_HEAD + OK_HEAD.len() + json_len + 40);
        frame.push((crate::amp::VERSION << 4) | 2);
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(OK_HEAD);
        JsonReply { frame }
    }

    /// Where the argument's JSON text is appended (by `serde_json::to_writer`, say).
    pub fn json_mut(&mut self) -> &mut Vec<u8> {
        &mut self.frame
    }

    /// The argument's JSON text as written so far.
    pub fn json(&self) -> &[u8] {
        &self.frame[FRAME_HEAD + OK_HEAD.len()..]
    }

    /// The whole frame, for the call `id`.
    pub fn into_frame(self, id: Arg) -> Vec<u8> {
        let mut frame = self.frame;
        frame.extend_from_slice(b"]}");
        let len = (frame.len() - FRAME_HEAD) as u32;
        frame[1..FRAME_HEAD].copy_from_slice(&len.to_be_bytes());
        crate::amp::append_arg(&mut frame, &id);
        frame
    }
}

pub fn reply_err(message: &str, id: Arg) -> Vec<u8> {
    crate::amp::encode(&[
        Arg::Json(json!({ "error": message, "stack": format!("Error: {message}") })),
        id,
    ])
}

/// A reply frame's id and its body left unparsed (`j:` prefix included).
pub fn split_reply(frame: Vec<Vec<u8>>) -> Option<(String, Vec<u8>)> {
    let mut it = frame.into_iter();
    let body = it.next()?;
    let id = Arg::decode(&it.next()?).ok()?.as_str()?.to_string();
    Some((id, body))
}

/// A reply as seen by a client: `Ok(args)` or `Err(error message)`.
pub fn parse_reply_body(body: &[u8]) -> Result<Vec<Value>, String> {
    match Arg::decode(body) {
        Ok(arg) => reply_from_body(arg.into_json()),
        Err(e) => Err(e.to_string()),
    }
}

/// The arguments of an unparsed reply body as raw JSON text: checked, but no
/// values built (a process list can be megabytes that only get printed).
pub fn reply_args_raw(body: &[u8]) -> Result<Vec<&RawValue>, String> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        error: Option<&'a RawValue>,
        #[serde(borrow, default)]
        args: Vec<&'a RawValue>,
    }
    let json = body.strip_prefix(b"j:").ok_or("reply body is not JSON")?;
    let parsed: Body = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    match parsed.error.filter(|e| e.get() != "null") {
        Some(err) => Err(error_message(
            &serde_json::from_str(err.get()).unwrap_or(Value::Null),
        )),
        None => Ok(parsed.args),
    }
}

/// Where a reply body's first argument lies in it (`None`: no argument),
/// for a client that passes the text on as it came (`pm2 jlist`).
pub fn reply_arg_span(body: &[u8]) -> Result<Option<std::ops::Range<usize>>, String> {
    let args = reply_args_raw(body)?;
    Ok(args.first().map(|a| {
        let start = a.get().as_ptr() as usize - body.as_ptr() as usize;
        start..start + a.get().len()
    }))
}

fn reply_from_body(body: Value) -> Result<Vec<Value>, String> {
    if let Some(err) = body.get("error").filter(|e| !e.is_null()) {
        return Err(error_message(err));
    }
    match body {
        Value::Object(mut o) => match o.remove("args") {
            Some(Value::Array(a)) => Ok(a),
            _ => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

/// What a reply's `error` says: a string, or an Error-like object's message.
fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string()),
        other => other.to_string(),
    }
}

/// A bus message: `[s:<event>, j:<payload>]`.
pub fn pub_frame(event: &str, payload: &Value) -> Vec<u8> {
    crate::amp::encode(&[Arg::Str(event.to_string()), Arg::Json(payload.clone())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amp::{encode, Decoder};

    fn frame(bytes: &[u8]) -> Vec<Arg> {
        let mut d = Decoder::new();
        d.push(bytes);
        d.next_frame().unwrap().unwrap()
    }

    /// A reply frame read as the client reads it.
    fn parse_reply(bytes: &[u8]) -> Option<(String, Result<Vec<Value>, String>)> {
        let mut d = Decoder::new();
        d.push(bytes);
        let (id, body) = split_reply(d.next_raw_frame().unwrap()?)?;
        Some((id, parse_reply_body(&body)))
    }

    #[test]
    fn parses_a_call_and_keeps_its_id() {
        let (req, id) = parse_request(frame(&call_frame("ping", &[json!({})], "42:7")));
        assert_eq!(
            req.unwrap(),
            Request::Call {
                method: "ping".into(),
                args: vec![json!({})]
            }
        );
        assert_eq!(id, Some(Arg::Str("42:7".into())));
    }

    #[test]
    fn a_pre_serialized_reply_reads_like_any_other() {
        let list = json!([{"pid": 7, "name": "a\"b"}]);
        let raw = reply_ok_json(&list.to_string(), Arg::Str("9:1".into()));
        let built = reply_ok(vec![list.clone()], Arg::Str("9:1".into()));
        assert_eq!(raw, built);
        let (id, args) = parse_reply(&raw).unwrap();
        assert_eq!((id.as_str(), args), ("9:1", Ok(vec![list.clone()])));
    }

    #[test]
    fn a_reply_body_can_be_read_raw_or_parsed() {
        let mut d = Decoder::new();
        d.push(&reply_ok(
            vec![json!([{"a": 1.5}]), json!("x")],
            Arg::Str("3:4".into()),
        ));
        let (id, body) = split_reply(d.next_raw_frame().unwrap().unwrap()).unwrap();
        assert_eq!(id, "3:4");
        let raw: Vec<&str> = reply_args_raw(&body)
            .unwrap()
            .iter()
            .map(|r| r.get())
            .collect();
        assert_eq!(raw, [r#"[{"a":1.5}]"#, r#""x""#]);
        assert_eq!(
            parse_reply_body(&body),
            Ok(vec![json!([{"a": 1.5}]), json!("x")])
        );

        d.push(&reply_err("boom", Arg::Str("3:5".into())));
        let (_, body) = split_reply(d.next_raw_frame().unwrap().unwrap()).unwrap();
        assert_eq!(reply_args_raw(&body).unwrap_err(), "boom");
        assert_eq!(parse_reply_body(&body), Err("boom".to_string()));
    }

    #[test]
    fn a_list_written_into_its_frame_comes_out_byte_for_byte() {
        // Escapes, unicode (escaped by JSON.stringify only when lone
        // surrogates, which Rust strings cannot hold), big and float numbers.
        let entry = json!({
            "name": "a\"b\\c\n\t\u{1}\u{7f} caf\u{e9} \u{1F600} \u{2028}",
            "big": 18_446_744_073_709_551_615u64,
            "neg": -9_007_199_254_740_993i64,
            "float": 0.1,
            "exp": 1.5e300,
            "tiny": 5e-324,
            "nested": {"k": [null, true, false, "x"]},
        });
        // Large enough for the decoder to hand its buffer over.
        let list = Value::Array(vec![entry; 2000]);
        let text = serde_json::to_string(&list).unwrap();
        let mut reply = JsonReply::with_capacity(0);
        serde_json::to_writer(reply.json_mut(), &list).unwrap();
        assert_eq!(reply.json(), text.as_bytes());
        let frame = reply.into_frame(Arg::Str("5:6".into()));
        assert_eq!(frame, reply_ok(vec![list.clone()], Arg::Str("5:6".into())));

        // Read back in chunks as a client reads its socket.
        let mut d = Decoder::with_limit(usize::MAX);
        let mut raw = None;
        for chunk in frame.chunks(100_000) {
            d.read_buffer(64 * 1024).extend_from_slice(chunk);
            if let Some(f) = d.next_raw_frame().unwrap() {
                raw = Some(f);
            }
        }
        let (id, body) = split_reply(raw.unwrap()).unwrap();
        assert_eq!(id, "5:6");
        let span = reply_arg_span(&body).unwrap().unwrap();
        assert_eq!(&body[span], text.as_bytes());
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&reparsed).unwrap(), text);
    }

    #[test]
    fn reports_missing_fields_with_axons_words() {
        let f = encode(&[
            Arg::Json(json!({"type": "call", "args": []})),
            Arg::Str("1:1".into()),
        ]);
        assert_eq!(
            parse_request(frame(&f)).0,
            Err(BadRequest(".method required".into()))
        );
        let f = encode(&[
            Arg::Json(json!({"type": "call", "method": "x"})),
            Arg::Str("1:1".into()),
        ]);
        assert_eq!(
            parse_request(frame(&f)).0,
            Err(BadRequest(".args required".into()))
        );
        let f = encode(&[
            Arg::Json(json!({"type": "methods"})),
            Arg::Str("1:1".into()),
        ]);
        assert_eq!(parse_request(frame(&f)).0, Ok(Request::Methods));
    }

    #[test]
    fn replies_round_trip() {
        let ok = reply_ok(
            vec![Value::Null, json!({"msg": "pong"})],
            Arg::Str("9:1".into()),
        );
        assert_eq!(
            parse_reply(&ok),
            Some(("9:1".into(), Ok(vec![Value::Null, json!({"msg": "pong"})])))
        );
        let err = reply_err("method \"x\" does not exist", Arg::Str("9:2".into()));
        assert_eq!(
            parse_reply(&err),
            Some(("9:2".into(), Err("method \"x\" does not exist".into())))
        );
    }
}
