//! Which program runs a script: the user's choice, else one picked from the file
//! extension, else `none` for compiled programs and node for anything else.

use std::path::Path;

use crate::error::ConfigError;
use crate::locate::{is_binary, Lookup};

/// The interpreter for each known extension. Python and TypeScript have fallbacks,
/// see [`choose`].
fn by_extension(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "sh" => "bash",
        "py" => "python",
        "rb" => "ruby",
        "php" => "php",
        "pl" => "perl",
        "js" | "cjs" | "mjs" => "node",
        "coffee" => "coffee",
        "ls" => "lsc",
        "ts" | "tsx" => "bun",
        _ => return None,
    })
}

/// Picks the interpreter for the script at `exec_path` and checks it can run.
/// `explicit` is the user's `interpreter`/`exec_interpreter`; `cwd` is the app's.
pub(crate) fn choose(
    explicit: Option<&str>,
    exec_path: &Path,
    cwd: &Path,
    lookup: &Lookup,
) -> Result<String, ConfigError> {
    let chosen = match explicit {
        // Relative interpreter paths (`./venv/bin/python`) must not depend on the
        // directory the daemon happens to spawn from.
        Some(given) if given.contains('/') => {
            lookup.resolve(cwd, given).to_string_lossy().into_owned()
        }
        Some(given) => given.to_string(),
        None => from_script(exec_path, cwd, lookup),
    };
    ensure_available(&chosen, cwd, lookup)?;
    Ok(chosen)
}

fn from_script(exec_path: &Path, cwd: &Path, lookup: &Lookup) -> String {
    let ext = exec_path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match by_extension(ext) {
        // PM2 prefers `python` but most systems now only ship `python3`.
        Some("python") if lookup.which("python", cwd).is_none() => "python3".into(),
        // TypeScript runs under bun when it is installed; node ≥ 22 runs it too.
        Some("bun") if lookup.which("bun", cwd).is_none() => "node".into(),
        Some(known) => known.into(),
        None if is_binary(exec_path) => "none".into(),
        None => "node".into(),
    }
}

/// node is the client's own runtime and `node@<version>` is pinned through a
/// version manager, so neither is looked up; everything else must be on PATH.
fn ensure_available(interpreter: &str, cwd: &Path, lookup: &Lookup) -> Result<(), ConfigError> {
    if interpreter == "none" || interpreter == "node" || interpreter.starts_with("node@") {
        return Ok(());
    }
    match lookup.which(interpreter, cwd) {
        Some(_) => Ok(()),
        None => Err(ConfigError::InterpreterNotAvailable(
            interpreter.to_string(),
        )),
    }
}

/// Node and bun are the runtimes that can be cluster workers.
pub(crate) fn can_cluster(interpreter: &str) -> bool {
    interpreter.contains("node") || interpreter.contains("bun")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx_with_path, TempDir};

    fn pick(on_path: &[&str], script: &str, explicit: Option<&str>) -> Result<String, ConfigError> {
        let tmp = TempDir::new();
        let ctx = ctx_with_path(&tmp, on_path);
        let path = tmp.file(script, "hello\n");
        choose(explicit, &path, &tmp.path, &Lookup::new(&ctx))
    }

    #[test]
    fn extension_picks_the_interpreter() {
        let all = [
            "bash", "python", "ruby", "php", "perl", "coffee", "lsc", "bun",
        ];
        for (script, want) in [
            ("a.sh", "bash"),
            ("a.py", "python"),
            ("a.rb", "ruby"),
            ("a.php", "php"),
            ("a.pl", "perl"),
            ("a.js", "node"),
            ("a.cjs", "node"),
            ("a.mjs", "node"),
            ("a.coffee", "coffee"),
            ("a.ls", "lsc"),
            ("a.ts", "bun"),
            ("a.tsx", "bun"),
            ("a.txt", "node"),
            ("noext", "node"),
        ] {
            assert_eq!(pick(&all, script, None).unwrap(), want, "{script}");
        }
    }

    #[test]
    fn python_falls_back_to_python3() {
        assert_eq!(pick(&["python3"], "a.py", None).unwrap(), "python3");
        let err = pick(&[], "a.py", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Interpreter python3 is NOT AVAILABLE in PATH. (type 'which python3' to double check.)"
        );
    }

    #[test]
    fn typescript_falls_back_to_node_without_bun() {
        assert_eq!(pick(&[], "a.ts", None).unwrap(), "node");
    }

    #[test]
    fn binaries_run_directly() {
        let tmp = TempDir::new();
        let ctx = ctx_with_path(&tmp, &[]);
        let prog = tmp.executable("server", "\x7fELF\x02\x01\x01\0\0");
        assert_eq!(
            choose(None, &prog, &tmp.path, &Lookup::new(&ctx)).unwrap(),
            "none"
        );
    }

    #[test]
    fn explicit_interpreter_wins_and_must_exist() {
        assert_eq!(pick(&["ruby"], "a.py", Some("ruby")).unwrap(), "ruby");
        assert_eq!(pick(&[], "a.py", Some("none")).unwrap(), "none");
        assert_eq!(pick(&[], "a.py", Some("node")).unwrap(), "node");
        assert_eq!(
            pick(&[], "a.js", Some("node@18.0.0")).unwrap(),
            "node@18.0.0"
        );
        let err = pick(&[], "a.js", Some("deno")).unwrap_err();
        assert!(matches!(err, ConfigError::InterpreterNotAvailable(ref i) if i == "deno"));
        assert!(
            pick(&[], "a.sh", None).is_err(),
            "bash is not on the fake PATH"
        );
    }

    #[test]
    fn relative_interpreter_paths_resolve_against_the_app_cwd() {
        let tmp = TempDir::new();
        let ctx = ctx_with_path(&tmp, &[]);
        let py = tmp.executable("venv/bin/python", "#!/bin/sh\n");
        let script = tmp.file("a.py", "");
        let got = choose(
            Some("./venv/bin/python"),
            &script,
            &tmp.path,
            &Lookup::new(&ctx),
        )
        .unwrap();
        assert_eq!(got, py.to_str().unwrap());
        assert!(choose(
            Some("./nope/python"),
            &script,
            &tmp.path,
            &Lookup::new(&ctx)
        )
        .is_err());
    }

    #[test]
    fn cluster_capable_runtimes() {
        assert!(can_cluster("node") && can_cluster("/usr/bin/node") && can_cluster("bun"));
        assert!(!can_cluster("none") && !can_cluster("python3"));
    }
}
