use super::*;
use std::collections::{BTreeMap, BTreeSet};

/// A small seeded generator (xorshift64*): each seed is one interleaving.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, from: &BTreeSet<T>) -> Option<T> {
        if from.is_empty() {
            return None;
        }
        let i = self.below(from.len() as u64) as usize;
        from.iter().nth(i).copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Start,
    Restart,
    Stop,
    Delete,
}

/// One app and its children, driven by a supervisor that does what the
/// actions say: launches succeed or fail, signalled children exit later,
/// crashed ones restart now, after a timer, or not at all.
struct World {
    life: Lifecycle<u64>,
    rng: Rng,
    alive: BTreeSet<u64>,
    signalled: BTreeSet<u64>,
    timers: BTreeSet<u64>,
    next_generation: u64,
    next_token: u64,
    requests: BTreeMap<u64, Kind>,
    answers: BTreeMap<u64, Vec<Result<(), Refused>>>,
    /// Each launch's requests answered by it.
    launched_for: Vec<Vec<u64>>,
    bumped_launches: u64,
    restarts_of_running: u64,
    crash_relaunches: u64,
    removed: bool,
    shut_down: bool,
}

impl World {
    fn new(seed: u64) -> World {
        World {
            life: Lifecycle::default(),
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            alive: BTreeSet::new(),
            signalled: BTreeSet::new(),
            timers: BTreeSet::new(),
            next_generation: 1,
            next_token: 1,
            requests: BTreeMap::new(),
            answers: BTreeMap::new(),
            launched_for: Vec::new(),
            bumped_launches: 0,
            restarts_of_running: 0,
            crash_relaunches: 0,
            removed: false,
            shut_down: false,
        }
    }

    fn feed(&mut self, event: Event<u64>) {
        for action in self.life.step(event) {
            self.run(action);
        }
    }

    fn run(&mut self, action: Action<u64>) {
        match action {
            Action::Reply(r, result) => self.answers.entry(r).or_default().push(result),
            Action::Launch { bump } => {
                assert!(!self.shut_down, "a launch after the shutdown");
                assert!(!self.removed, "a launch of a removed app");
                assert!(self.alive.is_empty(), "two children: {:?}", self.alive);
                self.bumped_launches += u64::from(bump);
                let before: BTreeSet<u64> = self.answers.keys().copied().collect();
                if self.rng.below(10) == 0 {
                    self.feed(Event::LaunchFailed {
                        error: "spawn failed".into(),
                    });
                } else {
                    let generation = self.next_generation;
                    self.next_generation += 1;
                    self.alive.insert(generation);
                    self.feed(Event::Launched { generation });
                }
                let answered = self
                    .answers
                    .keys()
                    .filter(|r| !before.contains(r))
                    .copied()
                    .collect();
                self.launched_for.push(answered);
            }
            Action::Signal { generation } => {
                assert!(self.alive.contains(&generation), "signal to a dead child");
                self.signalled.insert(generation);
            }
            Action::KillLeftovers | Action::CancelRestart | Action::Unkillable => {}
            Action::Crashed => match self.rng.below(4) {
                0 | 1 => {}
                2 => {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.timers.insert(token);
                    self.feed(Event::RestartScheduled { token });
                }
                _ => {
                    if !self.shut_down {
                        self.crash_relaunches += 1;
                    }
                    self.feed(Event::Start {
                        reply: None,
                        bump: true,
                    });
                }
            },
            Action::Remove => {
                assert!(!self.removed, "removed twice");
                assert!(self.alive.is_empty(), "removed with a child alive");
                self.removed = true;
            }
        }
    }

    fn request(&mut self, kind: Kind) {
        if self.removed {
            return; // the supervisor answers "not found" itself
        }
        let r = self.requests.len() as u64;
        self.requests.insert(r, kind);
        if kind == Kind::Restart && matches!(self.life.state(), State::Up { .. }) {
            self.restarts_of_running += 1;
        }
        self.feed(match kind {
            Kind::Start => Event::Start {
                reply: Some(r),
                bump: false,
            },
            Kind::Restart => Event::Restart { reply: r },
            Kind::Stop => Event::Stop { reply: r },
            Kind::Delete => Event::Delete { reply: r },
        });
    }

    fn exit(&mut self, generation: u64) {
        self.alive.remove(&generation);
        self.signalled.remove(&generation);
        self.feed(Event::Exited { generation });
    }

