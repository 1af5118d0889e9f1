//! The parts of a forked child's set-up (between fork and exec) that differ
//! by platform. Async-signal-safe calls only.

/// The end (exclusive) of the signal numbers whose dispositions a child
/// resets before exec.
pub fn signal_end() -> libc::c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // macOS and the BSDs have no real-time signals: NSIG is 32, the
        // last signal 31.
        32
    }
}

/// Asks the kernel to SIGTERM this process when the thread that forked it
/// dies. Linux only (`PR_SET_PDEATHSIG`); elsewhere a `connect(true)` host
/// that is killed outright leaves its apps running (a host that exits
/// normally still stops them).
///
/// # Safety
/// Only in the child between fork and exec.
pub unsafe fn die_with_parent() -> Result<(), ()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: prctl is async-signal-safe and acts on this process only.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } < 0 {
            return Err(());
        }
    }
    Ok(())
}
