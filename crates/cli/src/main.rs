//! `pm2`: PM2's command line over the shared Rust client library. No Node
//! start-up, except `node` evaluating a JavaScript ecosystem file.
//!
//! - [`args`]: the command line (clap), PM2's names, aliases and flags.
//! - [`app_options`]: flags as PM2 app options.
//! - [`ecosystem`]: config files and the apps they declare.
//! - [`commands`]: one module per area (start, actions, info, logs, daemon,
//!   monit: the terminal dashboard).
//! - [`listing`], [`table`], [`js_text`], [`output`]: what gets printed, and how.

mod app_options;
mod args;
mod commands;
mod ecosystem;
mod host_line;
mod init_files;
mod js_text;
mod listing;
mod output;
mod printable;
mod runtime;
mod system_info;
mod table;

use std::process::ExitCode;

pub const USAGE: &str = "usage: pm2 [options] <command>

pm2 -h, --help             all available commands and options
pm2 <command> -h           help on a specific command

Access pm2 files in ~/.pm2";

/// `pm2-runtime …`: a foreground start with a container's duties.
async fn run_runtime(argv: Vec<std::ffi::OsString>) -> ExitCode {
    let (cli, opts) = match runtime::parse(argv) {
        Ok(parsed) => parsed,
        Err(e) => {
            output::error(&e);
            return ExitCode::FAILURE;
        }
    };
    output::init(cli.flags.no_color, cli.flags.silent || opts.quiet);
    let Some(command) = cli.command else {
        return ExitCode::FAILURE;
    };
    let mut ctx = commands::Ctx::new(cli.flags);
    ctx.runtime = Some(opts);
    match commands::dispatch(command, &mut ctx).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // A closed stdout (`pm2 logs | head`) ends the process quietly, as in C tools.
    // SAFETY: restoring a default signal disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.first().is_some_and(runtime::invoked_as_runtime) {
        return run_runtime(argv).await;
    }
    let cli = match args::parse(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            };
        }
    };
    if cli.flags.version {
        println!("{}", pm2_client::VERSION);
        return ExitCode::SUCCESS;
    }
    output::init(cli.flags.no_color, cli.flags.silent);
    let Some(command) = cli.command else {
        // No command: the usage, and a failure status, as PM2 does.
        println!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let mut ctx = commands::Ctx::new(cli.flags);
    match commands::dispatch(command, &mut ctx).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            ExitCode::FAILURE
        }
    }
}
