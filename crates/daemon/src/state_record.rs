//! The daemon's state record: its process table on disk (`PM2_HOME/daemon.state`),
//! kept up to date while it runs, so that a daemon started after a crash
//! can take the apps of its predecessor back (`supervisor/adopt.rs`), and a
//! daemon replacing itself in place can hand them over.
//!
//! The record is JSON, written atomically (temp file, fsync, rename) with
//! mode 0600, never more often than [`WRITE_INTERVAL`]. A clean stop removes
//! it: a record found at start-up means its daemon died without one. Apart
//! from the user's `dump.pm2`, which only `pm2 save` writes.
//!
//! Layout (version [`RECORD_VERSION`]):
//! ```json
//! {"record_version": 1,
//!  "daemon": {"pid": 12, "start_time": 3456, "version": "x.y.z"},
//!  "next_id": 3, "cgroup": "/sys/fs/cgroup/.../pm2-12-3456-abcd",
//!  "processes": [{"pm_id": 0, "name": "api", "pm2_env": {...}, "status": "online",
//!     "pid": 40, "start_time": 3500, "generation": 1, "restart_time": 0,
//!     "unstable_restarts": 0, "created_at": 1700000000000, "pm_uptime": 1700000000000,
//!     "exec_mode": "fork_mode", "instance": 0, "worker_id": null, "fds": null}]}
//! ```
//! `start_time` is field 22 of `/proc/<pid>/stat` (clock ticks after boot):
//! with the pid it names one process, not a later one given the same pid.

use crate::process::Proc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The layout version this daemon writes and reads.
pub const RECORD_VERSION: u32 = 1;
/// The record's file name in PM2_HOME.
pub const FILE_NAME: &str = "daemon.state";
/// Where an unreadable record is kept aside.
pub const BAD_FILE_NAME: &str = "daemon.state.bad";
/// The shortest time between two writes: changes in between are coalesced.
pub const WRITE_INTERVAL: Duration = Duration::from_millis(500);
/// A record larger than this is not read (64 KiB per app for 10,000 apps).
const MAX_SIZE: u64 = 640 * 1024 * 1024;

/// The record's path in PM2_HOME.
pub fn path(home: &Path) -> PathBuf {
    home.join(FILE_NAME)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    pub record_version: u32,
    pub daemon: DaemonIdentity,
    /// The pm_id the next new app gets.
    pub next_id: u64,
    /// The daemon's cgroup for its apps, when it had one.
    pub cgroup: Option<PathBuf>,
    pub processes: Vec<ProcessRecord>,
}

