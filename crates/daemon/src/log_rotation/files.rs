//! Rotated files on disk: their names (`<log base>__<date>.log`, `.log.gz`
//! once compressed, as pm2-logrotate names them), compression, and
//! retention of the newest few.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `<dir>/<stem>__`: what every rotated copy of `live` starts with.
fn prefix_of(live: &Path) -> Option<(PathBuf, String)> {
    let dir = live.parent()?.to_path_buf();
    let name = live.file_name()?.to_str()?;
    let stem = name.strip_suffix(".log").unwrap_or(name);
    Some((dir, format!("{stem}__")))
}

/// The name `live` is moved to when rotated at `date` (already formatted).
/// A name taken already (two rotations within the date's resolution) gets
/// `.1`, `.2`, ... before `.log`, so no rotated file is ever overwritten.
pub fn rotated_name(live: &Path, date: &str) -> Option<PathBuf> {
    let (dir, prefix) = prefix_of(live)?;
    let taken = |p: &Path| p.exists() || gz_of(p).exists();
    let first = dir.join(format!("{prefix}{date}.log"));
    if !taken(&first) {
        return Some(first);
    }
    (1..)
        .map(|n| dir.join(format!("{prefix}{date}.{n}.log")))
        .find(|p| !taken(p))
}

fn gz_of(rotated: &Path) -> PathBuf {
    let mut name = rotated.as_os_str().to_owned();
    name.push(".gz");
    PathBuf::from(name)
}

/// Gzips `rotated` into `<rotated>.gz` (written as `.gz.partial`, renamed
/// once complete) and removes the plain file.
pub fn compress(rotated: &Path) -> std::io::Result<PathBuf> {
    let gz = gz_of(rotated);
    let mut partial = gz.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = (|| {
        let mut input = std::fs::File::open(rotated)?;
        let output = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(pm2_config::safe_fs::LOG_FILE_MODE)
            .open(&partial)?;
        let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
        std::io::copy(&mut input, &mut encoder)?;
        let mut output = encoder.finish()?;
        output.flush()?;
        output.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&partial, &gz)) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::remove_file(rotated)?;
    Ok(gz)
}

/// Rotated copies of `live`, oldest first (by modification time, then name).
pub fn rotated_copies(live: &Path) -> Vec<PathBuf> {
    let Some((dir, prefix)) = prefix_of(live) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, (String, u64), PathBuf)> = entries
        .flatten()
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.starts_with(&prefix) && (n.ends_with(".log") || n.ends_with(".log.gz"))
            })
        })
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            Some((
                modified,
                rotation_order(&e.file_name().to_string_lossy()),
                e.path(),
            ))
        })
        .collect();
    // Files rotated within one tick of the file system's clock share their
    // time: their names order them then (`x__D.log` before `x__D.1.log`).
    found.sort();
    found.into_iter().map(|(_, _, p)| p).collect()
}

/// A rotated file's name without its extension and its number (`.1`, `.2`,
/// given to a name taken already; none counts as 0).
fn rotation_order(name: &str) -> (String, u64) {
    let base = name
        .strip_suffix(".log.gz")
        .or_else(|| name.strip_suffix(".log"))
        .unwrap_or(name);
    match base.rsplit_once('.') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (head.to_string(), n.parse().unwrap_or(u64::MAX))
        }
        _ => (base.to_string(), 0),
    }
}

/// Deletes the oldest rotated copies of `live` beyond `retain`; returns them.
pub fn apply_retention(live: &Path, retain: usize) -> Vec<PathBuf> {
    let copies = rotated_copies(live);
    let excess = copies.len().saturating_sub(retain);
    copies
        .into_iter()
        .take(excess)
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pm2-rot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn names_follow_pm2_logrotate_and_never_overwrite() {
        let d = temp_dir("names");
        let live = d.join("app-out.log");
        let first = rotated_name(&live, "2026-01-02_03-04-05").unwrap();
        assert_eq!(first, d.join("app-out__2026-01-02_03-04-05.log"));
        std::fs::write(&first, "a").unwrap();
        let second = rotated_name(&live, "2026-01-02_03-04-05").unwrap();
        assert_eq!(second, d.join("app-out__2026-01-02_03-04-05.1.log"));
        std::fs::write(d.join("app-out__2026-01-02_03-04-05.1.log.gz"), "z").unwrap();
        assert_eq!(
            rotated_name(&live, "2026-01-02_03-04-05").unwrap(),
            d.join("app-out__2026-01-02_03-04-05.2.log")
        );
        // A log not named *.log keeps its whole name as the base.
        assert_eq!(
            rotated_name(&d.join("app.txt"), "D").unwrap(),
            d.join("app.txt__D.log")
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn retention_deletes_the_oldest_copies_of_that_log_only() {
        let d = temp_dir("retain");
        let live = d.join("a-out.log");
        std::fs::write(&live, "live").unwrap();
        let t0 = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        for (i, name) in [
            "a-out__1.log",
            "a-out__2.log.gz",
            "a-out__3.log",
            "a-out__4.log",
        ]
        .iter()
        .enumerate()
        {
            let f = std::fs::File::create(d.join(name)).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        // Another app's copies and unfinished gzip files are not counted.
        std::fs::write(d.join("a-out-2__1.log"), "").unwrap();
        std::fs::write(d.join("a-out__5.log.gz.partial"), "").unwrap();
        let deleted = apply_retention(&live, 2);
        assert_eq!(
            deleted,
            vec![d.join("a-out__1.log"), d.join("a-out__2.log.gz")]
        );
        assert!(d.join("a-out__3.log").exists() && d.join("a-out__4.log").exists());
        assert!(live.exists() && d.join("a-out-2__1.log").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn copies_of_the_same_moment_are_ordered_by_their_number() {
        let d = temp_dir("order");
        let live = d.join("a-out.log");
        let t = std::time::SystemTime::now();
        for name in [
            "a-out__D.10.log",
            "a-out__D.1.log",
            "a-out__D.log",
            "a-out__D.2.log.gz",
        ] {
            std::fs::File::create(d.join(name))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        let names: Vec<_> = rotated_copies(&live)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "a-out__D.log",
                "a-out__D.1.log",
                "a-out__D.2.log.gz",
                "a-out__D.10.log"
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn compress_writes_a_gzip_and_removes_the_plain_file() {
        let d = temp_dir("gz");
        let rotated = d.join("a-out__x.log");
        std::fs::write(&rotated, "line 1\nline 2\n").unwrap();
        let gz = compress(&rotated).unwrap();
        assert_eq!(gz, d.join("a-out__x.log.gz"));
        assert!(!rotated.exists());
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "line 1\nline 2\n");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no .partial left"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
