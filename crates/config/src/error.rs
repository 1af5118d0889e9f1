//! Errors a user can get back from resolving their app options.

use std::path::PathBuf;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Option script is required: the app has no script (or cmd/command) to run")]
    MissingScript,

    #[error("Script not found: {}", .0.display())]
    ScriptNotFound(PathBuf),

    #[error("Working directory not found: {}", .0.display())]
    CwdNotFound(PathBuf),

    #[error("Interpreter {0} is NOT AVAILABLE in PATH. (type 'which {0}' to double check.)")]
    InterpreterNotAvailable(String),

    /// A known option with a value of the wrong type or format.
    #[error("Option {option}: expected {expected}, got {got}")]
    InvalidOption {
        option: String,
        expected: &'static str,
        got: String,
    },

    /// A bad value outside any named option (the bare unit parsers).
    #[error("expected {expected}, got {got}")]
    InvalidValue { expected: &'static str, got: String },

    /// A `cron_restart` that is not a cron pattern (the message names it).
    #[error("{0}")]
    InvalidCron(String),

    /// A name that cannot be shown on one line (see `app_name`).
    #[error("{0}")]
    InvalidName(String),

    /// A config file whose shape holds no recognisable apps.
    #[error("Invalid config: {0}")]
    InvalidConfig(String),
}

impl ConfigError {
    pub(crate) fn invalid(expected: &'static str, got: &Value) -> ConfigError {
        ConfigError::InvalidValue {
            expected,
            got: got.to_string(),
        }
    }

    /// Names the option a bare value error came from, so the user knows what to fix.
    pub(crate) fn for_option(self, option: &str) -> ConfigError {
        match self {
            ConfigError::InvalidValue { expected, got } => ConfigError::InvalidOption {
                option: option.to_string(),
                expected,
                got,
            },
            other => other,
        }
    }
}
