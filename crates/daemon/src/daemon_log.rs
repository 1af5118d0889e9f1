//! The daemon's own log, `pm2.log`: lines prefixed with a timestamp, also
//! published on the bus as `log:PM2`.
//!
//! A supervisor run in the foreground (`pm2-runtime`, `--no-daemon`) has no
//! `pm2.log`, as in PM2: its lines go out on the bus only, and the command
//! prints them. The lines logged before the command could subscribe (the
//! start-up notices) are kept, a bounded few, for it to take.

use crate::bus::Bus;
use pm2_config::daemon_line::DaemonLineFormat;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Start-up lines kept for a foreground command: the notices are a handful.
const EARLY_LINES: usize = 32;

/// A line logged before the foreground command read the bus: its time in
/// ms since the epoch, and the message.
pub type EarlyLine = (u64, String);

#[derive(Clone)]
pub struct DaemonLog {
    /// `pm2.log`; `None` for a supervisor in the foreground.
    path: Option<PathBuf>,
    file: Arc<Mutex<Option<std::fs::File>>>,
    bus: Bus,
    format: Arc<DaemonLineFormat>,
    /// Lines of a foreground supervisor not yet taken by its command.
    early: Arc<Mutex<Option<Vec<EarlyLine>>>>,
}

impl DaemonLog {
    pub fn new(path: PathBuf, bus: Bus) -> DaemonLog {
        let log = DaemonLog {
            path: Some(path),
            file: Arc::new(Mutex::new(None)),
            bus,
            format: Arc::new(DaemonLineFormat::from_env()),
            early: Arc::new(Mutex::new(None)),
        };
        log.reopen();
        log
    }

    /// The log of a supervisor in the foreground: no file, start-up lines kept.
    pub fn foreground(bus: Bus) -> DaemonLog {
        DaemonLog {
            path: None,
            file: Arc::new(Mutex::new(None)),
            bus,
            format: Arc::new(DaemonLineFormat::from_env()),
            early: Arc::new(Mutex::new(Some(Vec::new()))),
        }
    }

    pub fn reopen(&self) {
        let Some(path) = &self.path else { return };
        let f = pm2_config::safe_fs::open_append(path, pm2_config::safe_fs::LOG_FILE_MODE)
            .inspect_err(|e| eprintln!("PM2 daemon: cannot open {}: {e}", path.display()))
            .ok();
        *self.file.lock().expect("log lock") = f;
    }

    /// Moves `pm2.log` to `to` and starts a new one, between two lines.
    pub fn rotate_to(&self, to: &std::path::Path) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Err(std::io::Error::other("this supervisor has no pm2.log"));
        };
        let mut file = self.file.lock().expect("log lock");
        std::fs::rename(path, to)?;
        *file = pm2_config::safe_fs::open_append(path, pm2_config::safe_fs::LOG_FILE_MODE)
            .inspect_err(|e| eprintln!("PM2 daemon: cannot open {}: {e}", path.display()))
            .ok();
        Ok(())
    }

    pub fn info(&self, msg: &str) {
        self.file_only(msg);
        let at = crate::clock::now_ms();
        if let Some(early) = self.early.lock().expect("log lock").as_mut() {
            if early.len() < EARLY_LINES {
                early.push((at, msg.to_string()));
            }
        }
        self.bus.publish(
            "log:PM2",
            &json!({
                "process": {"pm_id": "PM2", "name": "PM2", "rev": null},
                "at": at,
                // A line, as PM2 publishes it.
                "data": format!("{msg}\n"),
            }),
        );
    }

    /// A line in `pm2.log` that is not published on the bus.
    pub fn file_only(&self, msg: &str) {
        if let Some(f) = self.file.lock().expect("log lock").as_mut() {
            let _ = f.write_all(self.format.line(chrono::Local::now(), msg).as_bytes());
        }
    }

    /// The lines logged so far, once: from then on the command reads them
    /// from the bus.
    pub fn take_early_lines(&self) -> Vec<EarlyLine> {
        self.early
            .lock()
            .expect("log lock")
            .take()
            .unwrap_or_default()
    }
}
