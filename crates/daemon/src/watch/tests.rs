use super::*;
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::EventKind;
use serde_json::{json, Map, Value};
use std::time::Instant;

fn env(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn from_env(env: &Map<String, Value>, home: &Path) -> Result<Option<WatchConfig>, String> {
    WatchConfig::from_env(env, &pm2_config::AppOptions::from_pm2_env(env), home)
}

fn config(v: Value) -> WatchConfig {
    from_env(&env(v), Path::new("/home/u/.pm2"))
        .unwrap()
        .unwrap()
}

#[test]
fn watch_values_that_turn_it_on() {
    assert!(is_on(Some(&json!(true))));
    assert!(is_on(Some(&json!([]))));
    assert!(is_on(Some(&json!(["src"]))));
    assert!(is_on(Some(&json!("src"))));
    assert!(!is_on(Some(&json!(false))));
    assert!(!is_on(Some(&json!("false"))));
    assert!(!is_on(Some(&json!(""))));
    assert!(!is_on(None));
    let off = from_env(&env(json!({"watch": false})), Path::new("/h")).unwrap();
    assert!(off.is_none());
}

#[test]
fn roots_default_to_the_cwd_and_resolve_against_it() {
    let c = config(json!({"watch": true, "pm_cwd": "/srv/app"}));
    assert_eq!(c.roots, [PathBuf::from("/srv/app")]);
    let c = config(json!({"watch": [], "pm_cwd": "/srv/app"}));
    assert_eq!(c.roots, [PathBuf::from("/srv/app")]);
    let c = config(json!({"watch": ["src", "/etc/app.conf"], "pm_cwd": "/srv/app"}));
    assert_eq!(
        c.roots,
        [
            PathBuf::from("/srv/app/src"),
            PathBuf::from("/etc/app.conf")
        ]
    );
    let c = config(json!({"watch": "lib", "pm_cwd": "/srv/app", "watch_delay": 1500}));
    assert_eq!(c.roots, [PathBuf::from("/srv/app/lib")]);
    assert_eq!(c.delay, Duration::from_millis(1500));
}

#[test]
fn watch_options_polling_and_symlinks() {
    let c = config(json!({"watch": true, "pm_cwd": "/a"}));
    assert_eq!((c.poll, c.follow_symlinks, c.depth), (None, true, None));
    let c = config(json!({"watch": true, "pm_cwd": "/a",
        "watch_options": {"usePolling": true, "interval": 500, "followSymlinks": false, "depth": 2}}));
    assert_eq!(c.poll, Some(Duration::from_millis(500)));
    assert!(!c.follow_symlinks);
    assert_eq!(c.depth, Some(2));
    let c = config(json!({"watch": true, "pm_cwd": "/a", "watch_options": {"usePolling": true}}));
    assert_eq!(c.poll, Some(DEFAULT_POLL));
}

#[test]
fn default_ignores_dotfiles_node_modules_and_the_daemons_files() {
    let c = config(json!({"watch": true, "pm_cwd": "/srv/.hidden/app",
        "pm_out_log_path": "/srv/.hidden/app/out.log"}));
    let i = Ignore::new(&c);
    assert!(!i.is_ignored(Path::new("/srv/.hidden/app/index.js")));
    assert!(!i.is_ignored(Path::new("/srv/.hidden/app/lib/a.js")));
    assert!(i.is_ignored(Path::new("/srv/.hidden/app/.git/index")));
    assert!(i.is_ignored(Path::new("/srv/.hidden/app/.app.js.swp")));
    assert!(i.is_ignored(Path::new("/srv/.hidden/app/node_modules/x/i.js")));
    assert!(i.is_ignored(Path::new("/srv/.hidden/app/lib/node_modules")));
    assert!(i.is_ignored(Path::new("/srv/.hidden/app/out.log")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/logs/app-out.log")));
}

#[test]
fn an_app_under_pm2_home_is_watched_but_not_the_daemons_files() {
    let home = Path::new("/home/u/.pm2");
    let c = from_env(
        &env(json!({"watch": true, "pm_cwd": "/home/u/.pm2/modules/mod/node_modules/mod"})),
        home,
    )
    .unwrap()
    .unwrap();
    let i = Ignore::new(&c);
    assert!(!i.is_ignored(Path::new(
        "/home/u/.pm2/modules/mod/node_modules/mod/index.js"
    )));
    assert!(!i.is_ignored(Path::new(
        "/home/u/.pm2/modules/mod/node_modules/mod/lib/a.js"
    )));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/logs/mod-out.log")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/pids/mod-0.pid")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/pm2.log")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/rpc.sock")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/dump.pm2")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/module_conf.json")));
    // Custom patterns: the daemon's files and their temp files still go.
    let c = from_env(
        &env(
            json!({"watch": ["/home/u/.pm2"], "ignore_watch": ["*.tmp"], "pm_cwd": "/home/u/.pm2"}),
        ),
        home,
    )
    .unwrap()
    .unwrap();
    let i = Ignore::new(&c);
    assert!(i.is_ignored(Path::new("/home/u/.pm2/.dump.pm2.42.partial")));
    assert!(i.is_ignored(Path::new("/home/u/.pm2/.module_conf.json.7.partial")));
    assert!(!i.is_ignored(Path::new("/home/u/.pm2/modules/m/index.js")));
}

