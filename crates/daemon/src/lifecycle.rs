//! The lifecycle of one app process, as a state machine.
//!
//! The supervisor feeds every request (start, stop, restart, delete, the
//! daemon's shutdown) and every event of the child (launched, exited, could
//! not be killed) to [`Lifecycle::step`], a pure function of the state and
//! the event that returns what to do: launch, signal, answer a request,
//! remove the app. The callers waiting for an outcome are held in the state
//! itself, so every transition that settles an outcome answers them: no
//! path can drop one.
//!
//! What the machine rules out by construction:
//! - a launch while a child is alive: requests that need a new child while
//!   the current one is stopping wait for its exit, and those that overlap
//!   coalesce into one launch;
//! - a stop being undone: a stop cancels a restart waiting for the exit,
//!   and once the daemon shuts down nothing launches any more;
//! - a lost answer: the exit of the child being stopped answers the stops,
//!   and the launch after it answers the restarts.
//!
//! The displayed status (launching, online, errored...) is the supervisor's
//! business; the machine knows only whether a child is alive and what comes
//! after it.

/// What happens once the child being stopped has exited.
#[derive(Debug)]
pub enum Then<R> {
    /// It stays stopped.
    Stay,
    /// A new child is launched; `waiters` are answered once it is.
    Start { bump: bool, waiters: Vec<R> },
    /// The app is removed; `waiters` are answered just before.
    Delete { waiters: Vec<R> },
}

#[derive(Debug)]
pub enum State<R> {
    /// No child. `restart_due` names the crash-restart timer armed, if any.
    Down { restart_due: Option<u64> },
    /// A launch is being made; the supervisor reports its outcome
    /// ([`Event::Launched`] or [`Event::LaunchFailed`]) before anything else.
    Launching { waiters: Vec<R> },
    /// A child runs (launching or online for the user).
    Up { generation: u64 },
    /// The child was asked to stop; `stop_waiters` learn when it is gone.
    Stopping {
        generation: u64,
        stop_waiters: Vec<R>,
        then: Then<R>,
    },
}

#[derive(Debug)]
pub enum Event<R> {
    /// Start the app if it has no child; `reply` (none for the daemon's own
    /// launches) is answered once it runs. `bump` counts the launch as a restart.
    Start {
        reply: Option<R>,
        bump: bool,
    },
    /// Stop the child (if any) and launch a new one, counted as a restart
    /// when a child was running.
    Restart {
        reply: R,
    },
    /// Stop the child, if any; final: a restart waiting for it is cancelled.
    Stop {
        reply: R,
    },
    /// Stop the child, if any, then remove the app.
    Delete {
        reply: R,
    },
    /// The daemon goes down: nothing launches from now on.
    Shutdown,
    /// A crash restart was scheduled: its timer is `token`.
    RestartScheduled {
        token: u64,
    },
    /// The crash-restart timer `token` fired.
    RestartDue {
        token: u64,
    },
    /// The launch asked for is running as `generation`.
    Launched {
        generation: u64,
    },
    LaunchFailed {
        error: String,
    },
    /// A zero-downtime reload put `generation` in place of the running child.
    Replaced {
        generation: u64,
    },
    /// The child of `generation` has exited.
    Exited {
        generation: u64,
    },
    /// The child of `generation` survived the whole kill sequence.
    KillFailed {
        generation: u64,
    },
}

#[derive(Debug, PartialEq)]
pub enum Action<R> {
    /// Answer a request: `Ok` or the reason it failed.
    Reply(R, Result<(), Refused>),
    /// Launch a new child (then report [`Event::Launched`] or
    /// [`Event::LaunchFailed`]); `bump` adds one to `restart_time`.
    Launch { bump: bool },
    /// Begin the stop sequence of the child (signal, kill timeout).
    Signal { generation: u64 },
    /// Kill what an exited child may have left behind.
    KillLeftovers,
    /// The crash-restart timer no longer counts: the app is stopped.
    CancelRestart,
    /// The child exited by itself: apply the autorestart policy.
    Crashed,
    /// The child could not be killed: the app is errored.
    Unkillable,
    /// Remove the app from the table.
    Remove,
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    ShuttingDown,
    /// A stop came after the restart, before the new launch.
    Stopped,
    Deleted,
    Unkillable,
    /// Never sent by the supervisor: a request while a launch is made.
    Launching,
    LaunchFailed(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::ShuttingDown => "not started: the daemon is shutting down",
            Refused::Stopped => "not restarted: a stop came after the restart",
            Refused::Deleted => "not started: it is being deleted",
            Refused::Unkillable => "could not be killed",
            Refused::Launching => "is being launched",
            Refused::LaunchFailed(e) => e,
        })
    }
}

