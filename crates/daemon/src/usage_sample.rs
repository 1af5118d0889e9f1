//! The memory and CPU time of the apps' processes, read from the process
//! table in one pass off the actor's thread and kept for the lists that
//! follow: a list of 1,000 apps reads no /proc file itself, and the figures
//! it shows are at most [`MAX_AGE`] old.

use crate::proc_info::{self, Stat};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How old a sample may be and still be shown.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// One reading of a set of pids, all taken together.
pub struct UsageSample {
    pub at: Instant,
    /// Each pid asked for, with its reading; `None` for a pid that is gone.
    stats: HashMap<u32, Option<Stat>>,
}

impl Default for UsageSample {
    /// An empty sample, already too old to show.
    fn default() -> Self {
        UsageSample {
            at: Instant::now() - MAX_AGE * 2,
            stats: HashMap::new(),
        }
    }
}

impl UsageSample {
    /// Reads every pid of `pids` now (blocking: run it off the actor).
    pub fn read(pids: &[u32]) -> UsageSample {
        let stats = pids
            .iter()
            .map(|&pid| (pid, proc_info::stat(pid)))
            .collect();
        UsageSample {
            at: Instant::now(),
            stats,
        }
    }

    /// Whether this sample can be shown at `now` for `pids`: recent enough
    /// and taken with each of them in it (a restarted app has a new pid).
    pub fn covers(&self, pids: &[u32], now: Instant) -> bool {
        now.saturating_duration_since(self.at) <= MAX_AGE
            && pids.iter().all(|p| self.stats.contains_key(p))
    }

    /// Whether this sample was taken more than `age` before `now`.
    pub fn older_than(&self, age: Duration, now: Instant) -> bool {
        now.saturating_duration_since(self.at) > age
    }

    /// The reading of `pid`, when it was read and still ran.
    pub fn get(&self, pid: u32) -> Option<&Stat> {
        self.stats.get(&pid)?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_covers_the_pids_it_read_while_it_is_fresh() {
        let me = std::process::id();
        let s = UsageSample::read(&[me]);
        assert!(s.get(me).is_some_and(|st| st.rss > 0));
        assert!(s.covers(&[me], s.at));
        assert!(s.covers(&[], s.at));
        assert!(!s.covers(&[me, me + 1_000_000], s.at), "a pid never read");
        assert!(!s.covers(&[me], s.at + MAX_AGE + Duration::from_millis(1)));
        assert!(!UsageSample::default().covers(&[], Instant::now()));
        assert!(!s.older_than(MAX_AGE / 2, s.at + MAX_AGE / 2));
        assert!(s.older_than(MAX_AGE / 2, s.at + MAX_AGE));
    }

    #[test]
    fn a_pid_that_is_gone_is_read_as_gone() {
        // pid_max is at most 2^22 on Linux.
        let gone = 4_194_304 + 7;
        let s = UsageSample::read(&[gone]);
        assert!(s.covers(&[gone], s.at));
        assert!(s.get(gone).is_none());
    }
}