#[test]
fn pm2_home_inside_the_app_folder_is_ignored() {
    let c = from_env(
        &env(json!({"watch": true, "pm_cwd": "/srv/app"})),
        Path::new("/srv/app/pm2home"),
    )
    .unwrap()
    .unwrap();
    let i = Ignore::new(&c);
    assert!(i.is_ignored(Path::new("/srv/app/pm2home/logs/app-out.log")));
    assert!(i.is_ignored(Path::new("/srv/app/pm2home/pm2.log")));
    assert!(!i.is_ignored(Path::new("/srv/app/pm2home.js")));
}

#[test]
fn ignore_watch_patterns_replace_the_default() {
    let c = config(json!({"watch": true, "pm_cwd": "/srv/app",
        "ignore_watch": ["node_modules", "client/img", "\\.git", "*.log", "./tmp/"]}));
    let i = Ignore::new(&c);
    assert!(i.is_ignored(Path::new("/srv/app/node_modules/a/b.js")));
    assert!(i.is_ignored(Path::new("/srv/app/lib/node_modules")));
    assert!(i.is_ignored(Path::new("/srv/app/client/img/logo.png")));
    assert!(!i.is_ignored(Path::new("/srv/app/client/app.js")));
    assert!(i.is_ignored(Path::new("/srv/app/.git/HEAD")));
    assert!(i.is_ignored(Path::new("/srv/app/debug.log")));
    assert!(i.is_ignored(Path::new("/srv/app/logs/deep/debug.log")));
    assert!(i.is_ignored(Path::new("/srv/app/tmp/x")));
    assert!(
        !i.is_ignored(Path::new("/srv/app/.env")),
        "the default no longer applies"
    );
    let c = config(json!({"watch": true, "pm_cwd": "/srv/app", "ignore_watch": "dist"}));
    assert!(Ignore::new(&c).is_ignored(Path::new("/srv/app/dist/a.js")));
}

#[test]
fn bad_options_are_refused_with_their_name() {
    let e = check(&env(json!({"ignore_watch": ["a[b"]}))).unwrap_err();
    assert!(e.contains("ignore_watch") && e.contains("a[b"), "{e}");
    let e = check(&env(json!({"watch": 3}))).unwrap_err();
    assert!(e.starts_with("watch:"), "{e}");
    let e = check(&env(json!({"watch_options": "fast"}))).unwrap_err();
    assert!(e.contains("watch_options"), "{e}");
    assert!(check(&env(json!({"watch": true, "ignore_watch": ["*.log"]}))).is_ok());
    assert!(check(&env(
        json!({"watch": ["src"], "watch_options": {"usePolling": true}})
    ))
    .is_ok());
}

