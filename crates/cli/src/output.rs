//! How the CLI talks to the user: PM2's `[PM2]` message prefixes, colors (only on a
//! terminal, never with `--no-color`), and silence (`-s`).
//!
//! Everything goes through these few functions so that color and silence are
//! decided in one place. Writes ignore errors: a closed pipe (`pm2 ls | head`)
//! ends the process through SIGPIPE, which `main` restores to its default.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static COLOR: AtomicBool = AtomicBool::new(false);
static SILENT: AtomicBool = AtomicBool::new(false);

pub const PREFIX: &str = "[PM2] ";

/// Decides once whether output is colored and whether it is silenced.
pub fn init(no_color: bool, silent: bool) {
    let forced = std::env::var("FORCE_COLOR").is_ok_and(|v| !v.is_empty() && v != "0");
    let tty = is_tty(libc::STDOUT_FILENO);
    let color = !no_color && std::env::var_os("NO_COLOR").is_none() && (forced || tty);
    COLOR.store(color, Ordering::Relaxed);
    SILENT.store(silent || silent_by_env(), Ordering::Relaxed);
}

/// `PM2_SILENT` set (as PM2 reads it, to anything but `false`) silences the
/// CLI as `-s` does.
fn silent_by_env() -> bool {
    std::env::var("PM2_SILENT").is_ok_and(|v| !v.is_empty() && v != "false")
}

pub fn color_enabled() -> bool {
    COLOR.load(Ordering::Relaxed)
}

pub fn silent() -> bool {
    SILENT.load(Ordering::Relaxed)
}

pub fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// The terminal's width when stdout is a terminal.
pub fn terminal_columns() -> Option<usize> {
    if !is_tty(libc::STDOUT_FILENO) {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize struct we pass and nothing else.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col as usize)
}

fn paint(s: &str, open: &str, close: &str) -> String {
    if color_enabled() {
        format!("\x1b[{open}m{s}\x1b[{close}m")
    } else {
        s.to_string()
    }
}

pub fn bold(s: &str) -> String {
    paint(s, "1", "22")
}
pub fn italic(s: &str) -> String {
    paint(s, "3", "23")
}
pub fn inverse(s: &str) -> String {
    paint(s, "7", "27")
}
pub fn red(s: &str) -> String {
    paint(s, "31", "39")
}
pub fn green(s: &str) -> String {
    paint(s, "32", "39")
}
pub fn yellow(s: &str) -> String {
    paint(s, "33", "39")
}
pub fn blue(s: &str) -> String {
    paint(s, "34", "39")
}
pub fn cyan(s: &str) -> String {
    paint(s, "36", "39")
}
pub fn gray(s: &str) -> String {
    paint(s, "90", "39")
}
pub fn plain(s: &str) -> String {
    s.to_string()
}

/// Raw text to stdout, always (command results such as `jlist`).
pub fn raw(s: &str) {
    raw_bytes(s.as_bytes());
}

/// Raw bytes to stdout, always.
pub fn raw_bytes(s: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s);
    let _ = out.flush();
}

/// Text for people to read (tables, descriptions), as it is, unless
/// silenced; data meant for scripts (`jlist`, `prettylist`, logs) uses [`raw`].
pub fn text(s: &str) {
    if !silent() {
        raw(s);
    }
}

/// Text to stderr as it is.
pub fn raw_err(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(s.as_bytes());
    let _ = err.flush();
}

/// A line to stdout, unless silenced.
pub fn line(s: &str) {
    if !silent() {
        raw(&format!("{s}\n"));
    }
}

/// A line to stderr, always.
pub fn err_line(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// `[PM2] msg` on stdout.
pub fn info(msg: &str) {
    line(&format!("{}{msg}", green(PREFIX)));
}

/// `[PM2][WARN] msg` on stdout (advice while things go on).
pub fn warn(msg: &str) {
    line(&format!("{}{msg}", yellow("[PM2][WARN] ")));
}

/// `[PM2][WARN] msg` on stderr (a warning that ends the command).
pub fn warn_err(msg: &str) {
    err_line(&format!("{}{msg}", yellow("[PM2][WARN] ")));
}

/// `[PM2][ERROR] msg` on stderr.
pub fn error(msg: &str) {
    err_line(&format!("{}{msg}", red("[PM2][ERROR] ")));
}

/// Where a command's status messages go: stdout normally, stderr for commands
/// whose stdout is data (`jlist`, `prettylist`, `pid`, `id`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdout,
    Stderr,
}

pub fn info_to(channel: Channel, msg: &str) {
    match channel {
        Channel::Stdout => info(msg),
        Channel::Stderr => {
            if !silent() {
                err_line(&format!("{}{msg}", green(PREFIX)))
            }
        }
    }
}
