//! The daemon itself: liveness, version, report, host figures, logs
//! reopened, shutdown.

use super::args::display;
use super::{none, one, Answer, Call, Reply};
use crate::ExitReason;
use serde_json::{json, Value};

pub async fn ping(_: Call<'_>) -> Answer {
    one(json!({"msg": "pong"}))
}

pub async fn version(_: Call<'_>) -> Answer {
    one(json!(crate::VERSION))
}

/// `handoverStatus` (ours): whether this daemon can replace itself in place,
/// and with which record version, for `pm2 update`.
pub async fn handover_status(c: Call<'_>) -> Answer {
    one(c.daemon.handover_status())
}

/// `execInPlace` (ours): `{binary}` replaces this daemon by that binary in the
/// same process, its apps handed over (handover.rs).
pub async fn exec_in_place(c: Call<'_>) -> Answer {
    let binary = c
        .first()
        .and_then(|a| a.get("binary"))
        .and_then(Value::as_str)
        .ok_or("execInPlace expects {binary}")?;
    c.daemon.exec_in_place(binary.into()).await?;
    none()
}

pub async fn system_data(c: Call<'_>) -> Answer {
    one(Value::Object(c.daemon.host.snapshot()))
}

/// What `getReport` tells about the daemon, for `pm2 report`.
pub async fn report(c: Call<'_>) -> Answer {
    let d = c.daemon;
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    one(json!({
        "pm2_version": crate::VERSION,
        "node_version": "N/A",
        "daemon": "rust",
        "pid": std::process::id(),
        "pm2_home": d.paths.home,
        "user": user,
        "uid": uid.as_raw(),
        "gid": nix::unistd::getgid().as_raw(),
        "argv": std::env::args().collect::<Vec<_>>(),
        "processes": c.sup().ids().await?.len(),
        "security": crate::exposure::warnings(&d.paths),
        "web": d.web.current(),
    }))
}

pub async fn reload_logs(c: Call<'_>) -> Answer {
    c.sup().reload_logs();
    one(json!({"success": true}))
}

/// `notifyKillPM2`: the daemon goes down, nothing restarts any more.
pub async fn block_restarts(c: Call<'_>) -> Answer {
    c.sup().block_restarts().await;
    none()
}

pub async fn profile(c: Call<'_>) -> Answer {
    Err(format!(
        "{} is not available: the daemon is not a Node process",
        c.method
    ))
}

/// `killMe`. PM2's daemon never answers it (its clients may not even hold a
/// callback for it); clients learn of the exit from the closed socket. Only
/// a refused request gets an answer.
pub async fn kill_me(c: Call<'_>) -> Answer {
    match kill_request(c.args, c.requester) {
        Ok(pid) => {
            c.daemon.request_exit(ExitReason::KillMe { pid });
            Ok(Reply::Silent)
        }
        Err(msg) => {
            c.daemon.log.info(&msg);
            Err(msg)
        }
    }
}

/// Checks a `killMe` request and returns the pid to notify with SIGQUIT once
/// the daemon is down, as PM2's daemon notifies the client that asked.
///
/// The pid is checked as a number before anything else: a value such as
/// 4294967295 must never become `kill(-1, …)`. Only the pid of the process on
/// the other end of this very connection (`requester`, from SO_PEERCRED) may
/// be signalled; any other pid refuses the whole request.
pub fn kill_request(args: &[Value], requester: Option<i32>) -> Result<Option<i32>, String> {
    let Some(raw) = args
        .first()
        .and_then(|o| o.get("pid"))
        .filter(|p| !p.is_null())
    else {
        return Ok(None);
    };
    let pid = match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .and_then(|n| i32::try_from(n).ok())
    .filter(|&n| n > 0)
    .ok_or_else(|| format!("killMe refused: pid {} is not a process id", display(raw)))?;
    if pid == std::process::id() as i32 {
        return Ok(None);
    }
    if Some(pid) != requester {
        return Err(format!(
            "killMe refused: pid {pid} is not the requesting process; a client may only ask to be notified itself"
        ));
    }
    Ok(Some(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_request_notifies_only_the_requester_and_checks_numbers_first() {
        let me = std::process::id() as i32;
        assert_eq!(kill_request(&[json!({})], Some(42)), Ok(None));
        assert_eq!(kill_request(&[], None), Ok(None));
        assert_eq!(kill_request(&[json!({"pid": 42})], Some(42)), Ok(Some(42)));
        assert_eq!(
            kill_request(&[json!({"pid": "42"})], Some(42)),
            Ok(Some(42))
        );
        assert_eq!(kill_request(&[json!({"pid": me})], Some(42)), Ok(None));
        for bad in [
            json!(4294967295u64),
            json!(-1),
            json!(0),
            json!(1.5),
            json!("x"),
            json!(-4294967295i64),
        ] {
            let err = kill_request(&[json!({ "pid": bad })], Some(42)).unwrap_err();
            assert!(err.contains("is not a process id"), "{bad}: {err}");
        }
        let err = kill_request(&[json!({"pid": 1})], Some(42)).unwrap_err();
        assert!(err.contains("not the requesting process"), "{err}");
        assert!(kill_request(&[json!({"pid": 42})], None).is_err());
    }
}
