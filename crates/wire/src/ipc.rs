//! Node's child IPC channel, seen from the parent.
//!
//! Node opens the channel when it finds `NODE_CHANNEL_FD` in its environment:
//! a unix stream socket on which each message is one JSON value plus `\n`. A
//! message can carry a file descriptor as SCM_RIGHTS on the same write (this is
//! how cluster workers receive listening sockets), so reads and writes here go
//! through `recvmsg`/`sendmsg` rather than plain byte streams.
//!
//! Bun speaks the same channel with one difference: its internal messages
//! (`cmd: 'NODE_…'`, the cluster protocol) carry a `\x02` byte before the
//! JSON, both ways, and a Bun child takes an internal message without it for
//! an app message. Node never starts a line with that byte.

use crate::sock;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use tokio::io::Interest;
use tokio::net::UnixStream;
use tokio::sync::Mutex;

/// The fd number the child sees its end of the channel on.
pub const CHILD_CHANNEL_FD: RawFd = 3;

/// Largest line accepted from a child before the channel is considered broken.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Descriptors held for lines not yet complete; more are closed on arrival.
const MAX_PENDING_FDS: usize = 16;

/// A message read from the channel, with the descriptor it carried, if any.
#[derive(Debug)]
pub struct IpcMessage {
    pub value: Value,
    pub fd: Option<OwnedFd>,
}

/// Marks an internal message on a Bun child's channel.
const BUN_INTERNAL: u8 = 0x02;

/// The runtime at the other end of the channel, which decides how internal
/// messages are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Node,
    Bun,
}

/// Whether `value` is one of the runtime's internal messages (`cmd: 'NODE_…'`).
pub fn is_internal(value: &Value) -> bool {
    value
        .get("cmd")
        .and_then(Value::as_str)
        .is_some_and(|c| c.starts_with("NODE_"))
}

/// Creates the channel: the parent's end (async) and the child's end, both
/// close-on-exec; [`install_child_end`] makes the child's end survive exec.
pub fn channel() -> io::Result<(UnixStream, OwnedFd)> {
    let (parent, child) = sock::new_pair()?;
    // The child end must be blocking: Node expects to own its mode.
    let flags = nix::fcntl::fcntl(&child, nix::fcntl::FcntlArg::F_GETFL)?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&child, nix::fcntl::FcntlArg::F_SETFL(flags))?;
    let std_parent = std::os::unix::net::UnixStream::from(parent);
    Ok((UnixStream::from_std(std_parent)?, child))
}

