//! Reaching the daemon: connecting to it, or starting one and running the
//! installed modules in it, as PM2's client does.

use crate::error::Result;
use crate::launcher;
use crate::rpc::RpcClient;
use crate::Client;
use pm2_config::Paths;
use std::path::PathBuf;

pub struct ConnectOptions {
    /// Start a daemon when none is alive (false: fail instead).
    pub launch: bool,
    /// The daemon binary to start.
    pub daemon_bin: PathBuf,
    /// The environment a new daemon gets (normally the client's own).
    pub env: pm2_config::ClientEnv,
}

impl Client {
    /// Connects to the daemon of `paths`, starting one if allowed and needed.
    pub async fn connect(paths: Paths, opts: &ConnectOptions) -> Result<Client> {
        paths.init_file_structure()?;
        let (rpc, launched) = match RpcClient::connect(&paths.rpc_sock).await {
            Ok(rpc) => (rpc, false),
            Err(e) if !opts.launch => return Err(e.into()),
            Err(_) => {
                launcher::launch_daemon(&paths, &opts.daemon_bin, &opts.env).await?;
                (RpcClient::connect(&paths.rpc_sock).await?, true)
            }
        };
        let client = Client::new(paths, rpc, launched);
        if launched {
            // A new daemon runs the installed modules again, as PM2's does.
            crate::modules::launch_all(&client, &opts.env).await;
        }
        Ok(client)
    }
}
