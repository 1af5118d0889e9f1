//! Cgroup v2 confinement: each app runs in a cgroup of its own under the
//! daemon's, so a stop can kill every process the app started, also those
//! that left its process tree, group and session (`setsid` daemons).
//!
//! Layout: `<daemon's cgroup>/pm2-<pid>-<start time>-<random>/<pm_id>/<launch>`.
//! The pid alone is not unique: daemons in two containers sharing a cgroup
//! tree each see their own pid namespace. The daemon holds a `flock` on its
//! cgroup's directory while it lives: a new daemon removes the empty cgroups
//! of the daemons whose lock is free (they died without a shutdown), whatever
//! namespace they ran in, and never those of a live one. The app's
//! cgroup outlives a crash, so a later stop still finds what the crashed
//! launch left behind; each launch gets a leaf of its own, so removing a
//! stopped launch's leaf in the background never removes the next launch's
//! leaf before its child has moved in.
//!
//! Usable only where cgroup v2 is delegated to the daemon (it may create
//! cgroups under its own and move processes into them) and the kernel has
//! `cgroup.kill` (5.14); elsewhere (and on macOS) the daemon does without.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The daemon's cgroup for its apps, `<daemon's cgroup>/pm2-<pid>-<start>-<random>`.
#[derive(Debug)]
pub struct AppCgroups {
    dir: PathBuf,
    /// The directory, open and locked for as long as the daemon lives.
    _owner: OwnedFd,
}

/// How long a stopped app's cgroup may take to empty before it is left in place.
const RELEASE_PATIENCE: Duration = Duration::from_secs(10);
/// How long shutdown waits for the last cgroups to empty.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(2);

impl AppCgroups {
    /// Creates the daemon's cgroup under the one it runs in, or says why it cannot.
    pub fn create() -> Result<AppCgroups, String> {
        if !cfg!(target_os = "linux") {
            return Err("cgroups exist on Linux only".into());
        }
        let own =
            std::fs::read("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
        let own = unified_path(&own).ok_or("no cgroup v2 hierarchy")?;
        let mounts = std::fs::read("/proc/self/mountinfo")
            .map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
        let base = cgroup2_dir(&mounts, &own).ok_or("cgroup v2 is not mounted")?;
        AppCgroups::create_under(&base)
    }

    /// Creates and locks a cgroup of a new name under the cgroup `base`,
    /// after removing the empty ones of daemons gone.
    fn create_under(base: &Path) -> Result<AppCgroups, String> {
        // Moving a child out of `base` needs write access to `base`'s cgroup.procs.
        writable(&base.join("cgroup.procs"))
            .map_err(|e| format!("{}/cgroup.procs: {e}", base.display()))?;
        remove_stale(base);
        let mut attempts = 0;
        let cgroups = loop {
            attempts += 1;
            let dir = base.join(own_name());
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 10 => continue,
                Err(e) => return Err(format!("cannot create a cgroup in {}: {e}", base.display())),
            }
            // Another daemon's sweep may lock or remove the directory between
            // its creation and our lock: then it is not ours, take another.
            match lock_owned(&dir) {
                Some(owner) => break AppCgroups { dir, _owner: owner },
                None if attempts < 10 => continue,
                None => return Err(format!("cannot lock a cgroup in {}", base.display())),
            }
        };
        if !cgroups.dir.join("cgroup.kill").exists() {
            let _ = std::fs::remove_dir(&cgroups.dir);
            return Err("the kernel has no cgroup.kill (before 5.14)".into());
        }
        Ok(cgroups)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The locked descriptor of the directory, which an exec of the daemon
    /// in place hands over (the lock goes with it).
    pub fn owner_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self._owner.as_raw_fd()
    }

    /// The cgroup of the daemon this one replaced in place, still locked
    /// through `owner`.
    pub fn adopt(dir: PathBuf, owner: OwnedFd) -> AppCgroups {
        AppCgroups { dir, _owner: owner }
    }

