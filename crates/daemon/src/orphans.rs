//! PID 1's duty: reaping the orphans the kernel hands to it.
//!
//! When the supervisor is a container's PID 1 (`pm2-runtime`), every process
//! whose parent dies is reparented to it, and stays a zombie until reaped.
//! The apps themselves are reaped by their exit watch (`child.rs`); here only
//! the adopted ones are, found by a scan of the process table at each SIGCHLD, so that
//! no exit status of an app is taken away from its watch.

use tokio::signal::unix::{signal, SignalKind};

/// Reaps adopted orphans at every SIGCHLD, for as long as the process runs.
pub async fn reap_forever() {
    let Ok(mut sigchld) = signal(SignalKind::child()) else {
        return;
    };
    loop {
        reap_adopted();
        if sigchld.recv().await.is_none() {
            return;
        }
    }
}

/// Reaps the zombie children of this process that it did not start itself.
/// Returns how many.
pub fn reap_adopted() -> usize {
    let me = std::process::id();
    let mut reaped = 0;
    for pid in pm2_proc::pids() {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            continue;
        };
        if zombie_child_of(pid, me) && !crate::child::is_supervised(pid) {
            // SAFETY: waitpid on one pid, status discarded.
            if unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } == pid {
                reaped += 1;
            }
        }
    }
    reaped
}

/// True when `pid` is a zombie whose parent is `parent`.
fn zombie_child_of(pid: libc::pid_t, parent: u32) -> bool {
    pm2_proc::stat(pid as u32).is_some_and(|st| st.exited && st.ppid == parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaps_an_adopted_zombie_but_not_a_supervised_child() {
        // A child of ours that is not in the supervised set stands for an
        // adopted orphan: once it exits it must be reaped here.
        let orphan = std::process::Command::new("true").spawn().unwrap();
        let pid = orphan.id() as libc::pid_t;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !zombie_child_of(pid, std::process::id()) && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(zombie_child_of(pid, std::process::id()));
        assert!(reap_adopted() >= 1);
        assert_eq!(pm2_proc::stat(pid as u32), None);
        std::mem::forget(orphan);
    }
}
