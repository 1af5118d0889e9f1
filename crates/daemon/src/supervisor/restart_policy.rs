//! PM2's restart rules after a child exits, as pure functions of the app's
//! options and its history: whether an exit may restart the app at all, and
//! when a crash restarts it (or gives up after too many unstable restarts).

use pm2_config::AppOptions;
use std::time::Duration;

/// Restart backoff is capped at 15 s, as in PM2.
pub const MAX_BACKOFF_MS: u64 = 15_000;

/// Milliseconds of a duration, for the arithmetic on PM2's ms fields.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Why an exit does not restart the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRestart {
    /// The app was stopping, stopped or errored: the exit was asked for.
    Deliberate,
    AutorestartOff,
    /// The exit code is one of `stop_exit_codes`.
    StopExitCode,
    /// The daemon is going down.
    ShuttingDown,
}

/// Whether an exit with `code` (`None`: killed by a signal) may restart the
/// app; `deliberate` is a status of stopping, stopped or errored.
pub fn exit_restarts(
    opts: &AppOptions,
    code: Option<i32>,
    deliberate: bool,
    shutting_down: bool,
) -> Result<(), NoRestart> {
    if deliberate {
        Err(NoRestart::Deliberate)
    } else if !opts.autorestart {
        Err(NoRestart::AutorestartOff)
    } else if code.is_some_and(|c| opts.stop_exit_codes.contains(&i64::from(c))) {
        Err(NoRestart::StopExitCode)
    } else if shutting_down {
        Err(NoRestart::ShuttingDown)
    } else {
        Ok(())
    }
}

/// What the restart of a crashed app depends on besides its options
/// (times in ms since the epoch).
#[derive(Debug, Clone, Copy)]
pub struct History {
    pub now: u64,
    /// `created_at`: when the app was created or last restarted by a user.
    pub created_at: u64,
    /// `pm_uptime`: when the child that exited was launched.
    pub launched_at: u64,
    pub unstable_restarts: u64,
    pub prev_restart_delay: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `unstable_restarts` reached `max_restarts`: the app ends errored.
    TooManyUnstableRestarts,
    Restart {
        /// 0: at once.
        delay_ms: u64,
        /// The new `unstable_restarts`, when it goes up.
        unstable_restarts: Option<u64>,
        /// The new `prev_restart_delay`, when the backoff applies.
        prev_restart_delay: Option<u64>,
    },
}

