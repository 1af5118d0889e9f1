//! What a target names: `all`, an id, a name, a namespace, or `/regex/`.

use crate::error::{Error, Result};
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
        list.iter().filter_map(pm_id).filter(|&i| i == id).collect()
    } else if let Some(re) = target.strip_prefix('/').and_then(|t| t.strip_suffix('/')) {
        let names = Pattern::new(re);
        list.iter()
            .filter(|p| {
                p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.matches(n))
            })
            .filter_map(pm_id)
            .collect()
    } else {
        // A name, or the script a process runs (`pm2 stop app.js`), as PM2 matches them.
        // As Node's path.resolve: `./app.js` and `app.js` alike, `..` folded.
        let script = pm2_config::resolve_path(cwd, std::path::Path::new(target));
        let by_name: Vec<u64> = list
            .iter()
            .filter(|p| {
                p.get("name").and_then(Value::as_str) == Some(target)
                    || env_str(p, "pm_exec_path").is_some_and(|e| std::path::Path::new(e) == script)
            })
            .filter_map(pm_id)
            .collect();
        if by_name.is_empty() {
            list.iter()
                .filter(|p| env_str(p, "namespace") == Some(target))
                .filter_map(pm_id)
                .collect()
        } else {
            by_name
        }
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

/// A small regex subset for `/regex/` targets: literals, `.`, `*`, `+`, `?`, `^`, `$`.
/// Enough for the name patterns people type; a full engine is not worth its weight here.
struct Pattern {
    anchored_start: bool,
    anchored_end: bool,
    atoms: Vec<(Atom, Rep)>,
}

#[derive(Clone, Copy)]
enum Atom {
    Any,
    Char(char),
}

#[derive(Clone, Copy, PartialEq)]
enum Rep {
    One,
    Star,
    Plus,
    Opt,
}

impl Pattern {
    fn new(src: &str) -> Pattern {
        let mut chars = src.chars().peekable();
        let anchored_start = chars.peek() == Some(&'^');
        if anchored_start {
            chars.next();
        }
        let mut atoms = Vec::new();
        let mut anchored_end = false;
        while let Some(c) = chars.next() {
            let atom = match c {
                '$' if chars.peek().is_none() => {
                    anchored_end = true;
                    continue;
                }
                '.' => Atom::Any,
                '\\' => Atom::Char(chars.next().unwrap_or('\\')),
                c => Atom::Char(c),
            };
            let rep = match chars.peek() {
                Some('*') => Rep::Star,
                Some('+') => Rep::Plus,
                Some('?') => Rep::Opt,
                _ => Rep::One,
            };
            if rep != Rep::One {
                chars.next();
            }
            atoms.push((atom, rep));
        }
        Pattern {
            anchored_start,
            anchored_end,
            atoms,
        }
    }

    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let starts: Vec<usize> = if self.anchored_start {
            vec![0]
        } else {
            (0..=text.len()).collect()
        };
        starts
            .into_iter()
            .any(|s| self.match_at(&self.atoms, &text[s..]))
    }

    fn match_at(&self, atoms: &[(Atom, Rep)], text: &[char]) -> bool {
        let Some(&(atom, rep)) = atoms.first() else {
            return !self.anchored_end || text.is_empty();
        };
        let hit = |c: &char| match atom {
            Atom::Any => true,
            Atom::Char(a) => a == *c,
        };
        let rest = &atoms[1..];
        match rep {
            Rep::One => text.first().is_some_and(hit) && self.match_at(rest, &text[1..]),
            Rep::Opt => {
                self.match_at(rest, text)
                    || (text.first().is_some_and(hit) && self.match_at(rest, &text[1..]))
            }
            Rep::Star | Rep::Plus => {
                let run = text.iter().take_while(|c| hit(c)).count();
                let min = usize::from(rep == Rep::Plus);
                (min..=run).rev().any(|k| self.match_at(rest, &text[k..]))
            }
        }
    }
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
