//! `pm2 deploy <file|environment> <environment> [command]`: drives the system
//! `ssh` and `git` on each host of an ecosystem file's `deploy` section, with
//! PM2's layout on the host so a host set up by PM2 keeps working.

mod target;

use super::{Ctx, Failure, Outcome};
use crate::ecosystem;
use crate::output;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use target::{Step, Target};

/// What the user asked for on the host(s).
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Setup,
    /// Deploy the given ref, or the section's `ref` when `None`.
    Deploy(Option<String>),
    Revert(usize),
    Current,
    Previous,
    List,
    Exec(String),
}

#[derive(Debug, PartialEq)]
struct Invocation {
    file: Option<String>,
    env: Option<String>,
    action: Action,
    force: bool,
}

/// The ecosystem files looked for when the first word names an environment.
/// In PM2's order.
const DEFAULT_FILES: &[&str] = &[
    "ecosystem.json",
    "ecosystem.yml",
    "ecosystem.yaml",
    "ecosystem.config.js",
    "ecosystem.config.cjs",
    "ecosystem.config.mjs",
    "ecosystem.json5",
    "package.json",
];

const USAGE: &str = "
-----> pm2 deploy: deployment over ssh and git

  pm2 deploy [ecosystem file] <environment> <command>

  Commands:
    setup                run remote setup commands
    update               update deploy to the latest release
    revert [n]           revert to [n]th last deployment or 1
    curr[ent]            output current release commit
    prev[ious]           output previous release commit
    exec|run <cmd>       execute the given <cmd>
    list                 list previous deploy commits
    [ref]                deploy to [ref], else the \"ref\" setting

  Options:
    --force              deploy even with uncommitted local changes

  Without a file name, the first of ecosystem.json, ecosystem.yml, ecosystem.yaml,
  ecosystem.config.js (.cjs, .mjs), ecosystem.json5 and package.json is read.
  See docs/deploy.md.
";

fn parse_args(words: &[String]) -> Result<Invocation, String> {
    let mut force = false;
    let mut plain = Vec::new();
    for w in words {
        // The words after `exec` are the command's, dashes included.
        let in_command = plain.iter().any(|p: &String| p == "exec" || p == "run");
        match w.as_str() {
            _ if in_command => plain.push(w.clone()),
            "--force" | "-f" => force = true,
            s if s.starts_with('-') => return Err(format!("pm2 deploy: unknown option {s}")),
            _ => plain.push(w.clone()),
        }
    }
    let mut rest = plain.into_iter();
    let first = rest.next();
    let (file, env) = match first {
        Some(f) if ecosystem::is_config_file(&f) => (Some(f), rest.next()),
        other => (None, other),
    };
    let command = rest.next();
    let arg = rest.next();
    let extra: Vec<String> = rest.collect();
    let action = match command.as_deref() {
        None | Some("update") => Action::Deploy(None),
        Some("setup") => Action::Setup,
        Some("revert") => {
            let n = match arg.as_deref() {
                None => 1,
                Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("pm2 deploy revert: {n:?} is not a number of deploys (1 or more)")
                })?,
            };
            Action::Revert(n)
        }
        Some("curr" | "current") => Action::Current,
        Some("prev" | "previous") => Action::Previous,
        Some("list") => Action::List,
        Some("exec" | "run") => {
            let mut words: Vec<String> = arg.into_iter().collect();
            words.extend(extra.iter().cloned());
            if words.is_empty() {
                return Err("pm2 deploy exec: give the command to run".into());
            }
            // One word is the command line as written (PM2 passes a single
            // string); several are each kept whole, as the shell gave them.
            let command = match words.as_slice() {
                [one] => one.clone(),
                many => many
                    .iter()
                    .map(|w| target::quote(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            return Ok(Invocation {
                file,
                env,
                action: Action::Exec(command),
                force,
            });
        }
        Some(git_ref) => Action::Deploy(Some(git_ref.to_string())),
    };
    let unused: Vec<String> = match &action {
        Action::Revert(_) => extra,
        _ => arg.into_iter().chain(extra).collect(),
    };
    if !unused.is_empty() {
        return Err(format!(
            "pm2 deploy: unexpected argument(s) {}",
            unused.join(" ")
        ));
    }
    Ok(Invocation {
        file,
        env,
        action,
        force,
    })
}

/// `list`'s lines: newest first, each with how many deploys ago it was.
fn list_text(deploys: &str) -> String {
    deploys
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .enumerate()
        .map(|(i, l)| format!("{i}\t{}\n", l.trim()))
        .collect()
}

/// The commit deployed `n` deploys before the last one.
fn nth_last(deploys: &str, n: usize) -> Result<String, String> {
    let lines: Vec<&str> = deploys
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if n >= lines.len() {
        return Err(format!(
            "cannot go back {n} deploy(s): the host has recorded {} deploy(s)",
            lines.len()
        ));
    }
    Ok(lines[lines.len() - 1 - n].to_string())
}

/// Runs one step on one host: the script goes to `sh -s` on ssh's stdin.
/// With `capture`, returns the host's stdout instead of showing it.
fn run_on_host(target: &Target, host: &str, step: &Step, capture: bool) -> Result<String, i32> {
    let mut child = Command::new("ssh")
        .args(target.ssh_args(host))
        .stdin(Stdio::piped())
        .stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            output::err_line(&format!("  cannot run ssh: {e}"));
            1
        })?;
    let script = target.script(step);
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A host that closes early answers through the exit status below.
    let _ = stdin.write_all(script.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().map_err(|_| 1)?;
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Some(code) => Err(code),
        None => Err(1),
    }
}

