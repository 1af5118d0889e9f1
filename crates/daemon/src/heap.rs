//! Keeps the daemon's resident memory at what it holds, not at what a burst
//! of work once needed.
//!
//! A `list` of 100 apps or a batch of starts builds megabytes of short-lived
//! JSON. glibc keeps freed chunks in the heap, and its adaptive mmap threshold
//! moves big buffers (reply frames) into the heap after the first one is
//! freed, so the RSS would stay at the peak. The standalone daemon fixes the
//! thresholds and hands free pages back shortly after each request; a daemon
//! running inside a Node process (`connect(true)`) leaves the host's allocator
//! alone.
//!
//! glibc also gives each new thread that allocates an arena of its own (up
//! to eight per core), each with its own free chunks. The daemon's other
//! threads (the blocking pool, the process sweep, log rotation) do little
//! and seldom at once: two arenas in all serve every thread, and memory
//! freed by one thread is reused by the next instead of staying in an arena
//! of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ENABLED: AtomicBool = AtomicBool::new(false);
static PENDING: AtomicBool = AtomicBool::new(false);

/// Buffers above this size get their own mapping, returned on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 64 * 1024;
/// Free space above this at the top of the heap is returned at once.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 128 * 1024;
/// Arenas for all threads (the main thread's and one more).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: i32 = 2;
/// Requests tend to come in bursts (a CLI command makes several): trim once after.
const RELEASE_DELAY: Duration = Duration::from_millis(200);

/// Fixes the allocator's thresholds; called once by the `pm2-daemon` binary.
pub fn tune_for_daemon() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
    ENABLED.store(true, Ordering::Relaxed);
}

/// Returns the heap's free pages to the kernel a moment from now (once for a
/// burst of calls). Must run inside the tokio runtime.
pub fn release_soon() {
    if !ENABLED.load(Ordering::Relaxed) || PENDING.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(RELEASE_DELAY).await;
        PENDING.store(false, Ordering::Release);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}
