//! The layout of `PM2_HOME`, shared by the daemon, the CLI and the addon.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    pub home: PathBuf,
    pub rpc_sock: PathBuf,
    pub pub_sock: PathBuf,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
    pub logs_dir: PathBuf,
    pub pids_dir: PathBuf,
    pub modules_dir: PathBuf,
    pub module_conf: PathBuf,
    pub dump_file: PathBuf,
    pub dump_backup: PathBuf,
}

impl Paths {
    /// `PM2_HOME`, else `~/.pm2`, else `/etc/.pm2` when there is no home directory.
    pub fn from_env() -> Paths {
        let home = std::env::var_os("PM2_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".pm2"))
            })
            .unwrap_or_else(|| PathBuf::from("/etc/.pm2"));
        Paths::new(home)
    }

    pub fn new(home: impl Into<PathBuf>) -> Paths {
        let home = home.into();
        let file = |name: &str| home.join(name);
        let over = |var: &str, default: PathBuf| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default)
        };
        Paths {
            rpc_sock: file("rpc.sock"),
            pub_sock: file("pub.sock"),
            pid_file: over("PM2_PID_FILE_PATH", file("pm2.pid")),
            log_file: over("PM2_LOG_FILE_PATH", file("pm2.log")),
            logs_dir: over("PM2_DEFAULT_LOG_PATH", file("logs")),
            pids_dir: file("pids"),
            modules_dir: file("modules"),
            module_conf: file("module_conf.json"),
            dump_file: over("PM2_DUMP_FILE_PATH", file("dump.pm2")),
            dump_backup: file("dump.pm2.bak"),
            home,
        }
    }

    /// Creates `PM2_HOME` (mode 0700), `logs/`, `pids/`, `modules/` and an empty
    /// `module_conf.json`, as PM2's client does before connecting.
    pub fn init_file_structure(&self) -> io::Result<()> {
        if !self.home.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.home)?;
            fs::set_permissions(&self.home, fs::Permissions::from_mode(0o700))?;
        }
        for dir in [&self.logs_dir, &self.pids_dir, &self.modules_dir] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        if !self.module_conf.exists() {
            write_atomic(&self.module_conf, b"{}")?;
        }
        Ok(())
    }
}

impl Paths {
    /// The pid of a live daemon serving this `PM2_HOME`, from `pm2.pid`.
    ///
    /// A daemon can be alive without answering on `rpc.sock` (its socket was
    /// removed, or it is busy starting): the pid file and the process itself
    /// tell, so no second daemon is started beside it. A stale file, a reused
    /// pid (another program), a zombie and this very process do not count.
    pub fn live_daemon_pid(&self) -> Option<i32> {
        let text = crate::safe_fs::read_limited(&self.pid_file, 64).ok()?;
        let pid = std::str::from_utf8(&text)
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()?;
        if pid <= 0 || pid as u32 == std::process::id() {
            return None;
        }
        if pm2_proc::stat(pid as u32)?.exited {
            return None;
        }
        let cmdline = pm2_proc::cmdline(pid as u32)?;
        let is_daemon = |needle: &[u8]| cmdline.windows(needle.len()).any(|w| w == needle);
        // Ours, or PM2's own Node daemon ("PM2 vX: God Daemon (<home>)").
        (is_daemon(b"pm2-daemon") || is_daemon(b"God Daemon")).then_some(pid)
    }
}

/// Writes `path` through a temp file in the same directory, fsynced, then renamed,
/// so a reader sees either the old or the new content, never half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // One temp file per write: concurrent writers in one process (API calls
    // of require('pm2')) must not write into each other's.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.partial", std::process::id()));
    write_through(&tmp, path, bytes)
}

