//! Streams a child's stdout and stderr into its log files and onto the bus.
//!
//! The pipe is read in chunks and each chunk is written before the next read,
//! so a slow disk slows the child's pipe: the daemon's memory never grows with
//! log volume. Files are opened in append mode, so `flush` (truncation by any
//! process) and rotation by rename + `reloadLogs` both work.
//!
//! When the daemon rotates logs itself (`log_rotation`), the writer moves a
//! full file aside and opens a new one between two writes, at the end of a
//! line: every line lands whole in exactly one file.

use crate::bus::Bus;
use crate::log_rotation::{self, policy::Policy, LogRotation, RotatingSink};
use serde_json::json;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::io::{AsyncRead, ReadBuf};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stream {
    Out,
    Err,
}

impl Stream {
    fn event(self) -> &'static str {
        match self {
            Stream::Out => "log:out",
            Stream::Err => "log:err",
        }
    }
    fn json_type(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
        }
    }
}

/// Where and how one process's output is written.
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub out: Option<PathBuf>,
    pub err: Option<PathBuf>,
    pub combined: Option<PathBuf>,
    /// chrono format string translated from the user's day.js format.
    pub date_format: Option<String>,
    pub json: bool,
    /// The process is a module (`rotateModule` says whether its logs rotate).
    pub is_module: bool,
}

/// The combined log's place in [`Files::slots`], after out and err.
const COMBINED: usize = 2;

/// One open log file and where its writer stands in it.
struct Slot {
    file: Option<File>,
    /// Bytes in the file: where the next append lands.
    size: u64,
    /// The last byte written ended a line, so the file may be rotated here.
    at_line_end: bool,
    /// A rotation waits for the current line to end.
    rotation_due: bool,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            file: None,
            size: 0,
            at_line_end: true,
            rotation_due: false,
        }
    }
}

impl Slot {
    fn due(&self, policy: &Policy) -> bool {
        self.rotation_due || (policy.max_size > 0 && self.size >= policy.max_size)
    }
}

#[derive(Default)]
struct Files {
    /// Out, err and combined.
    slots: [Slot; 3],
    /// Whether the next byte of each stream starts a line (for date prefixes).
    at_line_start: [bool; 2],
    /// Whether the files were opened (see `LogSink::new`).
    opened: bool,
}

/// The process a log line comes from, as the bus packets name it:
/// `{pm_id, name, rev, namespace}` (`rev` is always null).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogIdentity {
    pub pm_id: u64,
    pub name: String,
    rev: (),
    pub namespace: String,
}

impl LogIdentity {
    pub fn new(pm_id: u64, name: &str, namespace: &str) -> LogIdentity {
        LogIdentity {
            pm_id,
            name: name.to_string(),
            rev: (),
            namespace: namespace.to_string(),
        }
    }
}

pub struct LogSink {
    config: LogConfig,
    files: Mutex<Files>,
    identity: LogIdentity,
    bus: Bus,
    rotation: Option<Arc<LogRotation>>,
    /// Another sink rotated a file this one writes too (instances sharing
    /// their logs): open the files again before the next write.
    reopen_due: AtomicBool,
}

/// Opens one log file for appending (`None` for no file or `/dev/null`).
/// A path that is not a regular file (a FIFO would block the daemon) is an error.
fn open_append(path: &Option<PathBuf>) -> std::io::Result<Option<File>> {
    let Some(path) = path.as_ref() else {
        return Ok(None);
    };
    if path == Path::new("/dev/null") {
        return Ok(None);
    }
    let open = || pm2_config::safe_fs::open_append(path, pm2_config::safe_fs::LOG_FILE_MODE);
    // The folder is made only when missing: a start looks up nothing more.
    let opened = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            open()
        }
        opened => opened,
    };
    opened.map(Some).map_err(|e| log_file_error(path, e))
}

