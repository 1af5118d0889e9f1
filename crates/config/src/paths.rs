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

/// Writes `path` through a temp file in the same directory, fsynced, then renamed,
/// so a reader sees either the old or the new content, never half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

use std::os::unix::fs::OpenOptionsExt;

#[cfg(test)]
mod tests {
    use super::*;

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
