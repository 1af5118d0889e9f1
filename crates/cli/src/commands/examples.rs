//! `pm2 examples`: a few common commands, in PM2's layout (a `[PM2]` title,
//! then each description and its indented commands).

use crate::output::{self, cyan, gray, green};

const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "Start an app and add it to the process list",
        &["pm2 start app.js --name app"],
    ),
    ("List the processes", &["pm2 ls"]),
    (
        "Stop an app and remove it from the list",
        &["pm2 delete app"],
    ),
    (
        "Stop, start again and restart an app of the list",
        &["pm2 stop app", "pm2 start app", "pm2 restart app"],
    ),
    (
        "Run an app in cluster mode, one instance per CPU core",
        &["pm2 start app.js -i max"],
    ),
    (
        "Restart an app with the environment of this shell",
        &["pm2 restart app --update-env"],
    ),
    ("Follow the logs of an app", &["pm2 logs app"]),
    (
        "Start the saved list when the machine boots",
        &["pm2 startup", "pm2 save"],
    ),
    (
        "Update pm2 (the daemon keeps the running apps)",
        &["npm install pm2 -g && pm2 update"],
    ),
];

pub fn text() -> String {
    let mut out = format!(
        "{}{}\n\n",
        green(output::PREFIX),
        gray("pm2 usage examples:")
    );
    for (what, commands) in EXAMPLES {
        out.push_str(&format!("- {what}:\n\n"));
        for command in *commands {
            out.push_str(&cyan(&format!("  $ {command}")));
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str("Check the full documentation on https://pm2.keymetrics.io/\n");
    out
}

pub fn print() {
    output::raw(&text());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_command_of_this_cli() {
        for (_, commands) in EXAMPLES {
            for command in *commands {
                let Some(pm2_part) = command.split(" && ").find(|c| c.starts_with("pm2 ")) else {
                    panic!("{command}");
                };
                let argv: Vec<&str> = pm2_part.split_whitespace().collect();
                let cli = crate::args::parse(argv).unwrap_or_else(|e| panic!("{command}: {e}"));
                assert!(
                    !matches!(cli.command, Some(crate::args::Command::Other(_))),
                    "{command}"
                );
            }
        }
        assert!(text().starts_with("[PM2] pm2 usage examples:\n\n- Start an app"));
    }
}
