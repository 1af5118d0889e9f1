use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The daemon answered with an error; the text is the daemon's own.
    #[error("{0}")]
    Remote(String),
    #[error("{0}")]
    Config(#[from] pm2_config::ConfigError),
    #[error("Process or Namespace {0} not found")]
    NotFound(String),
    #[error("No process found")]
    NothingToDo,
    #[error("Script already launched, add -f option to force re-execution")]
    AlreadyLaunched,
    #[error("{0}")]
    Daemon(String),
    #[error("{0}")]
    Usage(String),
    #[error("connection to the PM2 daemon closed")]
    Disconnected,
    #[error("the PM2 daemon did not answer {method} within {} s (PM2_RPC_TIMEOUT sets this bound, in ms)", .after.as_secs_f64())]
    Timeout {
        method: String,
        after: std::time::Duration,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
