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
