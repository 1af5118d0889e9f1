//! What the kernel says about a process, as the supervisor uses it: CPU
//! percentages, process trees and sessions, signals. The readings themselves
//! come from `pm2-proc`.

use std::time::Instant;

pub use pm2_proc::Stat;

/// `pid`'s reading from the process table (`pm2-proc`: /proc on Linux, libproc on macOS).
pub fn stat(pid: u32) -> Option<Stat> {
    pm2_proc::stat(pid)
}

/// Resident set size in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.rss)
}

/// A CPU sample of one pid, kept between two `list` calls to turn CPU time
/// into a percentage.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    pid: u32,
    cpu_ns: u64,
    at: Instant,
    /// The figure this sample gave, shown again while a newer window is too short.
    percent: f64,
}

/// Below this window the kernel's accounting step (a 10 ms tick at 100 Hz)
/// makes a rate meaningless: one tick seen 1 ms after a fork reads as 1000 %.
const MIN_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

/// Read once: the count comes from the affinity mask and the cgroup's quota
/// (several files), and a list of 100 apps asks for it 100 times.
fn cpu_count() -> f64 {
    static COUNT: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64))
}

/// CPU use of `pid` in percent of one core, rounded to one decimal as PM2
/// shows it: since the previous sample of the same pid, or since `started`
/// (just before the spawn) for a pid seen for the first time. A window too
/// short to measure repeats the last figure (0 for a new pid), and no figure
/// goes past what every core together can give.
#[cfg(test)]
pub fn cpu_percent(
    pid: u32,
    cpu_ns: u64,
    prev: Option<CpuSample>,
    started: Instant,
) -> (f64, CpuSample) {
    cpu_percent_at(pid, cpu_ns, prev, started, Instant::now())
}

/// [`cpu_percent`] for a reading taken at `now`.
pub fn cpu_percent_at(
    pid: u32,
    cpu_ns: u64,
    prev: Option<CpuSample>,
    started: Instant,
    now: Instant,
) -> (f64, CpuSample) {
    let base = match prev {
        Some(s) if s.pid == pid => s,
        _ => CpuSample {
            pid,
            cpu_ns: 0,
            at: started,
            percent: 0.0,
        },
    };
    let elapsed = now.saturating_duration_since(base.at);
    if elapsed < MIN_WINDOW {
        return (base.percent, base);
    }
    let used = cpu_ns.saturating_sub(base.cpu_ns) as f64 / 1e9;
    let pct = (used / elapsed.as_secs_f64() * 100.0).min(100.0 * cpu_count());
    let percent = (pct * 10.0).round() / 10.0;
    (
        percent,
        CpuSample {
            pid,
            cpu_ns,
            at: now,
            percent,
        },
    )
}

