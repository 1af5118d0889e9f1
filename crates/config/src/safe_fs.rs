//! File opens that cannot hang the daemon.
//!
//! The daemon runs everything on one thread, so an `open` or a `read` that
//! blocks stops every client. A FIFO blocks both: opening one for writing
//! waits for a reader, reading one waits for a writer. Every path a user (or
//! another user) can point the daemon at is therefore opened with
//! `O_NONBLOCK`, checked with `fstat`, and refused unless it is a regular
//! file; reads are bounded in size.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Mode of the log files the daemon creates: readable by the owner's group at most.
pub const LOG_FILE_MODE: u32 = 0o640;

fn kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

fn not_regular(path: &Path, ft: &std::fs::FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is {}, not a regular file", path.display(), kind(ft)),
    )
}

/// An open of `path` that failed: when `path` is there but is not a regular
/// file (a directory, a FIFO without a reader), the error says what it is.
fn open_error(path: &Path, e: io::Error) -> io::Error {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => not_regular(path, &m.file_type()),
        _ => e,
    }
}

/// Fails unless `file` (opened from `path`) is a regular file; else its size.
fn regular_len(file: &File, path: &Path) -> io::Result<u64> {
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    Err(not_regular(path, &meta.file_type()))
}

/// Opens `path` with `options` (plus `O_NONBLOCK`, so that a FIFO never makes
/// the open wait, and `O_NOCTTY`), refusing anything but a regular file.
fn open_regular(path: &Path, options: &mut OpenOptions) -> io::Result<(File, u64)> {
    let file = options
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let len = regular_len(&file, path)?;
    Ok((file, len))
}

/// Opens `path` for appending, creating it with `mode` if missing; refuses
/// anything but a regular file without ever waiting on it.
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).mode(mode);
    Ok(open_regular(path, &mut options)?.0)
}

/// Checks, creating nothing, that [`open_append`] of `path` can succeed: an
/// existing regular file this user may write, or a missing one whose nearest
/// existing folder this user may write into (missing folders get created).
pub fn check_appendable(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(not_regular(path, &m.file_type())),
        Ok(_) => access(path, libc::W_OK),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = path
                .ancestors()
                .skip(1)
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        d
                    }
                })
                .find(|d| d.exists())
                .unwrap_or(Path::new("/"));
            access(dir, libc::W_OK | libc::X_OK)
        }
        Err(e) => Err(e),
    }
}

fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))?;
    // SAFETY: a valid NUL-terminated path; access only reads it.
    if unsafe { libc::access(c.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Replaces the content of `path` (created with `mode`), refusing anything
/// but a regular file. For small files the daemon rewrites (pid files).
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write;
    let mut options = OpenOptions::new();
    options.create(true).write(true).mode(mode);
    let (mut file, len) = open_regular(path, &mut options)?;
    // A new file is empty already; truncating one anyway makes ext4 flush it
    // to disk when it is closed (its guard for files rewritten in place).
    if len > 0 {
        file.set_len(0)?;
    }
    file.write_all(bytes)
}

/// Reads a regular file of at most `max` bytes.
pub fn read_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, _) = open_regular(path, OpenOptions::new().read(true))?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    fn dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pm2-safefs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_is_refused_at_once_for_append_write_and_read() {
        let d = dir("fifo");
        let f = d.join("out.log");
        fifo(&f);
        let t0 = Instant::now();
        let err = open_append(&f, LOG_FILE_MODE).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("out.log is a FIFO, not a regular file"),
            "{err}"
        );
        assert!(write_file(&f, b"1", 0o600).is_err());
        let err = check_appendable(&f).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        let err = read_limited(&f, 100).unwrap_err();
        assert!(err.to_string().contains("a FIFO"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(1));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn regular_files_work_and_new_logs_are_not_world_readable() {
        let d = dir("regular");
        let f = d.join("a.log");
        use std::io::Write;
        open_append(&f, LOG_FILE_MODE)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        open_append(&f, LOG_FILE_MODE)
            .unwrap()
            .write_all(b"y")
            .unwrap();
        assert_eq!(read_limited(&f, 10).unwrap(), b"xy");
        assert!(read_limited(&f, 1).is_err(), "over the size bound");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "mode {mode:o}");
        write_file(&f, b"42", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"42");
        let pid = d.join("n.pid");
        write_file(&pid, b"1234", 0o600).unwrap();
        write_file(&pid, b"7", 0o600).unwrap();
        assert_eq!(std::fs::read(&pid).unwrap(), b"7");
        check_appendable(&f).unwrap();
        check_appendable(&d.join("new/deeper/x.log")).unwrap();
        let err = check_appendable(&d).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is a directory, not a regular file"),
            "{err}"
        );
        let err = open_append(&d, LOG_FILE_MODE).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is a directory, not a regular file"),
            "{err}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
