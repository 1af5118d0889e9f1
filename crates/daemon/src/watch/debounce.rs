//! Turning a burst of changes into one: wait for quiet, name the burst.

use super::*;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

/// How many changed paths of a burst are kept to name the change.
pub(super) const NAMED_PATHS: usize = 64;

/// Waits for a burst to end: `QUIET` without a change, at least `delay` after
/// its first change, at most `MAX_BURST` (or `delay`) in all. Returns the
/// path that names the burst (see [`burst_name`]), or `None` when the
/// watcher is to stop.
pub(super) fn wait_for_quiet(
    tree: &mut Tree,
    rx: &std_mpsc::Receiver<Signal>,
    delay: Duration,
    first: PathBuf,
) -> Option<PathBuf> {
    let start = Instant::now();
    let mut last = start;
    let mut changed = vec![first];
    loop {
        let due = (start + delay)
            .max(last + QUIET)
            .min(start + MAX_BURST.max(delay));
        let now = Instant::now();
        if now >= due {
            return Some(burst_name(changed));
        }
        match rx.recv_timeout(due - now) {
            Ok(Signal::Change(p)) => {
                last = Instant::now();
                if changed.len() < NAMED_PATHS && !changed.contains(&p) {
                    changed.push(p);
                }
            }
            Ok(Signal::NewDir(d)) => {
                tree.add(&d);
                last = Instant::now();
            }
            Ok(Signal::Restarted) => {}
            Ok(Signal::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(std_mpsc::RecvTimeoutError::Timeout) => return Some(burst_name(changed)),
        }
    }
}

/// The path a burst of changes is reported by: the first one that still
/// exists, so an editor's save (a temp file written, then renamed over the
/// file) names the file saved, not the temp file; else the first.
pub(super) fn burst_name(mut changed: Vec<PathBuf>) -> PathBuf {
    match changed.iter().position(|p| p.symlink_metadata().is_ok()) {
        Some(i) => changed.swap_remove(i),
        None => changed.swap_remove(0),
    }
}
