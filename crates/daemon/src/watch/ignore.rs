//! Which paths do not count as changes: `ignore_watch` patterns, or PM2's
//! default (dot files and `node_modules`).

use super::*;
use crate::glob::Glob;
use std::path::{Component, Path, PathBuf};

/// Which paths do not count as changes.
pub struct Ignore {
    /// Where relative patterns start (the app's folder), then each root.
    pub(super) bases: Vec<PathBuf>,
    pub(super) excluded: Vec<PathBuf>,
    pub(super) rules: Rules,
}

pub(super) enum Rules {
    /// PM2's default: any dotfile or dot-folder, and `node_modules`.
    Default,
    Patterns {
        /// Patterns with a `/`, against the path relative to the app's folder
        /// (or against the absolute path, for absolute patterns).
        paths: Vec<Glob>,
        /// Patterns without one (`node_modules`, `*.log`), against each name
        /// along the path: they ignore a folder's whole tree.
        names: Vec<Glob>,
    },
}

impl Ignore {
    pub(super) fn compile(patterns: &[String]) -> Result<Rules, String> {
        let mut paths = Vec::new();
        let mut names = Vec::new();
        for raw in patterns {
            let p = raw.trim().trim_start_matches("./").trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            let glob = Glob::new(p)
                .map_err(|e| format!("ignore_watch: invalid pattern \"{raw}\": {e}"))?;
            if p.contains('/') {
                paths.push(glob);
            } else {
                names.push(glob);
            }
        }
        Ok(Rules::Patterns { paths, names })
    }

    pub fn new(config: &WatchConfig) -> Ignore {
        let rules = match &config.patterns {
            None => Rules::Default,
            Some(p) => Ignore::compile(p).unwrap_or(Rules::Default),
        };
        let mut bases = vec![config.base.clone()];
        bases.extend(config.roots.iter().cloned());
        Ignore {
            bases,
            excluded: config.excluded.clone(),
            rules,
        }
    }

    pub fn is_ignored(&self, path: &Path) -> bool {
        if self
            .excluded
            .iter()
            .any(|e| path.starts_with(e) || is_temp_of(path, e))
        {
            return true;
        }
        let rel = self
            .bases
            .iter()
            .find_map(|b| path.strip_prefix(b).ok())
            .unwrap_or(path);
        let names = || {
            rel.components().filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
        };
        match &self.rules {
            Rules::Default => names().any(|n| {
                let n = n.to_string_lossy();
                n.starts_with('.') || n.contains("node_modules")
            }),
            Rules::Patterns {
                paths,
                names: by_name,
            } => {
                let any = |set: &[Glob], p: &Path| {
                    let text = p.to_string_lossy();
                    set.iter().any(|g| g.is_match(&text))
                };
                names().any(|n| any(by_name, Path::new(n)))
                    || rel
                        .ancestors()
                        .filter(|a| !a.as_os_str().is_empty())
                        .any(|a| any(paths, a))
                    || path.ancestors().any(|a| any(paths, a))
            }
        }
    }
}
