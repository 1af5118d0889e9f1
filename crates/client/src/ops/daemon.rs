//! The daemon's list saved and restored (`dump`, `resurrect`), and the
//! daemon ended (`kill`).

use super::start::procs_of;
use super::Client;
use crate::error::{Error, Result};
use crate::target;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

/// What `resurrect` did: the processes started, and the apps that failed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Resurrected {
    pub started: Vec<Value>,
    pub failed: Vec<ResurrectFailure>,
}

#[derive(Debug, serde::Serialize)]
pub struct ResurrectFailure {
    pub name: String,
    pub error: String,
}

impl Client {
    /// Saves the process list (modules excluded) to `dump.pm2`, keeping the
    /// previous one as `dump.pm2.bak`. Returns how many apps were saved.
    pub async fn dump(&self, force: bool) -> Result<usize> {
        let entries = pm2_config::dump::entries_from_list(&self.list().await?);
        if entries.is_empty() && !force {
            return Err(Error::Usage(
                "Nothing to save: no process running. Use --force to save an empty list".into(),
            ));
        }
        pm2_config::dump::write(&self.paths, &entries)?;
        Ok(entries.len())
    }

    /// Starts every app of the dump that is not in the process list, as PM2
    /// does (an app whose name is there already is left as it is). The
    /// daemon checks and creates in one step, so concurrent resurrects never
    /// start an app twice. An app that fails to start is reported and the
    /// others still start, as in PM2.
    pub async fn resurrect(&self) -> Result<Resurrected> {
        let apps = pm2_config::dump::read(&self.paths).map_err(Error::Usage)?;
        let names: Vec<String> = apps
            .iter()
            .map(|a| {
                a.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let answers = self.prepare_unique(apps, json!({"match": "name"})).await?;
        let mut out = Resurrected::default();
        for (name, answer) in names.into_iter().zip(answers) {
            if let Some(created) = answer.get("created") {
                out.started.extend(procs_of(created.clone()));
            } else if let Some(error) = answer.get("error") {
                let error = error
                    .as_str()
                    .map_or_else(|| error.to_string(), str::to_string);
                out.failed.push(ResurrectFailure { name, error });
            }
        }
        self.announce_started(&out.started).await?;
        Ok(out)
    }

    /// One more process of the app of process `id` (`pm2 scale`), its start
    /// announced as PM2's client does; returns the new process.
    pub async fn duplicate(&self, id: u64) -> Result<Vec<Value>> {
        let added = procs_of(self.call_one("duplicateProcessId", vec![json!(id)]).await?);
        self.announce_started(&added).await?;
        Ok(added)
    }

    /// Stops every process, modules included, then the daemon itself.
    pub async fn kill_daemon(&self) -> Result<()> {
        self.rpc.notify("notifyKillPM2", vec![json!({})]).await?;
        let list = self.list().await?;
        let deletes = list
            .iter()
            .filter_map(target::pm_id)
            .map(|id| self.call("deleteProcessId", vec![json!(id)]));
        for r in join_all(deletes).await {
            r?;
        }
        let daemon_pid = std::fs::read_to_string(&self.paths.pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            // A daemon inside this very process (`connect(true)`) ends with it.
            .filter(|&pid| pid as u32 != std::process::id());
        // No pid: this client waits for the socket to close instead of a SIGQUIT.
        let _ = self.rpc.notify("killMe", vec![json!({})]).await;
        let gone = async {
            self.rpc.closed().await;
            // The socket closes a moment before the process ends; callers
            // (`pm2 kill && …`) expect the daemon to be gone.
            while let Some(pid) = daemon_pid {
                if !process_running(pid) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), gone).await;
        Ok(())
    }
}

/// True while `pid` exists and has not exited: an exited daemon stays a
/// zombie until its parent (init, after the launcher's double fork) reaps
/// it, which can take long or, under a PID 1 that never reaps, forever.
fn process_running(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return false;
    }
    // Unreadable (another user's process on a locked-down host): it exists.
    pm2_proc::stat(pid as u32).is_none_or(|st| !st.exited)
}
