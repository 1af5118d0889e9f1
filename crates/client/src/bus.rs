//! An axon `sub` socket on `pub.sock`: every event is `[s:<event>, j:<payload>]`,
//! with no subscribe handshake; filtering is the subscriber's business.

use pm2_wire::{Arg, Decoder};
use serde_json::Value;
use std::path::Path;
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;

pub struct BusClient {
    stream: UnixStream,
    decoder: Decoder,
    buf: Vec<u8>,
}

impl BusClient {
    pub async fn connect(sock: &Path) -> std::io::Result<BusClient> {
        Ok(BusClient {
            stream: UnixStream::connect(sock).await?,
            // The daemon is trusted: an event carries a whole process, env included.
            decoder: Decoder::with_limit(usize::MAX),
            buf: vec![0u8; 64 * 1024],
        })
    }

    /// The next `(event, payload)`; `None` once the daemon closed the socket.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    let mut it = frame.into_iter();
                    let event = match it.next() {
                        Some(Arg::Str(s)) => s,
                        Some(other) => other.into_json().to_string(),
                        None => continue,
                    };
                    let payload = it.next().map(Arg::into_json).unwrap_or(Value::Null);
                    return Some((event, payload));
                }
                Ok(None) => {}
                Err(_) => return None,
            }
            match self.stream.read(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.decoder.push(&self.buf[..n]),
            }
        }
    }
}
