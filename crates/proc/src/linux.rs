//! Linux: `/proc/<pid>/stat`, `/proc/<pid>/cmdline`, `/proc/meminfo`.

use crate::{Memory, Stat};
use std::io::Read;

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

/// Reads `/proc/<pid>/stat` with a single read into a stack buffer: a /proc
/// scan does this for every process, so it avoids the size probe and the
/// growing reads of `read_to_string` (/proc files report a size of 0).
pub fn stat(pid: u32) -> Option<Stat> {
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
    // Fields after the name, counted from 0: state (0), ppid (1), pgrp (2),
    // session (3), …, utime (11), stime (12), …, rss (21).
    let state = fields.next()?;
    let mut nth = |n: usize| fields.nth(n)?.parse::<u64>().ok();
    let ppid = nth(0)?;
    let pgrp = nth(0)?;
    let session = nth(0)?;
    let utime = nth(7)?;
    let stime = nth(0)?;
    let rss_pages = nth(8)?;
    Some(Stat {
        ppid: ppid as u32,
        pgrp: pgrp as u32,
        session: session as u32,
        cpu_ns: (utime + stime).saturating_mul(1_000_000_000) / clock_ticks(),
        rss: rss_pages * page_size(),
        exited: matches!(state, "Z" | "X"),
    })
}

pub fn pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .collect()
}

pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/cmdline")).ok()
}

pub fn memory() -> Memory {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = |key: &str| {
        meminfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Memory {
        total: kb("MemTotal:"),
        available: kb("MemAvailable:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    cpu_ns: 17 * 1_000_000_000 / clock_ticks(),
                    rss: 3 * page_size(),
                    exited: false,
                }),
                "name {name:?}"
            );
        }
        assert_eq!(parse_stat(b"42 (no closing paren S 1 2 3"), None);
        assert_eq!(parse_stat(b"42 (short) S 1"), None);
        let zombie = b"42 (z) Z 7 40 40 0 -1 4194560 100 0 0 0 12 5 0 0 20 0 1 0 900 1000 3 1";
        assert!(parse_stat(zombie).unwrap().exited);
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
}
