//! Module names, checked by npm's rules before any path is built from one.
//! A module's name becomes its folder under `modules/`, so a name that climbs
//! out (`..`, an absolute path, more than one `/`) must be refused before it
//! gets that far, wherever it comes from: the command line, a package.json
//! inside a tarball, or `module_conf.json`.

use std::fmt;
use std::path::{Path, PathBuf};

/// npm's limit on a package name's length.
const MAX_LEN: usize = 214;

/// A module name that is safe as a folder under `modules/`: one path
/// component, or `@scope/name` (two, the scope's folder holding the module's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleName(String);

/// Why a module name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid module name {name:?}: {why}")]
pub struct NameError {
    pub name: String,
    pub why: String,
}

impl ModuleName {
    /// Checks `name` by npm's rules (names published before npm required
    /// lowercase stay valid, so capitals are accepted).
    pub fn parse(name: &str) -> Result<ModuleName, NameError> {
        let refuse = |why: &str| {
            Err(NameError {
                name: name.to_string(),
                why: why.to_string(),
            })
        };
        if name.is_empty() {
            return refuse("it is empty");
        }
        if name.len() > MAX_LEN {
            return refuse("it is longer than 214 characters");
        }
        if name.starts_with('_') {
            return refuse("it starts with an underscore");
        }
        if matches!(name, "node_modules" | "favicon.ico") {
            return refuse("it is a name npm reserves");
        }
        let parts: Vec<&str> = match name.strip_prefix('@') {
            Some(scoped) => match scoped.split_once('/') {
                Some((scope, inner)) if !scope.is_empty() && !inner.is_empty() => {
                    if inner.contains('/') {
                        return refuse("a scoped name has exactly one / (@scope/name)");
                    }
                    vec![scope, inner]
                }
                _ => return refuse("a scoped name is @scope/name"),
            },
            None if name.contains('/') => {
                return refuse("it has a /, which only a scoped name (@scope/name) may have")
            }
            None => vec![name],
        };
        for part in parts {
            if part.starts_with('.') {
                return refuse("it (or its scope) starts with a dot");
            }
            if let Some(c) = part.chars().find(|c| !url_safe(*c)) {
                return refuse(&format!(
                    "it has the character {c:?}; a name is made of letters, digits and - . _ ~ ! * ' ( )"
                ));
            }
        }
        Ok(ModuleName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scope of `@scope/name`, without its `@`.
    pub fn scope(&self) -> Option<&str> {
        self.0.strip_prefix('@')?.split_once('/').map(|(s, _)| s)
    }

    /// The module's folder under `base` (`base/name`, or `base/@scope/name`).
    pub fn folder_in(&self, base: &Path) -> PathBuf {
        match self.0.split_once('/') {
            Some((scope, inner)) => base.join(scope).join(inner),
            None => base.join(&self.0),
        }
    }

    /// The name as one path component (`@scope+name`), for folders that sit
    /// beside the module's own (`+` is never part of a valid name).
    pub fn flat(&self) -> String {
        self.0.replace('/', "+")
    }
}

/// The characters `encodeURIComponent` leaves alone, as npm requires.
fn url_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!*'()".contains(c)
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ModuleName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ModuleName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(name: &str) -> String {
        ModuleName::parse(name).unwrap_err().why
    }

    #[test]
    fn npm_names_are_accepted() {
        for name in [
            "pm2-logrotate",
            "socket.io",
            "@acme/mod",
            "@my-org/pm2.thing",
            "JSONStream",
            "a",
            "x_y",
            "what!(why)*'~",
        ] {
            assert_eq!(ModuleName::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(
            ModuleName::parse(&"m".repeat(214)).unwrap().as_str().len(),
            214
        );
    }

    #[test]
    fn names_that_would_leave_the_modules_folder_are_refused() {
        assert_eq!(why(".."), "it (or its scope) starts with a dot");
        assert_eq!(why("."), "it (or its scope) starts with a dot");
        assert_eq!(
            why("../../victim"),
            "it has a /, which only a scoped name (@scope/name) may have"
        );
        assert_eq!(
            why("/../x"),
            "it has a /, which only a scoped name (@scope/name) may have"
        );
        assert_eq!(
            why("/etc"),
            "it has a /, which only a scoped name (@scope/name) may have"
        );
        assert_eq!(why("@acme/.."), "it (or its scope) starts with a dot");
        assert_eq!(why("@../x"), "it (or its scope) starts with a dot");
        assert_eq!(
            why("@acme/a/b"),
            "a scoped name has exactly one / (@scope/name)"
        );
        assert_eq!(why("@acme"), "a scoped name is @scope/name");
        assert_eq!(why("@/x"), "a scoped name is @scope/name");
        assert_eq!(why("@acme/"), "a scoped name is @scope/name");
        assert!(why("a\\..\\b").contains("'\\\\'"));
        assert!(why("a\0b").contains("character"));
    }

    #[test]
    fn other_npm_rules() {
        assert_eq!(why(""), "it is empty");
        assert_eq!(why(&"m".repeat(215)), "it is longer than 214 characters");
        assert_eq!(why("_private"), "it starts with an underscore");
        assert_eq!(why(".hidden"), "it (or its scope) starts with a dot");
        assert_eq!(why("node_modules"), "it is a name npm reserves");
        assert!(why("my mod").contains("' '"));
        assert!(why("mod:app").contains("':'"));
        assert!(why("mod@1.0").contains("'@'"));
        assert!(why("é").contains("'é'"));
        let e = ModuleName::parse("/../x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid module name \"/../x\": it has a /, which only a scoped name (@scope/name) may have"
        );
    }

    #[test]
    fn folders_and_flat_names() {
        let base = Path::new("/home/u/.pm2/modules");
        let plain = ModuleName::parse("pm2-logrotate").unwrap();
        assert_eq!(plain.folder_in(base), base.join("pm2-logrotate"));
        assert_eq!(plain.flat(), "pm2-logrotate");
        assert_eq!(plain.scope(), None);
        let scoped = ModuleName::parse("@acme/mod").unwrap();
        assert_eq!(scoped.folder_in(base), base.join("@acme").join("mod"));
        assert_eq!(scoped.flat(), "@acme+mod");
        assert_eq!(scoped.scope(), Some("acme"));
    }
}
