//! The events watch and cron send the supervisor: restarts the daemon makes
//! by itself (see `supervisor/triggers.rs`). Owned here, not by the
//! supervisor, so watch.rs and cron.rs do not depend on it.

use std::path::PathBuf;

pub enum Trigger {
    /// A watched app's files changed (debounced by watch.rs).
    WatchChange { id: u64, token: u64, path: PathBuf },
    /// An app's `cron_restart` time came (cron.rs).
    CronDue { id: u64, token: u64 },
}
