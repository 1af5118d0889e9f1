use super::*;

fn parse(args: &[&str]) -> Cli {
    super::parse(std::iter::once("pm2").chain(args.iter().copied())).unwrap()
}

#[test]
fn flags_go_anywhere_and_dashdash_feeds_the_script() {
    let cli = parse(&[
        "start", "app.js", "--name", "api", "-i", "max", "--", "--port", "3000",
    ]);
    let Some(Command::Start { targets, args }) = cli.command else {
        panic!()
    };
    assert_eq!(targets, ["app.js"]);
    assert_eq!(args, ["--port", "3000"]);
    assert_eq!(cli.flags.name.as_deref(), Some("api"));
    assert_eq!(cli.flags.instances.as_deref(), Some("max"));

    let cli = parse(&["-s", "--name", "api", "stop", "all", "--no-color"]);
    assert!(cli.flags.silent && cli.flags.no_color);
    assert_eq!(cli.flags.name.as_deref(), Some("api"));
    assert!(matches!(cli.command, Some(Command::Stop { targets }) if targets == ["all"]));
    assert!(parse(&["-v"]).flags.version);
    assert!(parse(&["-s"]).command.is_none());
}

#[test]
fn aliases_and_optional_values() {
    assert!(matches!(parse(&["ls"]).command, Some(Command::List)));
    assert!(matches!(parse(&["status"]).command, Some(Command::List)));
    assert!(matches!(
        parse(&["del", "x"]).command,
        Some(Command::Delete { .. })
    ));
    assert!(matches!(parse(&["log"]).command, Some(Command::Logs(_))));
    assert!(matches!(parse(&["dump"]).command, Some(Command::Save)));
    let cli = parse(&["start", "a.js", "-l"]);
    assert_eq!(cli.flags.log.as_deref(), Some(""));
    let cli = parse(&["start", "a.js", "-i", "-1"]);
    assert_eq!(cli.flags.instances.as_deref(), Some("-1"));
    let Some(Command::Logs(l)) = parse(&["logs", "api", "--lines", "3", "--nostream"]).command
    else {
        panic!()
    };
    assert_eq!(
        (l.target.as_deref(), l.lines, l.nostream),
        (Some("api"), 3, true)
    );
}

#[test]
fn watch_is_a_switch_for_stop_and_restart() {
    let cli = parse(&["stop", "--watch", "api"]);
    assert!(matches!(cli.command, Some(Command::Stop { targets }) if targets == ["api"]));
    assert_eq!(cli.flags.watch.as_deref(), Some(""));
    let cli = parse(&["restart", "api", "--watch", "web"]);
    assert!(matches!(cli.command, Some(Command::Restart { targets }) if targets == ["api", "web"]));
    assert_eq!(cli.flags.watch.as_deref(), Some(""));
    let cli = parse(&["restart", "api"]);
    assert!(cli.flags.watch.is_none());
    let cli = parse(&["start", "app.js", "--watch", "src"]);
    assert_eq!(cli.flags.watch.as_deref(), Some("src"));
}

#[test]
fn env_is_a_switch_for_web() {
    let Some(Command::Web {
        port,
        env,
        new_token,
        ..
    }) = parse(&["web", "--env", "9700"]).command
    else {
        panic!()
    };
    assert_eq!(
        (port.as_deref(), env, new_token),
        (Some("9700"), true, false)
    );
    let cli = parse(&["web", "9700", "--new-token"]);
    assert!(matches!(
        cli.command,
        Some(Command::Web {
            env: false,
            new_token: true,
            ..
        })
    ));
    assert!(cli.flags.env.is_none());
    let cli = parse(&["web", "--env=prod"]);
    assert_eq!(
        cli.flags.env.as_deref(),
        Some("prod"),
        "left for web to refuse"
    );
}

#[test]
fn every_command_takes_the_options_without_clashes() {
    for sub in Cli::command().get_subcommands() {
        Flags::augment_args(sub.clone()).debug_assert();
    }
    let cli = parse(&["id", "web", "-s"]);
    assert!(matches!(cli.command, Some(Command::Id { app }) if app == "web"));
    assert!(cli.flags.silent);
}

#[test]
fn unknown_commands_are_kept_for_the_error_message() {
    assert!(
        matches!(parse(&["foo", "bar"]).command, Some(Command::Other(v)) if v == ["foo", "bar"])
    );
}
