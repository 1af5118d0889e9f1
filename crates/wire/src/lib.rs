//! The formats PM2 speaks on its sockets and with its children.
//!
//! - [`amp`]: the AMP v1 frame that axon sockets carry (`rpc.sock`, `pub.sock`).
//! - [`rpc`]: the axon-rpc request and reply messages inside those frames.
//! - [`ipc`]: Node's child IPC channel (JSON lines, with file descriptors as SCM_RIGHTS).
//! - [`sock`]: socket flags that differ between Linux and macOS.

pub mod amp;
pub mod ipc;
pub mod rpc;
pub mod sock;

pub use amp::{Arg, Decoder, FrameError};
