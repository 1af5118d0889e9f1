//! Rate-limited `pm2.log` lines for events a peer can repeat at will (failed
//! accepts, bad connections, a subscriber that does not read): the first event
//! of a kind gets its line, the ones in the following second are only counted,
//! and one summary line ("N more …") reports them when that second is over.

use crate::daemon_log::DaemonLog;
use std::sync::{Arc, Mutex};
use tokio::time::{Duration, Instant};

/// At most one line of a kind per interval, plus its summary.
const INTERVAL: Duration = Duration::from_secs(1);

/// One kind of repeatable event. Clones share the count.
#[derive(Clone)]
pub struct LogThrottle {
    log: DaemonLog,
    /// What the summary counts: "{n} more {counted}".
    counted: Arc<str>,
    /// False for lines about the bus itself: published, a line about dropped
    /// events would be dropped for the same subscriber and reported again.
    publish: bool,
    window: Arc<Mutex<Window>>,
}

impl LogThrottle {
    pub fn new(log: DaemonLog, counted: impl Into<Arc<str>>) -> LogThrottle {
        LogThrottle {
            log,
            counted: counted.into(),
            publish: true,
            window: Arc::default(),
        }
    }

    /// Lines go to `pm2.log` only, not onto the bus as `log:PM2`.
    pub fn file_only(mut self) -> LogThrottle {
        self.publish = false;
        self
    }

    /// One event: logs `line()` or counts it.
    pub fn event(&self, line: impl FnOnce() -> String) {
        self.events(1, line);
    }

    /// `count` events reported together (drops counted elsewhere); the
    /// summary adds up the counts it held back.
    pub fn events(&self, count: u64, line: impl FnOnce() -> String) {
        let now = Instant::now();
        let verdict = self.window.lock().expect("throttle lock").admit(now, count);
        match verdict {
            Admit::Write { held_back } => {
                self.summarize(held_back);
                self.write(&line());
            }
            Admit::Hold {
                summary_at: Some(at),
            } => self.schedule_summary(at),
            Admit::Hold { summary_at: None } => {}
        }
    }

    /// Writes the summary once the window is over, even if no event follows.
    fn schedule_summary(&self, at: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Outside a runtime the next written line carries the summary.
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep_until(at).await;
            let held = this
                .window
                .lock()
                .expect("throttle lock")
                .take_held(Instant::now());
            this.summarize(held);
        });
    }

    fn summarize(&self, held: u64) {
        if held > 0 {
            self.write(&format!("{held} more {}", self.counted));
        }
    }

    fn write(&self, line: &str) {
        if self.publish {
            self.log.info(line);
        } else {
            self.log.file_only(line);
        }
    }
}

/// The decision part, kept apart from the log and the clock for tests.
#[derive(Default)]
struct Window {
    /// When the last line of this kind was written.
    last_line: Option<Instant>,
    /// Events counted since then.
    held: u64,
    summary_scheduled: bool,
}

#[derive(Debug, PartialEq)]
enum Admit {
    /// Write the event's line, after a summary of `held_back` if non-zero.
    Write { held_back: u64 },
    /// Counted; `summary_at` is set for the first event held in a window.
    Hold { summary_at: Option<Instant> },
}

impl Window {
    fn admit(&mut self, now: Instant, count: u64) -> Admit {
        match self.last_line {
            Some(last) if now < last + INTERVAL => {
                self.held += count;
                let first = !std::mem::replace(&mut self.summary_scheduled, true);
                Admit::Hold {
                    summary_at: first.then_some(last + INTERVAL),
                }
            }
            _ => {
                self.last_line = Some(now);
                self.summary_scheduled = false;
                Admit::Write {
                    held_back: std::mem::take(&mut self.held),
                }
            }
        }
    }

    /// The count held back, for the summary; the summary is a line of its own
    /// kind, so the next window starts now.
    fn take_held(&mut self, now: Instant) -> u64 {
        self.summary_scheduled = false;
        let held = std::mem::take(&mut self.held);
        if held > 0 {
            self.last_line = Some(now);
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_rest_counted() {
        let t0 = Instant::now();
        let mut w = Window::default();
        assert_eq!(w.admit(t0, 1), Admit::Write { held_back: 0 });
        let at = t0 + INTERVAL;
        assert_eq!(
            w.admit(t0 + Duration::from_millis(10), 1),
            Admit::Hold {
                summary_at: Some(at)
            }
        );
        assert_eq!(
            w.admit(t0 + Duration::from_millis(20), 5),
            Admit::Hold { summary_at: None }
        );
        assert_eq!(w.take_held(at), 6);
        // The summary opened a new window.
        assert_eq!(
            w.admit(at + Duration::from_millis(1), 1),
            Admit::Hold {
                summary_at: Some(at + INTERVAL)
            }
        );
        assert_eq!(w.take_held(at + INTERVAL), 1);
        assert_eq!(w.take_held(at + INTERVAL), 0);
        assert_eq!(w.admit(at + INTERVAL * 3, 1), Admit::Write { held_back: 0 });
    }

    #[test]
    fn a_late_summary_rides_on_the_next_line() {
        let t0 = Instant::now();
        let mut w = Window::default();
        w.admit(t0, 1);
        w.admit(t0 + Duration::from_millis(1), 3);
        // No runtime ran the scheduled summary.
        assert_eq!(w.admit(t0 + INTERVAL * 2, 1), Admit::Write { held_back: 3 });
    }
}
