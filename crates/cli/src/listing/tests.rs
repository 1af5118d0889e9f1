use super::*;
use serde_json::json;

fn proc_(id: u64, name: &str, status: &str, extra: Value) -> Value {
    let mut env = json!({
        "status": status, "namespace": "default", "version": "N/A", "exec_mode": "fork_mode",
        "pm_uptime": 1_000_000u64, "restart_time": 0, "username": "root", "watch": false,
        "unstable_restarts": 0, "created_at": 1_000_000u64, "pm_exec_path": "/tmp/x.js",
        "pm_cwd": "/tmp", "exec_interpreter": "node", "node_args": [],
        "pm_out_log_path": "/h/logs/x-out.log", "pm_err_log_path": "/h/logs/x-error.log",
        "pm_pid_path": "/h/pids/x-0.pid", "env": {"A": "1"}
    });
    for (k, v) in extra.as_object().unwrap() {
        env[k] = v.clone();
    }
    let online = status == "online";
    json!({"pid": if online { 5549 } else { 0 }, "name": name, "pm_id": id, "pm2_env": env,
           "monit": {"memory": if online { 21_181_235 } else { 0 }, "cpu": 0}})
}

#[test]
fn units_read_like_pm2() {
    assert_eq!(bytes_to_size(0), "0b");
    assert_eq!(bytes_to_size(21_181_235), "20.2mb");
    assert_eq!(bytes_to_size(2048), "2.0kb");
    assert_eq!(time_since(0, 5_000), "5s");
    assert_eq!(time_since(0, 90_000), "90s");
    assert_eq!(time_since(0, 600_000), "10m");
    assert_eq!(time_since(0, 3 * 86_400_000), "3D");
    assert_eq!(iso_date(1_795_256_708_279), "2026-11-21T10:25:08.279Z");
    assert_eq!(iso_date(0), "1970-01-01T00:00:00.000Z");
}

#[test]
fn full_table_matches_pm2s_layout() {
    let list = vec![proc_(0, "x", "online", json!({}))];
    let t = process_tables(&list, 1_002_000, None).0;
    let expected = "\
┌────┬──────┬─────────────┬─────────┬─────────┬──────────┬────────┬──────┬───────────┬──────────┬──────────┬──────────┬──────────┐
│ id │ name │ namespace   │ version │ mode    │ pid      │ uptime │ ↺    │ status    │ cpu      │ mem      │ user     │ watching │
├────┼──────┼─────────────┼─────────┼─────────┼──────────┼────────┼──────┼───────────┼──────────┼──────────┼──────────┼──────────┤
│ 0  │ x    │ default     │ N/A     │ fork    │ 5549     │ 2s     │ 0    │ online    │ 0%       │ 20.2mb   │ root     │ disabled │
└────┴──────┴─────────────┴─────────┴─────────┴──────────┴────────┴──────┴───────────┴──────────┴──────────┴──────────┴──────────┘
";
    assert_eq!(t, expected);
}

#[test]
fn narrow_terminals_get_fewer_columns() {
    let list = vec![proc_(
        1,
        "a-very-long-process-name-here",
        "online",
        json!({"exec_mode": "cluster_mode"}),
    )];
    let t = process_tables(&list, 1_002_000, Some(100)).0;
    assert!(
        t.contains(
            "│ id │ name               │ mode     │ ↺    │ status    │ cpu      │ memory   │"
        ),
        "{t}"
    );
    assert!(t.contains("│ 1  │ a-very-long-proce… │ cluster  │"), "{t}");
    let t = process_tables(&list, 1_002_000, Some(60)).0;
    assert!(
        t.contains("│ id │ name           │ status    │ cpu    │ mem      │"),
        "{t}"
    );
    let t = process_tables(&list, 1_002_000, Some(158)).0;
    assert!(t.contains("namespace"), "{t}");
}

#[test]
fn modules_get_their_own_table_and_widen_the_name_column() {
    let list = vec![
        proc_(0, "x", "stopped", json!({})),
        proc_(
            1,
            "pm2-logrotate",
            "online",
            json!({"pmx_module": true, "version": "3.0.0"}),
        ),
    ];
    let t = process_tables(&list, 1_002_000, None).0;
    assert!(t.contains("│ id │ name             │"), "{t}");
    assert!(t.contains("│ 0  │ x                │ default     │ N/A     │ fork    │ 0        │ 0      │ 0    │ stopped   │ 0%       │ 0b       │"), "{t}");
    assert!(
        t.contains("Module\n┌────┬──────────────────────────────┬───────────────┬"),
        "{t}"
    );
    assert!(
        t.contains(
            "│ 1  │ pm2-logrotate                │ 3.0.0         │ 5549     │ online   │ 0    │"
        ),
        "{t}"
    );
}

