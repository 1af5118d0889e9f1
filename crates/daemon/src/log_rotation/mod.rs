//! Log rotation done by the daemon, which owns the files: a log is moved
//! aside and reopened by its writer between two writes (see
//! `log_writer.rs`), so no line is lost or written twice, and nothing is
//! copied or truncated while being written.
//!
//! Off unless `pm2 set pm2:log_rotate true`; configured with pm2-logrotate's
//! keys (see `policy.rs`); re-read when `module_conf.json` changes. While a
//! process named `pm2-logrotate` is online the module rotates, not the daemon.
//! Compression and retention run on a thread of their own, never on the
//! supervisor's or a writer's.

pub mod files;
pub mod policy;
mod sink;

use crate::daemon_log::DaemonLog;
use chrono::{DateTime, Local};
use policy::Policy;
pub use sink::RotatingSink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

/// The name of the module whose presence turns the daemon's rotation off.
pub const MODULE_NAME: &str = "pm2-logrotate";

/// How often `module_conf.json` is looked at for changes, and the cron
/// pattern for its due times (so a per-second pattern works).
const TICK: Duration = Duration::from_secs(1);

/// Rotated files waiting for compression and retention.
const JOB_QUEUE: usize = 256;

/// What happens to a file once moved aside.
struct Job {
    rotated: PathBuf,
    live: PathBuf,
    compress: bool,
    retain: Option<usize>,
    /// Other sinks that wrote to the file: it is compressed or deleted only
    /// once none of them can write to it any more.
    sharers: Vec<Weak<dyn RotatingSink>>,
}

pub struct LogRotation {
    /// The policy `module_conf.json` sets (`None`: rotation is off).
    policy: RwLock<Option<Arc<Policy>>>,
    /// A process named `pm2-logrotate` is online.
    module_online: AtomicBool,
    /// The sinks a time-based rotation reaches (dead ones pruned on register).
    sinks: Mutex<Vec<Weak<dyn RotatingSink>>>,
    jobs: SyncSender<Job>,
    log: DaemonLog,
    /// Held while a sink rotates a file, so that sinks sharing it never
    /// rotate it twice or move each other's new file away.
    rotating: Mutex<()>,
}

impl LogRotation {
    /// Reads the policy now and starts the thread that compresses and prunes
    /// rotated files, and the task that follows `module_conf.json` and the
    /// `rotateInterval` pattern.
    pub fn start(
        module_conf: PathBuf,
        daemon_log_path: PathBuf,
        log: DaemonLog,
    ) -> Arc<LogRotation> {
        let (jobs, queue) = sync_channel::<Job>(JOB_QUEUE);
        let worker_log = log.clone();
        let _ = std::thread::Builder::new()
            .name("log-rotation".into())
            .spawn(move || {
                for job in queue {
                    finish(job, &worker_log);
                }
            });
        let rotation = Arc::new(LogRotation {
            policy: RwLock::new(None),
            module_online: AtomicBool::new(false),
            sinks: Mutex::new(Vec::new()),
            jobs,
            log,
            rotating: Mutex::new(()),
        });
        let mut ticker = Ticker {
            module_conf,
            daemon_log_path,
            conf_seen: ConfSeen::default(),
            last_tick: Local::now(),
            last_daemon_log_check: Local::now(),
        };
        rotation.reload_if_changed(&ticker.module_conf, &mut ticker.conf_seen);
        let weak = Arc::downgrade(&rotation);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(rotation) = weak.upgrade() else {
                    return;
                };
                // Reading the configuration and moving files block: not on
                // the runtime's thread.
                match tokio::task::spawn_blocking(move || {
                    ticker.tick(&rotation);
                    ticker
                })
                .await
                {
                    Ok(t) => ticker = t,
                    Err(_) => return,
                }
            }
        });
        rotation
    }

    /// The policy in force: `None` while rotation is off or left to the module.
    pub fn active(&self) -> Option<Arc<Policy>> {
        if self.module_online.load(Ordering::Relaxed) {
            return None;
        }
        self.policy.read().expect("policy lock").clone()
    }

    /// Records whether a process named `pm2-logrotate` is online; says so in
    /// `pm2.log` when that changes which of the two rotates.
    pub fn set_module_online(&self, online: bool) {
        let was = self.module_online.swap(online, Ordering::Relaxed);
        if was != online && self.policy.read().expect("policy lock").is_some() {
            self.log.info(if online {
                "log rotation: the pm2-logrotate module is online, it rotates the logs and the daemon does not"
            } else {
                "log rotation: the pm2-logrotate module is not online, the daemon rotates the logs"
            });
        }
    }

    /// Makes `sink` reachable by time-based rotations.
    pub fn register<S: RotatingSink + 'static>(&self, sink: &Arc<S>) {
        let mut sinks = self.sinks.lock().expect("sinks lock");
        sinks.retain(|s| s.strong_count() > 0);
        let sink: Arc<dyn RotatingSink> = sink.clone();
        sinks.push(Arc::downgrade(&sink));
    }

    /// Held by a sink while it rotates one of its files.
    pub fn lock_rotations(&self) -> std::sync::MutexGuard<'_, ()> {
        self.rotating.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a file just moved aside by `by` to the compression/retention
    /// thread.
    pub fn rotated(
        &self,
        live: &Path,
        rotated: PathBuf,
        policy: &Policy,
        by: Option<&dyn RotatingSink>,
    ) {
        // Instances that share their log files write on through their old
        // descriptor (the rotated file) until they open the new one.
        let mut sharers = Vec::new();
        for sink in self
            .sinks
            .lock()
            .expect("sinks lock")
            .iter()
            .filter_map(Weak::upgrade)
        {
            if sink.writes_to(live)
                && !by.is_some_and(|by| std::ptr::addr_eq(by, Arc::as_ptr(&sink)))
            {
                sink.reopen_before_next_write();
                sharers.push(Arc::downgrade(&sink));
            }
        }
        let job = Job {
            rotated,
            live: live.to_path_buf(),
            compress: policy.compress,
            retain: policy.retain,
            sharers,
        };
        if let Err(TrySendError::Full(job)) = self.jobs.try_send(job) {
            self.log.info(&format!(
                "log rotation: too many rotations queued, {} left as it is",
                job.rotated.display()
            ));
        }
    }

    /// A rotation that could not be done, in `pm2.log`.
    pub fn failed(&self, path: &Path, e: &std::io::Error) {
        self.log.info(&format!(
            "log rotation: cannot rotate {}: {e}",
            path.display()
        ));
    }

    fn rotate_all(&self, policy: &Arc<Policy>, daemon_log_path: &Path) {
        let sinks: Vec<Arc<dyn RotatingSink>> = self
            .sinks
            .lock()
            .expect("sinks lock")
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for sink in sinks {
            sink.rotate_now(policy);
        }
        self.rotate_daemon_log(policy, daemon_log_path, true);
    }

    /// `pm2.log` rotates as apps' logs do (`PM2_HOME/pm2__<date>.log`).
    fn rotate_daemon_log(&self, policy: &Policy, path: &Path, forced: bool) {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let due = size > 0 && (forced || (policy.max_size > 0 && size >= policy.max_size));
        if !due {
            return;
        }
        if let Some(to) = files::rotated_name(path, &date_now(policy)) {
            if self.log.rotate_to(&to).is_ok() {
                self.rotated(path, to, policy, None);
            }
        }
    }

    fn reload_if_changed(&self, module_conf: &Path, seen: &mut ConfSeen) {
        let stamp = std::fs::metadata(module_conf)
            .ok()
            .map(|m| (m.modified().ok(), m.len()));
        if seen.stamp == Some(stamp) {
            return;
        }
        seen.stamp = Some(stamp);
        let conf = std::fs::read_to_string(module_conf)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null);
        let (policy, problems) = policy::from_conf(&conf);
        let summary = describe(policy.as_ref());
        if seen.summary.as_deref() != Some(&summary) || seen.problems != problems {
            // A first read with rotation off says nothing.
            if seen.summary.is_some() || policy.is_some() {
                self.log.info(&format!("log rotation: {summary}"));
            }
            for problem in &problems {
                self.log.info(&format!("log rotation: {problem}"));
            }
            seen.summary = Some(summary);
            seen.problems = problems;
        }
        *self.policy.write().expect("policy lock") = policy.map(Arc::new);
    }
}

