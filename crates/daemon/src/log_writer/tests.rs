use super::*;

/// A sink for app 0 `a`, on a bus of its own, without rotation.
fn plain_sink(cfg: LogConfig) -> Arc<LogSink> {
    LogSink::new(
        cfg,
        LogIdentity::new(0, "a", "default"),
        Bus::default(),
        None,
    )
    .unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pm2-logw-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn writes_streams_to_their_files_and_the_combined_log() {
    let d = temp_dir("files");
    let cfg = LogConfig {
        out: Some(d.join("a-out.log")),
        err: Some(d.join("a-error.log")),
        combined: Some(d.join("a.log")),
        ..LogConfig::default()
    };
    let sink = plain_sink(cfg);
    sink.write(Stream::Out, b"hello\n");
    sink.write(Stream::Err, b"oops\n");
    assert_eq!(
        std::fs::read_to_string(d.join("a-out.log")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("a-error.log")).unwrap(),
        "oops\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("a.log")).unwrap(),
        "hello\noops\n"
    );
    // A rotation moves the file away; reopen starts a new one.
    std::fs::rename(d.join("a-out.log"), d.join("a-out.log.1")).unwrap();
    sink.reopen().unwrap();
    sink.write(Stream::Out, b"after\n");
    assert_eq!(
        std::fs::read_to_string(d.join("a-out.log")).unwrap(),
        "after\n"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn prefixes_each_line_with_the_date() {
    let d = temp_dir("date");
    let cfg = LogConfig {
        out: Some(d.join("o.log")),
        date_format: Some(pm2_config::date_format::dayjs_to_chrono("[T]")),
        ..LogConfig::default()
    };
    let sink = plain_sink(cfg);
    sink.write(Stream::Out, b"one\ntw");
    sink.write(Stream::Out, b"o\nthree\n");
    assert_eq!(
        std::fs::read_to_string(d.join("o.log")).unwrap(),
        "T: one\nT: two\nT: three\n"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// A daemon log and a rotation policy read from `module_conf.json` in `d`.
fn rotation_in(d: &Path, keys: &str) -> Arc<LogRotation> {
    let conf = d.join("module_conf.json");
    std::fs::write(
        &conf,
        format!(r#"{{"pm2": {{"log_rotate": "true"}}, "pm2-logrotate": {{{keys}}}}}"#),
    )
    .unwrap();
    let log = crate::daemon_log::DaemonLog::new(d.join("pm2.log"), Bus::default());
    LogRotation::start(conf, d.join("pm2.log"), log)
}

fn rotated_copies(d: &Path, stem: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{stem}__")))
        .collect();
    names.sort();
    names
}

/// A sink writing out `out` for the process `pm_id`/`name`, rotated by
/// `rotation`; `is_module` as for a module's logs.
fn rotated_sink(
    out: PathBuf,
    is_module: bool,
    pm_id: u64,
    name: &str,
    rotation: Arc<LogRotation>,
) -> Arc<LogSink> {
    let cfg = LogConfig {
        out: Some(out),
        is_module,
        ..LogConfig::default()
    };
    let process = LogIdentity::new(pm_id, name, "default");
    LogSink::new(cfg, process, Bus::default(), Some(rotation)).unwrap()
}

#[tokio::test]
async fn a_full_file_rotates_at_a_line_end_and_no_byte_is_lost() {
    let d = temp_dir("rotate");
    let rotation = rotation_in(&d, r#""max_size": "10", "retain": "all""#);
    let sink = rotated_sink(d.join("a-out.log"), false, 0, "a", rotation);
    // 8 bytes: not full. Then a chunk that makes it full mid-line: the
    // file is cut at the end of that line, in the next chunk.
    sink.write(Stream::Out, b"1234567\n");
    sink.write(Stream::Out, b"abcdef\nghi");
    assert!(rotated_copies(&d, "a-out").is_empty());
    sink.write(Stream::Out, b"jkl\nmn");
    let copies = rotated_copies(&d, "a-out");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(
        std::fs::read_to_string(d.join(&copies[0])).unwrap(),
        "1234567\nabcdef\nghijkl\n"
    );
    assert_eq!(std::fs::read_to_string(d.join("a-out.log")).unwrap(), "mn");
    // A full file whose last write ended a line rotates at once.
    sink.write(Stream::Out, b"opqrstuvwxyz\n");
    let copies = rotated_copies(&d, "a-out");
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!(std::fs::read_to_string(d.join("a-out.log")).unwrap(), "");
    sink.write(Stream::Out, b"end\n");
    let all: String = log_rotation::files::rotated_copies(&d.join("a-out.log"))
        .iter()
        .map(|c| std::fs::read_to_string(c).unwrap())
        .chain([std::fs::read_to_string(d.join("a-out.log")).unwrap()])
        .collect();
    assert_eq!(all, "1234567\nabcdef\nghijkl\nmnopqrstuvwxyz\nend\n");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_file_moved_aside_is_no_longer_the_file_at_its_path() {
    let d = temp_dir("same");
    let path = d.join("a.log");
    let file = open_append(&Some(path.clone())).unwrap().unwrap();
    assert!(is_file_at(&file, &path));
    std::fs::rename(&path, d.join("a__1.log")).unwrap();
    assert!(!is_file_at(&file, &path), "nothing at the path");
    std::fs::write(&path, "").unwrap();
    assert!(!is_file_at(&file, &path), "another file at the path");
    std::fs::remove_dir_all(&d).unwrap();
}

fn sink_for(out: &Path, pm_id: u64, rotation: &Arc<LogRotation>) -> Arc<LogSink> {
    let cfg = LogConfig {
        out: Some(out.to_path_buf()),
        ..LogConfig::default()
    };
    LogSink::new(
        cfg,
        LogIdentity::new(pm_id, "a", "default"),
        Bus::default(),
        Some(rotation.clone()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_sink_still_writing_to_a_file_another_rotated_only_opens_the_new_one() {
    let d = temp_dir("shared");
    let rotation = rotation_in(&d, r#""max_size": "10", "retain": "all""#);
    let live = d.join("a-out.log");
    let a = sink_for(&live, 0, &rotation);
    let b = sink_for(&live, 1, &rotation);
    a.write(Stream::Out, b"aaaa\n");
    // b opens the file holding 5 bytes and fills it: b rotates it.
    b.write(Stream::Out, b"bbbb\n");
    assert_eq!(rotated_copies(&d, "a-out").len(), 1);
    // a has not opened the new file yet (its write raced the rotation)
    // and finds its own file full: it must not move b's new file aside.
    a.reopen_due.store(false, Ordering::Relaxed);
    a.write(Stream::Out, b"cccccc\n");
    assert_eq!(rotated_copies(&d, "a-out").len(), 1);
    a.write(Stream::Out, b"dddd\n");
    b.write(Stream::Out, b"eeee\n");
    // Later writes may rotate again (copies named in the same second sort
    // by suffix, not by age): every line is kept exactly once.
    let copies = rotated_copies(&d, "a-out");
    let mut all = std::fs::read_to_string(&live).unwrap();
    for c in &copies {
        all.push_str(&std::fs::read_to_string(d.join(c)).unwrap());
    }
    let mut lines: Vec<&str> = all.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["aaaa", "bbbb", "cccccc", "dddd", "eeee"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[tokio::test]
async fn a_rotation_keeps_the_line_state_of_the_sinks_other_files() {
    let d = temp_dir("state");
    let rotation = rotation_in(&d, r#""max_size": "10", "retain": "all""#);
    let cfg = LogConfig {
        out: Some(d.join("a-out.log")),
        err: Some(d.join("a-error.log")),
        ..LogConfig::default()
    };
    let sink = LogSink::new(
        cfg,
        LogIdentity::new(0, "a", "default"),
        Bus::default(),
        Some(rotation),
    )
    .unwrap();
    // The error log is full in the middle of a line.
    sink.write(Stream::Err, b"0123456789ab");
    // The out log rotates: the error log's line must still end whole.
    sink.write(Stream::Out, b"0123456789\n");
    assert_eq!(rotated_copies(&d, "a-out").len(), 1);
    sink.write(Stream::Err, b"cd\nnext");
    let copies = rotated_copies(&d, "a-error");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(
        std::fs::read_to_string(d.join(&copies[0])).unwrap(),
        "0123456789abcd\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("a-error.log")).unwrap(),
        "next"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[tokio::test]
async fn a_module_keeps_its_logs_when_rotate_module_is_false() {
    let d = temp_dir("module");
    let rotation = rotation_in(&d, r#""max_size": "4", "rotateModule": "false""#);
    let sink = rotated_sink(d.join("m-out.log"), true, 0, "m", rotation.clone());
    sink.write(Stream::Out, b"hello world\n");
    assert!(rotated_copies(&d, "m-out").is_empty());
    // The same output from an app rotates.
    let app = rotated_sink(d.join("a-out.log"), false, 1, "a", rotation);
    app.write(Stream::Out, b"hello world\n");
    assert_eq!(rotated_copies(&d, "a-out").len(), 1);
    std::fs::remove_dir_all(&d).unwrap();
}
