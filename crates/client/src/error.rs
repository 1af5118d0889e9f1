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
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