/// Runs in the forked child before exec: puts the channel on
/// [`CHILD_CHANNEL_FD`] without close-on-exec. Only async-signal-safe calls.
///
/// # Safety
/// Must be called between fork and exec.
pub unsafe fn install_child_end(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl/dup2 on descriptors we own, between fork and exec.
    let rc = unsafe {
        if fd == CHILD_CHANNEL_FD {
            libc::fcntl(fd, libc::F_SETFD, 0)
        } else {
            libc::dup2(fd, CHILD_CHANNEL_FD)
        }
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Splits the parent's end into a reader and a cloneable writer, for a
/// child that runs on `peer`.
pub fn split(stream: UnixStream, peer: Peer) -> (IpcReader, IpcWriter) {
    let stream = Arc::new(stream);
    (
        IpcReader {
            stream: stream.clone(),
            buf: Vec::new(),
            buf_start: 0,
            fds: VecDeque::new(),
        },
        IpcWriter {
            stream,
            lock: Arc::new(Mutex::new(())),
            peer,
        },
    )
}

pub struct IpcReader {
    stream: Arc<UnixStream>,
    buf: Vec<u8>,
    /// Position in the stream of `buf[0]`.
    buf_start: u64,
    /// Received descriptors with the stream position of the first byte that
    /// came with them: the kernel attaches SCM_RIGHTS to the data of the same
    /// write, so each belongs to the line holding that byte.
    fds: VecDeque<(u64, OwnedFd)>,
}

impl IpcReader {
    /// The next message; `Ok(None)` when the child closed its end.
    /// Lines that are not JSON are skipped; Bun's internal-message marker is
    /// dropped (the message says it is internal by its `cmd`).
    pub async fn next(&mut self) -> io::Result<Option<IpcMessage>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                // Parsed where it lies, then dropped from the buffer.
                let body = &self.buf[..pos];
                let body = body.strip_prefix(&[BUN_INTERNAL]).unwrap_or(body);
                let parsed = serde_json::from_slice::<Value>(body);
                self.buf.drain(..=pos);
                if self.buf.is_empty() {
                    // An idle channel keeps no buffer: the daemon holds one
                    // per app, each as large as the largest line it read.
                    self.buf = Vec::new();
                }
                self.buf_start += pos as u64 + 1;
                // Every descriptor that came with this line is taken now, so
                // none outlives its message: only a `NODE_HANDLE` keeps one,
                // the rest are closed here.
                let mut fds = Vec::new();
                while self.fds.front().is_some_and(|(at, _)| *at < self.buf_start) {
                    fds.extend(self.fds.pop_front().map(|(_, fd)| fd));
                }
                let Ok(value) = parsed else {
                    continue;
                };
                let carries_handle =
                    value.get("cmd").and_then(Value::as_str) == Some("NODE_HANDLE");
                let fd = carries_handle.then(|| fds.into_iter().next()).flatten();
                return Ok(Some(IpcMessage { value, fd }));
            }
            if self.buf.len() > MAX_LINE_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "IPC line too long",
                ));
            }
            if self.read_some().await? == 0 {
                return Ok(None);
            }
        }
    }

    async fn read_some(&mut self) -> io::Result<usize> {
        loop {
            self.stream.readable().await?;
            // The chunk lives only inside the read, not in the future: an idle
            // channel costs no buffer (the daemon holds one per app).
            let mut chunk = [0u8; 16 * 1024];
            let res = self.stream.try_io(Interest::READABLE, || {
                let mut cmsg = nix::cmsg_space!([RawFd; 4]);
                let mut iov = [IoSliceMut::new(&mut chunk)];
                let msg = recvmsg::<()>(
                    self.stream.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    sock::RECV_FLAGS,
                )
                .map_err(io::Error::from)?;
                let mut fds = Vec::new();
                for c in msg.cmsgs().map_err(io::Error::from)? {
                    if let ControlMessageOwned::ScmRights(received) = c {
                        received.iter().for_each(|&fd| sock::after_receive(fd));
                        fds.extend(received);
                    }
                }
                Ok((msg.bytes, fds))
            });
            match res {
                Ok((n, fds)) => {
                    let at = self.buf_start + self.buf.len() as u64;
                    for fd in fds {
                        // SAFETY: the kernel just handed us this descriptor; we own it.
                        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                        if self.fds.len() < MAX_PENDING_FDS {
                            self.fds.push_back((at, fd));
                        }
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }
}

#[derive(Clone)]
pub struct IpcWriter {
    stream: Arc<UnixStream>,
    lock: Arc<Mutex<()>>,
    peer: Peer,
}

impl AsRawFd for IpcWriter {
    /// The parent's end of the channel (shared with the reader), for a
    /// daemon handing it over across an exec.
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

impl IpcWriter {
    /// Sends one JSON message as the app's own (a user packet is never
    /// framed as internal, whatever its `cmd`).
    pub async fn send(&self, value: &Value) -> io::Result<()> {
        self.send_inner(value, None, false).await
    }

    /// Sends one of the runtime's internal messages (the cluster protocol,
    /// handle ACKs), framed as the child's runtime expects them.
    pub async fn send_internal(&self, value: &Value) -> io::Result<()> {
        self.send_inner(value, None, true).await
    }

    /// Sends an internal message with a descriptor attached (Node's `NODE_HANDLE`).
    pub async fn send_internal_with_fd(&self, value: &Value, fd: RawFd) -> io::Result<()> {
        self.send_inner(value, Some(fd), true).await
    }

    async fn send_inner(&self, value: &Value, fd: Option<RawFd>, internal: bool) -> io::Result<()> {
        let mut line = Vec::new();
        if internal && self.peer == Peer::Bun && is_internal(value) {
            line.push(BUN_INTERNAL);
        }
        serde_json::to_writer(&mut line, value)?;
        line.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut off = 0;
        let mut fd = fd;
        while off < line.len() {
            self.stream.writable().await?;
            let res = self.stream.try_io(Interest::WRITABLE, || {
                let iov = [IoSlice::new(&line[off..])];
                let fds: Vec<RawFd> = fd.into_iter().collect();
                let cmsg = [ControlMessage::ScmRights(&fds)];
                let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
                sendmsg::<()>(self.stream.as_raw_fd(), &iov, cmsgs, sock::SEND_FLAGS, None)
                    .map_err(io::Error::from)
            });
            match res {
                Ok(n) => {
                    off += n;
                    fd = None;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream as StdStream;

    #[tokio::test]
    async fn exchanges_json_lines_with_the_child_end() {
        let (parent, child) = channel().unwrap();
        let (mut reader, writer) = split(parent, Peer::Node);
        let mut child = StdStream::from(child);
        child
            .write_all(b"{\"type\":\"process:msg\",\"data\":1}\nnot json\n\"ready\"\n")
            .unwrap();
        let m = reader.next().await.unwrap().unwrap();
        assert_eq!(m.value, json!({"type": "process:msg", "data": 1}));
        assert_eq!(reader.next().await.unwrap().unwrap().value, json!("ready"));

        writer.send(&json!("shutdown")).await.unwrap();
        let mut got = [0u8; 11];
        child.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\"shutdown\"\n");

        drop(child);
        assert!(reader.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn frames_internal_messages_the_way_a_bun_child_does() {
        let (parent, child) = channel().unwrap();
        let (mut reader, writer) = split(parent, Peer::Bun);
        let mut child = StdStream::from(child);
        child
            .write_all(b"\x02{\"cmd\":\"NODE_CLUSTER\",\"act\":\"online\",\"seq\":0}\n{\"a\":1}\n")
            .unwrap();
        let m = reader.next().await.unwrap().unwrap();
        assert_eq!(
            m.value,
            json!({"cmd": "NODE_CLUSTER", "act": "online", "seq": 0})
        );
        assert_eq!(reader.next().await.unwrap().unwrap().value, json!({"a": 1}));

        writer
            .send_internal(&json!({"cmd": "NODE_CLUSTER", "act": "disconnect"}))
            .await
            .unwrap();
        writer.send(&json!({"cmd": "app"})).await.unwrap();
        // A user packet forwarded to the app keeps its `NODE_` cmd unmarked:
        // Bun would take it for its own and the app would never see it.
        writer.send(&json!({"cmd": "NODE_user"})).await.unwrap();
        let want = b"\x02{\"cmd\":\"NODE_CLUSTER\",\"act\":\"disconnect\"}\n{\"cmd\":\"app\"}\n{\"cmd\":\"NODE_user\"}\n";
        let mut got = vec![0u8; want.len()];
        child.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }

    #[tokio::test]
    async fn a_node_child_gets_internal_messages_as_plain_json() {
        let (parent, child) = channel().unwrap();
        let (_reader, writer) = split(parent, Peer::Node);
        let mut child = StdStream::from(child);
        writer.send(&json!({"cmd": "NODE_CLUSTER"})).await.unwrap();
        let want = b"{\"cmd\":\"NODE_CLUSTER\"}\n";
        let mut got = vec![0u8; want.len()];
        child.read_exact(&mut got).unwrap();
        assert_eq!(&got, want);
    }

    /// Sends `line` from the child's end with `fd` attached, as Node does.
    fn send_line_with_fd(child: &StdStream, line: &[u8], fd: RawFd) {
        let fds = [fd];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(
            child.as_raw_fd(),
            &[IoSlice::new(line)],
            &cmsg,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
    }

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[tokio::test]
    async fn keeps_a_descriptor_only_with_its_node_handle_message() {
        let (parent, child) = channel().unwrap();
        let (mut reader, _writer) = split(parent, Peer::Node);
        let child = StdStream::from(child);
        let (a, mut b) = StdStream::pair().unwrap();
        let before = open_fds();
        // Descriptors sent with plain messages are closed as their line is read.
        for i in 0..50 {
            send_line_with_fd(&child, format!("{{\"n\":{i}}}\n").as_bytes(), a.as_raw_fd());
            assert_eq!(reader.next().await.unwrap().unwrap().fd.map(|_| ()), None);
        }
        assert!(
            open_fds() <= before,
            "{} fds open, {before} before",
            open_fds()
        );
        // A handle message gets its own descriptor.
        send_line_with_fd(
            &child,
            b"{\"cmd\":\"NODE_HANDLE\",\"msg\":1}\n",
            a.as_raw_fd(),
        );
        let m = reader.next().await.unwrap().unwrap();
        let mut passed = StdStream::from(m.fd.expect("the handle's descriptor"));
        passed.write_all(b"y").unwrap();
        let mut one = [0u8; 1];
        b.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"y");
    }

    #[tokio::test]
    async fn passes_a_descriptor_with_a_message() {
        let (parent, child) = channel().unwrap();
        let (_reader, writer) = split(parent, Peer::Node);
        let (a, mut b) = StdStream::pair().unwrap();
        writer
            .send_internal_with_fd(&json!({"cmd": "NODE_HANDLE"}), a.as_raw_fd())
            .await
            .unwrap();
        drop(a);
        // Receive on the child's end the way Node would, then prove the fd works.
        let child = StdStream::from(child);
        let mut buf = [0u8; 64];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            child.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let fd = msg
            .cmsgs()
            .unwrap()
            .find_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => f.first().copied(),
                _ => None,
            })
            .expect("a descriptor arrived");
        // SAFETY: received from the kernel above.
        let mut passed = unsafe { StdStream::from_raw_fd(fd) };
        passed.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        b.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"x");
    }
}