/// Every process with its reading, from one scan of the process table.
pub(crate) fn scan() -> Vec<(u32, Stat)> {
    pm2_proc::pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

/// `pid` and its descendants in `table`, deepest first.
fn tree_in(table: &[(u32, Stat)], pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let cur = tree[i];
        tree.extend(
            table
                .iter()
                .filter(|(_, st)| st.ppid == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree.reverse();
    tree
}

/// `pid` and all its descendants, deepest first, from one scan of the process table.
pub fn process_tree(pid: u32) -> Vec<u32> {
    tree_in(&scan(), pid)
}

/// The processes of the app whose main process is `pid`, in a scan of the
/// process table: its tree, deepest first, then the rest of the session it leads,
/// where double-forked processes stay once reparented away from the tree.
pub(crate) fn app_processes_in(table: &[(u32, Stat)], pid: u32) -> Vec<u32> {
    let mut found = tree_in(table, pid);
    for (p, st) in table {
        if st.session == pid && !found.contains(p) {
            found.push(*p);
        }
    }
    found
}

/// Sends `signal` to the one process `pid`. The number is checked before
/// the cast: 0 and anything past `i32::MAX` would become kill(0) (the
/// daemon's own group) or kill(-n) (a whole group, or every process for -1).
pub fn signal(pid: u32, signal: nix::sys::signal::Signal) -> nix::Result<()> {
    match i32::try_from(pid) {
        Ok(p) if p > 0 => nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), signal),
        _ => Err(nix::errno::Errno::ESRCH),
    }
}

/// Sends `signal` to `pid` and, with `tree`, to all its descendants first.
pub fn signal_tree(pid: u32, sig: nix::sys::signal::Signal, tree: bool) {
    let targets = if tree { process_tree(pid) } else { vec![pid] };
    for p in targets {
        let _ = signal(p, sig);
    }
}

/// Parses `SIGINT`, `INT`, `sigterm` or `15`.
pub fn parse_signal(name: &str) -> Option<nix::sys::signal::Signal> {
    use std::str::FromStr;
    if let Ok(n) = name.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).ok();
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    nix::sys::signal::Signal::from_str(&full).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_memory_and_cpu() {
        let me = std::process::id();
        let st = stat(me).unwrap();
        assert!(st.rss > 100_000);
        assert_eq!(st.ppid, std::os::unix::process::parent_id());
        // Burn some CPU so the tick count moves.
        let t0 = Instant::now();
        while t0.elapsed().as_millis() < 50 {
            std::hint::black_box(t0.elapsed());
        }
        let (pct, sample) = cpu_percent(me, stat(me).unwrap().cpu_ns, None, t0 - MIN_WINDOW);
        assert!(
            sample.cpu_ns > 0 && pct > 0.0,
            "{pct}% from {} ns",
            sample.cpu_ns
        );
        assert!(process_tree(me).contains(&me));
    }

    #[test]
    fn a_first_sample_is_never_a_burst_of_ticks_over_a_tiny_window() {
        let spawned = Instant::now();
        let ms = std::time::Duration::from_millis;
        let tick = 10_000_000; // one 10 ms tick, in ns
                               // One tick seen 1 ms after the spawn: too short to tell, so 0 (it once read 1000 %).
        let (pct, first) = cpu_percent_at(7, tick, None, spawned, spawned + ms(1));
        assert_eq!(pct, 0.0);
        // Since the spawn once the window is long enough: 30 ticks in 600 ms.
        let (pct, second) = cpu_percent_at(7, 30 * tick, Some(first), spawned, spawned + ms(600));
        assert_eq!(pct, 50.0);
        // A listing right after repeats the last figure instead of a 1-tick rate.
        let (pct, third) = cpu_percent_at(7, 31 * tick, Some(second), spawned, spawned + ms(610));
        assert_eq!(pct, 50.0);
        // Then the rate since the previous sample: 10 ticks in a second.
        let (pct, _) = cpu_percent_at(7, 40 * tick, Some(third), spawned, spawned + ms(1600));
        assert_eq!(pct, 10.0);
        // A new pid (a restart, a scale) starts from its own spawn, not the old pid's sample.
        let (pct, _) = cpu_percent_at(
            8,
            5 * tick,
            Some(third),
            spawned + ms(1590),
            spawned + ms(1600),
        );
        assert_eq!(pct, 0.0);
        // Never more than every core busy, whatever the counters say.
        let (pct, _) = cpu_percent_at(9, 1000 * tick, None, spawned, spawned + ms(1000));
        assert_eq!(pct, 100.0 * cpu_count());
    }

    #[test]
    fn finds_children_in_the_tree() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let tree = process_tree(std::process::id());
        assert!(tree.contains(&child.id()));
        assert_eq!(*tree.last().unwrap(), std::process::id());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn finds_the_session_members_that_left_the_tree() {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut leader = std::process::Command::new("sh");
        leader
            .args(["-c", "sh -c 'sleep 30 & echo $!'; exec sleep 30"])
            .stdout(std::process::Stdio::piped());
        // SAFETY: setsid is async-signal-safe and acts on the child only.
        unsafe {
            leader.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut leader = leader.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(leader.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let orphan: u32 = line.trim().parse().unwrap();
        let found = app_processes_in(&scan(), leader.id());
        // The whole session is one process group: one kill ends the test's processes.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(leader.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        leader.wait().unwrap();
        assert!(found.contains(&leader.id()), "{found:?}");
        assert!(found.contains(&orphan), "{orphan} in {found:?}");
        assert_eq!(found.iter().filter(|&&p| p == orphan).count(), 1);
    }

    #[test]
    fn signals_only_single_valid_pids() {
        use nix::sys::signal::Signal;
        assert_eq!(signal(0, Signal::SIGCONT), Err(nix::errno::Errno::ESRCH));
        assert_eq!(
            signal(u32::MAX, Signal::SIGCONT),
            Err(nix::errno::Errno::ESRCH)
        );
        assert_eq!(signal(std::process::id(), Signal::SIGCONT), Ok(()));
    }

    #[test]
    fn parses_signal_names() {
        use nix::sys::signal::Signal;
        assert_eq!(parse_signal("SIGINT"), Some(Signal::SIGINT));
        assert_eq!(parse_signal("usr2"), Some(Signal::SIGUSR2));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGNOPE"), None);
    }
}
