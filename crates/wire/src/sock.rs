//! Socket flags that differ between platforms, behind one seam.
//!
//! Linux (and the BSDs other than Apple's) set close-on-exec and non-blocking
//! atomically when a socket is created, mark received descriptors
//! close-on-exec in `recvmsg`, and suppress SIGPIPE per `sendmsg`. macOS has
//! none of those flags: there the same effects come from `fcntl` right after
//! the call and from the `SO_NOSIGPIPE` socket option. The non-atomic
//! close-on-exec can leak a descriptor into a child forked in between, which
//! is why Linux keeps the atomic flags.

use nix::sys::socket::{
    socket, socketpair, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
};
use std::os::fd::{OwnedFd, RawFd};

#[cfg(not(target_vendor = "apple"))]
mod imp {
    use super::*;

    pub fn nonblocking_cloexec() -> SockFlag {
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC
    }

    pub const RECV_FLAGS: MsgFlags = MsgFlags::MSG_CMSG_CLOEXEC;
    pub const SEND_FLAGS: MsgFlags = MsgFlags::MSG_NOSIGNAL;

    pub fn after_create(_fd: &OwnedFd) -> nix::Result<()> {
        Ok(())
    }

    pub fn after_receive(_fd: RawFd) {}
}

#[cfg(target_vendor = "apple")]
mod imp {
    use super::*;
    use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
    use std::os::fd::AsRawFd;

    pub fn nonblocking_cloexec() -> SockFlag {
        SockFlag::empty()
    }

    pub const RECV_FLAGS: MsgFlags = MsgFlags::empty();
    pub const SEND_FLAGS: MsgFlags = MsgFlags::empty();

    pub fn after_create(fd: &OwnedFd) -> nix::Result<()> {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt on a socket we own, with a c_int option value.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(nix::errno::Errno::last());
        }
        Ok(())
    }

    pub fn after_receive(fd: RawFd) {
        // SAFETY: fcntl on a descriptor the kernel just handed us.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// `recvmsg` flags: received descriptors close on exec where the kernel can do it.
pub const RECV_FLAGS: MsgFlags = imp::RECV_FLAGS;
/// `sendmsg` flags: a peer that went away is an `EPIPE` error, never a SIGPIPE.
pub const SEND_FLAGS: MsgFlags = imp::SEND_FLAGS;

/// A new socket, non-blocking and close-on-exec (and without SIGPIPE on macOS).
pub fn new_socket(family: AddressFamily, kind: SockType) -> nix::Result<OwnedFd> {
    let fd = socket(
        family,
        kind,
        imp::nonblocking_cloexec(),
        None::<SockProtocol>,
    )?;
    imp::after_create(&fd)?;
    Ok(fd)
}

/// A connected unix stream pair, both ends non-blocking and close-on-exec.
pub fn new_pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        imp::nonblocking_cloexec(),
    )?;
    imp::after_create(&a)?;
    imp::after_create(&b)?;
    Ok((a, b))
}

/// Marks a descriptor received by `recvmsg` close-on-exec where [`RECV_FLAGS`]
/// could not (a no-op on Linux).
pub fn after_receive(fd: RawFd) {
    imp::after_receive(fd)
}

/// The address of an abstract unix socket (a name, not a file): Linux only;
/// elsewhere binding one fails with `EINVAL`.
pub fn abstract_addr(name: &[u8]) -> nix::Result<nix::sys::socket::UnixAddr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        nix::sys::socket::UnixAddr::new_abstract(name)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = name;
        Err(nix::errno::Errno::EINVAL)
    }
}