/// Whether `file` is the file at `path` now (same device and inode): a log
/// moved aside by a rotation is not.
fn is_file_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// An error that names the log file it is about.
fn log_file_error(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("cannot open log file {}: {e}", path.display()),
    )
}

/// A slot for `path` opened now, knowing how much the file holds already.
fn open_slot(path: &Option<PathBuf>) -> (Slot, std::io::Result<()>) {
    match open_append(path) {
        Ok(file) => {
            let size = file
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .map_or(0, |m| m.len());
            (
                Slot {
                    file,
                    size,
                    ..Slot::default()
                },
                Ok(()),
            )
        }
        Err(e) => (Slot::default(), Err(e)),
    }
}

impl LogSink {
    /// A sink whose files are checked now (an error says which one cannot be
    /// opened), created by `create_files` and opened with the first output:
    /// creating a file is the dearest step of a launch, so the supervisor does
    /// it once it has nothing else to do (see `supervisor/launch_files.rs`),
    /// and an app that writes nothing holds no descriptor for its logs.
    /// With `rotation`, the files rotate as it says.
    pub fn new(
        config: LogConfig,
        identity: LogIdentity,
        bus: Bus,
        rotation: Option<Arc<LogRotation>>,
    ) -> std::io::Result<Arc<LogSink>> {
        for path in [&config.out, &config.err, &config.combined]
            .into_iter()
            .flatten()
        {
            if path != Path::new("/dev/null") {
                pm2_config::safe_fs::check_appendable(path).map_err(|e| log_file_error(path, e))?;
            }
        }
        let sink = Arc::new(LogSink {
            config,
            files: Mutex::new(Files {
                at_line_start: [true, true],
                ..Files::default()
            }),
            identity,
            bus,
            rotation,
            reopen_due: AtomicBool::new(false),
        });
        if let Some(rotation) = &sink.rotation {
            rotation.register(&sink);
        }
        Ok(sink)
    }

    /// Makes sure the files exist, without keeping them open: an idle app
    /// holds no descriptor for its logs, the first output opens them.
    pub fn create_files(&self) -> std::io::Result<()> {
        let f = self.files.lock().expect("log lock");
        if f.opened {
            return Ok(());
        }
        self.create_closed()
    }

