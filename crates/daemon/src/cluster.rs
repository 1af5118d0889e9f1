//! Cluster mode: the daemon is the cluster primary of its Node workers.
//!
//! A cluster instance is a Node process started with `NODE_UNIQUE_ID` in its
//! environment next to the IPC channel (`spawn.rs`): Node then runs it as a
//! cluster worker (`cluster.isWorker`, `cluster.worker.id`), and when the app
//! calls `server.listen(…)` the worker asks its primary for the socket instead
//! of binding it. This module is the primary's side of that internal protocol
//! (`{cmd:'NODE_CLUSTER', act, seq}` messages on the channel):
//!
//! - `queryServer`: the daemon binds and listens on the address itself, keeps
//!   the socket, and answers with a copy of it as a `NODE_HANDLE` (SCM_RIGHTS);
//!   a bind error goes back as Node's errno, so the app sees a real `EADDRINUSE`.
//! - `online`, `listening`: reported to the supervisor, which waits for
//!   `listening` before retiring the old process of a reload.
//! - `exitedAfterDisconnect`: acked, as Node's primary does. A worker that
//!   gets its kill signal and does not handle it disconnects so (closes its
//!   servers, lets its connections finish), then ends (lib/container.js).
//!
//! Scheduling is the shared handle: every worker listening on the same
//! address gets the same socket, whatever its app (as Node's primary shares
//! it among all its workers, PM2's apps included), and the kernel hands each
//! connection to whichever worker accepts first. The socket is not a
//! worker's: it stays open in the daemon while any instance of an app that
//! uses it runs (or waits to be restarted), so a crash or a reload never
//! closes it, and connections that arrive while no worker accepts wait in its
//! backlog instead of being refused. It is closed (and a unix socket file
//! removed) when the last instance of the last app using it stops or is
//! deleted.

use nix::errno::Errno;
use nix::sys::socket::{
    bind, listen, setsockopt, sockopt, AddressFamily, Backlog, SockType, SockaddrIn, SockaddrIn6,
    UnixAddr,
};
use pm2_wire::ipc::IpcWriter;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// libuv's `UV_TCP_IPV6ONLY` / `UV_UDP_IPV6ONLY` in a `queryServer`'s flags.
const IPV6_ONLY: u64 = 1;
/// libuv's `UV_UDP_REUSEADDR`.
const UDP_REUSEADDR: u64 = 4;
/// Node's default listen backlog.
const DEFAULT_BACKLOG: i32 = 511;

/// A worker is one launch of one process: `(pm_id, launch)`. During a reload
/// the old and the new launch of a pm_id are both workers.
type WorkerKey = (u64, u64);

/// What a worker's message means for the supervisor.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// The worker started (`cluster.worker` exists).
    Online,
    /// A server of the worker accepts connections now.
    Listening,
    None,
}

/// The cluster primary: workers' channels and each app's listening sockets.
#[derive(Default)]
pub struct Cluster {
    /// Node numbers workers from 1, never reusing an id.
    last_worker_id: u64,
    workers: HashMap<WorkerKey, Worker>,
    /// Listening sockets by Node's server key. As with Node's primary, one
    /// socket serves every worker that asks for its address, of any app.
    listeners: HashMap<String, Listener>,
}

struct Worker {
    app: String,
    pid: u32,
    /// The app's cwd, for unix socket paths given relative.
    cwd: PathBuf,
    /// Messages to the worker, written in order by one task.
    outbox: mpsc::UnboundedSender<(Value, Option<OwnedFd>)>,
    seq: u64,
    /// The handle sent and not yet acknowledged (kept to resend on a NACK):
    /// Node's channel takes one handle at a time.
    in_flight: Option<(Value, OwnedFd)>,
    waiting: VecDeque<(Value, OwnedFd)>,
}

