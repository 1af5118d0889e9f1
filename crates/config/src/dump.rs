//! `dump.pm2`: the saved process list that `resurrect` starts again.
//! A JSON array of pm2_env objects, modules left out, without the fields
//! that belong to one daemon's table (`pm_id`, `instances`, `prev_restart_delay`).

use crate::paths::{write_atomic, Paths};
use serde_json::Value;
use std::io;

/// Larger dumps are refused rather than read into memory whole.
const MAX_DUMP_BYTES: u64 = 256 * 1024 * 1024;

fn is_module(proc_: &Value) -> bool {
    proc_["pm2_env"]["pmx_module"].as_bool().unwrap_or(false)
}

/// The dump entries for a process list as `getMonitorData` returns it.
pub fn entries_from_list(list: &[Value]) -> Vec<Value> {
    list.iter()
        .filter(|p| !is_module(p))
        .filter_map(|p| p.get("pm2_env").cloned())
        .map(|mut env| {
            if let Some(o) = env.as_object_mut() {
                for k in ["pm_id", "instances", "prev_restart_delay"] {
                    o.shift_remove(k);
                }
            }
            env
        })
        .collect()
}

/// Writes the dump atomically, keeping the previous one as `dump.pm2.bak`.
pub fn write(paths: &Paths, entries: &[Value]) -> io::Result<()> {
    if paths.dump_file.exists() {
        let previous = crate::safe_fs::read_limited(&paths.dump_file, MAX_DUMP_BYTES)?;
        write_atomic(&paths.dump_backup, &previous)?;
    }
    let bytes = serde_json::to_vec_pretty(entries).map_err(io::Error::from)?;
    write_atomic(&paths.dump_file, &bytes)
}

fn read_one(path: &std::path::Path) -> Result<Vec<Value>, String> {
    let bytes = crate::safe_fs::read_limited(path, MAX_DUMP_BYTES)
        .map_err(|e| format!("No dump file at {}: {e}", path.display()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Array(apps)) => Ok(apps),
        _ => Err(format!(
            "Dump file {} is corrupted: not a JSON array of apps",
            path.display()
        )),
    }
}

/// Reads the dump, falling back to `dump.pm2.bak` when the dump is missing or
/// broken; a broken dump the backup stood in for is removed, as PM2 does, so
/// the next save starts from the backup rather than keeping the broken file.
pub fn read(paths: &Paths) -> Result<Vec<Value>, String> {
    read_one(&paths.dump_file).or_else(|first| {
        let apps = read_one(&paths.dump_backup).map_err(|_| first)?;
        if paths.dump_file.is_file() {
            let _ = std::fs::remove_file(&paths.dump_file);
        }
        Ok(apps)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn saves_apps_without_modules_and_restores_from_the_backup() {
        let home = std::env::temp_dir().join(format!("pm2-dump-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let paths = Paths::new(&home);
        let list = vec![
            json!({"pm_id": 0, "pm2_env": {"name": "a", "pm_id": 0, "instances": 1, "status": "online"}}),
            json!({"pm_id": 1, "pm2_env": {"name": "mod", "pmx_module": true}}),
        ];
        let entries = entries_from_list(&list);
        assert_eq!(entries, vec![json!({"name": "a", "status": "online"})]);
        write(&paths, &entries).unwrap();
        write(&paths, &[]).unwrap();
        assert_eq!(read(&paths).unwrap(), Vec::<Value>::new());
        std::fs::write(&paths.dump_file, "{broken").unwrap();
        assert_eq!(read(&paths).unwrap(), entries, "falls back to the .bak");
        assert!(!paths.dump_file.exists(), "the broken dump is removed");
        std::fs::remove_dir_all(&home).unwrap();
    }
}
