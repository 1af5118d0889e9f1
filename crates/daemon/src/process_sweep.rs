//! Finding and signalling an app's processes beyond its process group, off
//! the actor's thread.
//!
//! The processes of an app outside its group (its tree and session members
//! that moved to groups of their own) are found in a scan of the whole
//! process table: every `/proc/<pid>/stat` on the machine, tens of
//! milliseconds with thousands of processes. A stop needs that twice (the
//! stop signal, then the SIGKILL of what is left), so `stop all` on thousands
//! of apps on the actor's thread was quadratic and held every other client
//! for seconds. Here a thread of its own takes the requests as they come and
//! serves all those waiting with one scan. The actor signals the main process
//! and its group itself, at once: the sweep only reaches the rest.

use crate::proc_info;
use nix::sys::signal::Signal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Requests waiting for the sweeper; past that the caller scans itself.
/// The queue holds only what is waiting (a preallocated queue this long
/// would keep 2 MB resident for the daemon's life after its first stop).
const QUEUE: usize = 65_536;

/// Requests sent and not yet taken by the sweeper.
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// How long the sweeper gathers requests before a scan, at least.
const GATHER: Duration = Duration::from_millis(20);

/// A scan slower than this (a machine under load) still gathers for at most
/// ten times this: a stop's stragglers are not kept waiting longer.
const MAX_SCAN_COUNTED: Duration = Duration::from_millis(50);

/// Signal the processes of the app whose main process is `pid` (tree and
/// session), except `pid` itself; or, with `done`, say that the requests
/// before are carried out.
struct Sweep {
    pid: u32,
    signal: Signal,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

fn sweeper() -> &'static Sender<Sweep> {
    static TX: OnceLock<Sender<Sweep>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("process-sweep".into())
            .spawn(move || run(rx))
            .expect("cannot start the process sweep thread");
        tx
    })
}

/// Has the sweeper signal the processes of the app whose main process is
/// `pid`, other than `pid` itself, soon; when its queue is full, now.
pub fn signal_rest(pid: u32, signal: Signal) {
    let request = Sweep {
        pid,
        signal,
        done: None,
    };
    let refused = if QUEUED.fetch_add(1, Ordering::AcqRel) < QUEUE {
        sweeper().send(request).err().map(|e| e.0)
    } else {
        Some(request)
    };
    if let Some(request) = refused {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
        sweep(&proc_info::scan(), &[request]);
    }
}

/// Waits until the requests made so far are carried out: the daemon's last
/// stops before it exits.
pub async fn drained() {
    let (done, rx) = tokio::sync::oneshot::channel();
    let marker = Sweep {
        pid: 0,
        signal: Signal::SIGCONT,
        done: Some(done),
    };
    if sweeper().send(marker).is_ok() {
        let _ = rx.await;
    }
}

/// Takes the next request, waiting at most until `until` when given.
fn next(rx: &Receiver<Sweep>, until: Option<Instant>) -> Option<Sweep> {
    let s = match until {
        None => rx.recv().ok()?,
        Some(t) => rx
            .recv_timeout(t.saturating_duration_since(Instant::now()))
            .ok()?,
    };
    if s.done.is_none() {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
    Some(s)
}

fn run(rx: Receiver<Sweep>) {
    let mut last_scan = Duration::ZERO;
    while let Some(first) = next(&rx, None) {
        let mut batch = vec![first];
        // The stops of a bulk action come one after another: the requests of
        // the next moment share the scan. The moment grows with the scan's
        // cost, so sweeps take at most about a tenth of a core.
        let until = Instant::now() + GATHER.max(last_scan * 10);
        while batch.len() < QUEUE {
            match next(&rx, Some(until)) {
                Some(s) => batch.push(s),
                None => break,
            }
        }
        let started = Instant::now();
        sweep(&proc_info::scan(), &batch);
        last_scan = started.elapsed().min(MAX_SCAN_COUNTED);
        for s in batch {
            if let Some(done) = s.done {
                let _ = done.send(());
            }
        }
    }
}

fn sweep(table: &[(u32, proc_info::Stat)], batch: &[Sweep]) {
    let me = std::process::id();
    for s in batch.iter().filter(|s| s.done.is_none()) {
        for p in proc_info::app_processes_in(table, s.pid) {
            if p != me && p != s.pid {
                let _ = proc_info::signal(p, s.signal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_reaches_the_children_of_an_app_but_not_its_main_process() {
        // A shell standing for an app, with a child of its own.
        let mut app = std::process::Command::new("sh")
            .args(["-c", "sleep 1000 & wait"])
            .spawn()
            .unwrap();
        let main = app.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let child = loop {
            let table = proc_info::scan();
            if let Some(&(pid, _)) = table.iter().find(|(_, st)| st.ppid == main) {
                break pid;
            }
            assert!(std::time::Instant::now() < deadline, "no child appeared");
            std::thread::yield_now();
        };
        signal_rest(main, Signal::SIGKILL);
        // The child dies; the shell's `wait` then returns and it exits 0
        // (it would report the signal had it been killed itself).
        let status = app.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "main process left alone: {status:?}"
        );
        assert!(proc_info::stat(child).is_none_or(|st| st.exited));
    }
}
