//! Where the web interface listens unless told otherwise: the daemon that
//! serves it and the CLI that asks for it agree on these.

/// PM2's port for the web interface (`PM2_API_PORT` overrides it in the CLI).
pub const DEFAULT_PORT: u16 = 9615;
pub const DEFAULT_HOST: &str = "127.0.0.1";
