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
use crate::runtime::LogStyle;
use pm2_client::bus::BusClient;
use pm2_client::Paths;
use pm2_config::daemon_line::DaemonLineFormat;
use std::time::Duration;
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
    // The supervisor's start-up lines come first, as PM2's do.
    let early = handle
        .as_ref()
        .map(|h| h.early_log_lines())
        .unwrap_or_default();
    let form = DaemonLineFormat::from_env();
    crate::output::raw(
        &early
            .iter()
            .map(|(at, msg)| form.line_at_ms(*at, msg))
            .collect::<String>(),
    );
    let runtime = ctx.runtime.clone();
    if let Some(rt) = &runtime {
        if std::process::id() == 1 {
            tokio::spawn(pm2_daemon::orphans::reap_forever());
        }
        if let Some(port) = &rt.web {
            serve_web(ctx, port.as_deref()).await?;
        }
        if rt.delay_secs > 0 {
            tokio::time::sleep(Duration::from_secs(rt.delay_secs)).await;
        }
    }
    if handle.is_some() {
        // The installed modules start with the supervisor, as with a daemon.
        let client = super::connect(ctx, false).await?;
        for (name, why) in pm2_client::modules::launch_all(&client, &ctx.env).await {
            crate::output::error(&format!("Module {name} could not be started: {why}"));
        }
    }
    let mut ran = super::run(command, ctx).await;
    // The apps are started: the code only start-up ran goes back to the
    // kernel, as the daemon's does (pm2-runtime lives as long as its apps).
    pm2_daemon::code_pages::release_after_start_up();
    let style = runtime.as_ref().map_or(LogStyle::Prefixed, |r| r.log_style);
    let args = LogsArgs {
        lines: 0,
        raw: style == LogStyle::Raw,
        json: style == LogStyle::Json,
        format: style == LogStyle::Format,
        timestamp: runtime
            .as_ref()
            .is_some_and(|r| r.timestamps)
            .then(String::new),
        ..LogsArgs::default()
    };
    let follow = logs::follow_all(bus, &args, early);
    tokio::pin!(follow);
    let auto_exit = runtime.as_ref().is_some_and(|r| r.auto_exit);
    if ran.is_ok() {
        tokio::select! {
            _ = &mut follow => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
            outcome = no_app_left(ctx), if auto_exit => ran = outcome,
        }
    }
    // `pm2-runtime` says why it ends in its own form, before the apps stop.
    let quiet = runtime.as_ref().is_some_and(|r| r.quiet);
    if let (true, Err(failure)) = (quiet, &ran) {
        crate::output::raw_err(&form.error_now(failure.message()));
        ran = Err(super::Failure::Reported);
    }
    if let Some(handle) = handle {
        // Stops every app (kill_timeout, then SIGKILL) and closes the
        // sockets; what the apps print meanwhile is still shown.
        handle.daemon.request_exit(pm2_daemon::ExitReason::HostExit);
        tokio::select! {
            _ = handle.finished() => {
                // The apps' last lines are on the bus by now; let them out.
                let _ = tokio::time::timeout(Duration::from_millis(200), &mut follow).await;
            }
            _ = &mut follow => handle.finished().await,
        }
        crate::output::raw(&form.line_now("PM2 successfully stopped"));
    }
    ran
}

/// `pm2-runtime --web [port]`: the supervisor that serves the home (this
/// one, or the daemon already there) serves the web interface, without
/// saving the setting.
async fn serve_web(ctx: &Ctx, port: Option<&str>) -> Outcome {
    let args = super::web::WebArgs {
        port,
        ..Default::default()
    };
    let request = super::web::request(ctx, args)?;
    let on = super::connect(ctx, false)
        .await?
        .call("webStart", vec![request])
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    crate::output::err_line(&format!(
        "pm2-runtime: web interface on {}:{} (process list at /, Prometheus metrics at /metrics, readiness at /ready). {}",
        on["host"].as_str().unwrap_or(""),
        on["port"],
        super::web::env_note(&on)
    ));
    if let Some(note) = super::web::dashboard_note(&on) {
        crate::output::err_line(&format!("pm2-runtime: {note}"));
    }
    Ok(())
}

/// Resolves once no app (modules aside) is online or launching, as
/// `pm2-runtime` exits then: checked every 2 s from 4 s after the start.
/// Fails, so the command exits non-zero, when an app ended errored or with a
/// non-zero exit code.
async fn no_app_left(ctx: &Ctx) -> Outcome {
    tokio::time::sleep(Duration::from_secs(4)).await;
    let client = super::connect(ctx, false).await?;
    loop {
        if let Ok(list) = client.list().await {
            let apps: Vec<_> = list
                .iter()
                .filter(|p| !pm2_client::target::is_module(p))
                .collect();
            let status =
                |p: &serde_json::Value| p["pm2_env"]["status"].as_str().unwrap_or("").to_string();
            let running = apps.iter().any(|p| {
                matches!(
                    status(p).as_str(),
                    "online" | "launching" | "waiting restart"
                )
            });
            if !running {
                let failed = apps
                    .iter()
                    .filter(|p| {
                        status(p) == "errored"
                            || p["pm2_env"]["exit_code"].as_i64().is_some_and(|c| c != 0)
                    })
                    .count();
                let msg = format!(
                    "pm2-runtime: no app is running any more ({failed} of {} failed), exiting",
                    apps.len()
                );
                if failed > 0 {
                    return Err(super::Failure::Plain(msg));
                }
                crate::output::raw(&DaemonLineFormat::from_env().line_now(&msg));
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
