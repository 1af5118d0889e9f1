//! Unpacking a module tarball, which nobody vouches for, without ever writing
//! outside the folder it goes to.
//!
//! PM2 extracts with `tar zxf --strip-components 1`; GNU tar refuses what
//! would land elsewhere, and so does this, stricter still: the whole install
//! is refused (nothing kept) when one entry
//! - has an absolute path or a `..`,
//! - goes through a symlink, or is one already there,
//! - is a symlink pointing outside the tree, or a hard link to a file outside,
//! - or is something else than a file, a folder or a link.

use crate::error::{Error, Result};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

/// Extracts gzipped `file` into `dir` (created, must not exist), dropping
/// the archive's top folder (`module/` from `pm2 package`, `package/` from
/// `npm pack`). On error `dir` may hold part of the archive; the caller
/// removes it.
pub fn unpack(file: &Path, dir: &Path) -> Result<()> {
    let unreadable =
        |e: io::Error| Error::Usage(format!("{} is not a readable .tgz: {e}", file.display()));
    fs::create_dir(dir)?;
    let gz = flate2::read::GzDecoder::new(fs::File::open(file)?);
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        let raw = entry.path().map_err(unreadable)?.into_owned();
        let refused = |why: String| {
            Error::Usage(format!(
                "{}: refused entry {}: {why}; nothing was installed",
                file.display(),
                raw.display()
            ))
        };
        let Some(inner) = inside_path(&raw).map_err(refused)? else {
            continue; // the top folder itself
        };
        no_symlink_on(dir, &inner).map_err(refused)?;
        let target = dir.join(&inner);
        match kind {
            EntryType::Directory => {
                fs::create_dir_all(&target)?;
                continue;
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {}
            EntryType::Symlink => {
                let link = entry.link_name().map_err(unreadable)?.unwrap_or_default();
                symlink_stays_inside(&inner, &link).map_err(refused)?;
            }
            EntryType::Link => {
                let link = entry.link_name().map_err(unreadable)?.unwrap_or_default();
                let source = hard_link_source(dir, &link).map_err(refused)?;
                make_parent(&target)?;
                if target.is_file() {
                    fs::remove_file(&target)?;
                }
                fs::hard_link(&source, &target)?;
                continue;
            }
            other => {
                return Err(refused(format!(
                    "it is a {other:?}; a module holds only files, folders and links"
                )))
            }
        }
        make_parent(&target)?;
        entry.unpack(&target).map_err(unreadable)?;
    }
    Ok(())
}

/// The entry's path under the top folder: `None` for the top folder itself,
/// an error for an absolute path or one with `..`.
fn inside_path(raw: &Path) -> Result<Option<PathBuf>, String> {
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("its path has a `..`".into()),
            Component::RootDir | Component::Prefix(_) => return Err("its path is absolute".into()),
        }
    }
    let inner: PathBuf = parts.into_iter().skip(1).collect();
    Ok((!inner.as_os_str().is_empty()).then_some(inner))
}

