//! Who besides the owner can reach what the daemon keeps in `PM2_HOME`.
//!
//! Anyone who can connect to `rpc.sock` can read every app's environment and
//! run commands as the daemon's user, and anyone who can read the logs reads
//! every app's output. The daemon creates all of it private (home 0700,
//! sockets 0770, logs 0640), but an existing home, or a file changed by
//! hand, may be open to every user: that is said in `pm2.log` at start and in
//! `pm2 report`, with the command that closes it. The same for the web
//! interface's token, and for a web interface that shows the apps' env
//! beyond this machine.

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
    const SOCKET_RISK: &str =
        ": whoever connects can read every app's env and run commands as this user";
    // Each place, what being open to others exposes, and the mode that closes it.
    let places: [(&Path, &str, &str); 5] = [
        (
            &paths.home,
            ": they can read the apps' logs and dump",
            "700",
        ),
        (&paths.rpc_sock, SOCKET_RISK, "770"),
        (&paths.pub_sock, SOCKET_RISK, "770"),
        (&paths.logs_dir, "", "700"),
        (&paths.pids_dir, "", "700"),
    ];
    let mut out: Vec<String> = places
        .iter()
        .filter_map(|(path, risk, fix)| {
            let m = mode(path).filter(|m| m & OTHERS != 0)?;
            let (what, path) = if *path == paths.home.as_path() {
                ("PM2_HOME ", path.display())
            } else {
                ("", path.display())
            };
            Some(format!(
                "{what}{path} is open to other users (mode {m:o}){risk}; run: chmod {fix} {path}"
            ))
        })
        .collect();
    let readable_logs: Vec<String> = std::fs::read_dir(&paths.logs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .chain(
            std::fs::read_dir(&paths.home)
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
    let token = crate::web::token::file(paths);
    if let Some(m) = mode(&token).filter(|m| m & 0o077 != 0) {
        out.push(format!(
            "{} is readable by users other than the owner (mode {m:o}): whoever reads it can open the web dashboard (and act on the apps) and read every app's env through `pm2 web --env`; run: pm2 web --new-token",
            token.display()
        ));
    }
    if let Some(web) = crate::web::saved(paths).filter(|w| w.env && !loopback(&w.host)) {
        out.push(format!(
            "the web interface shows the apps' env on {}:{}, beyond this machine, over plain HTTP (the token crosses the network readable); run `pm2 web {} --host {}` without --env, or bind it to 127.0.0.1",
            web.host, web.port, web.port, web.host
        ));
    }
    if !readable_logs.is_empty() {
        out.push(format!(
            "{} log file(s) are readable by every user (e.g. {}); run: chmod o-rwx on them",
            readable_logs.len(),
            readable_logs[0]
        ));
    }
    out
}

fn loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
        fs::remove_file(paths.logs_dir.join("a-out.log")).unwrap();

        let token = crate::web::token::file(&paths);
        fs::write(&token, "x").unwrap();
        fs::set_permissions(&token, fs::Permissions::from_mode(0o640)).unwrap();
        let w = warnings(&paths);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("web.token is readable") && w[0].contains("--new-token"));
        fs::remove_file(&token).unwrap();

        fs::write(
            home.join("web.json"),
            r#"{"host":"0.0.0.0","port":9615,"env":true}"#,
        )
        .unwrap();
        let w = warnings(&paths);
        assert!(
            w.len() == 1 && w[0].contains("shows the apps' env on 0.0.0.0:9615"),
            "{w:?}"
        );
        fs::write(
            home.join("web.json"),
            r#"{"host":"127.0.0.1","port":9615,"env":true}"#,
        )
        .unwrap();
        assert_eq!(warnings(&paths), Vec::<String>::new());
        fs::remove_dir_all(&home).unwrap();
    }
}
