//! The JavaScript runtime an app's interpreter is, which decides what the
//! daemon gives the app: the container that reports its version, metrics and
//! crashes, and how internal messages are framed on its IPC channel.

use pm2_wire::ipc::Peer;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Node,
    Bun,
    /// Anything else (python, bash, a binary): run as it is.
    Other,
}

impl Runtime {
    /// `node` (by file name); as in PM2, any interpreter whose name ends in
    /// `bun` is Bun.
    pub fn of(interpreter: &str) -> Runtime {
        let name = Path::new(interpreter)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == "node" {
            Runtime::Node
        } else if name.ends_with("bun") {
            Runtime::Bun
        } else {
            Runtime::Other
        }
    }

    /// Whether the container wraps the app and reports `node_version`.
    pub fn has_container(self) -> bool {
        self != Runtime::Other
    }

    pub fn peer(self) -> Peer {
        match self {
            Runtime::Bun => Peer::Bun,
            _ => Peer::Node,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_runtime_by_the_interpreter_file_name() {
        for (interpreter, want) in [
            ("node", Runtime::Node),
            ("/usr/local/bin/node", Runtime::Node),
            ("bun", Runtime::Bun),
            ("/home/me/.bun/bin/bun", Runtime::Bun),
            ("/opt/tools/mybun", Runtime::Bun),
            ("python3", Runtime::Other),
            ("/opt/bun/bin/deno", Runtime::Other),
            ("none", Runtime::Other),
            ("", Runtime::Other),
        ] {
            assert_eq!(Runtime::of(interpreter), want, "{interpreter}");
        }
    }
}
