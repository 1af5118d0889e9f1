//! Streams a child's stdout and stderr into its log files and onto the bus.
//!
//! The pipe is read in chunks and each chunk is written before the next read,
//! so a slow disk slows the child's pipe: the daemon's memory never grows with
//! log volume. Files are opened in append mode, so `flush` (truncation by any
//! process) and rotation by rename + `reloadLogs` both work.

use crate::bus::Bus;
use serde_json::{json, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
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
}

#[derive(Default)]
struct Files {
    out: Option<File>,
    err: Option<File>,
    combined: Option<File>,
    /// Whether the next byte of each stream starts a line (for date prefixes).
    at_line_start: [bool; 2],
    /// Whether the files were opened (see `LogSink::new`).
    opened: bool,
}

pub struct LogSink {
    config: LogConfig,
    files: Mutex<Files>,
    /// `{pm_id, name, rev, namespace}` as the bus packets carry it.
    identity: Value,
    app_name: String,
    pm_id: u64,
    bus: Bus,
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

/// An error that names the log file it is about.
fn log_file_error(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("cannot open log file {}: {e}", path.display()),
    )
}

impl LogSink {
    /// A sink whose files are checked now (an error says which one cannot be
    /// opened) and opened by `open_files`, at the latest with the first output:
    /// creating a file is the dearest step of a launch, so the supervisor does
    /// it once it has nothing else to do (see `supervisor/launch_files.rs`).
    pub fn new(config: LogConfig, identity: Value, bus: Bus) -> std::io::Result<Arc<LogSink>> {
        for path in [&config.out, &config.err, &config.combined]
            .into_iter()
            .flatten()
        {
            if path != Path::new("/dev/null") {
                pm2_config::safe_fs::check_appendable(path).map_err(|e| log_file_error(path, e))?;
            }
        }
        let app_name = identity["name"].as_str().unwrap_or_default().to_string();
        let pm_id = identity["pm_id"].as_u64().unwrap_or_default();
        Ok(Arc::new(LogSink {
            config,
            files: Mutex::new(Files {
                at_line_start: [true, true],
                ..Files::default()
            }),
            identity,
            app_name,
            pm_id,
            bus,
        }))
    }

    /// Opens the files unless they are open already.
    pub fn open_files(&self) -> std::io::Result<()> {
        let mut f = self.files.lock().expect("log lock");
        if f.opened {
            return Ok(());
        }
        self.open_into(&mut f)
    }

    /// Opens the files again (after a rotation moved them away). A file that
    /// cannot be opened is left closed and the first error is returned.
    pub fn reopen(&self) -> std::io::Result<()> {
        self.open_into(&mut self.files.lock().expect("log lock"))
    }

    fn open_into(&self, f: &mut Files) -> std::io::Result<()> {
        let mut first_error = None;
        let mut keep = |opened: std::io::Result<Option<File>>| {
            opened.unwrap_or_else(|e| {
                first_error.get_or_insert(e);
                None
            })
        };
        f.out = keep(open_append(&self.config.out));
        f.err = keep(open_append(&self.config.err));
        f.combined = keep(open_append(&self.config.combined));
        f.opened = true;
        first_error.map_or(Ok(()), Err)
    }

    pub fn write(&self, stream: Stream, chunk: &[u8]) {
        let formatted = self.format(stream, chunk);
        {
            let mut f = self.files.lock().expect("log lock");
            if !f.opened {
                let _ = self.open_into(&mut f);
            }
            let target = match stream {
                Stream::Out => f.out.as_mut(),
                Stream::Err => f.err.as_mut(),
            };
            if let Some(file) = target {
                let _ = file.write_all(&formatted);
            }
            if let Some(file) = f.combined.as_mut() {
                let _ = file.write_all(&formatted);
            }
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

    fn format(&self, stream: Stream, chunk: &[u8]) -> Vec<u8> {
        if self.config.json {
            let mut line = serde_json::to_vec(&json!({
                "message": String::from_utf8_lossy(chunk),
                "timestamp": chrono::Local::now().to_rfc3339(),
                "type": stream.json_type(),
                "process_id": self.pm_id,
                "app_name": self.app_name,
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
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pm2-logw-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_streams_to_their_files_and_the_combined_log() {
        let d = temp_dir("files");
        let cfg = LogConfig {
            out: Some(d.join("a-out.log")),
            err: Some(d.join("a-error.log")),
            combined: Some(d.join("a.log")),
            ..LogConfig::default()
        };
        let sink = LogSink::new(cfg, json!({"pm_id": 0, "name": "a"}), Bus::default()).unwrap();
        sink.write(Stream::Out, b"hello\n");
        sink.write(Stream::Err, b"oops\n");
        assert_eq!(
            std::fs::read_to_string(d.join("a-out.log")).unwrap(),
            "hello\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("a-error.log")).unwrap(),
            "oops\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("a.log")).unwrap(),
            "hello\noops\n"
        );
        // A rotation moves the file away; reopen starts a new one.
        std::fs::rename(d.join("a-out.log"), d.join("a-out.log.1")).unwrap();
        sink.reopen().unwrap();
        sink.write(Stream::Out, b"after\n");
        assert_eq!(
            std::fs::read_to_string(d.join("a-out.log")).unwrap(),
            "after\n"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn prefixes_each_line_with_the_date() {
        let d = temp_dir("date");
        let cfg = LogConfig {
            out: Some(d.join("o.log")),
            date_format: Some(pm2_config::date_format::dayjs_to_chrono("[T]")),
            ..LogConfig::default()
        };
        let sink = LogSink::new(cfg, json!({"pm_id": 0, "name": "a"}), Bus::default()).unwrap();
        sink.write(Stream::Out, b"one\ntw");
        sink.write(Stream::Out, b"o\nthree\n");
        assert_eq!(
            std::fs::read_to_string(d.join("o.log")).unwrap(),
            "T: one\nT: two\nT: three\n"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