/// What the 1 s tick remembers from one tick to the next.
struct Ticker {
    module_conf: PathBuf,
    daemon_log_path: PathBuf,
    conf_seen: ConfSeen,
    last_tick: DateTime<Local>,
    last_daemon_log_check: DateTime<Local>,
}

impl Ticker {
    /// Re-reads `module_conf.json` if it changed, then rotates what is due.
    fn tick(&mut self, rotation: &LogRotation) {
        rotation.reload_if_changed(&self.module_conf, &mut self.conf_seen);
        let now = Local::now();
        let Some(policy) = rotation.active() else {
            self.last_tick = now;
            return;
        };
        if cron_due(&policy, &self.last_tick, &now) {
            rotation.rotate_all(&policy, &self.daemon_log_path);
            self.last_daemon_log_check = now;
        } else if (now - self.last_daemon_log_check)
            .to_std()
            .unwrap_or_default()
            >= policy.worker_interval
        {
            self.last_daemon_log_check = now;
            rotation.rotate_daemon_log(&policy, &self.daemon_log_path, false);
        }
        self.last_tick = now;
    }
}

#[derive(Default)]
struct ConfSeen {
    stamp: Option<Option<(Option<SystemTime>, u64)>>,
    summary: Option<String>,
    problems: Vec<String>,
}

fn describe(policy: Option<&Policy>) -> String {
    match policy {
        None => "off".into(),
        Some(p) => format!(
            "on (max_size {} bytes, retain {}, compress {}, dateFormat {}, rotateInterval {}, rotateModule {}, workerInterval {} s)",
            p.max_size,
            p.retain.map_or("all".into(), |n| n.to_string()),
            p.compress,
            p.date_format,
            p.rotate_interval
                .as_ref()
                .map_or("none".into(), |c| c.pattern.to_string()),
            p.rotate_module,
            p.worker_interval.as_secs(),
        ),
    }
}

/// Whether the `rotateInterval` pattern fell due in `(last, now]`.
fn cron_due(policy: &Policy, last: &DateTime<Local>, now: &DateTime<Local>) -> bool {
    policy
        .rotate_interval
        .as_ref()
        .and_then(|c| crate::cron::next_after(c, last))
        .is_some_and(|due| due <= *now)
}

/// The date part of a rotated file's name, now.
pub fn date_now(policy: &Policy) -> String {
    pm2_config::date_format::format_ms(crate::clock::now_ms(), &policy.date_format)
}

fn finish(job: Job, log: &DaemonLog) {
    // A sink that shared the file may still hold it open: it opens the new
    // file first, so no line of it lands in a file compressed or deleted.
    for sink in job.sharers.iter().filter_map(Weak::upgrade) {
        sink.reopen_if_due();
    }
    if job.compress {
        if let Err(e) = files::compress(&job.rotated) {
            log.info(&format!(
                "log rotation: cannot compress {}: {e}",
                job.rotated.display()
            ));
        }
    }
    if let Some(retain) = job.retain {
        files::apply_retention(&job.live, retain);
    }
}