    fn create_closed(&self) -> std::io::Result<()> {
        let mut first_error = None;
        for i in 0..COMBINED + 1 {
            if let Err(e) = open_append(self.path(i)) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Opens the files again (after a rotation moved them away). A file that
    /// cannot be opened is left closed and the first error is returned.
    /// Files not opened yet are only created again.
    pub fn reopen(&self) -> std::io::Result<()> {
        let mut f = self.files.lock().expect("log lock");
        if !f.opened {
            return self.create_closed();
        }
        self.open_into(&mut f)
    }

    fn path(&self, slot: usize) -> &Option<PathBuf> {
        match slot {
            0 => &self.config.out,
            1 => &self.config.err,
            _ => &self.config.combined,
        }
    }

    fn open_into(&self, f: &mut Files) -> std::io::Result<()> {
        let mut first_error = None;
        for i in 0..f.slots.len() {
            let (slot, opened) = open_slot(self.path(i));
            if let Err(e) = opened {
                first_error.get_or_insert(e);
            }
            f.slots[i] = slot;
        }
        f.opened = true;
        first_error.map_or(Ok(()), Err)
    }

    /// Opens again the files another sink rotated (their path names a new
    /// file now); each keeps its line state and any rotation waiting for it.
    fn reopen_moved(&self, f: &mut Files) {
        for i in 0..f.slots.len() {
            let moved = match (&f.slots[i].file, self.path(i)) {
                (Some(file), Some(path)) => !is_file_at(file, path),
                _ => false,
            };
            if moved {
                self.reopen_slot(&mut f.slots[i], i);
            }
        }
    }

    /// Opens the file at the slot's path again, keeping the slot's line state.
    fn reopen_slot(&self, slot: &mut Slot, index: usize) {
        let (new_slot, opened) = open_slot(self.path(index));
        *slot = Slot {
            at_line_end: slot.at_line_end,
            rotation_due: slot.rotation_due,
            ..new_slot
        };
        if let (Err(e), Some(rotation), Some(path)) = (opened, &self.rotation, self.path(index)) {
            rotation.failed(path, &e);
        }
    }

    /// The rotation policy that applies to this sink's files now.
    fn policy(&self) -> Option<Arc<Policy>> {
        self.rotation
            .as_ref()?
            .active()
            .filter(|p| p.rotate_module || !self.config.is_module)
    }

    pub fn write(&self, stream: Stream, chunk: &[u8]) {
        let formatted = self.format(stream, chunk);
        let policy = self.policy();
        {
            let mut f = self.files.lock().expect("log lock");
            if !f.opened {
                let _ = self.open_into(&mut f);
            } else if self.reopen_due.swap(false, Ordering::Relaxed) {
                self.reopen_moved(&mut f);
            }
            let own = stream as usize;
            self.write_slot(&mut f.slots[own], own, &formatted, policy.as_deref());
            self.write_slot(
                &mut f.slots[COMBINED],
                COMBINED,
                &formatted,
                policy.as_deref(),
            );
        }
        if self.bus.has_subscribers() {
            self.bus.publish(
                stream.event(),
                &json!({
                    "process": self.identity,
                    "at": crate::clock::now_ms(),
                    "data": String::from_utf8_lossy(chunk),
                }),
            );
        }
    }

    /// Appends `bytes` to one file. With a rotation due, the file is rotated
    /// at the first line end: before the write if the last one ended a line,
    /// else after the newline that ends it.
    fn write_slot(&self, slot: &mut Slot, index: usize, bytes: &[u8], policy: Option<&Policy>) {
        let due = |slot: &Slot| policy.is_some_and(|p| slot.due(p));
        let mut rest = bytes;
        loop {
            if due(slot) && slot.at_line_end {
                self.rotate(slot, index, policy.expect("due"));
            }
            let take = if due(slot) {
                rest.iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |n| n + 1)
            } else {
                rest.len()
            };
            let Some(file) = slot.file.as_mut() else {
                return;
            };
            let (now, later) = rest.split_at(take);
            if file.write_all(now).is_ok() {
                slot.size += now.len() as u64;
            }
            if let Some(&last) = now.last() {
                slot.at_line_end = last == b'\n';
            }
            rest = later;
            if rest.is_empty() {
                break;
            }
        }
        // Checked after the write too: a full file does not wait for more output.
        if due(slot) && slot.at_line_end {
            self.rotate(slot, index, policy.expect("due"));
        }
    }

    /// Moves the file aside under its rotated name and opens a new one.
    fn rotate(&self, slot: &mut Slot, index: usize, policy: &Policy) {
        let (Some(path), Some(rotation)) = (self.path(index), &self.rotation) else {
            return;
        };
        let forced = slot.rotation_due;
        slot.rotation_due = false;
        // Sinks sharing a file rotate it one at a time: the name chosen, the
        // rename and the reopen happen together.
        let _one_at_a_time = rotation.lock_rotations();
        if slot
            .file
            .as_ref()
            .is_some_and(|file| !is_file_at(file, path))
        {
            // Another sink sharing this file rotated it already: write on
            // into the new one.
            self.reopen_slot(slot, index);
            return;
        }
        // Someone may have truncated the file (`pm2 flush`): trust the file.
        if !forced {
            if let Some(len) = slot
                .file
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .map(|m| m.len())
            {
                slot.size = len;
                if len < policy.max_size {
                    return;
                }
            }
        }
        let Some(to) = log_rotation::files::rotated_name(path, &log_rotation::date_now(policy))
        else {
            return;
        };
        if let Err(e) = std::fs::rename(path, &to) {
            // Not again before another max_size of output.
            slot.size = 0;
            rotation.failed(path, &e);
            return;
        }
        let (new_slot, opened) = open_slot(self.path(index));
        *slot = new_slot;
        if let Err(e) = opened {
            rotation.failed(path, &e);
        }
        rotation.rotated(path, to, policy, Some(self));
    }

    fn format(&self, stream: Stream, chunk: &[u8]) -> Vec<u8> {
        if self.config.json {
            let mut line = serde_json::to_vec(&json!({
                "message": String::from_utf8_lossy(chunk),
                "timestamp": chrono::Local::now().to_rfc3339(),
                "type": stream.json_type(),
                "process_id": self.identity.pm_id,
                "app_name": self.identity.name,
            }))
            .unwrap_or_default();
            line.push(b'\n');
            return line;
        }
        let Some(fmt) = &self.config.date_format else {
            return chunk.to_vec();
        };
        let prefix = format!("{}: ", chrono::Local::now().format(fmt));
        let idx = stream as usize;
        let mut f = self.files.lock().expect("log lock");
        let mut out = Vec::with_capacity(chunk.len() + prefix.len() * 2);
        for &b in chunk {
            if f.at_line_start[idx] {
                out.extend_from_slice(prefix.as_bytes());
                f.at_line_start[idx] = false;
            }
            out.push(b);
            if b == b'\n' {
                f.at_line_start[idx] = true;
            }
        }
        out
    }
}

impl RotatingSink for LogSink {
    /// Whether this sink writes to `path`.
    fn writes_to(&self, path: &Path) -> bool {
        (0..3).any(|i| self.path(i).as_deref() == Some(path))
    }

