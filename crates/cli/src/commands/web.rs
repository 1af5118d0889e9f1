//! `pm2 web [port] [--host <addr>]` turns on the daemon's web interface
//! (PM2's JSON process list at `/`, Prometheus metrics at `/metrics`);
//! `pm2 web stop` (or PM2's way, `pm2 delete pm2-http-interface`) turns it
//! off. The daemon keeps the setting in PM2_HOME, so it survives `pm2 kill`.

use super::{connect, Ctx, Failure, Outcome};
use serde_json::{json, Value};

/// PM2's name for its web interface process: `pm2 delete` of that name stops ours.
pub const PM2_PROCESS_NAME: &str = "pm2-http-interface";

/// `host` and `port` from the command line, else `PM2_API_IPADDR`/`PM2_API_PORT`.
pub fn request(ctx: &Ctx, port: Option<&str>, host: Option<&str>) -> Result<Value, Failure> {
    let env = |k: &str| ctx.env.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let port_text = port.map(str::to_string).or_else(|| env("PM2_API_PORT"));
    let port = match port_text {
        None => pm2_daemon::web::DEFAULT_PORT,
        Some(p) => p.trim().parse::<u16>().map_err(|_| {
            Failure::Error(format!(
                "pm2 web: the port must be a number from 0 to 65535 (or `stop`), got \"{p}\""
            ))
        })?,
    };
    let host = host
        .map(str::to_string)
        .or_else(|| env("PM2_API_IPADDR"))
        .unwrap_or_else(|| pm2_daemon::web::DEFAULT_HOST.to_string());
    Ok(json!({"host": host, "port": port}))
}

pub async fn web(ctx: &Ctx, port: Option<&str>, host: Option<&str>) -> Outcome {
    if port == Some("stop") {
        let client = connect(ctx, false).await?;
        return stop(&client, ctx).await;
    }
    let req = request(ctx, port, host)?;
    let client = connect(ctx, true).await?;
    let reply = client.call("webStart", vec![req]).await?;
    let on = reply.first().cloned().unwrap_or(Value::Null);
    let (host, port) = (on["host"].as_str().unwrap_or(""), &on["port"]);
    let shown = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    ctx.info(&format!(
        "Web interface on http://{shown}:{port} (process list at /, Prometheus metrics at /metrics); `pm2 web stop` stops it"
    ));
    Ok(())
}

/// Stops the web interface, saying whether one was on.
pub async fn stop(client: &pm2_client::Client, ctx: &Ctx) -> Outcome {
    let reply = client.call("webStop", vec![]).await?;
    match reply.first().map(|r| &r["stopped"]) {
        Some(Value::Object(was)) => {
            ctx.info(&format!(
                "Web interface on {}:{} stopped",
                was.get("host").and_then(Value::as_str).unwrap_or(""),
                was.get("port").unwrap_or(&Value::Null)
            ));
            Ok(())
        }
        _ => Err(Failure::Warn("The web interface is not running".into())),
    }
}
