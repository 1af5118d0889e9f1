//! At start-up: a state record left in PM2_HOME means the daemon that wrote
//! it died without a clean stop (a clean stop removes it). Its apps are
//! taken back (`supervisor/adopt.rs`) once it is sure that daemon is gone;
//! a record that cannot be read is kept aside and the daemon starts empty.

use crate::daemon_log::DaemonLog;
use crate::state_record::{self, BAD_FILE_NAME, FILE_NAME};
use crate::supervisor::Supervisor;
use std::path::Path;

/// Takes back the apps of the record in `home`, if any, saying so in pm2.log.
pub async fn adopt_from_record(supervisor: &Supervisor, log: &DaemonLog, home: &Path) {
    let record = match state_record::read(home) {
        Ok(None) => return,
        Ok(Some(record)) => record,
        Err(why) => {
            let kept = match state_record::set_aside(home) {
                Ok(_) => format!("kept as {BAD_FILE_NAME}"),
                Err(e) => format!("could not be moved to {BAD_FILE_NAME}: {e}"),
            };
            log.info(&format!(
                "{FILE_NAME} is {why}: no app of a previous daemon is taken back, the daemon starts empty; the file is {kept}"
            ));
            return;
        }
    };
    let old = &record.daemon;
    if !record.daemon_is_gone() {
        log.info(&format!(
            "{FILE_NAME} names pid {} (v{}), which still runs: its apps are left to it",
            old.pid, old.version
        ));
        return;
    }
    log.info(&format!(
        "the previous daemon (pid {}, v{}) ended without a clean stop: taking back its {} apps",
        old.pid,
        old.version,
        record.processes.len()
    ));
    if let Err(e) = supervisor.adopt(record).await {
        log.info(&format!(
            "the apps of the previous daemon were not taken back: {e}"
        ));
    }
}
