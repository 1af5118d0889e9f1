//! A child process created and exec'd by hand.
//!
//! On Linux the child shares the daemon's memory until its exec (see
//! `os::fork`): no copy of the daemon's page tables, so a launch costs the
//! same however large the daemon grows. The daemon's thread resumes once the
//! child has exec'd; an exec failure is known then and reported when the
//! child's exit is (as a launch error, no restart), so a failed launch goes
//! through the same events as before. Elsewhere the child is forked and an
//! exec failure travels through a close-on-exec pipe, read once the child has
//! exited. The exit itself is awaited on a pidfd (SIGCHLD where the kernel has
//! none, and on macOS: see `os::child_exit`).

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// What to run and how.
pub struct Command<'a> {
    /// The file to exec (already resolved against PATH).
    pub program: &'a Path,
    /// The full argv, `argv[0]` included.
    pub argv: &'a [String],
    /// The whole environment of the child.
    pub env: &'a [(String, String)],
    pub cwd: Option<&'a Path>,
    /// The child's end of the Node IPC channel, installed on fd 3.
    pub channel_fd: RawFd,
    /// Ask the kernel to SIGTERM the child when the daemon's thread dies.
    pub die_with_parent: bool,
    /// The directory of the app's cgroup, opened close-on-exec: the child
    /// starts in it (or moves itself in before exec), so all it forks stays there.
    pub cgroup: Option<RawFd>,
    /// How an exec failure names the program ("failed to launch <label>").
    pub label: String,
}

pub struct Child {
    pub pid: u32,
    pub stdin: pipe::Sender,
    pub stdout: pipe::Receiver,
    pub stderr: pipe::Receiver,
    pub exit: ExitWatch,
}

/// How the child ended.
#[derive(Debug)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Set when the child never got to run the program.
    pub launch_error: Option<String>,
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argument"))
}

/// A close-on-exec pipe (std creates it atomically where the OS can).
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = io::pipe()?;
    Ok((read.into(), write.into()))
}

/// Everything the child needs, allocated before fork: after fork only
/// async-signal-safe calls are allowed, so no allocation.
struct Prepared {
    program: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: Option<CString>,
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Whether exec failures come back through a pipe: where the child is a
/// copy of the daemon (forked), not a process sharing its memory.
const REPORT_PIPE: bool = cfg!(not(any(target_os = "linux", target_os = "android")));

/// Starts `cmd`; returns once the child has exec'd (Linux) or at once after
/// the fork (elsewhere). Must run inside the tokio runtime.
pub fn spawn(cmd: &Command) -> io::Result<Child> {
    let prepared = Prepared {
        program: cstring(cmd.program.as_os_str().as_bytes())?,
        argv: cmd
            .argv
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<io::Result<_>>()?,
        env: cmd
            .env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
            .collect::<io::Result<_>>()?,
        cwd: cmd
            .cwd
            .map(|c| cstring(c.as_os_str().as_bytes()))
            .transpose()?,
    };
    let argv = null_terminated(&prepared.argv);
    let envp = null_terminated(&prepared.env);
    let (stdin_r, stdin_w) = pipe_pair()?;
    let (stdout_r, stdout_w) = pipe_pair()?;
    let (stderr_r, stderr_w) = pipe_pair()?;
    let report = REPORT_PIPE.then(pipe_pair).transpose()?;
    let mut args = ChildArgs {
        prepared: &prepared,
        argv: &argv,
        envp: &envp,
        fds: ChildFds {
            stdio: [
                stdin_r.as_raw_fd(),
                stdout_w.as_raw_fd(),
                stderr_w.as_raw_fd(),
            ],
            channel: cmd.channel_fd,
            report: report.as_ref().map_or(-1, |(_, w)| w.as_raw_fd()),
            cgroup: cmd.cgroup,
        },
        in_cgroup: false,
        die_with_parent: cmd.die_with_parent,
        errno: AtomicI32::new(0),
    };
    let mut stack = vec![0u8; crate::os::fork::STACK_SIZE];

    // Signals stay blocked across the fork: until the child has reset its
    // handlers, a signal aimed at it (a stop right after the start) must not
    // run the daemon's handlers there. It stays pending and gets its default
    // action once the child unblocks.
    // SAFETY: plain signal-mask calls on this thread; the child only makes
    // async-signal-safe calls on memory prepared above (`args`, which
    // outlives it: this thread resumes once it has exec'd), then execs or exits.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut previous);
        let cgroup = args.fds.cgroup;
        let forked = crate::os::fork::spawn_child(cgroup, &mut stack, child_main, &mut args);
        let errno = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
        if forked.pid < 0 {
            return Err(errno);
        }
        forked.pid
    };
    // Registered before anything can await: on this thread nothing reaps
    // between the fork and here (see `orphans`).
    supervised().lock().expect("supervised lock").insert(pid);
    drop((stdin_r, stdout_w, stderr_w));
    let launch_error = match report {
        Some((read, _write)) => LaunchError::Pipe(read),
        None => LaunchError::Known(match args.errno.load(Ordering::Acquire) {
            0 => None,
            errno => Some(io::Error::from_raw_os_error(errno)),
        }),
    };
    let pid_u32 = pid as u32;
    let exit = ExitWatch {
        pid: Pid::from_raw(pid),
        pidfd: crate::os::child_exit::exit_fd(pid),
        launch_error,
        label: cmd.label.clone(),
    };
    Ok(Child {
        pid: pid_u32,
        stdin: pipe::Sender::from_owned_fd(stdin_w)?,
        stdout: pipe::Receiver::from_owned_fd(stdout_r)?,
        stderr: pipe::Receiver::from_owned_fd(stderr_r)?,
        exit,
    })
}

