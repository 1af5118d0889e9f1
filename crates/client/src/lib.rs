//! The client half of PM2, written once for the native CLI and the Node addon.
//!
//! - [`connect`]: reaching the daemon, starting one (and its modules) if needed.
//! - [`rpc`]: an axon `req` socket on `rpc.sock` (request ids, reply matching).
//! - [`bus`]: an axon `sub` socket on `pub.sock`.
//! - [`launcher`]: finding a live daemon or starting one, detached.
//! - [`target`]: which processes `all`, an id, a name, a namespace or `/regex/` mean.
//! - [`modules`]: PM2 modules: install, configure, relaunch.
//! - [`ops`]: the operations (`start`, `stop`, `restart`, `dump`, …) over those.
//! - [`upgrade`]: `pm2 update` by an exec of the daemon in place.

pub mod bus;
pub mod connect;
pub mod error;
pub mod launcher;
mod module_tarball;
pub mod modules;
pub mod name_regex;
pub mod ops;
pub mod rpc;
pub mod target;
pub mod upgrade;

pub use connect::ConnectOptions;
pub use error::Error;
pub use ops::{
    Action, ActionOptions, Client, ResurrectFailure, Resurrected, StartOptions, Started,
};
pub use pm2_config::Paths;

/// The version this client reports, and expects of its daemon.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