    /// One random event: a request, an exit, a timer, a stale event.
    fn random_event(&mut self, with_shutdown: bool) {
        match self.rng.below(20) {
            0..=4 => self.request(Kind::Restart),
            5..=6 => self.request(Kind::Start),
            7..=8 => self.request(Kind::Stop),
            9 if self.rng.below(4) == 0 => self.request(Kind::Delete),
            10..=13 => {
                if let Some(g) = self.rng.pick(&self.signalled) {
                    self.exit(g);
                }
            }
            14 => {
                if let Some(g) = self.rng.pick(&self.alive) {
                    self.exit(g); // a crash, or an exit as the stop begins
                }
            }
            15 => {
                if let Some(t) = self.rng.pick(&self.timers) {
                    self.timers.remove(&t);
                    self.feed(Event::RestartDue { token: t });
                }
            }
            16 => {
                let generation = self.rng.below(self.next_generation + 1);
                if !self.alive.contains(&generation) {
                    self.feed(Event::Exited { generation });
                }
            }
            18 if self.rng.below(4) == 0 => {
                // A signalled child that survives SIGKILL: given up on.
                if let Some(g) = self.rng.pick(&self.signalled) {
                    self.alive.remove(&g);
                    self.signalled.remove(&g);
                    self.feed(Event::KillFailed { generation: g });
                }
            }
            17 if with_shutdown && self.rng.below(8) == 0 => {
                self.shut_down = true;
                self.feed(Event::Shutdown);
            }
            _ => {}
        }
    }

    /// Lets every signalled child exit and every timer fire.
    fn settle(&mut self) {
        loop {
            if let Some(g) = self.signalled.iter().next().copied() {
                self.exit(g);
            } else if let Some(t) = self.timers.iter().next().copied() {
                self.timers.remove(&t);
                self.feed(Event::RestartDue { token: t });
            } else {
                break;
            }
        }
    }

    fn check(&self, seed: u64) {
        for r in self.requests.keys() {
            let n = self.answers.get(r).map_or(0, Vec::len);
            assert_eq!(n, 1, "seed {seed}: request {r} answered {n} times");
        }
        for launch in &self.launched_for {
            // Overlapping restarts coalesce: one launch answers them all.
            for r in launch {
                assert!(self.requests.contains_key(r));
            }
        }
        let launches = self.launched_for.len() as u64;
        let asked = self
            .requests
            .values()
            .filter(|k| matches!(k, Kind::Start | Kind::Restart))
            .count() as u64;
        assert!(
            launches <= asked + self.crash_relaunches + self.next_token,
            "seed {seed}: {launches} launches for {asked} requests"
        );
        assert!(
            self.bumped_launches
                <= self.restarts_of_running + self.crash_relaunches + self.next_token,
            "seed {seed}: restart_time went up {} times",
            self.bumped_launches
        );
        // After a last stop (no start or restart since), the app is down.
        let last = self.requests.values().next_back();
        if last == Some(&Kind::Stop) {
            assert!(
                matches!(self.life.state(), State::Down { .. }),
                "seed {seed}: not down after the last stop: {:?}",
                self.life.state()
            );
            assert!(self.alive.is_empty(), "seed {seed}: a child after the stop");
        }
        if last == Some(&Kind::Delete) {
            assert!(self.removed, "seed {seed}: not removed after the delete");
        }
        if self.shut_down {
            assert!(self.life.state().waiters_len() == 0);
        }
    }
}

impl<R> State<R> {
    fn waiters_len(&self) -> usize {
        match self {
            State::Down { .. } | State::Up { .. } => 0,
            State::Launching { waiters } => waiters.len(),
            State::Stopping {
                stop_waiters, then, ..
            } => {
                stop_waiters.len()
                    + match then {
                        Then::Stay => 0,
                        Then::Start { waiters, .. } | Then::Delete { waiters } => waiters.len(),
                    }
            }
        }
    }
}

#[test]
fn random_interleavings_answer_every_request_once_and_never_run_two_children() {
    for seed in 0..3000 {
        let mut w = World::new(seed);
        w.request(Kind::Start);
        for _ in 0..200 {
            w.random_event(seed % 3 == 0);
        }
        w.settle();
        w.check(seed);
    }
}

