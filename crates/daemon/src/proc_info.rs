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

/// A CPU sample, kept between two `list` calls to turn ticks into a percentage.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    cpu_ns: u64,
    at: Instant,
}

/// CPU use since the previous sample (or since `started` for the first), in
/// percent of one core, rounded to one decimal as PM2 shows it.
pub fn cpu_percent(cpu_ns: u64, prev: Option<CpuSample>, started: Instant) -> (f64, CpuSample) {
    let now = Instant::now();
    let (base_ns, base_at) = prev.map(|s| (s.cpu_ns, s.at)).unwrap_or((0, started));
    let elapsed = now.duration_since(base_at).as_secs_f64();
    let used = cpu_ns.saturating_sub(base_ns) as f64 / 1e9;
    let pct = if elapsed > 0.0 {
        used / elapsed * 100.0
    } else {
        0.0
    };
    ((pct * 10.0).round() / 10.0, CpuSample { cpu_ns, at: now })
}

/// Every process with its reading, from one scan of the process table.
fn scan() -> Vec<(u32, Stat)> {
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

/// The processes of the app whose main process is `pid`, from one scan of
/// the process table: its tree, deepest first, then the rest of the session it leads,
/// where double-forked processes stay once reparented away from the tree.
pub fn app_processes(pid: u32) -> Vec<u32> {
    let table = scan();
    let mut found = tree_in(&table, pid);
    for (p, st) in &table {
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
        let (pct, sample) = cpu_percent(stat(me).unwrap().cpu_ns, None, t0);
        assert!(
            sample.cpu_ns > 0 && pct > 0.0,
            "{pct}% from {} ns",
            sample.cpu_ns
        );
        assert!(process_tree(me).contains(&me));
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
        let found = app_processes(leader.id());
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
