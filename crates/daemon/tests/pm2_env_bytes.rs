//! What an idle app's `pm2_env` holds in the daemon, counted by the
//! allocator: one flat map as PM2 keeps it, against the shared env.
//! `cargo test -p pm2-daemon --test pm2_env_bytes -- --nocapture` prints the figures.

use pm2_daemon::pm2_env::Pm2Env;
use serde_json::{Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
        LIVE.fetch_add(size as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// An idle `sleep` app started from a shell of 36 variables, as `jlist`
/// shows it before its env is copied onto the top level (values replaced by
/// strings of the same lengths).
const APP: &str = r#"
{"name":"s1","exec_interpreter":"none","args":["1000"],"pm_cwd":"/srv/app","pm_exec_path":"/usr/bin/sleep","exec_mode":"fork_mode","instances":1,"merge_logs":true,"node_args":[],"autorestart":true,"autostart":true,"vizion":true,"pmx":true,"automation":true,"treekill":true,"instance_var":"NODE_APP_INSTANCE","kill_retry_time":100,"windowsHide":true,"namespace":"default","pm_out_log_path":"/home/u/.pm2/logs/sleep-out.log","pm_err_log_path":"/home/u/.pm2/logs/sleep-error.log","pm_pid_path":"/home/u/.pm2/pids/sleep-0.pid","env":{"VAR_0":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_1":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_2":"vvvvvvv","VAR_3":"vvvvvvvvvvvvvvvvvvvvvvvv","VAR_4":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_5":"vvvvvvvvvvvvvv","VAR_6":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_7":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_8":"vvvvv","VAR_9":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_10":"vvv","VAR_11":"vvvvvvv","VAR_12":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_13":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_14":"v","VAR_15":"vvvvvvvvvv","VAR_16":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_17":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_18":"vvv","VAR_19":"v","VAR_20":"vvvvvvvvvvv","VAR_21":"vvvvvvvvvvvvvvvvvvvvvvv","VAR_22":"vvvvvvvvvvvvv","VAR_23":"vvvvvvvvvvvv","VAR_24":"v","VAR_25":"v","VAR_26":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_27":"v","VAR_28":"v","VAR_29":"vvvvvvvvv","VAR_30":"v","VAR_31":"vvvvvvvvvvvvvv","VAR_32":"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv","VAR_33":"vvvvv","VAR_34":"vvvvvvvvvvvvvvvvvv","VAR_35":"vvvvvvvvvvvvvvvv"},"watch":false,"filter_env":[],"username":"u","NODE_APP_INSTANCE":0,"pm_id":0,"status":"online","restart_time":0,"unstable_restarts":0,"created_at":1796609857787,"pm_uptime":1796609857787,"unique_id":"b6ac8f41-2639-4f40-8da9-092ec35779cc","km_link":false,"vizion_running":false,"prev_restart_delay":0,"axm_actions":[],"axm_monitor":{},"axm_options":{},"axm_dynamic":{},"_km_monitored":false,"node_version":null,"version":"N/A"}"#;

/// Bytes still allocated after `make` built `n` values (kept until measured).
fn bytes_per<T>(n: usize, mut make: impl FnMut(usize) -> T) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let kept: Vec<T> = (0..n).map(&mut make).collect();
    let after = LIVE.load(Ordering::Relaxed);
    let per = (after - before - (n * std::mem::size_of::<T>()) as isize) / n as isize;
    drop(kept);
    per
}

fn app(i: usize) -> Map<String, Value> {
    let mut m: Map<String, Value> = serde_json::from_str(APP).unwrap();
    m.insert("name".into(), format!("idle{i}").into());
    m.insert("pm_id".into(), i.into());
    m
}

#[test]
fn an_app_from_a_shared_shell_holds_no_copy_of_its_env() {
    let n = 200;
    let apps: Vec<_> = (0..n).map(app).collect();
    let flat = bytes_per(n, |i| {
        let mut m = apps[i].clone();
        if let Some(Value::Object(env)) = m.get("env").cloned() {
            m.extend(env);
        }
        m.into_iter().collect::<Map<String, Value>>()
    });
    let env_only = bytes_per(n, |i| apps[i]["env"].clone());
    let shared = bytes_per(n, |i| {
        let mut e = Pm2Env::from_map(apps[i].clone());
        e.flatten();
        e
    });
    println!(
        "per app: flat pm2_env {flat} B (its env alone {env_only} B, copied twice); shared {shared} B"
    );
    assert!(
        shared * 2 < flat && shared < flat - env_only,
        "the shared form holds neither the env nor its copies: {shared} B against {flat} B"
    );
}