    fn app_dir(&self, pm_id: u64) -> PathBuf {
        self.dir.join(pm_id.to_string())
    }

    /// Creates the cgroup of one launch of app `pm_id` and opens its
    /// directory, for the child to start in (see `os::fork`).
    pub fn launch_dir(&self, pm_id: u64, launch: u64) -> io::Result<OwnedFd> {
        let leaf = self.app_dir(pm_id).join(launch.to_string());
        let mut attempts = 0;
        // A background release may remove the app's cgroup between the two
        // mkdirs of create_dir_all: then create it again.
        while let Err(e) = std::fs::create_dir_all(&leaf) {
            attempts += 1;
            if e.kind() != io::ErrorKind::NotFound || attempts == 3 {
                return Err(e);
            }
        }
        Ok(std::fs::File::open(&leaf)?.into())
    }

    /// Every process in the cgroups of app `pm_id`.
    pub fn pids(&self, pm_id: u64) -> Vec<u32> {
        let mut pids = Vec::new();
        collect_pids(&self.app_dir(pm_id), &mut pids);
        pids
    }

    /// Every process in the cgroup of one launch of app `pm_id`.
    pub fn launch_pids(&self, pm_id: u64, launch: u64) -> Vec<u32> {
        let mut pids = Vec::new();
        collect_pids(&self.app_dir(pm_id).join(launch.to_string()), &mut pids);
        pids
    }

    /// SIGKILLs every process in the cgroup of one launch of app `pm_id`
    /// (the old process of a reload, while the new one runs).
    pub fn kill_launch(&self, pm_id: u64, launch: u64) {
        let leaf = self.app_dir(pm_id).join(launch.to_string());
        let _ = std::fs::write(leaf.join("cgroup.kill"), "1");
    }

    /// SIGKILLs every process in the cgroups of app `pm_id`, in one step that
    /// also catches the children they fork meanwhile.
    pub fn kill(&self, pm_id: u64) {
        let _ = std::fs::write(self.app_dir(pm_id).join("cgroup.kill"), "1");
    }

    /// Removes the cgroups of the launches of app `pm_id` up to `launch`, and
    /// the app's cgroup once no launch is left: now if they are empty, else in
    /// the background as their processes go (killed ones take a moment).
    pub fn release(&self, pm_id: u64, launch: u64) {
        let app = self.app_dir(pm_id);
        if remove_launches(&app, launch) {
            return;
        }
        tokio::spawn(async move {
            let deadline = Instant::now() + RELEASE_PATIENCE;
            let mut pause = Duration::from_millis(5);
            while Instant::now() < deadline {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
                if remove_launches(&app, launch) {
                    return;
                }
            }
        });
    }

    /// Removes the cgroups of the launches of app `pm_id` up to `launch` that
    /// are empty now; those with processes stay.
    pub fn remove_empty(&self, pm_id: u64, launch: u64) {
        remove_launches(&self.app_dir(pm_id), launch);
    }

