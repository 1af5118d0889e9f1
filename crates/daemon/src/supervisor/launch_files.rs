//! When the files of new launches (log files, pid file) are created.
//!
//! Creating a file is the dearest step of a launch on ext4 (a new inode, found
//! by a scan past recently deleted ones), and while a hundred apps boot the
//! daemon gets a hundredth of the CPU: every microsecond of a launch delays the
//! launches behind it. So a launch only checks that its log files can be
//! opened and notes its launch here, and the actor creates the files once it
//! has no message waiting: for a single `start` that is before its reply
//! leaves the daemon, for a burst of starts after the last one. An app's first
//! output opens its log files at once. Under a stream of messages that never
//! lets the actor idle, notes older than `MAX_DELAY` are dealt with anyway.

use pm2_config::safe_fs;
use std::time::{Duration, Instant};

const MAX_DELAY: Duration = Duration::from_secs(1);

/// Launches (pm_id, generation) whose files are still to be created.
#[derive(Default)]
pub struct LaunchFiles {
    launches: Vec<(u64, u64)>,
    oldest: Option<Instant>,
}

impl LaunchFiles {
    pub fn note(&mut self, id: u64, generation: u64) {
        self.oldest.get_or_insert_with(Instant::now);
        self.launches.push((id, generation));
    }

    /// Whether the notes must be written before the next message.
    pub fn overdue(&self) -> bool {
        self.oldest.is_some_and(|t| t.elapsed() >= MAX_DELAY)
    }

    /// The notes, oldest first; none are left.
    pub fn take(&mut self) -> Vec<(u64, u64)> {
        self.oldest = None;
        std::mem::take(&mut self.launches)
    }
}

impl super::Actor {
    /// The log files of the launches noted, and the pid files of those that
    /// still run (see `launch_files`).
    pub(super) fn create_launch_files(&mut self) {
        for (id, generation) in self.launch_files.take() {
            let Some(p) = self.procs.get(&id).filter(|p| p.generation == generation) else {
                continue;
            };
            let mut failed = Vec::new();
            if let Some(Err(e)) = p.log.as_ref().map(|sink| sink.open_files()) {
                failed.push(e.to_string());
            }
            if let (Some(r), Some(path)) = (&p.running, p.str("pm_pid_path")) {
                if let Err(e) =
                    safe_fs::write_file(path.as_ref(), r.pid.to_string().as_bytes(), 0o644)
                {
                    failed.push(format!("cannot write the pid file: {e}"));
                }
            }
            for e in failed {
                self.log.info(&format!("app {} id {id}: {e}", p.name()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_taken_once_in_order_and_fall_due_after_the_delay() {
        let mut p = LaunchFiles::default();
        assert!(!p.overdue());
        p.note(3, 7);
        p.note(4, 8);
        assert!(!p.overdue());
        p.oldest = Some(Instant::now() - MAX_DELAY);
        assert!(p.overdue());
        assert_eq!(p.take(), vec![(3, 7), (4, 8)]);
        assert!(p.take().is_empty());
        assert!(!p.overdue());
    }
}