/// Writes `bytes` to `tmp`, a fresh file of mode 0600, then renames it to `path`.
fn write_through(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    // A leftover of an earlier process with the same pid would keep its own
    // mode (maybe readable by all) if it were opened in place: it goes, and
    // the temp file is created anew.
    let _ = fs::remove_file(tmp);
    let written = (|| {
        // O_EXCL (which implies not following a link) | O_NONBLOCK: whatever
        // appears at the temp path meanwhile fails the open instead of
        // hanging it, redirecting it or lending it its mode.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(tmp, path)
    })();
    // A full disk or any other failure leaves no partial file behind.
    if written.is_err() {
        let _ = fs::remove_file(tmp);
    }
    written
}

use std::os::unix::fs::OpenOptionsExt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leftover_temp_file_does_not_lend_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pm2-atomic-mode-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(".web.token.partial");
        fs::write(&tmp, "old").unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o666)).unwrap();
        let file = dir.join("web.token");
        write_through(&tmp, &file, b"secret").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"secret");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!tmp.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writes_in_one_process_leave_one_whole_file() {
        let dir = std::env::temp_dir().join(format!("pm2-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("dump.pm2");
        let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 1 << 20]).collect();
        std::thread::scope(|s| {
            for c in &contents {
                let file = &file;
                s.spawn(move || {
                    for _ in 0..4 {
                        write_atomic(file, c).unwrap();
                    }
                });
            }
        });
        let got = fs::read(&file).unwrap();
        assert!(
            contents.contains(&got),
            "the dump is one writer's whole content"
        );
        let left: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(left.len(), 1, "no temp file is left");
    }

    #[test]
    fn creates_a_private_home_with_its_folders_and_config() {
        let tmp = std::env::temp_dir().join(format!("pm2-paths-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let paths = Paths::new(tmp.join("home"));
        paths.init_file_structure().unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(paths.logs_dir.is_dir() && paths.pids_dir.is_dir() && paths.modules_dir.is_dir());
        assert_eq!(fs::read_to_string(&paths.module_conf).unwrap(), "{}");
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn a_pid_file_counts_only_for_a_live_daemon_process() {
        let tmp = std::env::temp_dir().join(format!("pm2-livepid-{}", std::process::id()));
        let paths = Paths::new(&tmp);
        paths.init_file_structure().unwrap();
        assert_eq!(paths.live_daemon_pid(), None, "no pid file");
        fs::write(&paths.pid_file, std::process::id().to_string()).unwrap();
        assert_eq!(paths.live_daemon_pid(), None, "this process");
        fs::write(&paths.pid_file, "4294967295").unwrap();
        assert_eq!(paths.live_daemon_pid(), None, "not a pid");
        // A live process that is not a daemon (a reused pid).
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        fs::write(&paths.pid_file, other.id().to_string()).unwrap();
        assert_eq!(paths.live_daemon_pid(), None, "sleep is no daemon");
        other.kill().unwrap();
        other.wait().unwrap();
        // A process whose command line says it is the daemon.
        let mut daemon = std::process::Command::new("sleep");
        std::os::unix::process::CommandExt::arg0(&mut daemon, "pm2-daemon");
        let mut daemon = daemon.arg("5").spawn().unwrap();
        let pid = daemon.id() as i32;
        fs::write(&paths.pid_file, pid.to_string()).unwrap();
        // exec has happened once /proc shows the new command line.
        let seen = (0..500).find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            paths.live_daemon_pid()
        });
        assert_eq!(seen, Some(pid));
        daemon.kill().unwrap();
        daemon.wait().unwrap();
        assert_eq!(paths.live_daemon_pid(), None, "gone");
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temp_file() {
        let tmp = std::env::temp_dir().join(format!("pm2-atomic-{}", std::process::id()));
        fs::create_dir_all(&tmp).unwrap();
        let f = tmp.join("dump.pm2");
        write_atomic(&f, b"[1]").unwrap();
        write_atomic(&f, b"[2]").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "[2]");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 1);
        fs::remove_dir_all(&tmp).unwrap();
    }
}
