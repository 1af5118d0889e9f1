//! A descriptor that becomes readable when a child exits, so its exit is
//! awaited without waking at every other child's SIGCHLD: a pidfd on Linux
//! (5.3+). Elsewhere, or on an older kernel, there is none and `child.rs`
//! checks again at each SIGCHLD. (kqueue's EVFILT_PROC would be macOS's
//! equivalent; SIGCHLD is correct there too, only less targeted.)

use std::os::fd::OwnedFd;
use tokio::io::unix::AsyncFd;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn exit_fd(pid: libc::pid_t) -> Option<AsyncFd<OwnedFd>> {
    use std::os::fd::{FromRawFd, RawFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    // SAFETY: the OwnedFd moves into the AsyncFd and stays open, unchanged,
    // until the AsyncFd is dropped.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn exit_fd(_pid: libc::pid_t) -> Option<AsyncFd<OwnedFd>> {
    None
}
