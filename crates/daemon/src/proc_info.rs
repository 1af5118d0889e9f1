//! What the kernel says about a process: memory, CPU time, children.

use std::time::Instant;

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// What one read of `/proc/<pid>/stat` tells about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// Session id: apps are started as session leaders, so this is the pid of
    /// the app a process belongs to, however it was forked.
    pub session: u32,
    /// User + system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size in bytes.
    pub rss: u64,
}

/// Reads `/proc/<pid>/stat` with a single read into a stack buffer: a /proc
/// scan does this for every process, so it avoids the size probe and the
/// growing reads of `read_to_string` (/proc files report a size of 0).
pub fn stat(pid: u32) -> Option<Stat> {
    use std::io::Read;
    let mut buf = [0u8; 2048];
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let len = file.read(&mut buf).ok()?;
    parse_stat(&buf[..len])
}

/// Parses a stat line as bytes: the command name (2nd field) is whatever the
/// process called itself, not necessarily UTF-8, and may hold spaces and
/// parentheses, so the fields are read after its last `)`.
fn parse_stat(line: &[u8]) -> Option<Stat> {
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(line.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let mut nth = |n: usize| fields.nth(n)?.parse::<u64>().ok();
    // Fields after the name, counted from 0: state, ppid (1), pgrp (2),
    // session (3), …, utime (11), stime (12), …, rss (21).
    let ppid = nth(1)?;
    let pgrp = nth(0)?;
    let session = nth(0)?;
    let utime = nth(7)?;
    let stime = nth(0)?;
    let rss_pages = nth(8)?;
    Some(Stat {
        ppid: ppid as u32,
        pgrp: pgrp as u32,
        session: session as u32,
        cpu_ticks: utime + stime,
        rss: rss_pages * page_size(),
    })
}

/// Resident set size in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.rss)
}

/// A CPU sample, kept between two `list` calls to turn ticks into a percentage.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    ticks: u64,
    at: Instant,
}

/// CPU use since the previous sample (or since `started` for the first), in
/// percent of one core, rounded to one decimal as PM2 shows it.
pub fn cpu_percent(ticks: u64, prev: Option<CpuSample>, started: Instant) -> (f64, CpuSample) {
    let now = Instant::now();
    let (base_ticks, base_at) = prev.map(|s| (s.ticks, s.at)).unwrap_or((0, started));
    let elapsed = now.duration_since(base_at).as_secs_f64();
    let used = ticks.saturating_sub(base_ticks) as f64 / clock_ticks() as f64;
    let pct = if elapsed > 0.0 {
        used / elapsed * 100.0
    } else {
        0.0
    };
    ((pct * 10.0).round() / 10.0, CpuSample { ticks, at: now })
}

/// Every process with its stat line, from one scan of `/proc`.
fn scan() -> Vec<(u32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
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

/// `pid` and all its descendants, deepest first, from one scan of `/proc`.
pub fn process_tree(pid: u32) -> Vec<u32> {
    tree_in(&scan(), pid)
}

/// The processes of the app whose main process is `pid`, from one scan of
/// `/proc`: its tree, deepest first, then the rest of the session it leads,
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
        let (pct, sample) = cpu_percent(stat(me).unwrap().cpu_ticks, None, t0);
        assert!(
            sample.ticks >= 1 && pct > 0.0,
            "{pct}% from {} ticks",
            sample.ticks
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
    fn parses_a_stat_line_whatever_the_name() {
        let fields =
            b" S 7 40 40 0 -1 4194560 100 0 0 0 12 5 0 0 20 0 1 0 900 1000 3 18446744073709551615";
        for name in [&b"sleep"[..], b"\xff\xfe", b"a) (b c) d", b")", b"x\n)"] {
            let mut line = b"42 (".to_vec();
            line.extend_from_slice(name);
            line.push(b')');
            line.extend_from_slice(fields);
            line.push(b'\n');
            assert_eq!(
                parse_stat(&line),
                Some(Stat {
                    ppid: 7,
                    pgrp: 40,
                    session: 40,
                    cpu_ticks: 17,
                    rss: 3 * page_size(),
                }),
                "name {name:?}"
            );
        }
        assert_eq!(parse_stat(b"42 (no closing paren S 1 2 3"), None);
        assert_eq!(parse_stat(b"42 (short) S 1"), None);
    }

    #[test]
    fn sees_a_process_whose_name_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let dir = std::env::temp_dir().join(format!("pm2-stat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/bin/sleep", &link).unwrap();
        let mut child = std::process::Command::new(&link).arg("5").spawn().unwrap();
        let raw = std::fs::read(format!("/proc/{}/stat", child.id())).unwrap();
        let st = stat(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(raw.windows(2).any(|w| w == b"\xff\xfe"), "{raw:?}");
        assert_eq!(st.map(|s| s.ppid), Some(std::process::id()));
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
