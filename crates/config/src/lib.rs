//! How PM2 turns what a user wrote (CLI flags, an options object, an ecosystem
//! file) into the app description the daemon's `prepare` takes. Pure functions:
//! no sockets, no processes; the only I/O is looking at the file system and PATH.

pub mod paths;

pub use paths::{write_atomic, Paths};
