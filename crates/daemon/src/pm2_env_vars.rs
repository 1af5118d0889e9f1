//! The `PM2_*` variables PM2's daemon reads from its environment, for those
//! not covered by `Settings`: the instance variable's name, the sockets'
//! owner, the process title, and the notices for variables that change
//! nothing here. (pm2.log's timestamp is `pm2_config::daemon_line`.)

use serde_json::Value;
use std::ffi::CString;
use std::path::Path;

/// The variable that carries an instance's number: `PM2_PROCESS_INSTANCE_VAR`
/// wins over the app's `instance_var`, as in PM2.
pub fn instance_var(env: &impl crate::pm2_env::Fields) -> String {
    instance_var_from(
        std::env::var("PM2_PROCESS_INSTANCE_VAR").ok(),
        env.field("instance_var").and_then(Value::as_str),
    )
}

fn instance_var_from(over: Option<String>, app: Option<&str>) -> String {
    over.filter(|v| !v.is_empty())
        .or_else(|| app.map(str::to_string))
        .unwrap_or_else(|| "NODE_APP_INSTANCE".to_string())
}

/// `PM2_NODE_OPTIONS`, split on spaces: PM2 puts them after `node_args`
/// for fork-mode apps with an interpreter.
pub fn node_options() -> Vec<String> {
    std::env::var("PM2_NODE_OPTIONS")
        .unwrap_or_default()
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// Names the daemon's process after `PM2_DAEMON_TITLE`, or PM2's
/// `PM2 v<version>: God Daemon (<home>)`. Linux keeps 15 bytes of it as the
/// command name (`ps -e`, `top`); the command line still names `pm2-daemon`.
pub fn set_title(home: &Path) {
    let title = std::env::var("PM2_DAEMON_TITLE")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("PM2 v{}: God Daemon ({})", crate::VERSION, home.display()));
    let comm = CString::new(truncate(&title, 15).replace('\0', "")).unwrap_or_default();
    set_command_name(&comm);
}

#[cfg(target_os = "linux")]
fn set_command_name(comm: &CString) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}

/// Elsewhere a process has no settable command name: `ps` shows `pm2-daemon`.
#[cfg(not(target_os = "linux"))]
fn set_command_name(_comm: &CString) {}

/// The longest prefix of `s` of at most `max` bytes ending on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Gives rpc.sock and pub.sock to `PM2_SOCKET_USER`/`PM2_SOCKET_GROUP`
/// (each a name or a numeric id; either may be left unset).
pub fn chown_sockets(sockets: &[&Path]) -> Result<(), String> {
    let user = match std::env::var("PM2_SOCKET_USER")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(u) => Some(uid_of(&u)?),
        None => None,
    };
    let group = match std::env::var("PM2_SOCKET_GROUP")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(g) => Some(gid_of(&g)?),
        None => None,
    };
    if user.is_none() && group.is_none() {
        return Ok(());
    }
    for sock in sockets {
        std::os::unix::fs::chown(sock, user, group).map_err(|e| {
            format!(
                "cannot give {} to PM2_SOCKET_USER/PM2_SOCKET_GROUP: {e}",
                sock.display()
            )
        })?;
    }
    Ok(())
}

/// The id `name` stands for: itself when a number, else what `lookup` finds
/// for it in the system's database of `what`s (named by `var` when absent).
fn id_of(
    name: &str,
    var: &str,
    what: &str,
    lookup: impl FnOnce(&CString) -> Option<u32>,
) -> Result<u32, String> {
    if let Ok(id) = name.parse() {
        return Ok(id);
    }
    let absent = || format!("{var}: no {what} named {name:?}");
    let c_name = CString::new(name).map_err(|_| absent())?;
    lookup(&c_name).ok_or_else(absent)
}

fn uid_of(user: &str) -> Result<u32, String> {
    id_of(user, "PM2_SOCKET_USER", "user", |name| {
        // SAFETY: getpwnam returns null or a pointer to a static passwd entry,
        // read at once; nothing else in the daemon reads the user database at start.
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        (!pw.is_null()).then(|| unsafe { (*pw).pw_uid })
    })
}

