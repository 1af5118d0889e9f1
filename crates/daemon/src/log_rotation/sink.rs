//! What a rotation asks of a writer whose files it rotates. The writer
//! (`log_writer::LogSink`) implements it, so the rotation knows writers
//! only through this and the writer depends on the rotation, not both ways.

use super::policy::Policy;
use std::path::Path;

pub trait RotatingSink: Send + Sync {
    /// Whether this writer writes to `path`.
    fn writes_to(&self, path: &Path) -> bool;
    /// Makes the next write open the files again.
    fn reopen_before_next_write(&self);
    /// Opens the files another writer rotated, if any, now: once this
    /// returns, no write lands in a file moved aside.
    fn reopen_if_due(&self);
    /// Rotates every non-empty file now, or at the end of its current line.
    fn rotate_now(&self, policy: &Policy);
}