#[test]
fn reads_do_not_count_as_changes() {
    use notify::event::{CreateKind, DataChange, MetadataKind};
    assert!(!is_change(&EventKind::Access(AccessKind::Open(
        AccessMode::Any
    ))));
    assert!(!is_change(&EventKind::Access(AccessKind::Close(
        AccessMode::Read
    ))));
    assert!(is_change(&EventKind::Access(AccessKind::Close(
        AccessMode::Write
    ))));
    assert!(is_change(&EventKind::Modify(ModifyKind::Data(
        DataChange::Any
    ))));
    assert!(is_change(&EventKind::Modify(ModifyKind::Metadata(
        MetadataKind::Any
    ))));
    assert!(is_change(&EventKind::Create(CreateKind::File)));
}

#[test]
fn the_log_shows_paths_relative_to_the_app() {
    assert_eq!(
        shown_path(Path::new("/srv/app/lib/a.js"), Some("/srv/app")),
        "lib/a.js"
    );
    assert_eq!(
        shown_path(Path::new("/etc/x.conf"), Some("/srv/app")),
        "/etc/x.conf"
    );
    assert_eq!(
        shown_path(Path::new("/srv/app"), Some("/srv/app")),
        "/srv/app"
    );
}

/// A real tree: a burst of writes becomes one message, an ignored folder
/// none, and a folder made after the start is watched too.
#[test]
fn a_burst_is_named_by_its_first_path_that_still_exists() {
    let dir = std::env::temp_dir().join(format!("pm2-watch-name-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.js"), "1").unwrap();
    let temp = dir.join("app.js.tmp-123");
    let saved = burst_name(vec![temp.clone(), dir.join("app.js")]);
    assert_eq!(saved, dir.join("app.js"));
    assert_eq!(burst_name(vec![temp.clone(), dir.join("gone.js")]), temp);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_burst_of_changes_is_one_message_and_ignored_trees_none() {
    let dir = std::env::temp_dir().join(format!("pm2-watch-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("node_modules/pkg")).unwrap();
    std::fs::write(dir.join("app.js"), "1").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    // A dotfile: ignored, so the log's own writes are no change.
    let log_file = dir.join(".pm2.log");
    let log = DaemonLog::new(log_file.clone(), crate::bus::Bus::default());
    let mut watchers = Watchers::new(tx, log, PathBuf::from("/nonexistent-home"));
    let app = env(json!({"watch": true, "pm_cwd": dir.to_str().unwrap()}));
    watchers.sync(7, "unit", &app, &pm2_config::AppOptions::from_pm2_env(&app));
    assert!(watchers.is_watching(7));
    let next = |rx: &mut mpsc::Receiver<Trigger>, wait: u64| {
        rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(wait), rx.recv())
                .await
                .ok()
                .flatten()
        })
    };
    // The watcher logs once its tree is watched.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&log_file)
        .unwrap_or_default()
        .contains("Start watching unit")
    {
        assert!(Instant::now() < deadline, "the watcher did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::write(dir.join("node_modules/pkg/index.js"), "x").unwrap();
    assert!(next(&mut rx, 600).is_none(), "node_modules is ignored");
    for i in 0..50 {
        std::fs::write(dir.join("app.js"), i.to_string()).unwrap();
    }
    let Some(Trigger::WatchChange { id, token, path }) = next(&mut rx, 3000) else {
        panic!("no change message")
    };
    assert_eq!((id, path), (7, dir.join("app.js")));
    assert!(next(&mut rx, 600).is_none(), "one message per burst");
    watchers.ack(7, token).unwrap().done();
    std::fs::create_dir(dir.join("lib")).unwrap();
    let Some(Trigger::WatchChange { token, .. }) = next(&mut rx, 3000) else {
        panic!("no message for a new folder")
    };
    // The folder was watched before its change was reported.
    watchers.ack(7, token).unwrap().done();
    std::fs::write(dir.join("lib/b.js"), "x").unwrap();
    let Some(Trigger::WatchChange { path, token, .. }) = next(&mut rx, 3000) else {
        panic!("no message for a file in the new folder")
    };
    assert_eq!(path, dir.join("lib/b.js"));
    assert!(watchers.stop(7, "unit"));
    assert!(watchers.ack(7, token).is_none());
    std::fs::write(dir.join("app.js"), "after").unwrap();
    assert!(
        next(&mut rx, 600).is_none(),
        "a stopped watcher says nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
