//! The smallest HTTP/1.1 server the web interface needs: one request per
//! connection (answered with `Connection: close`), a bounded request head and
//! body, a deadline per connection and a cap on connections served at once.
//! A connection counts against that cap only once its request head has
//! arrived: clients that connect and say nothing hold one of the separate
//! slots for arrivals, for [`HEAD_DEADLINE`] at most, and cannot lock out
//! `/ready` or the dashboard.
//! A streamed answer (the dashboard's server-sent events) has no deadline:
//! it lasts while its producer sends, and its producer's queue is bounded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// A request head larger than this is refused (431).
pub const MAX_HEAD: usize = 8 * 1024;
/// Requests served at once (their heads read); more wait for a slot, up to
/// [`DEADLINE`], then get 503.
pub const MAX_CONNECTIONS: usize = 32;
/// Connections whose request head has not arrived yet (or that wait for a
/// serving slot); more wait in the listen backlog.
pub const MAX_ARRIVING: usize = 128;
/// A connection that has not sent its whole request head by then is dropped:
/// clients send it at once, and a silent one must not hold a slot for long.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(2);
/// A connection that has not taken its answer by then is dropped.
pub const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string (after `?`), if any.
    pub query: Option<String>,
    /// The `Host` header, if any.
    pub host: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Content-Length` header, if any (checked against [`MAX_BODY`]).
    pub content_length: Option<usize>,
    /// The body, up to [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

/// A request body larger than this is refused (413).
pub const MAX_BODY: usize = 16 * 1024;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra header lines, `Name: value` each.
    pub headers: Vec<String>,
    /// A streamed body, sent chunk by chunk after `body` until the sender
    /// is dropped (no `Content-Length` then).
    pub stream: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
            stream: None,
        }
    }

    /// A streamed answer: whatever `chunks` sends, until it is dropped.
    pub fn stream(
        content_type: &'static str,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Response {
        let mut r = Response::new(200, content_type, Vec::new());
        r.stream = Some(chunks);
        r
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// What a request head says, or the answer for a malformed one.
pub fn parse_head(head: &[u8]) -> Result<Request, Response> {
    let bad = || Response::text(400, "bad request");
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut first = lines.next().ok_or_else(bad)?.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (first.next(), first.next(), first.next(), first.next())
    else {
        return Err(bad());
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(bad());
    }
    let headers: Vec<(&str, &str)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .collect();
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.trim().to_string())
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (target, None),
    };
    let content_length = match header("content-length") {
        None => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| bad())?),
    };
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        host: header("host"),
        authorization: header("authorization"),
        origin: header("origin"),
        content_type: header("content-type"),
        content_length,
        body: Vec::new(),
    })
}

/// Where the head ends (after its blank line), if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

/// Reads one request head, bounded by [`MAX_HEAD`], and its body, bounded
/// by [`MAX_BODY`].
async fn read_head(stream: &mut TcpStream) -> Result<Request, Option<Response>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| None)?;
        if n == 0 {
            return Err(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let end = head_end(&buf);
        if end.unwrap_or(buf.len()) > MAX_HEAD {
            return Err(Some(Response::text(431, "request head too large")));
        }
        if let Some(end) = end {
            let mut req = parse_head(&buf[..end]).map_err(Some)?;
            let wanted = req.content_length.unwrap_or(0);
            if wanted > MAX_BODY {
                return Err(Some(Response::text(413, "request body too large")));
            }
            let mut body = buf.split_off(end);
            while body.len() < wanted {
                let n = stream.read(&mut chunk).await.map_err(|_| None)?;
                if n == 0 {
                    return Err(None);
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(wanted);
            req.body = body;
            return Ok(req);
        }
    }
}

fn serialize(resp: &Response, head_only: bool) -> Vec<u8> {
    let length = match resp.stream {
        Some(_) => String::new(),
        None => format!("Content-Length: {}\r\n", resp.body.len()),
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{length}Connection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
    );
    for h in &resp.headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    bytes
}

/// Reads one connection's request head, within [`HEAD_DEADLINE`]: the
/// request, or the answer to a bad head, or `Err(None)` to just close.
async fn read_head_in_time(stream: &mut TcpStream) -> Result<Request, Option<Response>> {
    tokio::time::timeout(HEAD_DEADLINE, read_head(stream))
        .await
        .unwrap_or(Err(None))
}

/// Answers one connection whose head was read; a streamed answer is handed
/// back to be sent without the connection's deadline.
async fn answer<H, F>(
    mut stream: TcpStream,
    head: Result<Request, Option<Response>>,
    handler: Arc<H>,
) -> Option<(TcpStream, tokio::sync::mpsc::Receiver<Vec<u8>>)>
where
    H: Fn(Request) -> F + Send + Sync,
    F: Future<Output = Response> + Send,
{
    let (mut resp, head_only) = match head {
        Ok(req) => {
            let head_only = req.method == "HEAD";
            (handler(req).await, head_only)
        }
        Err(Some(resp)) => (resp, false),
        Err(None) => return None,
    };
    stream.write_all(&serialize(&resp, head_only)).await.ok()?;
    match resp.stream.take() {
        Some(chunks) if !head_only => Some((stream, chunks)),
        _ => {
            let _ = stream.shutdown().await;
            None
        }
    }
}

/// Sends a streamed answer until its producer stops or the client leaves;
/// a client that takes longer than [`DEADLINE`] for one chunk is dropped.
async fn send_stream(mut stream: TcpStream, mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>) {
    let mut sink = [0u8; 256];
    loop {
        tokio::select! {
            chunk = chunks.recv() => {
                let Some(chunk) = chunk else { break };
                match tokio::time::timeout(DEADLINE, stream.write_all(&chunk)).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
            // The client sends nothing more; a read that ends means it left.
            r = stream.read(&mut sink) => if !matches!(r, Ok(n) if n > 0) { return },
        }
    }
    let _ = stream.shutdown().await;
}

/// Accepts connections until the task is aborted: at most [`MAX_ARRIVING`]
/// waiting for their head (within [`HEAD_DEADLINE`]) and at most
/// [`MAX_CONNECTIONS`] answered at a time, each by `handler` within
/// [`DEADLINE`].
pub async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let handler = Arc::new(handler);
    let arriving = Arc::new(Semaphore::new(MAX_ARRIVING));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(arrival) = arriving.clone().acquire_owned().await else {
            return;
        };
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was
            // accepted: try again shortly rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let handler = handler.clone();
        let slots = slots.clone();
        tokio::spawn(async move {
            let head = read_head_in_time(&mut stream).await;
            if matches!(head, Err(None)) {
                return;
            }
            let slot = tokio::time::timeout(DEADLINE, slots.acquire_owned()).await;
            drop(arrival);
            let Ok(Ok(slot)) = slot else {
                let busy = Response::new(
                    503,
                    "application/json",
                    r#"{"err":"the web interface is busy: try again"}"#,
                );
                let _ = tokio::time::timeout(DEADLINE, stream.write_all(&serialize(&busy, false)))
                    .await;
                return;
            };
            if let Ok(Some((stream, chunks))) =
                tokio::time::timeout(DEADLINE, answer(stream, head, handler)).await
            {
                send_stream(stream, chunks).await;
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_head() {
        let req = parse_head(
            b"GET /metrics?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9615\r\nAuthorization: Bearer t\r\n\r\n",
        )
        .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/metrics");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(req.host.as_deref(), Some("127.0.0.1:9615"));
        assert_eq!(req.authorization.as_deref(), Some("Bearer t"));
        let req = parse_head(b"GET / HTTP/1.0\n\n").unwrap();
        assert_eq!((req.path.as_str(), req.host, req.query), ("/", None, None));
        for bad in [
            &b"GET /\r\n\r\n"[..],
            b"GET / SPDY/3\r\n\r\n",
            b"GET http://x/ HTTP/1.1\r\n\r\n",
            b"\xff / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad).unwrap_err().status, 400);
        }
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn a_head_request_gets_no_body() {
        let resp = Response::text(200, "hello");
        let full = String::from_utf8(serialize(&resp, false)).unwrap();
        assert!(full.starts_with("HTTP/1.1 200 OK\r\n"), "{full}");
        assert!(full.contains("Content-Length: 6\r\n") && full.ends_with("\r\n\r\nhello\n"));
        let head = String::from_utf8(serialize(&resp, true)).unwrap();
        assert!(head.ends_with("Connection: close\r\n\r\n"), "{head}");
    }

    #[tokio::test]
    async fn idle_connections_do_not_lock_out_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, |_req| async {
            Response::new(200, "text/plain", "ready")
        }));
        // More silent clients than there are serving slots.
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS + 8 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /ready HTTP/1.1\r\n\r\n").await.unwrap();
        let mut got = Vec::new();
        // Well before the silent ones' head deadline frees anything.
        tokio::time::timeout(HEAD_DEADLINE / 2, c.read_to_end(&mut got))
            .await
            .expect("answered while idle connections are open")
            .unwrap();
        assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
        server.abort();
    }
}
