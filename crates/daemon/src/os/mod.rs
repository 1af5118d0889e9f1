//! What the daemon asks of the operating system that Linux and macOS answer
//! differently, one module per concern. Everything else in the daemon is
//! plain POSIX; `cfg` for a platform belongs here, not in the supervisor.
//!
//! - [`code_pages`]: handing the binary's pages back once start-up is over.
//! - [`child_exit`]: a descriptor that becomes readable when a child exits
//!   (pidfd on Linux; elsewhere none, and the caller waits on SIGCHLD).
//! - [`fork`]: forking a child straight into its cgroup (clone3 on Linux).
//! - [`pre_exec`]: what a forked child does before exec that differs
//!   (signal range, dying with the daemon).
//!
//! The process table (memory, CPU time, parents, groups, sessions) is the
//! `pm2-proc` crate (`crates/proc`). Cgroups are Linux-only and live in
//! `cgroup.rs`, which finds none elsewhere.

pub mod child_exit;
pub mod code_pages;
pub mod fork;
pub mod pre_exec;