    /// Makes the next write open the files again.
    fn reopen_before_next_write(&self) {
        self.reopen_due.store(true, Ordering::Relaxed);
    }

    /// Rotates every non-empty file now, or at the end of its current line
    /// (a `rotateInterval` rotation).
    fn rotate_now(&self, policy: &Policy) {
        if self.config.is_module && !policy.rotate_module {
            return;
        }
        let mut f = self.files.lock().expect("log lock");
        // An idle app's files are rotated too: what earlier launches wrote.
        if !f.opened {
            let _ = self.open_into(&mut f);
        }
        for (index, slot) in f.slots.iter_mut().enumerate() {
            if slot.file.is_none() || slot.size == 0 {
                continue;
            }
            slot.rotation_due = true;
            if slot.at_line_end {
                self.rotate(slot, index, policy);
            }
        }
    }

    /// Opens the files another sink rotated, if any, now: once this returns,
    /// no write of this sink lands in a file moved aside.
    fn reopen_if_due(&self) {
        let mut f = self.files.lock().expect("log lock");
        if f.opened && self.reopen_due.swap(false, Ordering::Relaxed) {
            self.reopen_moved(&mut f);
        }
    }
}

thread_local! {
    /// One read buffer per runtime thread, shared by every app's pipes: data
    /// is written out within the poll that read it, so an idle pipe holds none.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
}

/// Copies `reader` into `sink` until the pipe closes; the handle resolves then.
pub fn pump<R: AsyncRead + Unpin + Send + 'static>(
    mut reader: R,
    sink: Arc<LogSink>,
    stream: Stream,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        std::future::poll_fn(|cx| loop {
            let read = READ_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                let mut rb = ReadBuf::new(&mut buf);
                match std::pin::Pin::new(&mut reader).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => Poll::Ready(false),
                    Poll::Ready(Ok(())) => {
                        sink.write(stream, rb.filled());
                        Poll::Ready(true)
                    }
                    Poll::Ready(Err(_)) => Poll::Ready(false),
                    Poll::Pending => Poll::Pending,
                }
            });
            match read {
                Poll::Ready(true) => continue,
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await;
    })
}

#[cfg(test)]
mod tests;
