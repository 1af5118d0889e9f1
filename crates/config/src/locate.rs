//! Finding things on disk the way a shell would: `~` expansion, paths relative to
//! a working directory, `which` over the client's PATH, and telling binaries from
//! scripts.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::ResolveContext;

/// The client's view of the file system: its PATH and its home directory.
pub(crate) struct Lookup {
    path_var: Option<OsString>,
    home: Option<PathBuf>,
}

impl Lookup {
    /// Uses the client's PATH and HOME; falls back to this process's own when the
    /// caller passed an environment without them.
    pub(crate) fn new(ctx: &ResolveContext) -> Lookup {
        let var = |name: &str| {
            ctx.client_env
                .get(name)
                .map(OsString::from)
                .or_else(|| std::env::var_os(name))
        };
        Lookup {
            path_var: var("PATH"),
            home: var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        }
    }

    /// `~` or `~/x` → the home directory; `base`-relative paths → absolute, normalised.
    pub(crate) fn resolve(&self, base: &Path, path: &str) -> PathBuf {
        let expanded = match (path.strip_prefix('~'), &self.home) {
            (Some(""), Some(home)) => home.clone(),
            (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
            _ => PathBuf::from(path),
        };
        absolute(base, &expanded)
    }

    /// Like `which`: a name with a slash is taken as a path from `base`; a bare name
    /// is searched in PATH for an executable file.
    pub(crate) fn which(&self, name: &str, base: &Path) -> Option<PathBuf> {
        if name.is_empty() {
            return None;
        }
        if name.contains('/') {
            let path = self.resolve(base, name);
            return is_executable(&path).then_some(path);
        }
        let dirs = self.path_var.as_ref()?;
        std::env::split_paths(dirs)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| absolute(base, &dir.join(name)))
            .find(|candidate| is_executable(candidate))
    }
}

/// `path` made absolute against `base`, with `.` and `..` folded away (no symlinks
/// followed), as Node's `path.resolve` does.
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a file is a compiled program rather than a text script: an executable
/// format's magic number, a NUL byte, or mostly control characters in its first KiB.
pub(crate) fn is_binary(path: &Path) -> bool {
    let mut head = Vec::with_capacity(1024);
    let Ok(file) = fs::File::open(path) else {
        return false;
    };
    if file.take(1024).read_to_end(&mut head).is_err() || head.is_empty() {
        return false;
    }
    const MAGICS: &[&[u8]] = &[
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    if MAGICS.iter().any(|m| head.starts_with(m)) || head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x08 | 0x1b))
        .count();
    control * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx_with_path, TempDir};

    #[test]
    fn absolute_folds_dots_like_path_resolve() {
        let base = Path::new("/srv/app");
        assert_eq!(
            absolute(base, Path::new("a/../b/./c.js")),
            Path::new("/srv/app/b/c.js")
        );
        assert_eq!(absolute(base, Path::new("/etc/x")), Path::new("/etc/x"));
        assert_eq!(absolute(base, Path::new("../../../..")), Path::new("/"));
    }

    #[test]
    fn tilde_expands_to_the_client_home() {
        let tmp = TempDir::new();
        let mut ctx = ctx_with_path(&tmp, &[]);
        ctx.client_env.insert("HOME".into(), "/home/me".into());
        let lookup = Lookup::new(&ctx);
        assert_eq!(
            lookup.resolve(Path::new("/x"), "~/logs/a.log"),
            Path::new("/home/me/logs/a.log")
        );
        assert_eq!(lookup.resolve(Path::new("/x"), "~"), Path::new("/home/me"));
        assert_eq!(
            lookup.resolve(Path::new("/x"), "~other/a"),
            Path::new("/x/~other/a")
        );
    }

    #[test]
    fn which_finds_executables_in_path_only() {
        let tmp = TempDir::new();
        let ctx = ctx_with_path(&tmp, &["tool"]);
        tmp.file("bin/notexec", "x");
        let lookup = Lookup::new(&ctx);
        assert_eq!(
            lookup.which("tool", &tmp.path),
            Some(tmp.path.join("bin/tool"))
        );
        assert_eq!(lookup.which("notexec", &tmp.path), None);
        assert_eq!(lookup.which("missing", &tmp.path), None);
        assert_eq!(
            lookup.which("./bin/tool", &tmp.path),
            Some(tmp.path.join("bin/tool"))
        );
    }

    #[test]
    fn binaries_are_told_from_scripts() {
        let tmp = TempDir::new();
        let elf = tmp.file("prog", "\x7fELF\x02\x01\x01");
        let nul = tmp.file("data", "ab\0cd");
        let script = tmp.file("run", "#!/bin/sh\necho hi\n");
        let utf8 = tmp.file("text", "console.log('héllo ✓')\n");
        assert!(is_binary(&elf) && is_binary(&nul));
        assert!(!is_binary(&script) && !is_binary(&utf8));
        assert!(!is_binary(&tmp.path.join("missing")));
        assert!(!is_binary(&tmp.path));
    }
}