/// Refuses `inner` when it, or a folder on its way from `dir`, is a symlink:
/// writing there would write wherever the link points.
fn no_symlink_on(dir: &Path, inner: &Path) -> Result<(), String> {
    let mut at = dir.to_path_buf();
    for c in inner.components() {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let shown = at.strip_prefix(dir).unwrap_or(&at);
                return Err(format!("it goes through the symlink {}", shown.display()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// A symlink at `inner` may point only inside the tree, written plainly:
/// relative, any `..` first (`../../lib/x`, never `a/../..`), and no higher
/// than the top. Since no entry goes through a symlink, every link then
/// resolves inside the tree, even through other links.
fn symlink_stays_inside(inner: &Path, link: &Path) -> Result<(), String> {
    let outside = || format!("it is a symlink to {}, outside the module", link.display());
    if link.as_os_str().is_empty() {
        return Err("it is a symlink to nothing".into());
    }
    let mut depth = inner.components().count() - 1;
    let mut descended = false;
    for c in link.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(_) => descended = true,
            Component::ParentDir if descended => {
                return Err(format!(
                    "it is a symlink to {}, with a `..` after a folder name",
                    link.display()
                ))
            }
            Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(outside)?,
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    Ok(())
}

/// The file a hard link entry links to: a file already unpacked in the tree,
/// not through a symlink (hard links name archive paths, top folder included).
fn hard_link_source(dir: &Path, link: &Path) -> Result<PathBuf, String> {
    let outside = || {
        format!(
            "it is a hard link to {}, outside the module",
            link.display()
        )
    };
    let inner = inside_path(link)
        .map_err(|_| outside())?
        .ok_or_else(outside)?;
    no_symlink_on(dir, &inner)?;
    let source = dir.join(&inner);
    if !source.is_file() {
        return Err(format!(
            "it is a hard link to {}, which is not a file unpacked before it",
            link.display()
        ));
    }
    Ok(source)
}

fn make_parent(target: &Path) -> io::Result<()> {
    match target.parent() {
        Some(parent) => fs::create_dir_all(parent),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch folder with `outside/` (what must stay untouched) and the
    /// archive built by `fill`.
    struct Scratch {
        root: PathBuf,
    }

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let root = std::env::temp_dir().join(format!("pm2-untar-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            fs::create_dir_all(root.join("outside")).unwrap();
            fs::write(root.join("outside").join("victim.txt"), "original").unwrap();
            Scratch { root }
        }

        fn archive(&self, fill: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> PathBuf {
            let mut b = tar::Builder::new(Vec::new());
            fill(&mut b);
            let tar = b.into_inner().unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            io::Write::write_all(&mut gz, &tar).unwrap();
            let file = self.root.join("m.tgz");
            fs::write(&file, gz.finish().unwrap()).unwrap();
            file
        }

        fn unpack(&self, file: &Path) -> Result<()> {
            unpack(file, &self.root.join("dest"))
        }

        fn outside_untouched(&self) {
            let entries: Vec<_> = fs::read_dir(self.root.join("outside"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(entries, vec!["victim.txt"]);
            let victim = self.root.join("outside").join("victim.txt");
            assert_eq!(fs::read_to_string(victim).unwrap(), "original");
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    fn header(kind: EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, body: &str) {
        let mut h = header(EntryType::Regular, body.len() as u64);
        b.append_data(&mut h, path, body.as_bytes()).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, path: &str, to: &str) {
        let mut h = header(kind, 0);
        b.append_link(&mut h, path, to).unwrap();
    }

    /// Writes a raw path into a header, as a hostile archive would (the
    /// builder itself refuses `..` and absolute paths).
    fn raw_file(b: &mut tar::Builder<Vec<u8>>, path: &str, body: &str) {
        let mut h = header(EntryType::Regular, body.len() as u64);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, body.as_bytes()).unwrap();
    }

    fn refused(r: Result<()>) -> String {
        match r {
            Err(Error::Usage(msg)) => msg,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_module_unpacks_without_its_top_folder() {
        let s = Scratch::new("ok");
        let tgz = s.archive(|b| {
            file(b, "package/package.json", "{}");
            file(b, "package/lib/a.js", "a");
            link(b, EntryType::Symlink, "package/index.js", "lib/a.js");
            link(
                b,
                EntryType::Symlink,
                "package/lib/up.js",
                "../package.json",
            );
            link(b, EntryType::Link, "package/copy.js", "package/lib/a.js");
        });
        s.unpack(&tgz).unwrap();
        let dest = s.root.join("dest");
        assert_eq!(fs::read_to_string(dest.join("index.js")).unwrap(), "a");
        assert_eq!(fs::read_to_string(dest.join("lib/up.js")).unwrap(), "{}");
        assert_eq!(fs::read_to_string(dest.join("copy.js")).unwrap(), "a");
    }

    #[test]
    fn a_file_through_a_symlink_is_refused() {
        let s = Scratch::new("through");
        let outside = s.root.join("outside");
        let tgz = s.archive(|b| {
            link(
                b,
                EntryType::Symlink,
                "package/link",
                outside.to_str().unwrap(),
            );
            file(b, "package/link/escape.txt", "x");
        });
        let msg = refused(s.unpack(&tgz));
        assert!(msg.contains("outside the module"), "{msg}");
        s.outside_untouched();
    }

    #[test]
    fn a_symlink_inside_is_still_never_written_through() {
        let s = Scratch::new("inside-link");
        let tgz = s.archive(|b| {
            file(b, "package/lib/a.js", "a");
            link(b, EntryType::Symlink, "package/l", "lib");
            file(b, "package/l/b.js", "b");
        });
        let msg = refused(s.unpack(&tgz));
        assert!(msg.contains("goes through the symlink l"), "{msg}");
        // Nor is an entry written where a symlink already is.
        let tgz = s.archive(|b| {
            link(b, EntryType::Symlink, "package/d", ".");
            let mut h = header(EntryType::Directory, 0);
            b.append_data(&mut h, "package/d", io::empty()).unwrap();
        });
        let _ = fs::remove_dir_all(s.root.join("dest"));
        let msg = refused(s.unpack(&tgz));
        assert!(msg.contains("goes through the symlink d"), "{msg}");
    }

    #[test]
    fn symlinks_out_of_the_tree_are_refused() {
        let s = Scratch::new("links");
        for (to, why) in [
            ("/etc", "outside the module"),
            ("../outside", "outside the module"),
            ("a/../../x", "`..` after a folder name"),
            ("", "a symlink to nothing"),
        ] {
            let _ = fs::remove_dir_all(s.root.join("dest"));
            let tgz = s.archive(|b| {
                let mut h = header(EntryType::Symlink, 0);
                if to.is_empty() {
                    h.set_path("package/l").unwrap();
                    h.set_cksum();
                    b.append(&h, io::empty()).unwrap();
                } else {
                    b.append_link(&mut h, "package/l", to).unwrap();
                }
            });
            let msg = refused(s.unpack(&tgz));
            assert!(msg.contains(why), "{to}: {msg}");
        }
        s.outside_untouched();
    }

    #[test]
    fn hard_links_out_of_the_tree_are_refused() {
        let s = Scratch::new("hard");
        let victim = s.root.join("outside").join("victim.txt");
        for to in [
            victim.to_str().unwrap(),
            "package/../outside/victim.txt",
            "x/../../outside/victim.txt",
        ] {
            let _ = fs::remove_dir_all(s.root.join("dest"));
            let tgz = s.archive(|b| {
                let mut h = header(EntryType::Link, 0);
                h.set_path("package/hl").unwrap();
                h.as_old_mut().linkname[..to.len()].copy_from_slice(to.as_bytes());
                h.set_cksum();
                b.append(&h, io::empty()).unwrap();
                file(b, "package/hl", "overwritten");
            });
            let msg = refused(s.unpack(&tgz));
            assert!(msg.contains("hard link"), "{to}: {msg}");
        }
        s.outside_untouched();
        let mut meta = fs::metadata(&victim).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::nlink(&meta), 1);
        // Nor may it link to a file that is not (yet) in the tree.
        let _ = fs::remove_dir_all(s.root.join("dest"));
        let tgz = s.archive(|b| link(b, EntryType::Link, "package/hl", "package/missing"));
        assert!(refused(s.unpack(&tgz)).contains("not a file unpacked before it"));
        meta = fs::metadata(&victim).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::nlink(&meta), 1);
    }

    #[test]
    fn dot_dot_and_absolute_paths_are_refused() {
        let s = Scratch::new("paths");
        let victim = s.root.join("outside").join("victim.txt");
        for (path, why) in [
            ("package/../../outside/victim.txt", "`..`"),
            ("../outside/victim.txt", "`..`"),
            (victim.to_str().unwrap(), "absolute"),
        ] {
            let _ = fs::remove_dir_all(s.root.join("dest"));
            let tgz = s.archive(|b| raw_file(b, path, "overwritten"));
            let msg = refused(s.unpack(&tgz));
            assert!(msg.contains(why), "{path}: {msg}");
            assert!(msg.contains("nothing was installed"), "{msg}");
        }
        s.outside_untouched();
    }

    #[test]
    fn devices_and_fifos_are_refused() {
        let s = Scratch::new("fifo");
        let tgz = s.archive(|b| {
            let mut h = header(EntryType::Fifo, 0);
            b.append_data(&mut h, "package/pipe", io::empty()).unwrap();
        });
        assert!(refused(s.unpack(&tgz)).contains("Fifo"));
    }
}
