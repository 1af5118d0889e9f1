//! Creating a child process, straight into its cgroup where there is one.
//!
//! On Linux the child shares the daemon's memory until it execs (vfork's
//! semantics: `CLONE_VM | CLONE_VFORK`), on a stack of its own. A plain fork
//! copies the daemon's page tables and makes every page copy-on-write, so a
//! launch costs more the larger the daemon is (1,000 apps: a third of the
//! daemon's CPU in a `restart all` went to copying page tables and to the
//! copy-on-write faults after), and the child then unmaps that copy at exec.
//! Sharing the memory costs nothing per page; the calling thread waits until
//! the child has exec'd (or exited), a few dozen microseconds of the child's
//! set-up. An exec failure comes back in shared memory, with no pipe.
//!
//! A child that moves itself into a cgroup after it is created (a write to
//! `cgroup.procs`) makes the kernel take its cgroup-wide thread-group lock
//! for writing, which waits for an RCU grace period and holds up every fork,
//! exec and exit on the machine meanwhile (and, with a shared memory, the
//! daemon). Linux 5.7's `clone3(CLONE_INTO_CGROUP)` creates the child inside
//! the cgroup instead. Where the kernel (or a seccomp filter) refuses clone3,
//! or off x86-64, glibc's `clone` is used and the child joins its cgroup itself.
//!
//! Elsewhere (macOS) the child is forked.

use std::os::fd::RawFd;

/// How the child came to be.
pub struct Forked {
    /// The child's pid, or -1 when none could be created (errno says why).
    pub pid: libc::pid_t,
}

/// What the child runs: `run(arg)`, which must exec or `_exit`.
pub type ChildMain = extern "C" fn(*mut libc::c_void) -> libc::c_int;

/// Where the child reads whether it was created in its cgroup.
pub trait InCgroup {
    fn set_in_cgroup(&mut self, yes: bool);
}

/// Bytes of stack for the child between its creation and its exec.
pub const STACK_SIZE: usize = 64 * 1024;

/// Starts `run(arg)` in a new process, in the cgroup directory `cgroup` when
/// given and the kernel can. On Linux the caller waits until the child has
/// exec'd or exited, and `arg` is shared with it; elsewhere it is a copy.
///
/// # Safety
/// `run` may only make async-signal-safe calls, must not return before exec
/// or `_exit`, and on Linux must not write to memory the caller uses, other
/// than through `arg`. `stack` must stay alive until this returns.
pub unsafe fn spawn_child<A: InCgroup>(
    cgroup: Option<RawFd>,
    stack: &mut [u8],
    run: ChildMain,
    arg: &mut A,
) -> Forked {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: forwarded.
    unsafe {
        linux::spawn_shared(cgroup, stack, run, arg)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: forwarded; after fork the child runs `run` on its copy.
    unsafe {
        let _ = (cgroup, stack);
        arg.set_in_cgroup(false);
        let pid = libc::fork();
        if pid == 0 {
            run((arg as *mut A).cast());
            libc::_exit(127);
        }
        Forked { pid }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use super::{ChildMain, Forked, InCgroup};
    use std::os::fd::RawFd;

    const FLAGS: u64 = (libc::CLONE_VM | libc::CLONE_VFORK) as u64;

    /// Stack top, 16-byte aligned as both ABIs want it at a call.
    fn stack_top(stack: &mut [u8]) -> *mut libc::c_void {
        let end = stack.as_mut_ptr() as usize + stack.len();
        (end & !15) as *mut libc::c_void
    }

    /// # Safety
    /// See [`super::spawn_child`].
    pub unsafe fn spawn_shared<A: InCgroup>(
        cgroup: Option<RawFd>,
        stack: &mut [u8],
        run: ChildMain,
        arg: &mut A,
    ) -> Forked {
        #[cfg(target_arch = "x86_64")]
        if let Some(dir) = cgroup {
            arg.set_in_cgroup(true);
            // SAFETY: forwarded.
            if let Some(pid) = unsafe { clone3::into_cgroup(dir, stack, run, arg) } {
                return Forked { pid };
            }
        }
        let _ = cgroup;
        arg.set_in_cgroup(false);
        let top = stack_top(stack);
        // SAFETY: the child runs `run` on its own stack; with CLONE_VFORK this
        // thread resumes once the child has exec'd or exited, so `arg` and
        // `stack` outlive its use of them.
        let pid = unsafe {
            libc::clone(
                run,
                top,
                FLAGS as libc::c_int | libc::SIGCHLD,
                (arg as *mut A).cast(),
            )
        };
        Forked { pid }
    }

    #[cfg(target_arch = "x86_64")]
    mod clone3 {
        use super::{stack_top, ChildMain, InCgroup, FLAGS};
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

        /// The child's pid, or `None` when the caller should create it
        /// otherwise (the child then joins its cgroup itself).
        ///
        /// # Safety
        /// See [`super::super::spawn_child`].
        pub unsafe fn into_cgroup<A: InCgroup>(
            dir: RawFd,
            stack: &mut [u8],
            run: ChildMain,
            arg: &mut A,
        ) -> Option<libc::pid_t> {
            if NO_CLONE3.load(Ordering::Relaxed) {
                return None;
            }
            let base = stack.as_mut_ptr() as u64;
            let args = CloneArgs {
                flags: FLAGS | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                stack: base,
                stack_size: stack_top(stack) as u64 - base,
                cgroup: dir as u64,
                ..CloneArgs::default()
            };
            let ret: i64;
            // SAFETY: clone3 with a stack of its own: the child comes back
            // from the syscall on that stack, where nothing of this function's
            // frame is, so it goes straight to `run(arg)` and never returns
            // here (`run` execs or exits; ud2 if it ever came back). rdx, r12
            // and r13 survive the syscall in both processes. This thread
            // resumes once the child has exec'd or exited (CLONE_VFORK).
            unsafe {
                std::arch::asm!(
                    "syscall",
                    "test rax, rax",
                    "jnz 2f",
                    "mov rdi, r12",
                    "call r13",
                    "ud2",
                    "2:",
                    inlateout("rax") libc::SYS_clone3 => ret,
                    in("rdi") &args as *const CloneArgs,
                    in("rsi") std::mem::size_of::<CloneArgs>(),
                    in("r12") arg as *mut A,
                    in("r13") run,
                    lateout("rcx") _,
                    lateout("r11") _,
                    options(nostack),
                );
            }
            if ret >= 0 {
                return Some(ret as libc::pid_t);
            }
            if -ret == libc::ENOSYS as i64 {
                NO_CLONE3.store(true, Ordering::Relaxed);
            }
            // Any other refusal (a cgroup that cannot take processes right
            // now): created otherwise, and the child's own move reports
            // nothing either way.
            None
        }
    }
}