    /// Removes the daemon's cgroup once the apps are stopped. Cgroups still
    /// in use (processes of `treekill: false` apps) are left as they are.
    pub async fn remove(&self) {
        let deadline = Instant::now() + SHUTDOWN_PATIENCE;
        let mut pause = Duration::from_millis(5);
        while remove_tree(&self.dir).is_err() && Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

/// `pm2-<pid>-<start time>-<random>`: unique among daemons in any namespace,
/// and it tells when and by which process the cgroup was made.
fn own_name() -> String {
    let start = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let (_, rest) = s.rsplit_once(')')?;
            // Field 22, the 20th after the command: start time in clock ticks since boot.
            rest.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_else(|| "0".into());
    // std seeds each RandomState from the system's entropy source: a random
    // number on every platform, without a crate or unsafe code.
    let random = {
        use std::hash::{BuildHasher, Hasher};
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish() as u32
    };
    format!("pm2-{}-{start}-{:08x}", std::process::id(), random)
}

/// Opens `dir` and takes its lock without waiting; `None` when another
/// process holds it.
fn try_lock(dir: &Path) -> Option<OwnedFd> {
    let fd: OwnedFd = std::fs::File::open(dir).ok()?.into();
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    (r == 0).then_some(fd)
}

/// Locks the cgroup `dir` just made, and checks that the path still names
/// the directory locked (not removed meanwhile by another daemon's sweep).
fn lock_owned(dir: &Path) -> Option<OwnedFd> {
    use std::os::unix::fs::MetadataExt;
    let fd = try_lock(dir)?;
    let file = std::fs::File::from(fd);
    let (locked, now) = (file.metadata().ok()?, std::fs::metadata(dir).ok()?);
    (locked.ino() == now.ino() && locked.dev() == now.dev()).then(|| file.into())
}

/// Whether a `pm2-*` name is of a daemon that locks its cgroup (see
/// [`own_name`]). Older names (`pm2-<pid>`, `pm2-<pid>-<n>`) say nothing
/// reliable about their owner, so their cgroups are left alone.
fn is_locking_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("pm2-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    matches!(parts.as_slice(), [pid, start, random]
        if pid.parse::<u32>().is_ok()
            && start.parse::<u64>().is_ok()
            && random.len() == 8
            && random.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Removes the cgroups that daemons now gone left under `base` (killed
/// outright, or in-process daemons ended with their host script): those
/// whose lock is free. Cgroups that still hold processes stay (rmdir
/// refuses them); a live daemon's cgroup is locked and stays, empty or not.
fn remove_stale(base: &Path) {
    for dir in subdirs(base) {
        let locking = dir
            .file_name()
            .and_then(OsStr::to_str)
            .is_some_and(is_locking_name);
        if !locking {
            continue;
        }
        // Held while removing, so a daemon starting now cannot take it over.
        if let Some(_lock) = try_lock(&dir) {
            let _ = remove_tree(&dir);
        }
    }
}

/// `path` is writable by this process (effective ids, as the kernel checks).
fn writable(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a NUL-terminated path and plain flags.
    let r = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn collect_pids(dir: &Path, pids: &mut Vec<u32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        // Processes outside the daemon's PID namespace read as 0.
        pids.extend(
            text.lines()
                .filter_map(|l| l.parse::<u32>().ok())
                .filter(|&p| p > 0),
        );
    }
    for sub in subdirs(dir) {
        collect_pids(&sub, pids);
    }
}

/// Removes the cgroup `dir` and those under it, deepest first (rmdir only:
/// a cgroup's files go with it). Gone already counts as removed.
fn remove_tree(dir: &Path) -> io::Result<()> {
    for sub in subdirs(dir) {
        remove_tree(&sub)?;
    }
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Removes the launch cgroups numbered up to `launch` under `app`, then `app`
/// itself when no launch is left. True when they are all gone.
fn remove_launches(app: &Path, launch: u64) -> bool {
    let mut done = true;
    for leaf in subdirs(app) {
        let ended = leaf
            .file_name()
            .and_then(OsStr::to_str)
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n <= launch);
        if ended && remove_tree(&leaf).is_err() {
            done = false;
        }
    }
    // Busy while a newer launch has a cgroup there: that one stays.
    match std::fs::remove_dir(app) {
        Ok(()) => done,
        Err(e) if e.kind() == io::ErrorKind::NotFound => done,
        Err(_) => false,
    }
}

/// The cgroup v2 path in `/proc/self/cgroup` (its `0::<path>` line).
fn unified_path(proc_cgroup: &[u8]) -> Option<OsString> {
    proc_cgroup
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"0::"))
        .filter(|p| p.starts_with(b"/"))
        .map(|p| OsString::from_vec(p.to_vec()))
}

/// The directory of the cgroup `own` in a cgroup2 mount listed in
/// `/proc/self/mountinfo`: the mount point plus `own` below the mount's root.
fn cgroup2_dir(mountinfo: &[u8], own: &OsStr) -> Option<PathBuf> {
    mountinfo.split(|&b| b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        // `id parent dev root mount-point options [optional…] - fstype source super-options`
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        let mut fields = left.split(' ');
        let root = unescape(fields.nth(3)?);
        let mount_point = unescape(fields.next()?);
        let below = Path::new(own).strip_prefix(Path::new(&root)).ok()?;
        Some(PathBuf::from(mount_point).join(below))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space and so on).
fn unescape(field: &str) -> OsString {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_line_among_v1_lines() {
        let text = b"9:name=systemd:/\n4:memory:/a/b\n0::/user.slice/app.scope\n";
        assert_eq!(
            unified_path(text),
            Some(OsString::from("/user.slice/app.scope"))
        );
        assert_eq!(unified_path(b"4:memory:/a\n1:cpu:/\n"), None);
    }

    #[test]
    fn places_the_cgroup_under_the_cgroup2_mount() {
        let mountinfo = b"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_dir(mountinfo, OsStr::new("/")),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_dir(mountinfo, OsStr::new("/a/b")),
            Some(PathBuf::from("/sys/fs/cgroup/unified/a/b"))
        );
    }

    #[test]
    fn strips_a_mount_root_and_skips_mounts_that_do_not_hold_the_cgroup() {
        let mountinfo = b"50 1 0:40 /other /elsewhere rw - cgroup2 cgroup2 rw\n\
51 1 0:40 /box /sys/fs/cgroup\\040x rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_dir(mountinfo, OsStr::new("/box/svc")),
            Some(PathBuf::from("/sys/fs/cgroup x/svc"))
        );
        assert_eq!(cgroup2_dir(mountinfo, OsStr::new("/nope")), None);
        assert_eq!(
            cgroup2_dir(b"1 0 0:1 / / rw - ext4 /dev/sda rw\n", OsStr::new("/")),
            None
        );
    }

    #[test]
    fn unescapes_octal_sequences() {
        assert_eq!(unescape(r"a\040b\134c\011"), OsString::from("a b\\c\t"));
        assert_eq!(unescape(r"trailing\04"), OsString::from(r"trailing\04"));
    }

    #[test]
    fn refuses_a_directory_that_is_not_a_cgroup() {
        let dir = std::env::temp_dir().join(format!("pm2-not-a-cgroup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cgroup.procs"), "").unwrap();
        let made = AppCgroups::create_under(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let err = made.expect_err("a plain directory has no cgroup.kill");
        assert!(err.contains("cgroup.kill"), "{err}");
    }

    #[test]
    fn releases_only_launches_up_to_the_given_one() {
        let app = std::env::temp_dir().join(format!("pm2-launches-{}", std::process::id()));
        for launch in ["1", "2", "3"] {
            std::fs::create_dir_all(app.join(launch)).unwrap();
        }
        assert!(!remove_launches(&app, 2), "launch 3 keeps the app's cgroup");
        assert_eq!(subdirs(&app), vec![app.join("3")]);
        assert!(remove_launches(&app, 3));
        assert!(!app.exists());
        assert!(remove_launches(&app, 3), "gone already counts as removed");
    }

    /// A child that moves itself into `procs` the way `child.rs` does, then
    /// double-forks a `setsid` process; returns the child and that process's pid.
    /// Starts, in the cgroup `dir`, a shell that leaves a `setsid` process
    /// behind; returns the shell and the escaped process's pid.
    async fn spawn_into(dir: &OwnedFd) -> (crate::child::Child, u32) {
        use std::os::fd::AsRawFd;
        use tokio::io::AsyncBufReadExt;
        let (_keep, passed) = std::os::unix::net::UnixStream::pair().unwrap();
        let argv = [
            "sh",
            "-c",
            "sh -c 'setsid sleep 30 & echo $!'; exec sleep 30",
        ]
        .map(String::from);
        let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
        let mut child = crate::child::spawn(&crate::child::Command {
            program: Path::new("/bin/sh"),
            argv: &argv,
            env: &env,
            cwd: None,
            channel_fd: passed.as_raw_fd(),
            die_with_parent: false,
            cgroup: Some(dir.as_raw_fd()),
            label: "sh".into(),
        })
        .unwrap();
        let mut line = String::new();
        tokio::io::BufReader::new(&mut child.stdout)
            .read_line(&mut line)
            .await
            .unwrap();
        (child, line.trim().parse().unwrap())
    }

    fn gone(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(s) => s
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.starts_with(" Z")),
        }
    }