/// A child this process already has (forked before an exec of the daemon
/// in place), with the parent's ends of its stdio pipes: watched and reaped
/// as if [`spawn`] had just started it. The pid cannot have been reused:
/// a child stays a zombie until its parent reaps it.
pub fn adopt(pid: u32, stdin: OwnedFd, stdout: OwnedFd, stderr: OwnedFd) -> io::Result<Child> {
    let raw = pid as libc::pid_t;
    supervised().lock().expect("supervised lock").insert(raw);
    Ok(Child {
        pid,
        stdin: pipe::Sender::from_owned_fd(stdin)?,
        stdout: pipe::Receiver::from_owned_fd(stdout)?,
        stderr: pipe::Receiver::from_owned_fd(stderr)?,
        exit: ExitWatch {
            pid: Pid::from_raw(raw),
            pidfd: crate::os::child_exit::exit_fd(raw),
            // Its program runs already: no exec failure can come.
            launch_error: LaunchError::Known(None),
            label: format!("pid {pid}"),
        },
    })
}

struct ChildFds {
    /// The child's ends of stdin, stdout, stderr.
    stdio: [RawFd; 3],
    /// The child's end of the IPC channel.
    channel: RawFd,
    /// Where a forked child writes an exec failure's errno (-1: none, the
    /// child shares the daemon's memory and sets [`ChildArgs::errno`]).
    report: RawFd,
    /// The directory of the cgroup the child is to run in.
    cgroup: Option<RawFd>,
}

/// What the child reads between its creation and its exec.
struct ChildArgs<'a> {
    prepared: &'a Prepared,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    fds: ChildFds,
    /// Whether the child was created inside its cgroup already.
    in_cgroup: bool,
    die_with_parent: bool,
    /// Why the child could not exec (set by the child before it exits).
    errno: AtomicI32,
}

impl crate::os::fork::InCgroup for ChildArgs<'_> {
    fn set_in_cgroup(&mut self, yes: bool) {
        self.in_cgroup = yes;
    }
}

/// The child between its creation and exec.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` of `spawn`, alive until this execs or
    // exits; this runs in the new child only.
    unsafe {
        let a = &*(arg as *const ChildArgs);
        exec_child(a)
    }
}

