//! How often the in-app agents report their metrics (`axm:monitor`).
//!
//! Each report wakes the daemon, so 100 idle apps reporting every second
//! cost it about a hundred wake-ups a second for figures nobody reads. The
//! figures are read from the list (`jlist`, `describe`, `getMonitorData`,
//! the web list): while someone read it in the last [`READ_WINDOW`], the
//! agents report every second, as PM2's agent does; otherwise every
//! [`IDLE_EVERY`], so a one-off `pm2 describe` shows figures at most that
//! old. An agent reports every second until told otherwise (by an internal
//! message its app never sees), and says with each report that it can be
//! told (`pace: true`); others are left alone.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long after a read of the list the agents keep reporting every second.
pub const READ_WINDOW: Duration = Duration::from_secs(10);
/// How often the agents report while nobody reads the list.
pub const IDLE_EVERY: Duration = Duration::from_secs(5);
/// How often they report while someone does: PM2's agent's pace.
pub const WATCHED_EVERY: Duration = Duration::from_secs(1);

/// The internal message telling an agent how often to report.
pub fn message(watched: bool) -> Value {
    let every = if watched { WATCHED_EVERY } else { IDLE_EVERY };
    json!({"cmd": "NODE_PM2_METRICS", "every": every.as_millis() as u64})
}

/// Whether an `axm:monitor` message comes from an agent that can be paced.
pub fn can_be_paced(msg: &Value) -> bool {
    msg.get("pace").and_then(Value::as_bool) == Some(true)
}

#[derive(Default)]
pub struct ReportPace {
    read_at: Option<Instant>,
    /// By pm_id: the launch whose agent reports, and the pace it was told
    /// (`true`: every second, an agent's pace before it is told anything).
    agents: HashMap<u64, (u64, bool)>,
}

impl ReportPace {
    fn watched(&self, now: Instant) -> bool {
        self.read_at
            .is_some_and(|at| now.saturating_duration_since(at) < READ_WINDOW)
    }

    /// A report from app `id`'s launch `generation`: the pace to tell its
    /// agent, when it is not the one it has.
    pub fn reported(&mut self, id: u64, generation: u64, now: Instant) -> Option<bool> {
        let watched = self.watched(now);
        let agent = self.agents.entry(id).or_insert((generation, true));
        if agent.0 != generation {
            *agent = (generation, true);
        }
        (agent.1 != watched).then(|| {
            agent.1 = watched;
            watched
        })
    }

    /// Someone reads the list at `now`. When nobody had for a while, the
    /// agents to tell to report every second again, by pm_id and launch
    /// (all of them forgotten: those still running report again).
    pub fn read(&mut self, now: Instant) -> Vec<(u64, u64)> {
        let was = self.watched(now);
        self.read_at = Some(now);
        if was {
            return Vec::new();
        }
        self.agents
            .drain()
            .filter(|(_, (_, fast))| !fast)
            .map(|(id, (generation, _))| (id, generation))
            .collect()
    }

    /// Marks app `id`'s agent as told to report every second.
    pub fn told_watched(&mut self, id: u64, generation: u64) {
        self.agents.insert(id, (generation, true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_nobody_reads_is_slowed_once_then_left_alone() {
        let mut pace = ReportPace::default();
        let t0 = Instant::now();
        assert_eq!(pace.reported(3, 1, t0), Some(false));
        assert_eq!(pace.reported(3, 1, t0 + IDLE_EVERY), None);
        // A new launch starts at every second again.
        assert_eq!(pace.reported(3, 2, t0 + IDLE_EVERY * 2), Some(false));
    }

    #[test]
    fn a_read_speeds_the_slowed_agents_up_until_the_window_closes() {
        let mut pace = ReportPace::default();
        let t0 = Instant::now();
        pace.reported(1, 7, t0);
        pace.reported(2, 9, t0);
        let mut told = pace.read(t0 + Duration::from_secs(1));
        told.sort();
        assert_eq!(told, vec![(1, 7), (2, 9)]);
        for (id, generation) in told {
            pace.told_watched(id, generation);
        }
        // Further reads inside the window tell nobody anything.
        assert!(pace.read(t0 + Duration::from_secs(2)).is_empty());
        assert_eq!(pace.reported(1, 7, t0 + Duration::from_secs(3)), None);
        // An agent first heard of while the list is read stays at every second.
        assert_eq!(pace.reported(4, 1, t0 + Duration::from_secs(3)), None);
        // Once nobody has read for the window, each is slowed at its next report.
        let later = t0 + Duration::from_secs(2) + READ_WINDOW;
        assert_eq!(pace.reported(1, 7, later), Some(false));
        assert_eq!(pace.reported(4, 1, later), Some(false));
    }

    #[test]
    fn the_pace_messages_are_internal_to_the_runtime() {
        assert!(pm2_wire::ipc::is_internal(&message(true)));
        assert_eq!(message(false)["every"], 5000);
        assert_eq!(message(true)["every"], 1000);
        assert!(can_be_paced(
            &json!({"type": "axm:monitor", "data": {}, "pace": true})
        ));
        assert!(!can_be_paced(&json!({"type": "axm:monitor", "data": {}})));
    }
}
