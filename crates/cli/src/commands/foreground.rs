//! `--no-daemon`: the supervisor runs inside this command, in the foreground.
//!
//! The command (`pm2 start app.js --no-daemon`, or any other) runs against a
//! supervisor started in this process for PM2_HOME, which serves `rpc.sock`
//! and `pub.sock` as the daemon would; then the apps' logs stream to this
//! process's stdout and stderr until SIGINT or SIGTERM, which stop the apps
//! (their `kill_timeout`) before the command exits. Apps die with the command,
//! as they do with PM2's no-daemon mode. When a daemon already serves the
//! home, the command acts on it and stays in the foreground only to stream.

use super::{logs, Command, Ctx, Outcome};
use crate::args::LogsArgs;
use pm2_client::bus::BusClient;
use pm2_client::Paths;
use tokio::signal::unix::{signal, SignalKind};

pub async fn run(command: Command, ctx: &mut Ctx) -> Outcome {
    let paths = Paths::from_env();
    paths.init_file_structure().map_err(|e| e.to_string())?;
    let mut settings = pm2_daemon::settings::Settings::from_env();
    settings.in_process = true;
    let handle = match pm2_daemon::start(paths, settings).await {
        Ok(handle) => Some(handle),
        Err(pm2_daemon::StartError::AlreadyRunning(_)) => None,
        Err(e) => return Err(format!("cannot start the supervisor: {e}").into()),
    };
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    // Subscribed before the command runs, so the apps' first lines are shown.
    let bus = BusClient::connect(&Paths::from_env().pub_sock)
        .await
        .map_err(|e| format!("Cannot connect to the PM2 bus: {e}"))?;
    let ran = super::run(command, ctx).await;
    let args = LogsArgs {
        lines: 0,
        ..LogsArgs::default()
    };
    let follow = logs::follow_all(bus, &args);
    tokio::pin!(follow);
    if ran.is_ok() {
        tokio::select! {
            _ = &mut follow => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    if let Some(handle) = handle {
        // Stops every app (kill_timeout, then SIGKILL) and closes the
        // sockets; what the apps print meanwhile is still shown.
        handle.daemon.request_exit(pm2_daemon::ExitReason::HostExit);
        tokio::select! {
            _ = handle.finished() => {}
            _ = &mut follow => handle.finished().await,
        }
    }
    ran
}
