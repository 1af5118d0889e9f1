//! Every process of an app, as a stop must reach them: the tree under its
//! main process; its process group and session, which the app leads from its
//! start (`child.rs` calls setsid), so double-forked processes reparented
//! away from the tree are still found; and its cgroup where the daemon has
//! them, which also holds processes that started sessions of their own.
//!
//! PM2 signals the tree only and leaves the rest running (PM2 issue #6084).

use crate::cgroup::AppCgroups;
use crate::proc_info;
use crate::process::Proc;
use crate::process_sweep;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

pub struct AppProcesses<'a> {
    pm_id: u64,
    /// The main process; 0 when none runs.
    pid: u32,
    /// The current (or last) launch, which names its cgroup.
    launch: u64,
    /// `treekill: false` keeps signals to the main process and leaves the
    /// rest of the app running, as in PM2.
    treekill: bool,
    /// Only this launch's cgroup: another launch of the same pm_id runs
    /// (the old process of a reload).
    one_launch: bool,
    cgroups: Option<&'a AppCgroups>,
}

impl<'a> AppProcesses<'a> {
    pub fn of(p: &Proc, cgroups: Option<&'a AppCgroups>) -> AppProcesses<'a> {
        AppProcesses {
            pm_id: p.pm_id,
            pid: p.pid(),
            launch: p.generation,
            treekill: p.opts.treekill,
            one_launch: false,
            cgroups,
        }
    }

    /// The processes of an earlier launch of `p` whose main process is
    /// `pid`, while a newer launch runs: only that launch's cgroup is reached.
    pub fn of_launch(
        p: &Proc,
        pid: u32,
        launch: u64,
        cgroups: Option<&'a AppCgroups>,
    ) -> AppProcesses<'a> {
        AppProcesses {
            pm_id: p.pm_id,
            pid,
            launch,
            treekill: p.opts.treekill,
            one_launch: true,
            cgroups,
        }
    }

    /// Sends `signal` to every process of the app, the main one included (to
    /// the main one only with `treekill: false`).
    pub fn signal(&self, signal: Signal) {
        if !self.treekill {
            if self.pid != 0 {
                let _ = proc_info::signal(self.pid, signal);
            }
            return;
        }
        self.signal_all(signal, true);
    }

    /// Once the main process of a deliberate stop is gone: kills what is left
    /// of the app (at once: a restart must not meet the old instance's
    /// children), then removes its cgroups as they empty.
    pub fn kill_leftovers(&self) {
        if self.treekill {
            self.signal_all(Signal::SIGKILL, false);
        }
        if let Some(cgroups) = self.cgroups {
            cgroups.release(self.pm_id, self.launch);
        }
    }

    /// After a crash: the app's descendants keep running, as in PM2; only the
    /// cgroups of launches that are empty by now are removed.
    pub fn tidy(&self) {
        if let Some(cgroups) = self.cgroups {
            cgroups.remove_empty(self.pm_id, self.launch);
        }
    }

    /// The one place that reaches every process of the app. `main_alive`
    /// false means the main pid was reaped: that number is no longer the
    /// app's and is left alone, while its group and session ids stay
    /// reserved for as long as any member lives.
    fn signal_all(&self, signal: Signal, main_alive: bool) {
        let me = std::process::id();
        if self.pid != 0 {
            if main_alive {
                let _ = proc_info::signal(self.pid, signal);
            }
            if let Ok(group) = i32::try_from(self.pid) {
                let _ = killpg(Pid::from_raw(group), signal);
            }
            // The tree and session members outside the group: found in a
            // scan of the whole table, off this thread (see `process_sweep`).
            process_sweep::signal_rest(self.pid, signal);
        }
        let Some(cgroups) = self.cgroups else { return };
        if signal == Signal::SIGKILL {
            if self.one_launch {
                cgroups.kill_launch(self.pm_id, self.launch);
            } else {
                cgroups.kill(self.pm_id);
            }
        } else {
            let pids = if self.one_launch {
                cgroups.launch_pids(self.pm_id, self.launch)
            } else {
                cgroups.pids(self.pm_id)
            };
            for p in pids {
                if p != me {
                    let _ = proc_info::signal(p, signal);
                }
            }
        }
    }
}