/// Which process the daemon was, and which version of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonIdentity {
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat`; 0 where unknown.
    pub start_time: u64,
    pub version: String,
}

/// One app process as the daemon knew it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pm_id: u64,
    pub name: String,
    /// The `pm2_env` as `jlist` gives it (options, counters, timestamps,
    /// env), except the top-level copies of `env` entries, which
    /// [`ProcessRecord::full_pm2_env`] puts back.
    pub pm2_env: Map<String, Value>,
    /// The status as `jlist` shows it (`online`, `stopped`, `waiting restart`...).
    pub status: String,
    /// The running child, if any.
    pub pid: Option<u32>,
    /// The child's start time (field 22 of `/proc/<pid>/stat`).
    pub start_time: Option<u64>,
    /// The daemon's launch number of the running child (its cgroup leaf).
    pub generation: u64,
    pub restart_time: u64,
    pub unstable_restarts: u64,
    pub created_at: Option<u64>,
    pub pm_uptime: Option<u64>,
    /// `fork_mode` or `cluster_mode`.
    pub exec_mode: String,
    /// `NODE_APP_INSTANCE`: the instance number among the app's instances.
    pub instance: Option<u64>,
    /// The cluster worker id of a cluster instance.
    pub worker_id: Option<u64>,
    /// The child's descriptors held by the daemon, for a handover to a new
    /// daemon image in the same process; `None` in a crash record.
    #[serde(default)]
    pub fds: Option<ProcessFds>,
}

/// Descriptor numbers, valid only in the process that wrote the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessFds {
    pub stdin: Option<i32>,
    pub stdout: Option<i32>,
    pub stderr: Option<i32>,
    pub ipc: Option<i32>,
    pub pidfd: Option<i32>,
}

/// Why a record on disk cannot be used.
#[derive(Debug, PartialEq)]
pub enum RecordError {
    /// Not JSON, cut short, or not the layout of any version.
    Unreadable(String),
    /// A well-formed record of another layout version.
    OtherVersion(u64),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Unreadable(e) => write!(f, "unreadable ({e})"),
            RecordError::OtherVersion(v) => write!(
                f,
                "written in record version {v}, this daemon reads version {RECORD_VERSION}"
            ),
        }
    }
}

impl StateRecord {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a state record is valid JSON")
    }

    /// Parses a record, checking its version before its layout.
    pub fn decode(bytes: &[u8]) -> Result<StateRecord, RecordError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Unreadable(e.to_string()))?;
        match value.get("record_version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(RECORD_VERSION) => {}
            Some(v) => return Err(RecordError::OtherVersion(v)),
            None => return Err(RecordError::Unreadable("no record_version".into())),
        }
        serde_json::from_value(value).map_err(|e| RecordError::Unreadable(e.to_string()))
    }

    /// Whether the daemon that wrote the record is gone: its pid is free, or
    /// taken by a process started at another time.
    pub fn daemon_is_gone(&self) -> bool {
        !same_process_alive(self.daemon.pid, self.daemon.start_time)
    }
}

impl ProcessRecord {
    /// The child of the record, if it still runs (same pid, same start time).
    pub fn live_pid(&self) -> Option<u32> {
        let (pid, start) = (self.pid?, self.start_time?);
        same_process_alive(pid, start).then_some(pid)
    }

    /// The `pm2_env` with the top-level copies of its `env` entries.
    pub fn full_pm2_env(&self) -> Map<String, Value> {
        let mut full = self.pm2_env.clone();
        if let Some(Value::Object(env)) = self.pm2_env.get("env") {
            for (k, v) in env {
                if !full.contains_key(k) {
                    full.insert(k.clone(), v.clone());
                }
            }
        }
        full
    }

    pub fn is_cluster(&self) -> bool {
        self.exec_mode == "cluster_mode"
    }
}

/// Encodes the process table as a record without copying it: the same
/// layout as [`StateRecord::encode`]. `start_time` gives the start time of a
/// running child.
pub fn encode_table<'a>(
    daemon: &DaemonIdentity,
    next_id: u64,
    cgroup: Option<&Path>,
    procs: impl Iterator<Item = &'a Proc>,
    mut start_time: impl FnMut(u32) -> Option<u64>,
) -> Vec<u8> {
    let mut encoder = RecordEncoder::new(daemon, cgroup);
    for p in procs {
        let start = p.running.as_ref().and_then(|r| start_time(r.pid));
        encoder.push(p, start);
    }
    encoder.finish(next_id)
}

/// A record written a process at a time, so a large table can be encoded
/// in steps between other work: the same layout as [`StateRecord::encode`].
pub struct RecordEncoder {
    buf: Vec<u8>,
    first: bool,
}

impl RecordEncoder {
    pub fn new(daemon: &DaemonIdentity, cgroup: Option<&Path>) -> RecordEncoder {
        let mut buf = format!("{{\"record_version\":{RECORD_VERSION},\"daemon\":").into_bytes();
        let json = "a record's fields are valid JSON";
        serde_json::to_writer(&mut buf, daemon).expect(json);
        buf.extend_from_slice(b",\"cgroup\":");
        serde_json::to_writer(&mut buf, &cgroup).expect(json);
        buf.extend_from_slice(b",\"processes\":[");
        RecordEncoder { buf, first: true }
    }

    /// Adds `p`, whose running child (if any) started at `start_time`.
    pub fn push(&mut self, p: &Proc, start_time: Option<u64>) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        let view = ProcessView {
            pm_id: p.pm_id,
            name: p.name(),
            pm2_env: WithoutEnvCopies(&p.env),
            status: p.status.as_str(),
            pid: p.running.as_ref().map(|r| r.pid),
            start_time,
            generation: p.generation,
            restart_time: p.num("restart_time").unwrap_or(0),
            unstable_restarts: p.num("unstable_restarts").unwrap_or(0),
            created_at: p.num("created_at"),
            pm_uptime: p.num("pm_uptime"),
            exec_mode: p.str("exec_mode").unwrap_or("fork_mode"),
            instance: p.num(p.str("instance_var").unwrap_or("NODE_APP_INSTANCE")),
            worker_id: None,
            fds: None,
        };
        serde_json::to_writer(&mut self.buf, &view).expect("a process record is valid JSON");
    }

    /// The whole record, with the next pm_id as it is now.
    pub fn finish(mut self, next_id: u64) -> Vec<u8> {
        self.buf
            .extend_from_slice(format!("],\"next_id\":{next_id}}}").as_bytes());
        self.buf
    }
}

/// [`ProcessRecord`] borrowing from a [`Proc`].
#[derive(Serialize)]
struct ProcessView<'a> {
    pm_id: u64,
    name: &'a str,
    pm2_env: WithoutEnvCopies<'a>,
    status: &'a str,
    pid: Option<u32>,
    start_time: Option<u64>,
    generation: u64,
    restart_time: u64,
    unstable_restarts: u64,
    created_at: Option<u64>,
    pm_uptime: Option<u64>,
    exec_mode: &'a str,
    instance: Option<u64>,
    worker_id: Option<u64>,
    fds: Option<ProcessFds>,
}

/// A `pm2_env` without the top-level copies of its `env` entries (half of
/// a typical record): the same value under the same key in `env`.
struct WithoutEnvCopies<'a>(&'a crate::pm2_env::Pm2Env);

impl Serialize for WithoutEnvCopies<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let env = self.0.get("env").and_then(Value::as_object);
        let copy = |k: &String, v: &Value| env.is_some_and(|e| e.get(k) == Some(v));
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.0.iter() {
            if k != "env" && copy(k, v) {
                continue;
            }
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Reads the record in `home`: `Ok(None)` when there is none.
pub fn read(home: &Path) -> Result<Option<StateRecord>, RecordError> {
    match pm2_config::safe_fs::read_limited(&path(home), MAX_SIZE) {
        Ok(bytes) => StateRecord::decode(&bytes).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RecordError::Unreadable(e.to_string())),
    }
}

/// Writes the record in `home` atomically (mode 0600).
pub fn write(home: &Path, bytes: &[u8]) -> io::Result<()> {
    pm2_config::write_atomic(&path(home), bytes)
}

/// Removes the record: the daemon stops cleanly.
pub fn remove(home: &Path) {
    let _ = std::fs::remove_file(path(home));
}

/// Moves an unusable record to `daemon.state.bad`, replacing an older one.
pub fn set_aside(home: &Path) -> io::Result<PathBuf> {
    let bad = home.join(BAD_FILE_NAME);
    std::fs::rename(path(home), &bad)?;
    Ok(bad)
}

/// This daemon, as a record names it.
pub fn this_daemon() -> DaemonIdentity {
    let pid = std::process::id();
    DaemonIdentity {
        pid,
        start_time: start_time(pid).unwrap_or(0),
        version: crate::VERSION.to_string(),
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks
/// after boot. `None` when there is no such process (or no /proc).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The start time in a stat line; the command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After the name: state is field 3, start time field 22, the 20th here.
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// True when `pid` runs (not a zombie) and started at `start`. Where the
/// start time is unknown (0, no /proc) the pid alone is taken.
pub fn same_process_alive(pid: u32, start: u64) -> bool {
    if pid == 0 {
        return false;
    }
    match pm2_proc::stat(pid) {
        Some(st) if !st.exited => {}
        _ => return false,
    }
    match start_time(pid) {
        Some(now) => start == 0 || now == start,
        None => start == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> StateRecord {
        StateRecord {
            record_version: RECORD_VERSION,
            daemon: this_daemon(),
            next_id: 2,
            cgroup: None,
            processes: vec![ProcessRecord {
                pm_id: 1,
                name: "api".into(),
                pm2_env: json!({"name": "api", "restart_time": 3, "env": {"A": "1"}})
                    .as_object()
                    .unwrap()
                    .clone(),
                status: "online".into(),
                pid: Some(std::process::id()),
                start_time: start_time(std::process::id()),
                generation: 4,
                restart_time: 3,
                unstable_restarts: 0,
                created_at: Some(1),
                pm_uptime: Some(2),
                exec_mode: "fork_mode".into(),
                instance: Some(0),
                worker_id: None,
                fds: None,
            }],
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let record = sample();
        assert_eq!(StateRecord::decode(&record.encode()), Ok(record));
    }

    #[test]
    fn the_table_encodes_as_a_record() {
        let env = json!({"name": "api", "exec_mode": "cluster_mode", "restart_time": 3,
            "unstable_restarts": 1, "created_at": 10, "pm_uptime": 20, "NODE_APP_INSTANCE": 1,
            "env": {"A": "1", "B": "env"}});
        let mut p = Proc::new(5, env.as_object().unwrap().clone());
        p.set("B", json!("top"));
        p.generation = 9;
        let daemon = this_daemon();
        let bytes = encode_table(&daemon, 6, None, [&p, &p].into_iter(), |_| Some(1));
        let record = StateRecord::decode(&bytes).unwrap();
        assert_eq!((record.daemon, record.next_id), (daemon, 6));
        assert_eq!(record.processes.len(), 2);
        assert_eq!(record.processes[0], record.processes[1]);
        let r = &record.processes[0];
        assert_eq!(
            (r.pm_id, r.name.as_str(), r.status.as_str()),
            (5, "api", "stopped")
        );
        assert_eq!((r.pid, r.start_time, r.generation), (None, None, 9));
        assert_eq!((r.restart_time, r.unstable_restarts), (3, 1));
        assert_eq!(
            (r.created_at, r.pm_uptime, r.instance),
            (Some(10), Some(20), Some(1))
        );
        assert!(r.is_cluster());
        assert_eq!(r.full_pm2_env(), p.env.to_map());
        assert!(
            !r.pm2_env.contains_key("A"),
            "the copy of env.A is left out"
        );
        assert_eq!(
            r.pm2_env["B"], "top",
            "a top-level value other than env's is kept"
        );
    }

    #[test]
    fn a_record_of_another_version_is_refused_as_such() {
        let mut value: Value = serde_json::from_slice(&sample().encode()).unwrap();
        value["record_version"] = json!(RECORD_VERSION + 1);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert_eq!(
            StateRecord::decode(&bytes),
            Err(RecordError::OtherVersion(u64::from(RECORD_VERSION) + 1))
        );
    }

    #[test]
    fn a_truncated_record_or_garbage_is_unreadable() {
        let bytes = sample().encode();
        for cut in [&bytes[..bytes.len() / 2], b"", b"\x00\xffgarbage", b"[]"] {
            assert!(
                matches!(StateRecord::decode(cut), Err(RecordError::Unreadable(_))),
                "{:?}",
                String::from_utf8_lossy(cut)
            );
        }
        // The right version but not the layout: unreadable too.
        let wrong = json!({"record_version": RECORD_VERSION, "processes": 3});
        assert!(matches!(
            StateRecord::decode(&serde_json::to_vec(&wrong).unwrap()),
            Err(RecordError::Unreadable(_))
        ));
    }

    #[test]
    fn reads_nothing_when_absent_and_sets_a_bad_record_aside() {
        let home = std::env::temp_dir().join(format!("pm2-state-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        assert_eq!(read(&home), Ok(None));
        write(&home, b"{\"record_vers").unwrap();
        assert!(matches!(read(&home), Err(RecordError::Unreadable(_))));
        let bad = set_aside(&home).unwrap();
        assert_eq!(std::fs::read(bad).unwrap(), b"{\"record_vers");
        assert_eq!(read(&home), Ok(None));
        write(&home, &sample().encode()).unwrap();
        assert_eq!(read(&home), Ok(Some(sample())));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(&home)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn the_start_time_is_read_after_a_name_with_spaces_and_parentheses() {
        let line = b"42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_start_time(line), Some(98765));
        assert_eq!(parse_start_time(b"42 (cut"), None);
    }

    #[test]
    fn this_process_is_alive_but_not_with_another_start_time() {
        let me = this_daemon();
        assert!(me.start_time > 0);
        assert!(same_process_alive(me.pid, me.start_time));
        assert!(!same_process_alive(me.pid, me.start_time + 1));
    }

    #[test]
    fn a_dead_daemon_is_gone_and_a_live_one_is_not() {
        let mut record = sample();
        assert!(!record.daemon_is_gone());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid).unwrap_or(0);
        child.wait().unwrap();
        record.daemon = DaemonIdentity {
            pid,
            start_time: start,
            version: "0".into(),
        };
        assert!(record.daemon_is_gone());
        // A pid taken again by another process (here: ours, another start time).
        record.daemon = DaemonIdentity {
            pid: std::process::id(),
            start_time: this_daemon().start_time + 7,
            version: "0".into(),
        };
        assert!(record.daemon_is_gone());
        assert_eq!(record.processes[0].live_pid(), Some(std::process::id()));
    }
}