struct Listener {
    fd: OwnedFd,
    /// The apps whose workers got this socket: it stays open while any of
    /// them runs.
    apps: HashSet<String>,
    /// The `data` of the first `queryServer` (TLS session data), given to
    /// every later worker, as Node's primary does.
    data: Value,
    /// A unix socket's file, with its inode: removed at release if it is
    /// still this socket's.
    unix_path: Option<(PathBuf, u64)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some((path, ino)) = &self.unix_path {
            let ours = std::fs::symlink_metadata(path)
                .is_ok_and(|m| m.file_type().is_socket() && m.ino() == *ino);
            if ours {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A value as JavaScript's template strings print it: Node builds its server
/// keys that way, and the worker only echoes the key back.
fn js_text(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

impl Cluster {
    /// The id of the next worker (`NODE_UNIQUE_ID`, `cluster.worker.id`).
    pub fn next_worker_id(&mut self) -> u64 {
        self.last_worker_id += 1;
        self.last_worker_id
    }

    /// Registers a launched worker; its messages go out through `ipc` in order.
    pub fn add_worker(
        &mut self,
        pm_id: u64,
        launch: u64,
        app: &str,
        pid: u32,
        cwd: &Path,
        ipc: IpcWriter,
    ) {
        let (outbox, mut rx) = mpsc::unbounded_channel::<(Value, Option<OwnedFd>)>();
        tokio::spawn(async move {
            while let Some((msg, fd)) = rx.recv().await {
                let sent = match &fd {
                    Some(fd) => ipc.send_internal_with_fd(&msg, fd.as_raw_fd()).await,
                    None => ipc.send_internal(&msg).await,
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        self.workers.insert(
            (pm_id, launch),
            Worker {
                app: app.to_string(),
                pid,
                cwd: cwd.to_path_buf(),
                outbox,
                seq: 0,
                in_flight: None,
                waiting: VecDeque::new(),
            },
        );
    }

    /// Forgets a worker whose process ended.
    pub fn remove_worker(&mut self, pm_id: u64, launch: u64) {
        self.workers.remove(&(pm_id, launch));
    }

    /// Closes the listening sockets only `app` uses: its last instance is
    /// down.
    pub fn release(&mut self, app: &str) {
        self.listeners.retain(|_, l| {
            l.apps.remove(app);
            !l.apps.is_empty()
        });
        // Copies kept for a resend go too, or the port would stay taken.
        for w in self.workers.values_mut().filter(|w| w.app == app) {
            w.in_flight = None;
            w.waiting.clear();
        }
    }

    /// Whether `app` holds listening sockets.
    pub fn holds(&self, app: &str) -> bool {
        self.listeners.values().any(|l| l.apps.contains(app))
    }

    /// Handles an internal message (`cmd` starting with `NODE_`) of a worker.
    pub fn on_message(&mut self, pm_id: u64, launch: u64, msg: &Value) -> Event {
        let key = (pm_id, launch);
        let Some(w) = self.workers.get_mut(&key) else {
            return Event::None;
        };
        match msg.get("cmd").and_then(Value::as_str) {
            Some("NODE_HANDLE_ACK") => {
                w.in_flight = None;
                if let Some((m, fd)) = w.waiting.pop_front() {
                    w.send_handle(m, fd);
                }
                Event::None
            }
            Some("NODE_HANDLE_NACK") => {
                // The worker lost the descriptor: send it again.
                if let Some((m, fd)) = w.in_flight.take() {
                    w.send_handle(m, fd);
                }
                Event::None
            }
            Some("NODE_CLUSTER") => match msg.get("act").and_then(Value::as_str) {
                Some("online") => Event::Online,
                Some("listening") => Event::Listening,
                Some("queryServer") => {
                    self.query_server(key, msg);
                    Event::None
                }
                Some("exitedAfterDisconnect") => {
                    w.send(json!({"ack": msg.get("seq")}), None);
                    Event::None
                }
                _ => Event::None,
            },
            _ => Event::None,
        }
    }

    /// A worker wants to listen: hand it the app's socket for that address,
    /// binding it first if this is the first worker to ask.
    fn query_server(&mut self, key: WorkerKey, msg: &Value) {
        let server_key = format!(
            "{}:{}:{}:{}:{}",
            js_text(msg.get("address")),
            js_text(msg.get("port")),
            js_text(msg.get("addressType")),
            js_text(msg.get("fd")),
            js_text(msg.get("index")),
        );
        let Some(socket) = self.socket_for(key, &server_key, msg) else {
            return;
        };
        let Some(w) = self.workers.get_mut(&key) else {
            return;
        };
        let mut reply = json!({"errno": 0, "key": server_key, "ack": msg.get("seq"), "data": null});
        match socket {
            Ok((fd, data)) => {
                reply["data"] = data;
                let udp = matches!(
                    msg.get("addressType").and_then(Value::as_str),
                    Some("udp4" | "udp6")
                );
                let kind = if udp { "dgram.Native" } else { "net.Native" };
                w.queue_handle(reply, kind, fd);
            }
            // libuv's error numbers are the negated errno values.
            Err(e) => {
                reply["errno"] = json!(-(e as i32));
                w.send(reply, None);
            }
        }
    }

    /// A copy of the socket for `server_key` (opened now if no worker asked
    /// for it yet), with its `data`; `None` for an unknown worker.
    fn socket_for(
        &mut self,
        key: WorkerKey,
        server_key: &str,
        msg: &Value,
    ) -> Option<Result<(OwnedFd, Value), Errno>> {
        let w = self.workers.get(&key)?;
        let at = listener_key(server_key, msg, w);
        if !self.listeners.contains_key(&at) {
            let listener = match open_listener(msg, w) {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            self.listeners.insert(at.clone(), listener);
        }
        let l = self.listeners.get_mut(&at)?;
        l.apps.insert(w.app.clone());
        Some(
            l.fd.try_clone()
                .map(|fd| (fd, l.data.clone()))
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE))),
        )
    }
}

/// A listening socket as an exec of the daemon in place hands it over.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ListenerRecord {
    pub key: String,
    pub fd: RawFd,
    pub apps: Vec<String>,
    pub data: Value,
    pub unix_path: Option<(PathBuf, u64)>,
}

/// What the cluster primary keeps across an exec of the daemon in place:
/// the worker ids given so far and the listening sockets. Workers are
/// registered again as their processes are adopted.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ClusterRecord {
    pub last_worker_id: u64,
    pub listeners: Vec<ListenerRecord>,
}

impl Cluster {
    /// The record of this primary, descriptors by number (they stay open).
    pub fn record(&self) -> ClusterRecord {
        ClusterRecord {
            last_worker_id: self.last_worker_id,
            listeners: self
                .listeners
                .iter()
                .map(|(key, l)| ListenerRecord {
                    key: key.clone(),
                    fd: l.fd.as_raw_fd(),
                    apps: l.apps.iter().cloned().collect(),
                    data: l.data.clone(),
                    unix_path: l.unix_path.clone(),
                })
                .collect(),
        }
    }

    /// A handle is on its way to a worker, waiting for its ACK: an exec now
    /// would lose it.
    pub fn handles_in_flight(&self) -> bool {
        self.workers
            .values()
            .any(|w| w.in_flight.is_some() || !w.waiting.is_empty())
    }

    /// The primary a record describes; `open` turns each inherited
    /// descriptor number into the descriptor it now owns.
    pub fn restore(
        record: ClusterRecord,
        mut open: impl FnMut(RawFd) -> Option<OwnedFd>,
    ) -> Cluster {
        let listeners = record
            .listeners
            .into_iter()
            .filter_map(|l| {
                let fd = open(l.fd)?;
                let listener = Listener {
                    fd,
                    apps: l.apps.into_iter().collect(),
                    data: l.data,
                    unix_path: l.unix_path,
                };
                Some((l.key, listener))
            })
            .collect();
        Cluster {
            last_worker_id: record.last_worker_id,
            workers: HashMap::new(),
            listeners,
        }
    }
}

/// Where a listener is kept: its server key, and for a unix socket given
/// by a relative path the folder it is relative to (two apps in different
/// folders naming `app.sock` ask for two sockets).
fn listener_key(server_key: &str, msg: &Value, w: &Worker) -> String {
    let unix = msg.get("addressType").and_then(Value::as_i64) == Some(-1);
    let relative_path = unix
        && msg
            .get("address")
            .and_then(Value::as_str)
            .is_some_and(|a| !a.starts_with('/') && !a.starts_with('\0'));
    if relative_path {
        format!("{server_key} in {}", w.cwd.display())
    } else {
        server_key.to_string()
    }
}

impl Worker {
    /// Sends `{cmd:'NODE_CLUSTER', …body, seq}`.
    fn send(&mut self, body: Value, fd: Option<OwnedFd>) {
        let msg = self.cluster_message(body);
        let _ = self.outbox.send((msg, fd));
    }

    fn cluster_message(&mut self, body: Value) -> Value {
        let mut msg = json!({"cmd": "NODE_CLUSTER"});
        if let (Value::Object(m), Value::Object(b)) = (&mut msg, body) {
            m.extend(b);
            m.insert("seq".into(), json!(self.seq));
        }
        self.seq += 1;
        msg
    }

    /// Sends a reply with a socket, after the handles sent before it are
    /// acknowledged.
    fn queue_handle(&mut self, body: Value, kind: &str, fd: OwnedFd) {
        let inner = self.cluster_message(body);
        let msg = json!({"cmd": "NODE_HANDLE", "type": kind, "msg": inner});
        if self.in_flight.is_some() {
            self.waiting.push_back((msg, fd));
        } else {
            self.send_handle(msg, fd);
        }
    }

    fn send_handle(&mut self, msg: Value, fd: OwnedFd) {
        if let Ok(copy) = fd.try_clone() {
            let _ = self.outbox.send((msg.clone(), Some(copy)));
            self.in_flight = Some((msg, fd));
        }
    }
}

/// Binds (and listens on, for streams) what a `queryServer` asks for.
fn open_listener(msg: &Value, w: &Worker) -> Result<Listener, Errno> {
    let address = msg.get("address").and_then(Value::as_str);
    let flags = msg.get("flags").and_then(Value::as_u64).unwrap_or(0);
    let backlog = msg
        .get("backlog")
        .and_then(Value::as_i64)
        .filter(|b| *b > 0)
        .map_or(DEFAULT_BACKLOG, |b| b.min(65535) as i32);
    let data = msg.get("data").cloned().unwrap_or(Value::Null);
    if msg
        .get("fd")
        .and_then(Value::as_i64)
        .is_some_and(|fd| fd >= 0)
    {
        // `listen({fd})` names a descriptor of the worker, not of the daemon.
        return Err(Errno::ENOTSUP);
    }
    let port = msg.get("port").and_then(Value::as_i64).unwrap_or(0);
    let (fd, unix_path) = match msg.get("addressType") {
        Some(Value::String(t)) if t == "udp4" || t == "udp6" => {
            let ip = address
                .and_then(|a| a.parse::<IpAddr>().ok())
                .ok_or(Errno::EINVAL)?;
            (bind_udp(ip, port_number(port)?, flags)?, None)
        }
        Some(v) if v.as_i64() == Some(-1) => {
            let path = address.ok_or(Errno::EINVAL)?;
            let (fd, path) = bind_unix(path, w)?;
            (fd, path)
        }
        _ => {
            let port = port_number(port)?;
            let fd = match address {
                None => bind_tcp(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port, 0)
                    .or_else(|_| bind_tcp(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port, 0))?,
                Some(a) => bind_tcp(a.parse().map_err(|_| Errno::EINVAL)?, port, flags)?,
            };
            listen(&fd, Backlog::new(backlog).unwrap_or(Backlog::MAXCONN))?;
            (fd, None)
        }
    };
    Ok(Listener {
        fd,
        apps: HashSet::new(),
        data,
        unix_path,
    })
}

fn port_number(port: i64) -> Result<u16, Errno> {
    u16::try_from(port).map_err(|_| Errno::EINVAL)
}

fn new_socket(family: AddressFamily, kind: SockType) -> Result<OwnedFd, Errno> {
    // Non-blocking, as libuv's sockets are: the flag belongs to the socket,
    // which every worker shares, and each must get EAGAIN once another took
    // the connection.
    pm2_wire::sock::new_socket(family, kind)
}

fn bind_ip(fd: &OwnedFd, ip: IpAddr, port: u16, flags: u64) -> Result<(), Errno> {
    match ip {
        IpAddr::V4(v4) => bind(
            fd.as_raw_fd(),
            &SockaddrIn::from(SocketAddrV4::new(v4, port)),
        ),
        IpAddr::V6(v6) => {
            setsockopt(fd, sockopt::Ipv6V6Only, &(flags & IPV6_ONLY != 0))?;
            bind(
                fd.as_raw_fd(),
                &SockaddrIn6::from(SocketAddrV6::new(v6, port, 0, 0)),
            )
        }
    }
}

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn bind_tcp(ip: IpAddr, port: u16, flags: u64) -> Result<OwnedFd, Errno> {
    let fd = new_socket(family(ip), SockType::Stream)?;
    // As libuv does for every TCP bind: a port in TIME_WAIT can be reused,
    // while one that something listens on still gives EADDRINUSE.
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind_ip(&fd, ip, port, flags)?;
    Ok(fd)
}

fn bind_udp(ip: IpAddr, port: u16, flags: u64) -> Result<OwnedFd, Errno> {
    let fd = new_socket(family(ip), SockType::Datagram)?;
    if flags & UDP_REUSEADDR != 0 {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    bind_ip(&fd, ip, port, flags)?;
    Ok(fd)
}

/// A unix socket at `path` (relative to the worker's cwd), or an abstract
/// one for a path starting with NUL. An existing file gives EADDRINUSE, as
/// in Node.
fn bind_unix(path: &str, w: &Worker) -> Result<(OwnedFd, Option<(PathBuf, u64)>), Errno> {
    let fd = new_socket(AddressFamily::Unix, SockType::Stream)?;
    if let Some(name) = path.strip_prefix('\0') {
        let addr = pm2_wire::sock::abstract_addr(name.as_bytes())?;
        bind(fd.as_raw_fd(), &addr)?;
        listen(
            &fd,
            Backlog::new(DEFAULT_BACKLOG).unwrap_or(Backlog::MAXCONN),
        )?;
        return Ok((fd, None));
    }
    let full = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        let cwd = std::fs::read_link(format!("/proc/{}/cwd", w.pid)).unwrap_or(w.cwd.clone());
        cwd.join(path)
    };
    let addr = UnixAddr::new(&full)?;
    bind(fd.as_raw_fd(), &addr)?;
    let ino = std::fs::symlink_metadata(&full)
        .map(|m| m.ino())
        .unwrap_or(0);
    let listening = listen(
        &fd,
        Backlog::new(DEFAULT_BACKLOG).unwrap_or(Backlog::MAXCONN),
    );
    if let Err(e) = listening {
        let _ = std::fs::remove_file(&full);
        return Err(e);
    }
    Ok((fd, Some((full, ino))))
}

#[cfg(test)]
mod tests;