/// What follows the exit of a child being stopped, once a start or restart
/// (`reply`) asks for a new child too: overlapping requests coalesce into
/// one launch; a delete under way refuses them.
fn start_after<R>(then: Then<R>, reply: Option<R>, out: &mut Vec<Action<R>>) -> Then<R> {
    match then {
        Then::Stay => Then::Start {
            bump: false,
            waiters: reply.into_iter().collect(),
        },
        Then::Start { bump, mut waiters } => {
            waiters.extend(reply);
            Then::Start { bump, waiters }
        }
        Then::Delete { waiters } => {
            if let Some(r) = reply {
                out.push(Action::Reply(r, Err(Refused::Deleted)));
            }
            Then::Delete { waiters }
        }
    }
}

pub struct Lifecycle<R> {
    state: State<R>,
    /// Set by [`Event::Shutdown`]: no launch any more.
    closed: bool,
}

impl<R> Default for Lifecycle<R> {
    fn default() -> Self {
        Lifecycle {
            state: State::Down { restart_due: None },
            closed: false,
        }
    }
}

impl<R> Lifecycle<R> {
    /// The lifecycle of a child that runs already as `generation`, put back
    /// in the table without a launch (handed over by the daemon this one
    /// replaced in place, or adopted after a crash).
    pub fn running(generation: u64) -> Self {
        Lifecycle {
            state: State::Up { generation },
            closed: false,
        }
    }

    pub fn state(&self) -> &State<R> {
        &self.state
    }

    /// The one transition function: the new state replaces the old one and
    /// the actions say what the supervisor has to do, in order.
    pub fn step(&mut self, event: Event<R>) -> Vec<Action<R>> {
        let mut out = Vec::new();
        let state = std::mem::replace(&mut self.state, State::Down { restart_due: None });
        self.state = self.next(state, event, &mut out);
        out
    }

