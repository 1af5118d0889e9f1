//! What `pm2 restart`/`reload` without `--update-env` says about the
//! environment: PM2's advice, then the names (never the values: they may be
//! secrets) of the variables of this shell that the app does not get.

use pm2_client::{target, ActionOptions, Client};

/// The shell's own bookkeeping, which changes with where and how a command
/// is typed rather than with what the user set.
const SHELL_BOOKKEEPING: &[&str] = &["_", "PWD", "OLDPWD", "SHLVL"];

/// The most names shown; the rest are counted.
const SHOWN: usize = 10;

/// Prints the advice, and once for the whole command, which variables of the
/// apps that `targets` name differ from this shell's.
pub async fn print(client: &Client, targets: &[&String], opts: &ActionOptions) {
    crate::output::line("Use --update-env to update environment variables");
    let Ok(list) = client.list().await else {
        return;
    };
    let mut ids: Vec<u64> = targets
        .iter()
        .filter_map(|t| target::resolve_in(&list, t, &opts.cwd).ok())
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names: Vec<String> = client
        .env_changes(&ids, &list, opts)
        .into_iter()
        .filter(|n| !SHELL_BOOKKEEPING.contains(&n.as_str()))
        .collect();
    if let Some(line) = names_line(&names) {
        crate::output::line(&line);
    }
}

fn names_line(names: &[String]) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let mut shown = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        shown.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    Some(format!(
        "The app keeps its environment; these differ in this shell: {shown}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_then_counted() {
        assert_eq!(names_line(&[]), None);
        assert_eq!(
            names_line(&["API_URL".into()]).unwrap(),
            "The app keeps its environment; these differ in this shell: API_URL"
        );
        let many: Vec<String> = (0..12).map(|i| format!("V{i:02}")).collect();
        let line = names_line(&many).unwrap();
        assert!(line.contains("V00, V01"), "{line}");
        assert!(line.ends_with("V09 and 2 more"), "{line}");
        assert!(!line.contains("V10"), "{line}");
    }
}
