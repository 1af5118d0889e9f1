//! `cron_restart`: restart an app at each time its cron pattern matches.
//!
//! One tokio task per app sleeps until the next matching time (local time, as
//! PM2's croner) and sends [`Trigger::CronDue`] to the supervisor, which restarts
//! the app through its usual restart path, whether it runs or has exited (a
//! scheduled job that does its work and exits runs again at each time). The
//! task is armed when the app is launched and aborted when the user stops or
//! deletes the app, so an app stopped by the user stays stopped. Patterns are parsed by `pm2_config::cron` (the same check
//! the client and `prepare` make).

use crate::daemon_log::DaemonLog;
use crate::trigger::Trigger;
use chrono::{DateTime, Local};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest single sleep: the schedule is read again from the wall clock at
/// least this often, so a clock change or a suspend does not shift it.
const MAX_SLEEP: Duration = Duration::from_secs(300);

/// Checks `cron_restart` before an app is created or updated.
pub fn check(app: &Map<String, Value>) -> Result<(), String> {
    pm2_config::cron::check(app.get("cron_restart")).map(drop)
}

/// The next time after `after` that `cron` matches.
pub fn next_after(cron: &croner::Cron, after: &DateTime<Local>) -> Option<DateTime<Local>> {
    cron.find_next_occurrence(after, false).ok()
}

struct Job {
    token: u64,
    pattern: String,
    task: JoinHandle<()>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The cron jobs of all apps, owned by the supervisor.
pub struct CronJobs {
    jobs: HashMap<u64, Job>,
    next_token: u64,
    tx: mpsc::Sender<Trigger>,
    log: DaemonLog,
}

impl CronJobs {
    pub fn new(tx: mpsc::Sender<Trigger>, log: DaemonLog) -> CronJobs {
        CronJobs {
            jobs: HashMap::new(),
            next_token: 0,
            tx,
            log,
        }
    }

    /// Arms, keeps or cancels the job of app `id` to match its
    /// `cron_restart` pattern.
    pub fn sync(&mut self, id: u64, name: &str, pattern: Option<&str>) {
        let Some(pattern) = pattern else {
            self.cancel(id, name);
            return;
        };
        if self.jobs.get(&id).is_some_and(|j| j.pattern == pattern) {
            return;
        }
        let pattern = pattern.to_string();
        let cron = match pm2_config::cron::parse(&pattern) {
            Ok(c) => c,
            Err(e) => {
                self.cancel(id, name);
                self.log.info(&format!("app {name} (id {id}): {e}"));
                return;
            }
        };
        self.next_token += 1;
        let token = self.next_token;
        let next = next_after(&cron, &Local::now())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_else(|| "never".into());
        self.log.info(&format!(
            "[PM2][WORKER] Registering a cron job on: {id} (app {name}, cron_restart \"{pattern}\", next at {next})"
        ));
        let task = tokio::spawn(schedule(cron, id, token, self.tx.clone()));
        self.jobs.insert(
            id,
            Job {
                token,
                pattern,
                task,
            },
        );
    }

    /// Cancels the job of app `id`, if any.
    pub fn cancel(&mut self, id: u64, name: &str) -> bool {
        let cancelled = self.jobs.remove(&id).is_some();
        if cancelled {
            self.log.info(&format!(
                "[PM2] Deregistering a cron job on: {id} (app {name})"
            ));
        }
        cancelled
    }

    /// The pattern of the job whose `token` fired, if it is still armed.
    pub fn current(&self, id: u64, token: u64) -> Option<&str> {
        self.jobs
            .get(&id)
            .filter(|j| j.token == token)
            .map(|j| j.pattern.as_str())
    }
}

/// Sleeps until each matching time and tells the supervisor. Each time is
/// computed from the previous one, so a timer that wakes a little early
/// never fires the same time twice.
async fn schedule(cron: croner::Cron, id: u64, token: u64, tx: mpsc::Sender<Trigger>) {
    let mut after = Local::now();
    while let Some(due) = next_after(&cron, &after) {
        loop {
            let left = (due - Local::now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(MAX_SLEEP)).await;
        }
        if tx.send(Trigger::CronDue { id, token }).await.is_err() {
            return;
        }
        after = due;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn next_times_follow_the_pattern() {
        let cron = pm2_config::cron::parse("*/2 * * * * *").unwrap();
        let t = Local::now();
        let a = next_after(&cron, &t).unwrap();
        let b = next_after(&cron, &a).unwrap();
        assert_eq!((b - a).num_seconds(), 2);
        assert!(a > t && (a - t).num_milliseconds() <= 2000);
        let hourly = pm2_config::cron::parse("0 * * * *").unwrap();
        let n = next_after(&hourly, &t).unwrap();
        assert_eq!(n.format("%M:%S").to_string(), "00:00");
    }

    #[test]
    fn check_refuses_bad_patterns_naming_them() {
        let e = check(&env(json!({"cron_restart": "every minute"}))).unwrap_err();
        assert!(e.contains("\"every minute\""), "{e}");
        assert!(check(&env(json!({"cron_restart": "0 0 * * *"}))).is_ok());
        assert!(check(&env(json!({"cron_restart": 0}))).is_ok());
        assert!(check(&env(json!({}))).is_ok());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_job_fires_on_time_and_stops_when_cancelled() {
        let (tx, mut rx) = mpsc::channel(8);
        let dir = std::env::temp_dir().join(format!("pm2-cron-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = DaemonLog::new(dir.join("pm2.log"), crate::bus::Bus::default());
        let mut jobs = CronJobs::new(tx, log);
        jobs.sync(3, "c", Some("* * * * * *"));
        let got = tokio::time::timeout(Duration::from_millis(2500), rx.recv())
            .await
            .unwrap();
        let Some(Trigger::CronDue { id, token }) = got else {
            panic!("no cron message")
        };
        assert_eq!(id, 3);
        assert_eq!(jobs.current(3, token), Some("* * * * * *"));
        // Same pattern: the same job goes on.
        jobs.sync(3, "c", Some("* * * * * *"));
        assert_eq!(jobs.current(3, token), Some("* * * * * *"));
        assert!(jobs.cancel(3, "c"));
        assert_eq!(jobs.current(3, token), None);
        while rx.try_recv().is_ok() {}
        let late = tokio::time::timeout(Duration::from_millis(1500), rx.recv()).await;
        assert!(late.is_err(), "a cancelled job sends nothing");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
