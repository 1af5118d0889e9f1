//! The process table as the daemon, the client and the CLI read it: one
//! process's parent, group, session, CPU time, memory and state; every pid;
//! a command line; the host's memory. Linux reads `/proc`; macOS asks
//! libproc and sysctl. This is the only place that knows which.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;

#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod imp;

/// What one reading tells about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// Session id: apps are started as session leaders, so this is the pid of
    /// the app a process belongs to, however it was forked.
    pub session: u32,
    /// User + system CPU time, in nanoseconds.
    pub cpu_ns: u64,
    /// Resident set size in bytes.
    pub rss: u64,
    /// True once the process has exited and waits to be reaped (a zombie).
    pub exited: bool,
}

/// The host's memory, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    /// What programs could still get (Linux's MemAvailable; free pages on macOS).
    pub available: u64,
}

/// `pid`'s reading, `None` when there is no such process (or it cannot be read).
pub fn stat(pid: u32) -> Option<Stat> {
    imp::stat(pid)
}

/// Every process's pid.
pub fn pids() -> Vec<u32> {
    imp::pids()
}

/// `pid`'s arguments, each followed by a NUL (as `/proc/<pid>/cmdline` has them).
pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    imp::cmdline(pid)
}

/// The host's total and available memory.
pub fn memory() -> Memory {
    imp::memory()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let st = stat(me).unwrap();
        assert!(st.rss > 100_000, "{st:?}");
        assert_eq!(st.ppid, std::os::unix::process::parent_id());
        assert!(!st.exited);
        assert!(pids().contains(&me));
        let args = cmdline(me).unwrap();
        let exe = std::env::args().next().unwrap();
        assert!(args.starts_with(exe.as_bytes()), "{args:?}");
        assert!(args.ends_with(b"\0"));
        let mem = memory();
        assert!(mem.total > mem.available && mem.available > 0, "{mem:?}");
    }

    #[test]
    fn counts_cpu_time() {
        let before = stat(std::process::id()).unwrap().cpu_ns;
        let t0 = std::time::Instant::now();
        while t0.elapsed().as_millis() < 50 {
            std::hint::black_box(t0.elapsed());
        }
        let after = stat(std::process::id()).unwrap().cpu_ns;
        assert!(after > before, "{before} → {after}");
    }

    #[test]
    fn sees_a_zombie_and_no_process() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not reaped: poll its state, as nothing else tells.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !stat(pid).is_some_and(|s| s.exited) {
            assert!(std::time::Instant::now() < deadline, "never a zombie");
            std::thread::yield_now();
        }
        child.wait().unwrap();
        assert_eq!(stat(pid), None);
    }
}
