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

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// What one read of `/proc/<pid>/stat` tells about a process.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub ppid: u32,
    /// User + system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size in bytes.
    pub rss: u64,
}

/// Reads `/proc/<pid>/stat` with a single read into a stack buffer: `list`
/// does this for every process, so it avoids the size probe and the growing
/// reads of `read_to_string` (/proc files report a size of 0).
pub fn stat(pid: u32) -> Option<Stat> {
    use std::io::Read;
    let mut buf = [0u8; 2048];
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let len = file.read(&mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    // The command name (2nd field) may hold spaces and parentheses: skip past its last `)`.
    let mut fields = text[text.rfind(')')? + 2..].split_ascii_whitespace();
    let mut nth = |n: usize| fields.nth(n)?.parse::<u64>().ok();
    // Fields after the name, counted from 0: state, ppid, …, utime (11), stime (12), …, rss (21).
    let ppid = nth(1)?;
    let utime = nth(9)?;
    let stime = nth(0)?;
    let rss_pages = nth(8)?;
    Some(Stat {
        ppid: ppid as u32,
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

/// `pid` and all its descendants, deepest first, from one scan of `/proc`.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            if let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            {
                if let Some(st) = stat(p) {
                    parents.push((p, st.ppid));
                }
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let cur = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    tree.reverse();
    tree
}

/// Sends `signal` to `pid` and, with `tree`, to all its descendants first.
pub fn signal_tree(pid: u32, signal: nix::sys::signal::Signal, tree: bool) {
    let targets = if tree { process_tree(pid) } else { vec![pid] };
    for p in targets {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p as i32), signal);
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
    fn parses_signal_names() {
        use nix::sys::signal::Signal;
        assert_eq!(parse_signal("SIGINT"), Some(Signal::SIGINT));
        assert_eq!(parse_signal("usr2"), Some(Signal::SIGUSR2));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGNOPE"), None);
    }
}