/// # Safety
/// Only in the child, before exec; async-signal-safe calls only, and no
/// write to memory but `a.errno` (the child may share the daemon's memory).
unsafe fn exec_child(a: &ChildArgs) -> ! {
    let (p, fds) = (a.prepared, &a.fds);
    // SAFETY: all of these are async-signal-safe and act on this process only.
    unsafe {
        let fail = || -> ! {
            let errno = nix::errno::Errno::last_raw();
            a.errno.store(errno, Ordering::Release);
            if fds.report >= 0 {
                let bytes = errno.to_ne_bytes();
                libc::write(fds.report, bytes.as_ptr().cast(), bytes.len());
            }
            libc::_exit(127)
        };
        // Start from a clean signal state, as exec'd programs expect: default
        // dispositions first (signals are still blocked), then an empty mask.
        // The child has its own copy of the handlers: the daemon's stay.
        for signal in 1..crate::os::pre_exec::signal_end() {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        // Without its cgroup the app still runs: a stop then reaches its
        // tree, group and session only.
        if let (Some(dir), false) = (fds.cgroup, a.in_cgroup) {
            let procs = libc::openat(
                dir,
                c"cgroup.procs".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            );
            if procs >= 0 {
                libc::write(procs, b"0".as_ptr().cast(), 1);
                libc::close(procs);
            }
        }
        // Its own session: signals aimed at the daemon's group spare the apps.
        if libc::setsid() < 0 {
            fail();
        }
        if a.die_with_parent && crate::os::pre_exec::die_with_parent().is_err() {
            fail();
        }
        // Sources are never 0..2 (those are open in the daemon), so the
        // stdio copies cannot clobber each other; fd 3 comes last.
        for (target, &source) in fds.stdio.iter().enumerate() {
            if libc::dup2(source, target as RawFd) < 0 {
                fail();
            }
        }
        if pm2_wire::ipc::install_child_end(fds.channel).is_err() {
            fail();
        }
        if let Some(cwd) = &p.cwd {
            if libc::chdir(cwd.as_ptr()) < 0 {
                fail();
            }
        }
        libc::execve(p.program.as_ptr(), a.argv.as_ptr(), a.envp.as_ptr());
        fail()
    }
}

/// How an exec failure is known.
enum LaunchError {
    /// At once (the child shared the daemon's memory until exec).
    Known(Option<io::Error>),
    /// From a close-on-exec pipe, once the child has exited (a forked child).
    Pipe(OwnedFd),
}

/// Awaits the child's exit and reaps it.
pub struct ExitWatch {
    pid: Pid,
    pidfd: Option<AsyncFd<OwnedFd>>,
    launch_error: LaunchError,
    label: String,
}

impl ExitWatch {
    pub async fn wait(self) -> Exit {
        let status = match &self.pidfd {
            Some(fd) => loop {
                match reap(self.pid) {
                    Some(status) => break status,
                    None => match fd.readable().await {
                        Ok(mut guard) => guard.clear_ready(),
                        Err(_) => break wait_on_sigchld(self.pid).await,
                    },
                }
            },
            None => wait_on_sigchld(self.pid).await,
        };
        let (code, signal) = match status {
            WaitStatus::Exited(_, code) => (Some(code), None),
            WaitStatus::Signaled(_, signal, _) => (None, Some(signal as i32)),
            _ => (None, None),
        };
        Exit {
            code,
            signal,
            launch_error: self.launch_error(),
        }
    }

    /// The exec failure the child reported, if it did (a pipe is closed by
    /// now: by exec on success, by exit otherwise).
    fn launch_error(&self) -> Option<String> {
        let err = match &self.launch_error {
            LaunchError::Known(e) => io::Error::from_raw_os_error(e.as_ref()?.raw_os_error()?),
            LaunchError::Pipe(fd) => {
                let mut bytes = [0u8; 4];
                let mut file = std::fs::File::from(fd.try_clone().ok()?);
                file.read_exact(&mut bytes).ok()?;
                io::Error::from_raw_os_error(i32::from_ne_bytes(bytes))
            }
        };
        Some(format!("failed to launch {}: {err}", self.label))
    }
}

/// The pids forked by [`spawn`] and not reaped yet: what the daemon waits
/// for itself, as opposed to orphans it adopted as PID 1.
fn supervised() -> &'static std::sync::Mutex<std::collections::HashSet<libc::pid_t>> {
    static SET: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<libc::pid_t>>> =
        std::sync::OnceLock::new();
    SET.get_or_init(Default::default)
}

