//! Replacing the daemon by another binary in the same process (`pm2 update`).
//!
//! The daemon is the parent of its apps and holds the daemon's ends of their
//! pipes and channels, the cluster's listening sockets and its own RPC and
//! bus sockets. A process that calls `execve` keeps its pid, its children and
//! every descriptor not marked close-on-exec. So the old daemon writes a
//! [`Record`] of its table (with the numbers of the descriptors the new one
//! needs) into a memfd, clears `FD_CLOEXEC` on exactly those descriptors and
//! on the memfd, and execs the new binary with `PM2_HANDOVER_FD` naming the
//! memfd. The new daemon reads the record before anything else
//! ([`take_inherited`]) and adopts the children instead of launching them.
//!
//! A record it cannot read (another format version, garbage) makes it fall
//! back to what `pm2 update` did before: it stops every child it has
//! ([`abandon`]) and starts with an empty table; the client then resurrects
//! the list it saved before asking for the exec.

use crate::cluster::ClusterRecord;
use crate::process::ChildFds;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// The environment variable naming the descriptor the record is read from.
pub const ENV_FD: &str = "PM2_HANDOVER_FD";
/// What a record says it is.
pub const FORMAT: &str = "pm2-rs-handover";
/// The version of the record this daemon writes and reads. A change of any
/// field's meaning bumps it: a daemon that gets another version falls back.
pub const RECORD_VERSION: u32 = 1;

/// The version this daemon writes: [`RECORD_VERSION`], unless
/// `PM2_HANDOVER_RECORD_VERSION` says otherwise (how a test makes a record
/// the new daemon must refuse).
pub fn written_version() -> u32 {
    std::env::var("PM2_HANDOVER_RECORD_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RECORD_VERSION)
}

/// The argument that makes a daemon binary say which record it reads.
pub const PROBE_ARG: &str = "--handover-version";
/// How long a binary may take to answer [`PROBE_ARG`].
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a daemon binary prints for [`PROBE_ARG`].
pub fn probe_answer() -> String {
    format!("{FORMAT} {RECORD_VERSION}")
}

/// Checks that `binary` reads the record this daemon writes, before the
/// exec: a binary that does not (an older one, or not a daemon at all)
/// must not replace this process, as it would not take the apps. One that
/// predates the probe starts as a daemon instead of answering: it runs in
/// `scratch` (a home of its own, removed after) and is killed at the timeout.
pub async fn probe(binary: &std::path::Path, scratch: &std::path::Path) -> Result<(), String> {
    let _ = std::fs::create_dir_all(scratch);
    let run = tokio::process::Command::new(binary)
        .arg(PROBE_ARG)
        .env_clear()
        .env("PM2_HOME", scratch)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, run).await;
    let _ = std::fs::remove_dir_all(scratch);
    let output = match answer {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(format!("{} could not be run: {e}", binary.display())),
        Err(_) => {
            return Err(format!(
                "{} did not say which handover record it reads (a daemon older than the update in place?)",
                binary.display()
            ))
        }
    };
    let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if said == probe_answer() {
        Ok(())
    } else if said.is_empty() {
        Err(format!(
            "{} does not read handover records (a daemon older than the update in place?)",
            binary.display()
        ))
    } else {
        Err(format!(
            "{} reads \"{said}\", this daemon writes \"{}\"",
            binary.display(),
            probe_answer()
        ))
    }
}

/// What an old daemon hands over to the binary it execs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub format: String,
    pub version: u32,
    /// The old daemon's version and executable, for the log and the client.
    pub from_version: String,
    pub from_exe: String,
    /// How many times this process was replaced in place, this time included.
    pub in_place_updates: u64,
    /// The listening sockets `rpc.sock` and `pub.sock`: clients connecting
    /// during the exec wait in their backlog instead of being refused.
    pub rpc_fd: RawFd,
    pub pub_fd: RawFd,
    /// The apps' cgroup and the locked descriptor of its directory.
    pub cgroup: Option<(PathBuf, RawFd)>,
    pub table: TableRecord,
}

/// The supervisor's table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableRecord {
    pub next_id: u64,
    /// Launches so far (each launch's `generation`, which names its cgroup).
    pub launches: u64,
    pub cluster: ClusterRecord,
    pub procs: Vec<ProcRecord>,
}

/// One process of the table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcRecord {
    pub pm_id: u64,
    /// The displayed status (`online`, `stopped`, `errored`, `waiting restart`).
    pub status: String,
    /// The whole `pm2_env`: options, counters (`restart_time`,
    /// `unstable_restarts`), `pm_uptime`, `created_at`, `unique_id`...
    pub env: Map<String, Value>,
    pub generation: u64,
    pub running: Option<RunningRecord>,
}

