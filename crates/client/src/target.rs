//! What a target names: `all`, an id, a name, a namespace, or `/regex/`.

use crate::error::{Error, Result};
use crate::name_regex::NameRegex;
use serde_json::Value;

fn env_str<'a>(proc_: &'a Value, key: &str) -> Option<&'a str> {
    proc_.get("pm2_env")?.get(key)?.as_str()
}

pub fn pm_id(proc_: &Value) -> Option<u64> {
    proc_.get("pm_id").and_then(Value::as_u64)
}

pub fn is_module(proc_: &Value) -> bool {
    proc_
        .get("pm2_env")
        .and_then(|e| e.get("pmx_module"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The ids `target` names in `list`, in pm_id order, a script path being
/// relative to the current directory. `all` leaves modules out.
pub fn resolve(list: &[Value], target: &str) -> Result<Vec<u64>> {
    resolve_in(list, target, &std::env::current_dir().unwrap_or_default())
}

/// [`resolve`], with a script path relative to `cwd` (an API instance's `cwd`).
pub fn resolve_in(list: &[Value], target: &str, cwd: &std::path::Path) -> Result<Vec<u64>> {
    let ids: Vec<u64> = if target == "all" {
        list.iter()
            .filter(|p| !is_module(p))
            .filter_map(pm_id)
            .collect()
    } else if let Ok(id) = target.parse::<u64>() {
        // A number is an app's name or namespace first, as PM2 reads it.
        let named = by_name_or_namespace(list, target, None);
        if named.is_empty() {
            list.iter().filter_map(pm_id).filter(|&i| i == id).collect()
        } else {
            named
        }
    } else if target.len() > 1 && target.starts_with('/') && target.ends_with('/') {
        // As PM2: every `/` taken out, the rest a JavaScript regex over names
        // (modules included); no match is "No process found".
        let names = NameRegex::new(&target.replace('/', "")).map_err(Error::Usage)?;
        let ids: Vec<u64> = list
            .iter()
            .filter(|p| {
                p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.is_match(n))
            })
            .filter_map(pm_id)
            .collect();
        if ids.is_empty() {
            return Err(Error::NothingToDo);
        }
        ids
    } else {
        // A name, or the script a process runs (`pm2 stop app.js`), as PM2 matches them.
        // As Node's path.resolve: `./app.js` and `app.js` alike, `..` folded.
        let script = pm2_config::resolve_path(cwd, std::path::Path::new(target));
        by_name_or_namespace(list, target, Some(&script))
    };
    if ids.is_empty() {
        return Err(if target == "all" {
            Error::NothingToDo
        } else {
            Error::NotFound(target.to_string())
        });
    }
    Ok(ids)
}

/// The processes named `target` (or running `script`), else those of the
/// namespace `target`.
fn by_name_or_namespace(
    list: &[Value],
    target: &str,
    script: Option<&std::path::Path>,
) -> Vec<u64> {
    let by_name: Vec<u64> = list
        .iter()
        .filter(|p| {
            p.get("name").and_then(Value::as_str) == Some(target)
                || script.is_some_and(|s| {
                    env_str(p, "pm_exec_path").is_some_and(|e| std::path::Path::new(e) == s)
                })
        })
        .filter_map(pm_id)
        .collect();
    if !by_name.is_empty() {
        return by_name;
    }
    list.iter()
        .filter(|p| env_str(p, "namespace") == Some(target))
        .filter_map(pm_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list() -> Vec<Value> {
        vec![
            json!({"pm_id": 0, "name": "api", "pm2_env": {"namespace": "web"}}),
            json!({"pm_id": 1, "name": "worker", "pm2_env": {"namespace": "jobs"}}),
            json!({"pm_id": 2, "name": "api", "pm2_env": {"namespace": "web"}}),
            json!({"pm_id": 3, "name": "logrotate", "pm2_env": {"namespace": "default", "pmx_module": true}}),
        ]
    }

    #[test]
    fn resolves_each_kind_of_target() {
        assert_eq!(resolve(&list(), "all").unwrap(), vec![0, 1, 2]);
        assert_eq!(resolve(&list(), "1").unwrap(), vec![1]);
        assert_eq!(resolve(&list(), "api").unwrap(), vec![0, 2]);
        assert_eq!(resolve(&list(), "jobs").unwrap(), vec![1]);
        assert_eq!(resolve(&list(), "logrotate").unwrap(), vec![3]);
        assert_eq!(resolve(&list(), "/^a.i$/").unwrap(), vec![0, 2]);
        assert_eq!(resolve(&list(), "/ork/").unwrap(), vec![1]);
        assert_eq!(resolve(&list(), "/^(api|log)/").unwrap(), vec![0, 2, 3]);
        assert!(matches!(resolve(&list(), "/^zz/"), Err(Error::NothingToDo)));
        assert!(matches!(resolve(&list(), "/(/"), Err(Error::Usage(_))));
    }

    #[test]
    fn a_number_is_a_name_or_namespace_before_an_id() {
        let list = vec![
            json!({"pm_id": 0, "name": "455", "pm2_env": {}}),
            json!({"pm_id": 1, "name": "0", "pm2_env": {}}),
            json!({"pm_id": 2, "name": "w", "pm2_env": {"namespace": "7"}}),
        ];
        assert_eq!(resolve(&list, "455").unwrap(), vec![0]);
        assert_eq!(resolve(&list, "0").unwrap(), vec![1]);
        assert_eq!(resolve(&list, "7").unwrap(), vec![2]);
        assert_eq!(resolve(&list, "2").unwrap(), vec![2]);
    }

    #[test]
    fn a_script_path_names_the_processes_running_it() {
        let cwd = std::env::current_dir().unwrap();
        let script = cwd.join("srv").join("app.js");
        let list = vec![
            json!({"pm_id": 0, "name": "web", "pm2_env": {"pm_exec_path": script}}),
            json!({"pm_id": 1, "name": "other", "pm2_env": {"pm_exec_path": "/elsewhere/app.js"}}),
        ];
        assert_eq!(resolve(&list, "srv/app.js").unwrap(), vec![0]);
        assert_eq!(resolve(&list, "./srv/../srv/app.js").unwrap(), vec![0]);
        assert_eq!(resolve(&list, script.to_str().unwrap()).unwrap(), vec![0]);
        assert_eq!(resolve(&list, "/elsewhere/app.js").unwrap(), vec![1]);
        assert!(resolve(&list, "app.js").is_err(), "not in this directory");
    }

    #[test]
    fn unknown_targets_name_the_target() {
        assert_eq!(
            resolve(&list(), "nope").unwrap_err().to_string(),
            "Process or Namespace nope not found"
        );
        assert_eq!(
            resolve(&list(), "9").unwrap_err().to_string(),
            "Process or Namespace 9 not found"
        );
        assert!(matches!(resolve(&[], "all"), Err(Error::NothingToDo)));
    }
}