    /// Runs where the test process may create cgroups (root with cgroup v2
    /// mounted, or a delegated subtree); says so and passes elsewhere.
    #[tokio::test]
    async fn kills_an_escaped_process_and_removes_the_cgroups() {
        let cgroups = match AppCgroups::create() {
            Ok(c) => c,
            Err(why) => {
                eprintln!("skipped: no usable cgroup v2 here ({why})");
                return;
            }
        };
        let dir = cgroups.launch_dir(7, 1).unwrap();
        let (child, escaped) = spawn_into(&dir).await;
        drop(dir);
        // The middle shell may not have exited yet: it may be listed too.
        let members = cgroups.pids(7);
        let in_cgroup = members.contains(&child.pid) && members.contains(&escaped);
        cgroups.kill(7);
        let child_pid = child.pid;
        child.exit.wait().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone(escaped) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let escaped_gone = gone(escaped);
        cgroups.release(7, 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while cgroups.dir().join("7").exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let app_removed = !cgroups.dir().join("7").exists();
        cgroups.remove().await;
        assert!(in_cgroup, "{child_pid} and {escaped} in {members:?}");
        assert!(
            escaped_gone,
            "the setsid process {escaped} survived cgroup.kill"
        );
        assert!(app_removed);
        assert!(!cgroups.dir().exists());
    }

    #[test]
    fn names_are_unique_and_say_they_are_locked() {
        let (a, b) = (own_name(), own_name());
        assert_ne!(a, b);
        assert!(is_locking_name(&a), "{a}");
        assert!(
            a.starts_with(&format!("pm2-{}-", std::process::id())),
            "{a}"
        );
        for old in [
            "pm2-12",
            "pm2-12-3",
            "pm2-x-1-deadbeef",
            "pm2-1-2-xyz",
            "other",
        ] {
            assert!(!is_locking_name(old), "{old}");
        }
    }

    #[tokio::test]
    async fn removes_the_empty_cgroups_of_daemons_gone() {
        let Ok(live) = AppCgroups::create() else {
            eprintln!("skipped: no usable cgroup v2 here");
            return;
        };
        let base = live.dir().parent().unwrap().to_path_buf();
        // A daemon killed outright: its name, no lock.
        let stale = base.join("pm2-999999999-1-0badc0de");
        std::fs::create_dir_all(stale.join("0").join("1")).unwrap();
        // An older daemon's name: nothing tells whether it lives.
        let legacy = base.join("pm2-999999999-7");
        std::fs::create_dir_all(&legacy).unwrap();
        let next = AppCgroups::create().unwrap();
        let (stale_removed, legacy_kept, live_kept) =
            (!stale.exists(), legacy.exists(), live.dir().exists());
        let _ = remove_tree(&stale);
        let _ = remove_tree(&legacy);
        next.remove().await;
        live.remove().await;
        assert!(stale_removed);
        assert!(legacy_kept);
        assert!(live_kept, "an empty cgroup of a live daemon stays");
    }

    #[tokio::test]
    async fn a_second_daemon_in_the_process_gets_its_own_cgroup() {
        let Ok(first) = AppCgroups::create() else {
            eprintln!("skipped: no usable cgroup v2 here");
            return;
        };
        let second = AppCgroups::create().unwrap();
        let distinct = first.dir() != second.dir();
        first.remove().await;
        second.remove().await;
        assert!(distinct);
        assert!(!first.dir().exists() && !second.dir().exists());
    }
}
