//! Forking a child straight into its cgroup.
//!
//! A child that moves itself into a cgroup after fork (a write to
//! `cgroup.procs`) makes the kernel take its cgroup-wide thread-group lock
//! for writing, which waits for an RCU grace period and holds up every fork,
//! exec and exit on the machine meanwhile: with a hundred apps starting at
//! once, that cost a few percent of their start-up time. Linux 5.7's
//! `clone3(CLONE_INTO_CGROUP)` creates the child inside the cgroup instead.
//! Where the kernel (or a seccomp filter) refuses clone3, plain fork is used
//! and the child joins its cgroup itself.

use std::os::fd::RawFd;

/// How the child came to be.
pub struct Forked {
    /// As fork returns it: 0 in the child, the child's pid in the parent, -1 on error.
    pub pid: libc::pid_t,
    /// Whether the child already runs in the cgroup it was given.
    pub in_cgroup: bool,
}

/// Forks, into the cgroup directory `cgroup` when given and the kernel can.
///
/// # Safety
/// As `fork`: the child may only make async-signal-safe calls before exec.
pub unsafe fn fork_into(cgroup: Option<RawFd>) -> Forked {
    #[cfg(target_os = "linux")]
    if let Some(dir) = cgroup {
        // SAFETY: forwarded; the child side has the same rules as fork's.
        if let Some(pid) = unsafe { linux::clone_into_cgroup(dir) } {
            return Forked {
                pid,
                in_cgroup: true,
            };
        }
    }
    let _ = cgroup;
    Forked {
        // SAFETY: forwarded to the caller.
        pid: unsafe { libc::fork() },
        in_cgroup: false,
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

    /// `struct clone_args` up to its `cgroup` field (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }

    /// Set once clone3 turned out not to exist here (old kernel, or a
    /// container's seccomp filter answering ENOSYS).
    static NO_CLONE3: AtomicBool = AtomicBool::new(false);

    /// The pid (0 in the child), or `None` when the caller should fork instead.
    ///
    /// # Safety
    /// As `fork`.
    pub unsafe fn clone_into_cgroup(dir: RawFd) -> Option<libc::pid_t> {
        if NO_CLONE3.load(Ordering::Relaxed) {
            return None;
        }
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: no CLONE_VM and no new stack: like fork, the child gets a
        // copy of this thread and its memory. It touches no glibc state that
        // fork would have reset, only raw async-signal-safe calls.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if ret >= 0 {
            return Some(ret as libc::pid_t);
        }
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            NO_CLONE3.store(true, Ordering::Relaxed);
        }
        // Any other refusal (a cgroup that cannot take processes right now):
        // fork, and the child's own move reports nothing either way.
        None
    }
}