/// PM2's guard against deploying what is not committed: `git diff` of the
/// work tree and the index in the current folder.
fn check_committed(cwd: &Path) -> Result<(), String> {
    for cached in [false, true] {
        let mut cmd = Command::new("git");
        cmd.current_dir(cwd).args(["diff", "--quiet"]);
        if cached {
            cmd.arg("--cached");
        }
        let status = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        match status.code() {
            Some(0) => {}
            Some(1) => return Err("commit or stash your changes before deploying (or deploy with --force)".into()),
            _ => {
                return Err(format!(
                    "cannot check {} for uncommitted changes (not a git work tree?): deploy with --force to skip the check",
                    cwd.display()
                ))
            }
        }
    }
    Ok(())
}

fn run_local_hook(ctx: &Ctx, target: &Target) -> Result<(), i32> {
    if target.pre_deploy_local.is_empty() {
        return Ok(());
    }
    output::raw("  \u{25cb} executing pre-deploy-local\n");
    let status = Command::new("sh")
        .arg("-c")
        .arg(&target.pre_deploy_local)
        .current_dir(&ctx.cwd)
        .status()
        .map_err(|_| 1)?;
    if status.success() {
        Ok(())
    } else {
        output::err_line("  pre-deploy-local hook failed");
        Err(status.code().unwrap_or(1))
    }
}

/// A deploy of `git_ref` to one host.
fn deploy_to(ctx: &Ctx, target: &Target, host: &str, git_ref: &str) -> Result<(), i32> {
    output::raw(&format!("  \u{25cb} deploying {git_ref}\n"));
    run_local_hook(ctx, target)?;
    run_on_host(target, host, &Step::Deploy(git_ref.to_string()), false).map(drop)
}

fn on_host(ctx: &Ctx, target: &Target, host: &str, action: &Action) -> Result<(), i32> {
    match action {
        Action::Setup => run_on_host(target, host, &Step::Setup, false).map(drop),
        Action::Deploy(git_ref) => {
            output::raw("\n");
            let git_ref = git_ref.as_deref().unwrap_or(&target.git_ref);
            deploy_to(ctx, target, host, git_ref)
        }
        Action::Revert(n) => {
            let deploys = run_on_host(target, host, &Step::Deploys, true)?;
            let commit = nth_last(&deploys, *n).map_err(|e| {
                output::err_line(&format!("  {e}"));
                1
            })?;
            output::raw(&format!("  \u{25cb} reverting {n} deploy(s)\n"));
            deploy_to(ctx, target, host, &commit)
        }
        Action::Current => run_on_host(target, host, &Step::Current, false).map(drop),
        Action::Previous => {
            let deploys = run_on_host(target, host, &Step::Deploys, true)?;
            let commit = nth_last(&deploys, 1).map_err(|e| {
                output::err_line(&format!("  no previous deploy: {e}"));
                1
            })?;
            output::raw(&format!("{commit}\n"));
            Ok(())
        }
        Action::List => {
            let deploys = run_on_host(target, host, &Step::Deploys, true)?;
            output::raw(&list_text(&deploys));
            Ok(())
        }
        Action::Exec(cmd) => run_on_host(target, host, &Step::Exec(cmd.clone()), false).map(drop),
    }
}

fn find_file(ctx: &Ctx, file: Option<&str>) -> Result<(PathBuf, String), Failure> {
    if let Some(f) = file {
        return Ok((ctx.cwd.join(f), f.to_string()));
    }
    DEFAULT_FILES
        .iter()
        .map(|f| (ctx.cwd.join(f), f.to_string()))
        .find(|(p, _)| p.is_file())
        .ok_or_else(|| {
            Failure::Error(format!(
                "no ecosystem file given and no {} in {}",
                DEFAULT_FILES.join(", "),
                ctx.cwd.display()
            ))
        })
}

