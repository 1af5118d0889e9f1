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
mod tests;