#[test]
fn a_final_stop_wins_over_every_restart_before_it() {
    for seed in 0..2000 {
        let mut w = World::new(seed);
        w.request(Kind::Start);
        for _ in 0..100 {
            w.random_event(false);
        }
        if w.removed {
            continue;
        }
        w.request(Kind::Stop);
        w.settle();
        w.check(seed);
        assert!(matches!(w.life.state(), State::Down { .. }), "seed {seed}");
    }
}

/// Runs `events` from a fresh app with a running child of generation 1.
fn running() -> Lifecycle<u64> {
    let mut life = Lifecycle::default();
    assert_eq!(
        life.step(Event::Start {
            reply: None,
            bump: false
        }),
        vec![Action::Launch { bump: false }]
    );
    assert!(life.step(Event::Launched { generation: 1 }).is_empty());
    life
}

#[test]
fn overlapping_restarts_are_one_restart_answered_after_the_launch() {
    let mut life = running();
    assert_eq!(
        life.step(Event::Restart { reply: 1 }),
        vec![Action::Signal { generation: 1 }]
    );
    assert!(life.step(Event::Restart { reply: 2 }).is_empty());
    assert!(life.step(Event::Restart { reply: 3 }).is_empty());
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Launch { bump: true }]
    );
    assert_eq!(
        life.step(Event::Launched { generation: 2 }),
        vec![
            Action::Reply(1, Ok(())),
            Action::Reply(2, Ok(())),
            Action::Reply(3, Ok(()))
        ]
    );
}

#[test]
fn a_restart_during_a_stop_waits_for_it_and_restarts_once() {
    let mut life = running();
    life.step(Event::Stop { reply: 1 });
    assert!(life.step(Event::Restart { reply: 2 }).is_empty());
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Reply(1, Ok(())), Action::Launch { bump: false }]
    );
}

#[test]
fn a_stop_cancels_the_restart_waiting_for_the_exit() {
    let mut life = running();
    life.step(Event::Restart { reply: 1 });
    assert_eq!(
        life.step(Event::Stop { reply: 2 }),
        vec![Action::Reply(1, Err(Refused::Stopped))]
    );
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Reply(2, Ok(()))]
    );
    assert!(matches!(life.state(), State::Down { .. }));
}

#[test]
fn the_exit_of_an_older_child_changes_nothing() {
    let mut life = running();
    life.step(Event::Stop { reply: 1 });
    assert!(life.step(Event::Exited { generation: 7 }).is_empty());
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Reply(1, Ok(()))]
    );
}

#[test]
fn after_the_shutdown_nothing_launches() {
    let mut life = running();
    life.step(Event::Restart { reply: 1 });
    assert_eq!(
        life.step(Event::Shutdown),
        vec![Action::Reply(1, Err(Refused::ShuttingDown))]
    );
    assert_eq!(
        life.step(Event::Restart { reply: 2 }),
        vec![Action::Reply(2, Err(Refused::ShuttingDown))]
    );
    assert!(life.step(Event::Exited { generation: 1 }).is_empty());
    assert!(life
        .step(Event::Start {
            reply: None,
            bump: true
        })
        .is_empty());
}

#[test]
fn a_stop_of_an_app_waiting_to_restart_cancels_the_timer() {
    let mut life = running();
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Crashed]
    );
    life.step(Event::RestartScheduled { token: 5 });
    assert_eq!(
        life.step(Event::Stop { reply: 1 }),
        vec![
            Action::CancelRestart,
            Action::KillLeftovers,
            Action::Reply(1, Ok(()))
        ]
    );
    assert!(life.step(Event::RestartDue { token: 5 }).is_empty());
}

#[test]
fn an_unkillable_child_fails_every_waiter() {
    let mut life = running();
    life.step(Event::Stop { reply: 1 });
    life.step(Event::Restart { reply: 2 });
    assert_eq!(
        life.step(Event::KillFailed { generation: 1 }),
        vec![
            Action::Unkillable,
            Action::Reply(1, Err(Refused::Unkillable)),
            Action::Reply(2, Err(Refused::Unkillable))
        ]
    );
}

#[test]
fn a_delete_answers_then_removes() {
    let mut life = running();
    life.step(Event::Delete { reply: 1 });
    assert_eq!(
        life.step(Event::Start {
            reply: Some(2),
            bump: false
        }),
        vec![Action::Reply(2, Err(Refused::Deleted))]
    );
    assert_eq!(
        life.step(Event::Exited { generation: 1 }),
        vec![Action::Reply(1, Ok(())), Action::Remove]
    );
}