/// `pm2 deploy …`; `words` are the arguments after `deploy`.
pub fn deploy(ctx: &Ctx, words: &[String]) -> Outcome {
    if words.is_empty() {
        return Err(Failure::Plain(
            "\n  error: missing required argument `file|environment'\n".into(),
        ));
    }
    if matches!(words[0].as_str(), "help" | "-h" | "--help") {
        output::raw(USAGE);
        return Ok(());
    }
    let inv = parse_args(words).map_err(Failure::Error)?;
    let Some(env) = inv.env.as_deref() else {
        output::raw(USAGE);
        return Ok(());
    };
    let (path, shown) = find_file(ctx, inv.file.as_deref())?;
    let config = ecosystem::load(&path).map_err(Failure::Error)?;
    let section = config
        .get("deploy")
        .and_then(|d| d.get(env))
        .ok_or_else(|| {
            Failure::Plain(format!("{env} environment is not defined in {shown} file"))
        })?;
    let target = Target::from_section(env, section).map_err(Failure::Error)?;
    let deploys_code = matches!(inv.action, Action::Deploy(_) | Action::Revert(_));
    if deploys_code && !inv.force {
        check_committed(&ctx.cwd).map_err(|e| Failure::Plain(format!("  {e}\n\nDeploy failed")))?;
    }
    output::raw(&format!("--> Deploying to {env} environment\n"));
    for host in &target.hosts {
        output::raw(&format!("--> on host {host}\n"));
        if let Err(code) = on_host(ctx, &target, host, &inv.action) {
            // The hosts after a failed one are left as they are.
            return Err(Failure::Plain(format!(
                "\nDeploy failed on host {host}\nDeploy failed with exit code: {code}"
            )));
        }
    }
    output::raw("--> Success\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Result<Invocation, String> {
        parse_args(&s.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn reads_file_environment_and_command_as_pm2_does() {
        let inv = args(&["ecosystem.config.js", "production", "revert", "2"]).unwrap();
        assert_eq!(inv.file.as_deref(), Some("ecosystem.config.js"));
        assert_eq!(inv.env.as_deref(), Some("production"));
        assert_eq!(inv.action, Action::Revert(2));
        let inv = args(&["production", "--force"]).unwrap();
        assert_eq!(
            (inv.file, inv.env.as_deref(), inv.force),
            (None, Some("production"), true)
        );
        assert_eq!(inv.action, Action::Deploy(None));
        assert_eq!(args(&["p", "update"]).unwrap().action, Action::Deploy(None));
        assert_eq!(
            args(&["p", "v1.0"]).unwrap().action,
            Action::Deploy(Some("v1.0".into()))
        );
        assert_eq!(args(&["p", "revert"]).unwrap().action, Action::Revert(1));
        assert_eq!(args(&["p", "curr"]).unwrap().action, Action::Current);
        assert_eq!(args(&["p", "previous"]).unwrap().action, Action::Previous);
        assert_eq!(
            args(&["a.json", "p", "exec", "pm2 restart all"])
                .unwrap()
                .action,
            Action::Exec("pm2 restart all".into())
        );
        assert_eq!(
            args(&["p", "run", "ls", "-la"]).unwrap().action,
            Action::Exec("'ls' '-la'".into())
        );
        let inv = args(&["p", "exec", "rm", "--force", "x"]).unwrap();
        assert_eq!(
            (inv.action, inv.force),
            (Action::Exec("'rm' '--force' 'x'".into()), false)
        );
        // Words with spaces or quotes reach the host whole.
        assert_eq!(
            args(&["p", "exec", "echo", "a b", "it's"]).unwrap().action,
            Action::Exec(r"'echo' 'a b' 'it'\''s'".into())
        );
    }

    #[test]
    fn refuses_arguments_it_would_ignore() {
        assert!(args(&["p", "revert", "x"]).unwrap_err().contains("\"x\""));
        assert!(args(&["p", "revert", "0"]).is_err());
        assert!(args(&["p", "list", "extra"]).unwrap_err().contains("extra"));
        assert!(args(&["p", "--verbose"]).unwrap_err().contains("--verbose"));
        assert!(args(&["f.json", "p", "list", "--verbose"])
            .unwrap_err()
            .contains("unknown option --verbose"));
        assert!(args(&["p", "exec"]).is_err());
    }

    #[test]
    fn lists_newest_first_and_counts_back_from_the_last() {
        let deploys = "aaa\nbbb\nccc\n";
        assert_eq!(list_text(deploys), "0\tccc\n1\tbbb\n2\taaa\n");
        assert_eq!(nth_last(deploys, 1).unwrap(), "bbb");
        assert_eq!(nth_last(deploys, 2).unwrap(), "aaa");
        assert!(nth_last(deploys, 3).unwrap_err().contains("recorded 3"));
        assert!(nth_last("", 1).is_err());
    }
}