#[test]
fn the_modules_table_follows_the_apps_layout() {
    let list = vec![
        proc_(0, "x", "online", json!({})),
        proc_(
            1,
            "pm2-logrotate",
            "online",
            json!({"pmx_module": true, "version": "3.0.0"}),
        ),
    ];
    // The full apps table is 142 wide with this name column.
    let (t, layout) = process_tables(&list, 1_002_000, Some(141));
    assert_eq!(layout, Layout::Condensed);
    let expected = "\
┌────┬──────────────────┬──────────┬──────┬───────────┬──────────┬──────────┐
│ id │ name             │ mode     │ ↺    │ status    │ cpu      │ memory   │
├────┼──────────────────┼──────────┼──────┼───────────┼──────────┼──────────┤
│ 0  │ x                │ fork     │ 0    │ online    │ 0%       │ 20.2mb   │
└────┴──────────────────┴──────────┴──────┴───────────┴──────────┴──────────┘
Module
┌────┬──────────────────┬──────────┬──────────┬──────────┐
│ id │ name             │ status   │ cpu      │ mem      │
├────┼──────────────────┼──────────┼──────────┼──────────┤
│ 1  │ pm2-logrotate    │ online   │ 0%       │ 20.2mb   │
└────┴──────────────────┴──────────┴──────────┴──────────┘
";
    assert_eq!(t, expected);
    assert_eq!(process_tables(&list, 1_002_000, Some(142)).1, Layout::Full);
    // The condensed apps table is 77 wide.
    assert_eq!(
        process_tables(&list, 1_002_000, Some(77)).1,
        Layout::Condensed
    );
    let (t, layout) = process_tables(&list, 1_002_000, Some(76));
    assert_eq!(layout, Layout::Minimal);
    let expected = "\
┌────┬────────────────┬───────────┬────────┬──────────┐
│ id │ name           │ status    │ cpu    │ mem      │
├────┼────────────────┼───────────┼────────┼──────────┤
│ 0  │ x              │ online    │ 0%     │ 20.2mb   │
└────┴────────────────┴───────────┴────────┴──────────┘
Module
┌────┬────────────────┬───────────┬────────┬──────────┐
│ id │ name           │ status    │ cpu    │ mem      │
├────┼────────────────┼───────────┼────────┼──────────┤
│ 1  │ pm2-logrotate  │ online    │ 0%     │ 20.2mb   │
└────┴────────────────┴───────────┴────────┴──────────┘
";
    assert_eq!(t, expected);
}

#[test]
fn an_empty_list_is_a_header_alone() {
    let (t, layout) = process_tables(&[], 0, None);
    assert_eq!(layout, Layout::Full);
    let expected = "\
┌────┬───────────┬─────────────┬─────────┬─────────┬──────────┬────────┬──────┬───────────┬──────────┬──────────┬──────────┬──────────┐
│ id │ name      │ namespace   │ version │ mode    │ pid      │ uptime │ ↺    │ status    │ cpu      │ mem      │ user     │ watching │
└────┴───────────┴─────────────┴─────────┴─────────┴──────────┴────────┴──────┴───────────┴──────────┴──────────┴──────────┴──────────┘
";
    assert_eq!(t, expected);
}

#[test]
fn sorts_by_name_unless_told() {
    let mut list = vec![
        proc_(0, "x", "online", json!({})),
        proc_(1, "a", "online", json!({})),
        proc_(2, "c", "online", json!({})),
    ];
    sort(&mut list, None);
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "c", "x"]);
    sort(&mut list, Some("id:desc"));
    let ids: Vec<u64> = list.iter().map(|p| p["pm_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [2, 1, 0]);
}

#[test]
fn mini_list_is_plain_blocks() {
    let t = mini_list(&[proc_(0, "x", "online", json!({}))], 1_005_000);
    assert!(t.starts_with("+--- x\nnamespace : default\nversion : N/A\npid : 5549\npm2 id : 0\nstatus : online\nmode : fork\nrestarted : 0\nuptime : 5s\nmemory usage : 20.2mb \n"), "{t}");
}

#[test]
fn describe_lists_paths_and_divergent_env() {
    let p = proc_(
        0,
        "x",
        "online",
        json!({"axm_actions": [{"action_name": "km:heapdump"}],
        "axm_monitor": {"Heap Size": {"value": "7.23", "unit": "MiB"}, "Active handles": {"value": 3}}}),
    );
    let local: pm2_config::ClientEnv = [("A".to_string(), "2".to_string())].into();
    let t = describe(&p, 1_002_000, &local);
    assert!(
        t.starts_with(" Describing process with id 0 - name x \n┌───────────────────┬"),
        "{t}"
    );
    assert!(
        t.contains("│ script path       │ /tmp/x.js                │"),
        "{t}"
    );
    assert!(
        t.contains("│ created at        │ 1970-01-01T00:16:40.000Z │"),
        "{t}"
    );
    assert!(t.contains("│ km:heapdump │"), "{t}");
    assert!(t.contains("│ Heap Size      │ 7.23 MiB │"), "{t}");
    assert!(t.contains("│ A │ 1 │"), "{t}");
    assert!(t.contains("Use `pm2 logs x [--lines 1000]` to display logs"));
}
