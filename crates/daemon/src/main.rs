//! `pm2-daemon`: started detached by a client; serves until killed.

use pm2_config::Paths;
use pm2_daemon::handover::{self, Inherited};
use pm2_daemon::{settings::Settings, ExitReason, StartError};
use std::io::Write;
use std::os::fd::FromRawFd;
use tokio::signal::unix::{signal, SignalKind};

/// Tells the client that started us (through the fd it passed) how start-up went.
fn report_ready(line: &str) {
    let Some(fd) = std::env::var("PM2_READY_FD")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the launcher handed us this descriptor for exactly this write.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = writeln!(pipe, "{line}");
}

/// Raises the soft limit on open files to the hard limit: every app holds
/// several descriptors in the daemon (pipes, IPC channel, pidfd, log files),
/// and the default soft limit (often 1024) is reached long before the hard one.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Reads the record of the daemon this process replaced in place, if it
/// was exec'd so; one it cannot use makes it stop the apps it inherited
/// and their descriptors (the client then resurrects the saved list).
fn inherited() -> Inherited {
    match handover::take_inherited() {
        Inherited::Abandoned(why) => {
            eprintln!("PM2 daemon: {why}: falling back to stopping every app, to be resurrected");
            #[cfg(target_os = "linux")]
            handover::abandon(std::time::Duration::from_millis(1600));
            Inherited::Abandoned(why)
        }
        other => other,
    }
}

fn main() {
    // Asked by a running daemon before it execs this binary in place.
    if std::env::args().nth(1).as_deref() == Some(handover::PROBE_ARG) {
        println!("{}", handover::probe_answer());
        return;
    }
    // Before any thread or descriptor of ours exists.
    let inherited = inherited();
    pm2_daemon::heap::tune_for_daemon();
    raise_fd_limit();
    pm2_daemon::pm2_env_vars::set_title(&Paths::from_env().home);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(async {
        let paths = Paths::from_env();
        let handle = match pm2_daemon::start_after(paths, Settings::from_env(), inherited).await {
            Ok(h) => h,
            Err(StartError::AlreadyRunning(pid)) => {
                let pid = pid.map_or("null".to_string(), |p| p.to_string());
                report_ready(&format!(r#"{{"already":true,"pid":{pid}}}"#));
                return 0;
            }
            Err(e) => {
                eprintln!("PM2 daemon failed to start: {e}");
                return 1;
            }
        };
        report_ready(&format!(
            r#"{{"online":true,"success":true,"pid":{},"pm2_version":"{}"}}"#,
            std::process::id(),
            pm2_daemon::VERSION
        ));
        pm2_daemon::code_pages::release_after_start_up();
        let daemon = handle.daemon.clone();
        tokio::spawn(async move {
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            let mut quit = signal(SignalKind::quit()).expect("SIGQUIT handler");
            let mut usr2 = signal(SignalKind::user_defined2()).expect("SIGUSR2 handler");
            let _hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
            loop {
                tokio::select! {
                    _ = term.recv() => daemon.request_exit(ExitReason::Signal),
                    _ = int.recv() => daemon.request_exit(ExitReason::Signal),
                    _ = quit.recv() => daemon.request_exit(ExitReason::Signal),
                    _ = usr2.recv() => daemon.supervisor.reload_logs(),
                }
            }
        });
        handle.finished().await;
        0
    });
    std::process::exit(code);
}