/// True while `pid` is a child [`spawn`] started and nobody reaped yet.
pub fn is_supervised(pid: libc::pid_t) -> bool {
    supervised().lock().expect("supervised lock").contains(&pid)
}

/// The child's status once it has ended (and is reaped), `None` while it runs.
fn reap(pid: Pid) -> Option<WaitStatus> {
    let status = reap_status(pid);
    if status.is_some() {
        supervised()
            .lock()
            .expect("supervised lock")
            .remove(&pid.as_raw());
    }
    status
}

fn reap_status(pid: Pid) -> Option<WaitStatus> {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => None,
        Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => Some(status),
        Ok(_) => None,
        // Reaped elsewhere or never ours: nothing more will come.
        Err(_) => Some(WaitStatus::Exited(pid, -1)),
    }
}

/// For kernels without pidfd: check again at every SIGCHLD.
async fn wait_on_sigchld(pid: Pid) -> WaitStatus {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigchld = signal(SignalKind::child()).ok();
    loop {
        if let Some(status) = reap(pid) {
            return status;
        }
        match sigchld.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(program: &str, argv: &[&str]) -> io::Result<Child> {
        let (_keep, passed) = std::os::unix::net::UnixStream::pair().unwrap();
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let env = vec![("PATH".to_string(), "/usr/bin:/bin".to_string())];
        spawn(&Command {
            program: Path::new(program),
            argv: &argv,
            env: &env,
            cwd: Some(Path::new("/tmp")),
            channel_fd: passed.as_raw_fd(),
            die_with_parent: false,
            cgroup: None,
            label: program.to_string(),
        })
    }

    #[tokio::test]
    async fn runs_the_program_with_its_stdio_cwd_and_fd() {
        use tokio::io::AsyncReadExt;
        let child = run(
            "/bin/sh",
            &[
                "sh",
                "-c",
                "pwd; echo oops >&2; readlink /proc/$$/fd/3 >&2; exit 7",
            ],
        )
        .unwrap();
        let (mut out, mut err) = (String::new(), String::new());
        let mut stdout = child.stdout;
        let mut stderr = child.stderr;
        stdout.read_to_string(&mut out).await.unwrap();
        stderr.read_to_string(&mut err).await.unwrap();
        let exit = child.exit.wait().await;
        assert_eq!(out, "/tmp\n");
        assert!(err.starts_with("oops\n"), "{err}");
        assert!(err.contains("socket:"), "fd 3 is the passed socket: {err}");
        assert_eq!(
            (exit.code, exit.signal, exit.launch_error),
            (Some(7), None, None)
        );
    }

    #[tokio::test]
    async fn reports_a_signal_death() {
        let child = run("/bin/sh", &["sh", "-c", "kill -9 $$"]).unwrap();
        let exit = child.exit.wait().await;
        assert_eq!((exit.code, exit.signal), (None, Some(libc::SIGKILL)));
    }

    #[tokio::test]
    async fn a_signal_sent_before_exec_gets_its_default_action() {
        // Like the daemon, this process handles SIGINT; the child must not.
        let _handler = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        let child = run("/bin/sleep", &["sleep", "30"]).unwrap();
        // Sent at once: the child may not have exec'd yet.
        nix::sys::signal::kill(
            Pid::from_raw(child.pid as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let exit = child.exit.wait().await;
        assert_eq!((exit.code, exit.signal), (None, Some(libc::SIGINT)));
    }

    #[tokio::test]
    async fn an_exec_failure_comes_back_as_a_launch_error() {
        let child = run("/no/such/program", &["x"]).unwrap();
        let exit = child.exit.wait().await;
        assert_eq!(exit.code, Some(127));
        let msg = exit.launch_error.expect("launch error");
        assert!(
            msg.starts_with("failed to launch /no/such/program: No such file"),
            "{msg}"
        );
    }
}
