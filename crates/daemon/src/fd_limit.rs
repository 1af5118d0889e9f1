//! The daemon's limit on open files, and what a launch that meets it says.
//!
//! Every app holds a few descriptors in the daemon (its output pipes, pidfd,
//! log files, a socket), so thousands of apps need tens of
//! thousands. The daemon raises its soft limit to the hard one at start; past
//! that a launch fails, and its error says why and what to raise.

/// The soft limit on open files of this process, if it can be read.
pub fn current() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_cur)
}

/// `error` with the reason spelt out when it is the limit on open files.
pub fn explain(error: &str, limit: Option<u64>) -> String {
    if !error.contains("os error 24") {
        return error.to_string();
    }
    let limit = limit.map_or_else(|| "its".to_string(), |n| n.to_string());
    format!(
        "{error}: the daemon has reached {limit} open files, its limit (each app holds 5, and 2 more once it has \
         written output); \
         raise the hard limit (`ulimit -Hn` in the shell that starts the daemon, LimitNOFILE= in \
         its service unit) and restart the daemon"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_open_files_error_is_spelt_out() {
        let e = explain("Too many open files (os error 24)", Some(20000));
        assert!(e.starts_with("Too many open files (os error 24): "), "{e}");
        assert!(e.contains("reached 20000 open files"), "{e}");
        assert_eq!(
            explain("No such file or directory (os error 2)", Some(20000)),
            "No such file or directory (os error 2)"
        );
        assert!(current().is_some_and(|n| n > 0));
    }
}
