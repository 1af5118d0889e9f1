//! The command line, as PM2's: program-wide options that may appear anywhere,
//! then a command with its own positionals. Everything after `--` goes to the
//! started script.
//!
//! [`parse`] reads it in two passes so that start-up stays in the tens of
//! microseconds: clap's `global` options would be copied into all thirty
//! commands on every run (about half a millisecond); instead a first pass takes
//! the options before the command and finds the command's name, and a second
//! pass parses only that command, with the options, the earlier ones moved after
//! its name (options mean the same wherever they stand).

mod command;
mod flags;

pub use command::{Command, LogsArgs, ServeArgs};
pub use flags::Flags;

use clap::{Args, CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;

/// Reads a command line (`argv[0]` first).
pub fn parse<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let starts_with_dash = |a: &OsString| a.as_encoded_bytes().first() == Some(&b'-');
    // The usual `pm2 <command> …` needs no first pass.
    let (first_flags, name, before, rest): (Option<Flags>, String, &[OsString], Vec<OsString>) =
        match argv.get(1) {
            Some(a) if !starts_with_dash(a) => (
                None,
                a.to_string_lossy().into_owned(),
                &[],
                argv[2..].to_vec(),
            ),
            _ => {
                let first = Flags::augment_args(
                    clap::Command::new("pm2")
                        .bin_name("pm2")
                        .disable_version_flag(true)
                        .disable_help_flag(true)
                        .arg(
                            clap::Arg::new("help")
                                .short('h')
                                .long("help")
                                .action(clap::ArgAction::SetTrue),
                        )
                        .allow_external_subcommands(true),
                );
                let m = first.try_get_matches_from(&argv)?;
                if m.get_flag("help") {
                    return Err(Cli::command()
                        .try_get_matches_from(["pm2", "--help"])
                        .unwrap_err());
                }
                let flags = Flags::from_arg_matches(&m)?;
                let Some((name, sub)) = m.subcommand() else {
                    return Ok(Cli {
                        flags,
                        command: None,
                    });
                };
                let rest: Vec<OsString> = sub
                    .get_many::<OsString>("")
                    .map(|v| v.cloned().collect())
                    .unwrap_or_default();
                let before = &argv[1..argv.len() - rest.len() - 1];
                (Some(flags), name.to_string(), before, rest)
            }
        };
    let Some(command) = Cli::command().find_subcommand(&name).cloned() else {
        let mut words = vec![name];
        words.extend(rest.iter().map(|w| w.to_string_lossy().into_owned()));
        return Ok(Cli {
            flags: first_flags.unwrap_or_default(),
            command: Some(Command::Other(words)),
        });
    };
    // Without any option, the command's own arguments are all there is to read.
    let with_flags = !before.is_empty() || rest.iter().any(starts_with_dash);
    let command = if with_flags {
        Flags::augment_args(command)
    } else {
        command
    };
    let second = clap::Command::new("pm2")
        .bin_name("pm2")
        .disable_version_flag(true)
        .subcommand(command);
    let mut argv2 = vec![argv[0].clone(), OsString::from(name.clone())];
    // `stop` and `restart` take `--watch` as a switch (turn watching off,
    // toggle it), as PM2's do: it must not swallow the target that follows.
    let switch_only = matches!(name.as_str(), "stop" | "restart");
    let is_watch = |a: &OsString| switch_only && a == "--watch";
    // `web --env` is a switch too (show the apps' env), not the ecosystem's
    // `--env <name>`: it must not swallow the port that follows.
    let is_web_env = |a: &OsString| name == "web" && a == "--env";
    let is_switch = |a: &OsString| is_watch(a) || is_web_env(a);
    argv2.extend(before.iter().filter(|a| !is_switch(a)).cloned());
    let watch_switch = before.iter().chain(&rest).any(is_watch);
    let web_env = before.iter().chain(&rest).any(is_web_env);
    argv2.extend(rest.into_iter().filter(|a| !is_switch(a)));
    if watch_switch {
        argv2.push(OsString::from("--watch"));
    }
    let m = second.try_get_matches_from(argv2)?;
    let mut command = Command::from_arg_matches(&m)?;
    if let Command::Web { env, .. } = &mut command {
        *env = web_env;
    }
    let flags = match m.subcommand() {
        Some((_, sub)) if with_flags => Flags::from_arg_matches(sub)?,
        _ => Flags::default(),
    };
    Ok(Cli {
        flags,
        command: Some(command),
    })
}

#[derive(Parser, Debug)]
#[command(
    name = "pm2",
    bin_name = "pm2",
    about = "Production process manager for Node.js apps, with a built-in load balancer",
    disable_version_flag = true,
    disable_help_subcommand = true,
    override_usage = "pm2 [options] <command>"
)]
pub struct Cli {
    #[command(flatten)]
    pub flags: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[cfg(test)]
mod tests;