/// The restart of a crashed app, by PM2's rules.
pub fn after_crash(opts: &AppOptions, h: &History) -> Decision {
    let mut unstable = h.unstable_restarts;
    let mut went_up = None;
    let min_uptime = ms(opts.min_uptime);
    if h.now.saturating_sub(h.created_at) < min_uptime.saturating_mul(opts.max_restarts)
        && h.now.saturating_sub(h.launched_at) < min_uptime
    {
        unstable += 1;
        went_up = Some(unstable);
    }
    if unstable >= opts.max_restarts {
        return Decision::TooManyUnstableRestarts;
    }
    let (delay_ms, prev_restart_delay) = match opts.exp_backoff_restart_delay.map(ms) {
        Some(base) => {
            let next = if h.prev_restart_delay == 0 {
                base
            } else {
                ((h.prev_restart_delay as f64) * 1.5) as u64
            }
            .min(MAX_BACKOFF_MS);
            (next, Some(next))
        }
        None => (ms(opts.restart_delay), None),
    };
    Decision::Restart {
        delay_ms,
        unstable_restarts: went_up,
        prev_restart_delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> AppOptions {
        AppOptions::default()
    }

    /// An app created long ago whose child ran for a minute.
    fn stable(now: u64) -> History {
        History {
            now,
            created_at: 0,
            launched_at: now - 60_000,
            unstable_restarts: 0,
            prev_restart_delay: 0,
        }
    }

    #[test]
    fn pm2_defaults_are_autorestart_min_uptime_1s_and_16_restarts() {
        let o = defaults();
        assert!(o.autorestart);
        assert_eq!((ms(o.min_uptime), o.max_restarts), (1000, 16));
        assert_eq!(
            (o.exp_backoff_restart_delay, ms(o.restart_delay)),
            (None, 0)
        );
    }

    #[test]
    fn options_are_read_as_pm2_writes_them() {
        let env = json!({"autorestart": "false", "stop_exit_codes": 3,
            "exp_backoff_restart_delay": 0, "min_uptime": "500"});
        let o = AppOptions::from_pm2_env(env.as_object().unwrap());
        assert!(!o.autorestart);
        assert_eq!(&*o.stop_exit_codes, &[3]);
        assert_eq!(o.exp_backoff_restart_delay, None, "0 turns the backoff off");
        assert_eq!(ms(o.min_uptime), 500);
    }

    #[test]
    fn an_exit_restarts_unless_deliberate_autorestart_off_a_stop_code_or_shutdown() {
        let mut o = defaults();
        o.stop_exit_codes = Box::new([0, 3]);
        assert_eq!(exit_restarts(&o, Some(1), false, false), Ok(()));
        assert_eq!(
            exit_restarts(&o, Some(1), true, false),
            Err(NoRestart::Deliberate)
        );
        assert_eq!(
            exit_restarts(&o, Some(3), false, false),
            Err(NoRestart::StopExitCode)
        );
        assert_eq!(
            exit_restarts(&o, None, false, false),
            Ok(()),
            "a signal is no exit code"
        );
        assert_eq!(
            exit_restarts(&o, Some(1), false, true),
            Err(NoRestart::ShuttingDown)
        );
        o.autorestart = false;
        assert_eq!(
            exit_restarts(&o, Some(1), false, false),
            Err(NoRestart::AutorestartOff)
        );
    }

    #[test]
    fn a_stable_crash_restarts_at_once_without_counting_as_unstable() {
        assert_eq!(
            after_crash(&defaults(), &stable(1_000_000)),
            Decision::Restart {
                delay_ms: 0,
                unstable_restarts: None,
                prev_restart_delay: None
            }
        );
    }

    #[test]
    fn unstable_needs_a_short_uptime_and_a_recent_creation() {
        let o = defaults();
        let now = 1_000_000;
        let short = History {
            launched_at: now - 999,
            created_at: now - 15_999,
            ..stable(now)
        };
        let Decision::Restart {
            unstable_restarts, ..
        } = after_crash(&o, &short)
        else {
            panic!("restarts")
        };
        assert_eq!(unstable_restarts, Some(1));
        // Up for min_uptime: stable.
        let up = History {
            launched_at: now - 1000,
            ..short
        };
        assert!(matches!(
            after_crash(&o, &up),
            Decision::Restart {
                unstable_restarts: None,
                ..
            }
        ));
        // Created min_uptime × max_restarts ago: stable however short the run.
        let old = History {
            created_at: now - 16_000,
            ..short
        };
        assert!(matches!(
            after_crash(&o, &old),
            Decision::Restart {
                unstable_restarts: None,
                ..
            }
        ));
    }

    #[test]
    fn the_max_restarts_th_unstable_restart_gives_up() {
        let o = AppOptions {
            max_restarts: 3,
            ..defaults()
        };
        let now = 1_000_000;
        let h = History {
            created_at: now - 10,
            launched_at: now - 10,
            unstable_restarts: 1,
            ..stable(now)
        };
        assert!(matches!(
            after_crash(&o, &h),
            Decision::Restart {
                unstable_restarts: Some(2),
                ..
            }
        ));
        let h = History {
            unstable_restarts: 2,
            ..h
        };
        assert_eq!(after_crash(&o, &h), Decision::TooManyUnstableRestarts);
    }

    #[test]
    fn restart_delay_waits_that_long() {
        let o = AppOptions {
            restart_delay: Duration::from_millis(2500),
            ..defaults()
        };
        assert!(matches!(
            after_crash(&o, &stable(1_000_000)),
            Decision::Restart {
                delay_ms: 2500,
                prev_restart_delay: None,
                ..
            }
        ));
    }

    #[test]
    fn backoff_starts_at_its_base_grows_by_half_and_stops_at_15_s() {
        let o = AppOptions {
            exp_backoff_restart_delay: Some(Duration::from_millis(100)),
            restart_delay: Duration::from_millis(2500),
            ..defaults()
        };
        let mut prev = 0;
        let mut delays = Vec::new();
        for _ in 0..20 {
            let h = History {
                prev_restart_delay: prev,
                ..stable(1_000_000)
            };
            let Decision::Restart {
                delay_ms,
                prev_restart_delay,
                ..
            } = after_crash(&o, &h)
            else {
                panic!("restarts")
            };
            assert_eq!(prev_restart_delay, Some(delay_ms));
            delays.push(delay_ms);
            prev = delay_ms;
        }
        assert_eq!(&delays[..4], &[100, 150, 225, 337]);
        assert_eq!(delays.last(), Some(&MAX_BACKOFF_MS));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
    }
}