fn gid_of(group: &str) -> Result<u32, String> {
    id_of(group, "PM2_SOCKET_GROUP", "group", |name| {
        // SAFETY: as in `uid_of`, for the group database.
        let gr = unsafe { libc::getgrnam(name.as_ptr()) };
        (!gr.is_null()).then(|| unsafe { (*gr).gr_gid })
    })
}

/// Variables PM2 reads that change nothing in this daemon, with why.
const NO_EFFECT: &[(&str, &str)] = &[
    ("PM2_OPTIMIZE_MEMORY", "the daemon is not a Node.js process (it has no V8 heap to tune)"),
    ("PM2_ENABLE_GIT_PARSING", "versioning (git metadata of apps) is not built"),
    ("PM2_DEBUG", "it un-silences the Node.js daemon's debug output and shortens PM2+ aggregation; this daemon logs to pm2.log and PM2+ is not built"),
    ("PM2_CONCURRENT_ACTIONS", "the daemon has no pool of concurrent actions to size"),
    ("PM2_GRACEFUL_TIMEOUT", "reloads are bounded by each app's kill_timeout and listen_timeout instead"),
    ("PM2_RELOAD_LOCK_TIMEOUT", "a second reload of an app waits for the first instead of being refused for a time"),
];

/// Millisecond variables the daemon honours, checked so that a bad value is named.
const MILLISECONDS: &[(&str, u64)] = &[
    ("PM2_KILL_TIMEOUT", 1600),
    ("PM2_WORKER_INTERVAL", 30_000),
    ("PM2_GRACEFUL_LISTEN_TIMEOUT", 3000),
    ("EXP_BACKOFF_RESET_TIMER", 30_000),
];

/// Lines for pm2.log at start: each variable set that has no effect here,
/// and each millisecond value that is not a number.
pub fn notices() -> Vec<String> {
    notices_from(|k| std::env::var(k).ok())
}

fn notices_from(get: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    if get("PM2_NODE_OPTIONS").is_some() {
        out.push(
            "PM2_NODE_OPTIONS is passed to fork-mode apps only: the daemon is not a Node.js process"
                .to_string(),
        );
    }
    for (var, why) in NO_EFFECT {
        if get(var).is_some() {
            out.push(format!("{var} is set but has no effect here: {why}"));
        }
    }
    for (var, default) in MILLISECONDS {
        if let Some(v) = get(var) {
            if v.trim().parse::<u64>().is_err() {
                out.push(format!(
                    "WARNING: {var}={v:?} is not a number of milliseconds; using {default}"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_instance_var_wins_over_the_app() {
        assert_eq!(instance_var_from(None, None), "NODE_APP_INSTANCE");
        assert_eq!(instance_var_from(None, Some("INST")), "INST");
        assert_eq!(instance_var_from(Some("ENVV".into()), Some("INST")), "ENVV");
        assert_eq!(instance_var_from(Some(String::new()), Some("INST")), "INST");
    }

    #[test]
    fn title_is_cut_on_a_char_boundary() {
        assert_eq!(truncate("PM2 v7.0.4: God Daemon", 15), "PM2 v7.0.4: God");
        assert_eq!(truncate("ééééééééé", 15), "ééééééé");
    }

    #[test]
    fn names_unknown_users_and_groups() {
        assert_eq!(uid_of("0").unwrap(), 0);
        assert_eq!(uid_of("root").unwrap(), 0);
        assert!(uid_of("no-such-user-pm2")
            .unwrap_err()
            .contains("no-such-user-pm2"));
        assert!(gid_of("no-such-group-pm2")
            .unwrap_err()
            .contains("PM2_SOCKET_GROUP"));
    }

    #[test]
    fn notices_name_each_variable() {
        let n = notices_from(|k| match k {
            "PM2_OPTIMIZE_MEMORY" => Some("true".into()),
            "EXP_BACKOFF_RESET_TIMER" => Some("soon".into()),
            "PM2_KILL_TIMEOUT" => Some("500".into()),
            _ => None,
        });
        assert_eq!(n.len(), 2, "{n:?}");
        assert!(n[0].starts_with("PM2_OPTIMIZE_MEMORY is set but has no effect"));
        assert!(n[1].contains("EXP_BACKOFF_RESET_TIMER=\"soon\""));
    }
}