/// A live child of the process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunningRecord {
    pub pid: u32,
    pub fds: ChildFds,
    /// A cluster worker: registered again with the cluster primary.
    pub worker: bool,
    /// How long it has run (its `min_uptime` counts from its launch).
    pub uptime_ms: u64,
}

impl Record {
    /// Every descriptor the new daemon needs open.
    pub fn descriptors(&self) -> Vec<RawFd> {
        let mut fds = vec![self.rpc_fd, self.pub_fd];
        fds.extend(self.cgroup.as_ref().map(|(_, fd)| *fd));
        fds.extend(self.table.cluster.listeners.iter().map(|l| l.fd));
        for r in self.table.procs.iter().filter_map(|p| p.running.as_ref()) {
            fds.extend([r.fds.stdin, r.fds.stdout, r.fds.stderr, r.fds.ipc]);
        }
        fds
    }
}

/// Checks a record's text: its format and version first, then its fields.
pub fn parse(text: &[u8]) -> Result<Record, String> {
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| format!("the handover record is not JSON ({e})"))?;
    let format = value.get("format").and_then(Value::as_str);
    let version = value.get("version").and_then(Value::as_u64);
    if format != Some(FORMAT) {
        return Err(format!(
            "the handover record is not a {FORMAT} record (format {})",
            format.unwrap_or("missing")
        ));
    }
    if version != Some(u64::from(RECORD_VERSION)) {
        return Err(format!(
            "the handover record is version {}, this daemon reads version {RECORD_VERSION}",
            version.map_or("missing".to_string(), |v| v.to_string())
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("the handover record is incomplete ({e})"))
}

/// Takes a descriptor this process inherited by number. Refuses the
/// standard streams and numbers that are not open.
pub fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: F_GETFD only asks whether the number is open.
    if fd < 3 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the record names this descriptor as handed over to us, and
    // each is taken once (the adoption takes each number of the record once).
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What a daemon started by an exec in place found.
pub enum Inherited {
    /// Not started by an exec in place.
    Fresh,
    /// A record to adopt.
    Record(Box<Record>),
    /// A record it could not use, and why: it stopped the apps it had.
    Abandoned(String),
}

/// What the last start of this daemon was, for the client of `pm2 update`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// How many times this process was replaced in place.
    pub in_place_updates: u64,
    /// Set when this daemon came from an exec in place.
    pub replaced: Option<Replaced>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Replaced {
    pub in_place: bool,
    pub message: String,
    pub from_version: String,
    pub from_exe: String,
}

impl crate::Daemon {
    /// Replaces this process by the daemon binary `binary` (`pm2 update`),
    /// handing over every app, its descriptors and the sockets. Returns only
    /// when it could not, with nothing changed.
    pub async fn exec_in_place(&self, binary: std::path::PathBuf) -> Result<(), String> {
        if !cfg!(target_os = "linux") {
            return Err("an update in place needs Linux (memfd, pidfds)".into());
        }
        if self.settings.in_process {
            return Err("this daemon runs inside a Node process (connect(true)): it cannot be replaced in place".into());
        }
        let executable = std::fs::metadata(&binary)
            .map(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
            .unwrap_or(false);
        if !executable {
            return Err(format!("{} is not an executable file", binary.display()));
        }
        probe(&binary, &self.paths.home.join(".handover-probe")).await?;
        let record = Record {
            format: FORMAT.into(),
            version: written_version(),
            from_version: crate::VERSION.into(),
            from_exe: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            in_place_updates: self.handover.in_place_updates + 1,
            rpc_fd: self.sockets[0],
            pub_fd: self.sockets[1],
            cgroup: self
                .cgroups
                .as_ref()
                .map(|c| (c.dir().to_path_buf(), c.owner_fd())),
            table: Default::default(),
        };
        self.supervisor.exec_in_place(record, binary).await
    }

    /// What a client of `pm2 update` asks this daemon before and after the exec.
    pub fn handover_status(&self) -> serde_json::Value {
        serde_json::json!({
            "daemon": "rust",
            "version": crate::VERSION,
            "pid": std::process::id(),
            "exe": std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            "in_place": cfg!(target_os = "linux") && !self.settings.in_process,
            "in_place_updates": self.handover.in_place_updates,
            "replaced": self.handover.replaced,
        })
    }
}

/// The supervisor takes the table of `record`, if any; what this start
/// was, for the client of `pm2 update` and pm2.log.
pub async fn take_over(
    supervisor: &crate::supervisor::Supervisor,
    record: Option<Box<Record>>,
    abandoned: Option<String>,
) -> Outcome {
    match (record, abandoned) {
        (Some(r), _) => {
            let apps = r.table.procs.iter().filter(|p| p.running.is_some()).count();
            let adopted = supervisor.adopt_table(r.table).await.unwrap_or(0);
            Outcome {
                in_place_updates: r.in_place_updates,
                replaced: Some(Replaced {
                    in_place: true,
                    message: if adopted == apps {
                        format!("replaced in place: {apps} of {apps} running processes adopted, none restarted")
                    } else {
                        format!(
                            "replaced in place: {adopted} of {apps} running processes adopted, {} restarted (see pm2.log)",
                            apps - adopted
                        )
                    },
                    from_version: r.from_version,
                    from_exe: r.from_exe,
                }),
            }
        }
        (None, Some(why)) => Outcome {
            in_place_updates: 0,
            replaced: Some(Replaced {
                in_place: false,
                message: format!(
                    "could not take over the apps of the daemon it replaced ({why}): they were stopped, to be resurrected from the saved list"
                ),
                from_version: String::new(),
                from_exe: String::new(),
            }),
        },
        (None, None) => Outcome::default(),
    }
}

#[cfg(target_os = "linux")]
pub use linux::{abandon, exec, take_inherited};

#[cfg(not(target_os = "linux"))]
pub fn take_inherited() -> Inherited {
    Inherited::Fresh
}

#[cfg(not(target_os = "linux"))]
pub fn exec(_record: &Record, _binary: &std::path::Path) -> std::io::Error {
    std::io::Error::other("an update in place needs Linux")
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{parse, Inherited, Record, ENV_FD};
    use std::ffi::CString;
    use std::io::{self, Read, Seek, Write};
    use std::os::fd::{FromRawFd, RawFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
        // SAFETY: F_GETFD/F_SETFD on a descriptor number; no memory involved.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 {
                return Err(io::Error::last_os_error());
            }
            let flags = if on {
                flags | libc::FD_CLOEXEC
            } else {
                flags & !libc::FD_CLOEXEC
            };
            if libc::fcntl(fd, libc::F_SETFD, flags) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Execs `binary` in this process with `record`. Returns only on failure,
    /// with every descriptor as it was (close-on-exec again).
    pub fn exec(record: &Record, binary: &Path) -> io::Error {
        match try_exec(record, binary) {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    fn try_exec(record: &Record, binary: &Path) -> io::Result<std::convert::Infallible> {
        let text = serde_json::to_vec(record)?;
        // SAFETY: memfd_create takes a NUL-terminated name and flags. Without
        // MFD_CLOEXEC: the descriptor is what the new binary reads.
        let memfd = unsafe { libc::memfd_create(c"pm2-handover".as_ptr(), 0) };
        if memfd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just gave us this descriptor.
        let mut file = unsafe { std::fs::File::from_raw_fd(memfd) };
        file.write_all(&text)?;
        file.rewind()?;
        let program = CString::new(binary.as_os_str().as_bytes())
            .map_err(|_| io::Error::other("NUL byte in the binary's path"))?;
        let mut env: Vec<CString> = std::env::vars_os()
            .filter(|(k, _)| k != ENV_FD && k != "PM2_READY_FD")
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        env.push(CString::new(format!("{ENV_FD}={memfd}")).expect("no NUL"));
        let argv = [program.as_ptr(), std::ptr::null()];
        let envp: Vec<*const libc::c_char> = env
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let fds = record.descriptors();
        // Cleared only now, right before the exec: nothing this process
        // forks meanwhile (none: this runs on the actor's thread) inherits them.
        let cleared: io::Result<()> = fds.iter().try_for_each(|&fd| set_cloexec(fd, false));
        if let Err(e) = cleared {
            fds.iter().for_each(|&fd| drop(set_cloexec(fd, true)));
            return Err(e);
        }
        // SAFETY: program, argv and envp are NUL-terminated and live until
        // execve returns (it returns only on failure).
        unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let e = io::Error::last_os_error();
        fds.iter().for_each(|&fd| drop(set_cloexec(fd, true)));
        drop(file);
        Err(e)
    }

    /// The record this process was exec'd with, if it was. Reads and closes
    /// the memfd and removes `PM2_HANDOVER_FD` from the environment (the
    /// apps launched later must not see it). Call before any thread starts.
    pub fn take_inherited() -> Inherited {
        let Some(value) = std::env::var_os(ENV_FD) else {
            return Inherited::Fresh;
        };
        // SAFETY: single-threaded still (main, before the runtime).
        unsafe { std::env::remove_var(ENV_FD) };
        let fd = value.to_str().and_then(|v| v.parse::<RawFd>().ok());
        let Some(mut file) = fd.and_then(super::take_fd).map(std::fs::File::from) else {
            return Inherited::Abandoned(format!(
                "{ENV_FD}={} names no open descriptor",
                value.to_string_lossy()
            ));
        };
        let mut text = Vec::new();
        // A record of a few MB at most: one table entry per app.
        if let Err(e) = (&mut file).take(256 << 20).read_to_end(&mut text) {
            return Inherited::Abandoned(format!("the handover record could not be read: {e}"));
        }
        drop(file);
        match parse(&text) {
            Ok(record) => Inherited::Record(Box::new(record)),
            Err(why) => Inherited::Abandoned(why),
        }
    }

    /// Stops every child this process has (the apps of a record it cannot
    /// use) and closes every inherited descriptor but the standard streams.
    /// Each app leads its own session and process group: the group gets
    /// SIGTERM, then SIGKILL after `patience`. Blocking: call before the
    /// runtime starts.
    pub fn abandon(patience: Duration) -> usize {
        let me = std::process::id();
        let children: Vec<libc::pid_t> = pm2_proc::pids()
            .into_iter()
            .filter(|&pid| pm2_proc::stat(pid).is_some_and(|st| st.ppid == me))
            .filter_map(|pid| libc::pid_t::try_from(pid).ok())
            .collect();
        let signal_all = |sig: libc::c_int| {
            for &pid in &children {
                // SAFETY: kill sends a signal; our own children, not reaped
                // yet, so their pids are theirs.
                unsafe {
                    libc::kill(-pid, sig);
                    libc::kill(pid, sig);
                }
            }
        };
        signal_all(libc::SIGTERM);
        let deadline = Instant::now() + patience;
        let mut left: Vec<libc::pid_t> = children.clone();
        while !left.is_empty() {
            // SAFETY: waitpid on our own children, status discarded.
            left.retain(
                |&pid| unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } == 0,
            );
            if left.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                signal_all(libc::SIGKILL);
                for &pid in &left {
                    // SAFETY: as above; SIGKILL was sent, the wait is short.
                    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: close_range closes descriptors of this process only; no
        // Rust object owns any of them yet (nothing was started).
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
        children.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        Record {
            format: FORMAT.into(),
            version: RECORD_VERSION,
            from_version: "1.0.0".into(),
            from_exe: "/old/pm2-daemon".into(),
            in_place_updates: 1,
            rpc_fd: 5,
            pub_fd: 6,
            cgroup: Some(("/sys/fs/cgroup/pm2-1".into(), 7)),
            table: TableRecord {
                next_id: 2,
                launches: 3,
                cluster: ClusterRecord::default(),
                procs: vec![ProcRecord {
                    pm_id: 0,
                    status: "online".into(),
                    env: json!({"name": "api", "restart_time": 4})
                        .as_object()
                        .unwrap()
                        .clone(),
                    generation: 3,
                    running: Some(RunningRecord {
                        pid: 42,
                        fds: ChildFds {
                            stdin: 10,
                            stdout: 11,
                            stderr: 12,
                            ipc: 13,
                        },
                        worker: false,
                        uptime_ms: 1500,
                    }),
                }],
            },
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let r = record();
        let text = serde_json::to_vec(&r).unwrap();
        assert_eq!(parse(&text).unwrap(), r);
        assert_eq!(r.descriptors(), vec![5, 6, 7, 10, 11, 12, 13]);
    }

    #[test]
    fn another_version_or_garbage_is_refused_with_the_reason() {
        let mut v = serde_json::to_value(record()).unwrap();
        v["version"] = json!(RECORD_VERSION + 1);
        let err = parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            err.contains(&format!("version {}", RECORD_VERSION + 1)),
            "{err}"
        );
        assert!(parse(b"\x00garbage").unwrap_err().contains("not JSON"));
        let err = parse(br#"{"format":"other","version":1}"#).unwrap_err();
        assert!(err.contains("format other"), "{err}");
        let err =
            parse(format!(r#"{{"format":"{FORMAT}","version":{RECORD_VERSION}}}"#).as_bytes())
                .unwrap_err();
        assert!(err.contains("incomplete"), "{err}");
    }

    #[test]
    fn only_open_descriptors_past_the_standard_streams_are_taken() {
        assert!(take_fd(1).is_none());
        assert!(take_fd(100_000).is_none());
    }
}
