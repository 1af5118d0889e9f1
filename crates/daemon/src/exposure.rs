//! Who besides the owner can reach what the daemon keeps in `PM2_HOME`.
//!
//! Anyone who can connect to `rpc.sock` can read every app's environment and
//! run commands as the daemon's user, and anyone who can read the logs reads
//! every app's output. The daemon creates all of it private (home 0700,
//! sockets 0770, logs 0640), but an existing home, or a file changed by
//! hand, may be open to every user: that is said in `pm2.log` at start and in
//! `pm2 report`, with the command that closes it.

use pm2_config::Paths;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Bits that let users other than the owner and the group in.
const OTHERS: u32 = 0o007;

fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// One line per place of `PM2_HOME` open to other users; empty when all is private.
pub fn warnings(paths: &Paths) -> Vec<String> {
    let mut out = Vec::new();
    let home = &paths.home;
    if let Some(m) = mode(home).filter(|m| m & OTHERS != 0) {
        out.push(format!(
            "PM2_HOME {} is open to other users (mode {m:o}): they can read the apps' logs and dump; run: chmod 700 {}",
            home.display(),
            home.display()
        ));
    }
    for sock in [&paths.rpc_sock, &paths.pub_sock] {
        if let Some(m) = mode(sock).filter(|m| m & OTHERS != 0) {
            out.push(format!(
                "{} is open to other users (mode {m:o}): whoever connects can read every app's env and run commands as this user; run: chmod 770 {}",
                sock.display(),
                sock.display()
            ));
        }
    }
    for dir in [&paths.logs_dir, &paths.pids_dir] {
        if let Some(m) = mode(dir).filter(|m| m & OTHERS != 0) {
            out.push(format!(
                "{} is open to other users (mode {m:o}); run: chmod 700 {}",
                dir.display(),
                dir.display()
            ));
        }
    }
    let readable_logs: Vec<String> = std::fs::read_dir(&paths.logs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .chain(
            std::fs::read_dir(home)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path() == paths.log_file),
        )
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.mode() & 0o004 != 0)
        })
        .map(|e| e.path().display().to_string())
        .collect();
    if !readable_logs.is_empty() {
        out.push(format!(
            "{} log file(s) are readable by every user (e.g. {}); run: chmod o-rwx on them",
            readable_logs.len(),
            readable_logs[0]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_private_home_gives_no_warning_and_an_open_one_is_named() {
        let home = std::env::temp_dir().join(format!("pm2-exposure-{}", std::process::id()));
        let _ = fs::remove_dir_all(&home);
        let paths = Paths::new(&home);
        paths.init_file_structure().unwrap();
        fs::write(paths.logs_dir.join("a-out.log"), "x").unwrap();
        fs::set_permissions(
            paths.logs_dir.join("a-out.log"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        assert_eq!(warnings(&paths), Vec::<String>::new());

        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(
            paths.logs_dir.join("a-out.log"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let w = warnings(&paths);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("is open to other users (mode 755)") && w[0].contains("chmod 700"),
            "{}",
            w[0]
        );
        assert!(w[1].contains("readable by every user"), "{}", w[1]);
        fs::remove_dir_all(&home).unwrap();
    }
}
