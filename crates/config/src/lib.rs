//! How PM2 turns what a user wrote (CLI flags, an options object, an ecosystem
//! file) into the app description the daemon's `prepare` takes. Pure functions:
//! no sockets, no processes; the only I/O is looking at the file system and PATH.

mod app;
pub mod app_name;
pub mod app_options;
mod args;
pub mod cron;
pub mod daemon_line;
pub mod date_format;
pub mod dump;
mod ecosystem;
mod env;
mod error;
mod interpreter;
mod locate;
mod logs;
pub mod module_name;
pub mod modules;
pub mod options;
mod package_dir;
pub mod paths;
pub mod safe_fs;
mod units;
pub mod web;
pub mod yaml;

#[cfg(test)]
mod test_support;

use std::path::PathBuf;

pub use app::{resolve_app, restart_options};
pub use app_options::{AppOptions, ExecMode};
pub use ecosystem::apps_from_config;
pub use env::{module_env, updated_env};
pub use error::ConfigError;
pub use locate::absolute as resolve_path;
pub use logs::sanitize_name;
pub use options::{is_app_option, DEPLOY_ENV};
pub use package_dir::package_dir;
pub use paths::{write_atomic, Paths};
pub use serde_json::{Map, Value};
pub use units::{parse_bytes, parse_duration_ms};

/// An options object: an app as written, or as resolved for the daemon.
pub type Options = Map<String, Value>;

/// A process environment in its own order (`environ`'s, or `process.env`'s
/// through the API): PM2 keeps that order in an app's `env` and in what the
/// app is started with.
pub type ClientEnv = indexmap::IndexMap<String, String>;

/// What resolving an app needs to know about the client asking for it.
#[derive(Debug, Clone)]
pub struct ResolveContext {
    /// Base for relative script, cwd and log paths: the client's cwd, the API's
    /// `cwd`, or an ecosystem file's folder.
    pub cwd: PathBuf,
    /// PM2_HOME layout, for default log paths and `PM2_HOME` in the app's env.
    pub paths: Paths,
    /// The client's process environment, the base of the app's env; its PATH and
    /// HOME are used to find scripts and interpreters and to expand `~`.
    pub client_env: ClientEnv,
    /// `--env production` selects the app's `env_production`.
    pub env_name: Option<String>,
    /// Parsed module_conf.json (`{}` if none).
    pub module_conf: Value,
    /// CPU count, for `instances: 'max'`, 0 or negative.
    pub cpus: usize,
}
