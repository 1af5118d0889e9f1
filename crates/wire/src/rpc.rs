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
    let mut body = Vec::with_capacity(arg_json.len() + 12);
    body.extend_from_slice(b"j:{\"args\":[");
    body.extend_from_slice(arg_json.as_bytes());
    body.extend_from_slice(b"]}");
    crate::amp::encode(&[Arg::Buf(body), id])
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
