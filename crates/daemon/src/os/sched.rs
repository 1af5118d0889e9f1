//! The supervisor's thread asks the scheduler for a short time slice.
//!
//! A launch waits for the new child's exec (see `fork`), and on a machine
//! whose cores are busy the child waited its turn behind every runnable task:
//! 10 ms per launch on average at a load of 12 on 2 cores, with every client
//! of the daemon waiting meanwhile. Linux's scheduler (EEVDF, 6.12+) runs
//! first the task whose deadline (its start plus its slice) comes first: with
//! a short slice, the daemon's thread and the children it creates, which
//! inherit it, are run soon after they wake, though no more often than any
//! other task of their weight. Each child sets the default slice back before
//! its exec, so the apps run as any other process. Older kernels ignore the
//! slice (or refuse the call): nothing changes there.

/// The slice asked for: the shortest the kernel takes.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SHORT_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` (SCHED_ATTR_SIZE_VER0).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// Sets the calling thread's slice (`0`: the kernel's default), keeping its
/// policy (SCHED_OTHER) and nice value. Async-signal-safe.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_slice(runtime: u64) {
    // SAFETY: getpriority reads this process's nice value.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: libc::SCHED_OTHER as u32,
        nice,
        runtime,
        ..SchedAttr::default()
    };
    // SAFETY: sched_setattr reads `attr` and acts on the calling thread only.
    unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
}

/// Gives the calling thread (the supervisor's) a short slice, when its
/// scheduling is the default one (a daemon given a real-time policy keeps it).
pub fn short_slice() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: sched_getscheduler reads this thread's policy.
    if unsafe { libc::sched_getscheduler(0) } == libc::SCHED_OTHER {
        set_slice(SHORT_SLICE_NS);
    }
}

/// In a child created by the supervisor's thread, before exec: the default
/// slice back.
///
/// # Safety
/// Only in such a child; async-signal-safe.
pub unsafe fn default_slice() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: as `short_slice`, on this process only.
    if unsafe { libc::sched_getscheduler(0) } == libc::SCHED_OTHER {
        set_slice(0);
    }
}
