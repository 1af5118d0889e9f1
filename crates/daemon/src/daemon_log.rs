//! The daemon's own log, `pm2.log`: lines prefixed with a timestamp, also
//! published on the bus as `log:PM2`.

use crate::bus::Bus;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct DaemonLog {
    path: PathBuf,
    file: Arc<Mutex<Option<std::fs::File>>>,
    bus: Bus,
    /// chrono format of the line prefix; `None` writes lines bare.
    date_format: Option<Arc<str>>,
}

impl DaemonLog {
    pub fn new(path: PathBuf, bus: Bus) -> DaemonLog {
        let log = DaemonLog {
            path,
            file: Arc::new(Mutex::new(None)),
            bus,
            date_format: crate::pm2_env_vars::log_date_format().map(Arc::from),
        };
        log.reopen();
        log
    }

    pub fn reopen(&self) {
        let f = pm2_config::safe_fs::open_append(&self.path, pm2_config::safe_fs::LOG_FILE_MODE)
            .inspect_err(|e| eprintln!("PM2 daemon: cannot open {}: {e}", self.path.display()))
            .ok();
        *self.file.lock().expect("log lock") = f;
    }

    /// Moves `pm2.log` to `to` and starts a new one, between two lines.
    pub fn rotate_to(&self, to: &std::path::Path) -> std::io::Result<()> {
        let mut file = self.file.lock().expect("log lock");
        std::fs::rename(&self.path, to)?;
        *file = pm2_config::safe_fs::open_append(&self.path, pm2_config::safe_fs::LOG_FILE_MODE)
            .inspect_err(|e| eprintln!("PM2 daemon: cannot open {}: {e}", self.path.display()))
            .ok();
        Ok(())
    }

    pub fn info(&self, msg: &str) {
        self.file_only(msg);
        self.bus.publish(
            "log:PM2",
            &json!({
                "process": {"pm_id": "PM2", "name": "PM2", "rev": null},
                "at": crate::clock::now_ms(),
                // A line, as PM2 publishes it.
                "data": format!("{msg}\n"),
            }),
        );
    }

    /// A line in `pm2.log` that is not published on the bus.
    pub fn file_only(&self, msg: &str) {
        let line = match &self.date_format {
            Some(f) => format!("{}: PM2 log: {msg}\n", chrono::Local::now().format(f)),
            None => format!("{msg}\n"),
        };
        if let Some(f) = self.file.lock().expect("log lock").as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}
