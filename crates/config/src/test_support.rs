//! Scratch directories and contexts for the unit tests.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::{Paths, ResolveContext};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("pm2-config-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    /// Writes `rel` (creating its folders) and returns its absolute path.
    pub fn file(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.path.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }

    pub fn executable(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.file(rel, content);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A context rooted in `tmp`: cwd = tmp, PM2_HOME = tmp/home, HOME = tmp/user,
/// and PATH = tmp/bin holding fake executables named `on_path`.
pub(crate) fn ctx_with_path(tmp: &TempDir, on_path: &[&str]) -> ResolveContext {
    let bin = tmp.path.join("bin");
    fs::create_dir_all(&bin).unwrap();
    for name in on_path {
        tmp.executable(&format!("bin/{name}"), "#!/bin/sh\n");
    }
    ResolveContext {
        cwd: tmp.path.clone(),
        paths: Paths::new(tmp.path.join("home")),
        client_env: crate::ClientEnv::from([
            ("PATH".to_string(), path_str(&bin)),
            ("HOME".to_string(), path_str(&tmp.path.join("user"))),
        ]),
        env_name: None,
        module_conf: json!({}),
        cpus: 4,
    }
}

pub(crate) fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}