    fn next(&mut self, state: State<R>, event: Event<R>, out: &mut Vec<Action<R>>) -> State<R> {
        use Event as E;
        use State as S;
        let refuse = |out: &mut Vec<Action<R>>, r: R, why: Refused| {
            out.push(Action::Reply(r, Err(why)));
        };
        match (state, event) {
            // Requests that need a child.
            (s, E::Start { reply, .. }) if self.closed => {
                if let Some(r) = reply {
                    refuse(out, r, Refused::ShuttingDown);
                }
                s
            }
            (s, E::Restart { reply }) if self.closed => {
                refuse(out, reply, Refused::ShuttingDown);
                s
            }
            (S::Down { restart_due }, E::Start { reply, bump }) => {
                if restart_due.is_some() {
                    out.push(Action::CancelRestart);
                }
                out.push(Action::Launch { bump });
                S::Launching {
                    waiters: reply.into_iter().collect(),
                }
            }
            (S::Down { restart_due }, E::Restart { reply }) => {
                if restart_due.is_some() {
                    out.push(Action::CancelRestart);
                }
                out.push(Action::Launch { bump: false });
                S::Launching {
                    waiters: vec![reply],
                }
            }
            (S::Up { generation }, E::Start { reply, .. }) => {
                if let Some(r) = reply {
                    out.push(Action::Reply(r, Ok(())));
                }
                S::Up { generation }
            }
            (S::Up { generation }, E::Restart { reply }) => {
                out.push(Action::Signal { generation });
                S::Stopping {
                    generation,
                    stop_waiters: Vec::new(),
                    then: Then::Start {
                        bump: true,
                        waiters: vec![reply],
                    },
                }
            }
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                },
                E::Start { reply, .. },
            ) => S::Stopping {
                generation,
                stop_waiters,
                then: start_after(then, reply, out),
            },
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                },
                E::Restart { reply },
            ) => S::Stopping {
                generation,
                stop_waiters,
                then: start_after(then, Some(reply), out),
            },

            // Stop: final.
            (S::Down { restart_due }, E::Stop { reply }) => {
                if restart_due.is_some() {
                    out.push(Action::CancelRestart);
                }
                out.push(Action::KillLeftovers);
                out.push(Action::Reply(reply, Ok(())));
                S::Down { restart_due: None }
            }
            (S::Up { generation }, E::Stop { reply }) => {
                out.push(Action::Signal { generation });
                S::Stopping {
                    generation,
                    stop_waiters: vec![reply],
                    then: Then::Stay,
                }
            }
            (
                S::Stopping {
                    generation,
                    mut stop_waiters,
                    then,
                },
                E::Stop { reply },
            ) => {
                stop_waiters.push(reply);
                let then = match then {
                    Then::Start { waiters, .. } => {
                        for r in waiters {
                            refuse(out, r, Refused::Stopped);
                        }
                        Then::Stay
                    }
                    other => other,
                };
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                }
            }

            // Delete.
            (S::Down { restart_due }, E::Delete { reply }) => {
                if restart_due.is_some() {
                    out.push(Action::CancelRestart);
                }
                out.push(Action::KillLeftovers);
                out.push(Action::Reply(reply, Ok(())));
                out.push(Action::Remove);
                S::Down { restart_due: None }
            }
            (S::Up { generation }, E::Delete { reply }) => {
                out.push(Action::Signal { generation });
                S::Stopping {
                    generation,
                    stop_waiters: Vec::new(),
                    then: Then::Delete {
                        waiters: vec![reply],
                    },
                }
            }
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                },
                E::Delete { reply },
            ) => {
                let waiters = match then {
                    Then::Delete { mut waiters } => {
                        waiters.push(reply);
                        waiters
                    }
                    Then::Start { waiters, .. } => {
                        for r in waiters {
                            refuse(out, r, Refused::Deleted);
                        }
                        vec![reply]
                    }
                    Then::Stay => vec![reply],
                };
                S::Stopping {
                    generation,
                    stop_waiters,
                    then: Then::Delete { waiters },
                }
            }

            // The daemon goes down.
            (S::Down { restart_due }, E::Shutdown) => {
                self.closed = true;
                if restart_due.is_some() {
                    out.push(Action::CancelRestart);
                }
                S::Down { restart_due: None }
            }
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then: Then::Start { waiters, .. },
                },
                E::Shutdown,
            ) => {
                self.closed = true;
                for r in waiters {
                    refuse(out, r, Refused::ShuttingDown);
                }
                S::Stopping {
                    generation,
                    stop_waiters,
                    then: Then::Stay,
                }
            }
            (s, E::Shutdown) => {
                self.closed = true;
                s
            }

            // Crash restarts.
            (S::Down { .. }, E::RestartScheduled { token }) if !self.closed => S::Down {
                restart_due: Some(token),
            },
            (S::Down { restart_due }, E::RestartDue { token }) if restart_due == Some(token) => {
                out.push(Action::Launch { bump: true });
                S::Launching {
                    waiters: Vec::new(),
                }
            }

            // The outcome of a launch.
            (S::Launching { waiters }, E::Launched { generation }) => {
                for r in waiters {
                    out.push(Action::Reply(r, Ok(())));
                }
                S::Up { generation }
            }
            (S::Launching { waiters }, E::LaunchFailed { error }) => {
                for r in waiters {
                    out.push(Action::Reply(r, Err(Refused::LaunchFailed(error.clone()))));
                }
                S::Down { restart_due: None }
            }
            (S::Up { .. }, E::Replaced { generation }) => S::Up { generation },

            // The child's exit.
            (S::Up { generation }, E::Exited { generation: g }) if g == generation => {
                out.push(Action::Crashed);
                S::Down { restart_due: None }
            }
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                },
                E::Exited { generation: g },
            ) if g == generation => {
                for r in stop_waiters {
                    out.push(Action::Reply(r, Ok(())));
                }
                match then {
                    Then::Stay => S::Down { restart_due: None },
                    Then::Start { bump, waiters } if !self.closed => {
                        out.push(Action::Launch { bump });
                        S::Launching { waiters }
                    }
                    Then::Start { waiters, .. } => {
                        for r in waiters {
                            refuse(out, r, Refused::ShuttingDown);
                        }
                        S::Down { restart_due: None }
                    }
                    Then::Delete { waiters } => {
                        for r in waiters {
                            out.push(Action::Reply(r, Ok(())));
                        }
                        out.push(Action::Remove);
                        S::Down { restart_due: None }
                    }
                }
            }
            (
                S::Stopping {
                    generation,
                    stop_waiters,
                    then,
                },
                E::KillFailed { generation: g },
            ) if g == generation => {
                let waiters = match then {
                    Then::Stay => Vec::new(),
                    Then::Start { waiters, .. } | Then::Delete { waiters } => waiters,
                };
                out.push(Action::Unkillable);
                for r in stop_waiters.into_iter().chain(waiters) {
                    refuse(out, r, Refused::Unkillable);
                }
                S::Down { restart_due: None }
            }

            // Requests the supervisor never sends while a launch is made
            // (it reports the outcome first): refused, never dropped.
            (S::Launching { waiters }, E::Start { reply: Some(r), .. })
            | (
                S::Launching { waiters },
                E::Restart { reply: r } | E::Stop { reply: r } | E::Delete { reply: r },
            ) => {
                refuse(out, r, Refused::Launching);
                S::Launching { waiters }
            }

            // Anything else is news of an older child, a stale timer, or
            // an outcome already settled: nothing changes.
            (s, _) => s,
        }
    }
}

#[cfg(test)]
mod tests;
