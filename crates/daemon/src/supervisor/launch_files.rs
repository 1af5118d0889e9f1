//! When the files of new launches (log files, pid file) are created.
//!
//! Creating a file is the dearest step of a launch on ext4 (a new inode, found
//! by a scan past recently deleted ones), and while a hundred apps boot the
//! daemon gets a hundredth of the CPU: every microsecond of a launch delays the
//! launches behind it. So a launch only checks that its log files can be
//! opened and notes its launch here, and the actor creates the files once it
//! has no message waiting: for a single `start` that is before its reply
//! leaves the daemon, for a burst of starts after the last one. They are
//! created and closed again: an app's first output opens its log files (at
//! once, if it comes first), so an idle app holds no descriptor for them. Under a stream of messages that never
//! lets the actor idle, notes older than `MAX_DELAY` are dealt with anyway.

use pm2_config::safe_fs;
use std::time::{Duration, Instant};

const MAX_DELAY: Duration = Duration::from_secs(1);

/// Launches whose files are created in one go: after a start of thousands of
/// apps the rest wait for the next idle moment, so other clients do not.
const SLICE: usize = 32;

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

    pub fn is_empty(&self) -> bool {
        self.launches.is_empty()
    }

    /// The oldest [`SLICE`] notes, oldest first. The rest count as noted now,
    /// so a stream of messages still leaves a slice per `MAX_DELAY`.
    pub fn take(&mut self) -> Vec<(u64, u64)> {
        let n = self.launches.len().min(SLICE);
        let taken: Vec<_> = self.launches.drain(..n).collect();
        self.oldest = (!self.launches.is_empty()).then(Instant::now);
        taken
    }
}

impl super::Actor {
    /// The log files of the oldest launches noted, and the pid files of
    /// those that still run (see `launch_files`).
    pub(super) fn create_launch_files(&mut self) {
        for (id, generation) in self.launch_files.take() {
            let Some(p) = self.procs.get(&id).filter(|p| p.generation == generation) else {
                continue;
            };
            let mut failed = Vec::new();
            if let Some(Err(e)) = p.log.as_ref().map(|sink| sink.create_files()) {
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

    #[test]
    fn a_burst_of_notes_is_taken_a_slice_at_a_time() {
        let mut p = LaunchFiles::default();
        for id in 0..(SLICE as u64 * 2 + 1) {
            p.note(id, id);
        }
        assert_eq!(p.take().len(), SLICE);
        assert!(!p.is_empty() && !p.overdue(), "the rest counts from now");
        assert_eq!(p.take().first(), Some(&(SLICE as u64, SLICE as u64)));
        assert_eq!(p.take(), vec![(2 * SLICE as u64, 2 * SLICE as u64)]);
        assert!(p.is_empty());
    }
}
