//! `pm2-runtime` (and its alias `pm2-docker`): the CLI run under that name is
//! a container's main process. `pm2-runtime app.js [options]` (or
//! `pm2-runtime start ecosystem.config.js …`) is `pm2 start … --no-daemon`
//! plus what a container's PID 1 needs: orphans are reaped, SIGTERM/SIGINT
//! stop the apps gracefully, and the command exits on its own once no app is
//! left online (non-zero when an app failed), so the orchestrator restarts
//! the container. The apps' output goes to stdout/stderr, raw by default.
//!
//! `pm2-dev` is the development flavour: the same foreground start with
//! watching on (node_modules and dotfiles ignored), the logs prefixed and
//! timestamped, and no exit when the app stops: a change starts it again.

use crate::args::{self, Cli};
use std::ffi::OsString;

/// What `pm2-runtime` adds to a foreground start.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Exit once no app is online or launching (`--no-auto-exit` turns it off).
    pub auto_exit: bool,
    /// `--json`, `--format`, `--formatted` (prefixed like `pm2 logs`), or raw.
    pub log_style: LogStyle,
    /// Seconds to wait before starting (`--delay`).
    pub delay_secs: u64,
    /// Prefix each log line with its time (`pm2-dev`).
    pub timestamps: bool,
    /// `--web [port]`: serve the web interface (the port, when given).
    pub web: Option<Option<String>>,
    /// Start without `pm2 start`'s messages and table, and report a failure
    /// as the supervisor's own error line (`pm2-runtime`, as PM2's; not `pm2-dev`).
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogStyle {
    #[default]
    Raw,
    Json,
    Format,
    Prefixed,
}

fn invoked_name(argv0: &OsString) -> String {
    std::path::Path::new(argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// True when this binary was started as `pm2-runtime`, `pm2-docker` or `pm2-dev`.
pub fn invoked_as_runtime(argv0: &OsString) -> bool {
    matches!(
        invoked_name(argv0).as_str(),
        "pm2-runtime" | "pm2-docker" | "pm2-dev"
    )
}

/// Turns a `pm2-runtime` command line into the `pm2 start … --no-daemon` it
/// means, and the runtime's own options.
pub fn parse(argv: Vec<OsString>) -> Result<(Cli, RuntimeOptions), String> {
    let dev = argv.first().is_some_and(|a| invoked_name(a) == "pm2-dev");
    let mut opts = RuntimeOptions {
        auto_exit: !dev,
        log_style: if dev {
            LogStyle::Prefixed
        } else {
            LogStyle::Raw
        },
        timestamps: dev,
        quiet: !dev,
        ..RuntimeOptions::default()
    };
    let mut start: Vec<OsString> = vec!["pm2".into(), "start".into()];
    let mut rest = argv.into_iter().skip(1).peekable();
    let mut seen_target = false;
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy().into_owned();
        match text.as_str() {
            "--no-auto-exit" => opts.auto_exit = false,
            "--json" => opts.log_style = LogStyle::Json,
            "--format" => opts.log_style = LogStyle::Format,
            "--formatted" => opts.log_style = LogStyle::Prefixed,
            "--raw" => opts.log_style = LogStyle::Raw,
            "--delay" => {
                let v = rest.next().map(|v| v.to_string_lossy().into_owned());
                opts.delay_secs = v
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("--delay takes a number of seconds, got {v:?}"))?;
            }
            "--web" => {
                let port = rest
                    .next_if(|v| v.to_string_lossy().parse::<u16>().is_ok())
                    .map(|v| v.to_string_lossy().into_owned());
                opts.web = Some(port);
            }
            "start" if !seen_target => {}
            "--" => {
                start.push(arg);
                start.extend(rest.by_ref());
            }
            _ => {
                if !text.starts_with('-') {
                    seen_target = true;
                }
                start.push(arg);
            }
        }
    }
    if !seen_target {
        return Err(
            "pm2-runtime: give a script or an ecosystem file to run, e.g. pm2-runtime app.js"
                .into(),
        );
    }
    // Flags go before a `--` (after it everything is the script's).
    let end = start.iter().position(|a| a == "--").unwrap_or(start.len());
    let mut flags: Vec<OsString> = vec!["--no-daemon".into()];
    if dev {
        flags.push("--watch".into());
    }
    start.splice(end..end, flags);
    let cli = args::parse(start).map_err(|e| e.to_string())?;
    Ok((cli, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("pm2-runtime")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn runtime_words_become_a_foreground_start() {
        let (cli, opts) = parse(argv(&["app.js", "-i", "2", "--json", "--no-auto-exit"])).unwrap();
        assert!(cli.flags.no_daemon);
        assert!(matches!(
            cli.command,
            Some(crate::args::Command::Start { .. })
        ));
        assert!(!opts.auto_exit);
        assert_eq!(opts.log_style, LogStyle::Json);
        let (_, opts) = parse(argv(&[
            "start",
            "ecosystem.config.js",
            "--env",
            "production",
        ]))
        .unwrap();
        assert!(opts.auto_exit && opts.quiet);
        assert_eq!(opts.log_style, LogStyle::Raw);
    }

    #[test]
    fn pm2_dev_watches_and_stays_up() {
        let argv: Vec<OsString> = ["/x/pm2-dev", "app.js"]
            .iter()
            .map(OsString::from)
            .collect();
        let (cli, opts) = parse(argv).unwrap();
        assert!(cli.flags.no_daemon);
        assert!(!opts.auto_exit && opts.timestamps && !opts.quiet);
        assert_eq!(opts.log_style, LogStyle::Prefixed);
        assert!(invoked_as_runtime(&OsString::from("pm2-dev")));
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        assert!(parse(argv(&[])).unwrap_err().contains("give a script"));
        let (cli, opts) = parse(argv(&["--web", "app.js"])).unwrap();
        assert_eq!(opts.web, Some(None));
        assert!(matches!(
            cli.command,
            Some(crate::args::Command::Start { .. })
        ));
        let (_, opts) = parse(argv(&["app.js", "--web", "9700"])).unwrap();
        assert_eq!(opts.web, Some(Some("9700".into())));
        assert!(parse(argv(&["app.js", "--delay", "soon"])).is_err());
        assert!(invoked_as_runtime(&OsString::from("/usr/bin/pm2-docker")));
        assert!(!invoked_as_runtime(&OsString::from("pm2")));
    }
}
