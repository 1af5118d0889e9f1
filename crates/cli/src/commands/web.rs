//! `pm2 web [port] [--host <addr>] [--env] [--new-token]` turns on the
//! daemon's web interface (PM2's JSON process list at `/`, Prometheus
//! metrics at `/metrics`, readiness at `/ready`, and a dashboard for
//! browsers at `/dashboard`, behind the token), without the apps' env
//! unless `--env` asks for it, and then only for requests with the token;
//! `pm2 web --new-token` replaces the token; `pm2 web stop` (or PM2's way,
//! `pm2 delete pm2-http-interface`) turns it off. The daemon keeps the
//! setting in PM2_HOME, so it survives `pm2 kill`.

use super::{connect, Ctx, Failure, Outcome};
use serde_json::{json, Value};

/// PM2's name for its web interface process: `pm2 delete` of that name stops ours.
pub const PM2_PROCESS_NAME: &str = "pm2-http-interface";

/// What `pm2 web` was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebArgs<'a> {
    pub port: Option<&'a str>,
    pub host: Option<&'a str>,
    /// `--env`: show the apps' env, to requests with the token.
    pub env: bool,
    /// `--new-token`: replace the token first.
    pub new_token: bool,
}

/// `host` and `port` from the command line, else `PM2_API_IPADDR`/`PM2_API_PORT`.
pub fn request(ctx: &Ctx, args: WebArgs) -> Result<Value, Failure> {
    let env = |k: &str| ctx.env.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let port_text = args
        .port
        .map(str::to_string)
        .or_else(|| env("PM2_API_PORT"));
    let port = match port_text {
        None => pm2_config::web::DEFAULT_PORT,
        Some(p) => p.trim().parse::<u16>().map_err(|_| {
            Failure::Error(format!(
                "pm2 web: the port must be a number from 0 to 65535 (or `stop`), got \"{p}\""
            ))
        })?,
    };
    let host = args
        .host
        .map(str::to_string)
        .or_else(|| env("PM2_API_IPADDR"))
        .unwrap_or_else(|| pm2_config::web::DEFAULT_HOST.to_string());
    Ok(json!({"host": host, "port": port, "env": args.env, "newToken": args.new_token}))
}

/// `http://host:port`, with brackets around an IPv6 address.
fn base_url(on: &Value) -> String {
    let host = on["host"].as_str().unwrap_or("");
    let shown = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("http://{shown}:{}", on["port"])
}

/// The dashboard's URL with its token, as the daemon gave it.
pub fn dashboard_note(on: &Value) -> Option<String> {
    on["dashboard"]
        .as_str()
        .map(|url| format!("Dashboard (keep this URL private, it carries the token): {url}"))
}

/// What `pm2 web` (and `pm2-runtime --web`) says about the env and the token.
pub fn env_note(on: &Value) -> String {
    match on["token"].as_str() {
        Some(token) if on["env"] == true => format!(
            "The apps' environment is shown, to requests with the token only: {}/?token={token} (or the header `Authorization: Bearer <token>`; the token is in {}, `pm2 web --new-token` replaces it)",
            base_url(on),
            on["tokenFile"].as_str().unwrap_or("PM2_HOME/web.token")
        ),
        _ => "The apps' environment variables are hidden; `pm2 web --env` shows them to requests that carry a token".to_string(),
    }
}

pub async fn web(ctx: &Ctx, args: WebArgs<'_>) -> Outcome {
    if ctx.flags.env.is_some() {
        return Err(Failure::Error(
            "pm2 web: --env takes no value (it shows the apps' environment, to requests with the token)".into(),
        ));
    }
    if args.port == Some("stop") {
        if args.env || args.new_token || args.host.is_some() {
            return Err(Failure::Error(
                "pm2 web stop takes no --env, --new-token or --host".into(),
            ));
        }
        let client = connect(ctx, false).await?;
        return stop(&client, ctx).await;
    }
    if args.new_token && args.port.is_none() && args.host.is_none() && !args.env {
        return new_token(ctx).await;
    }
    let req = request(ctx, args)?;
    let client = connect(ctx, true).await?;
    let reply = client.call("webStart", vec![req]).await?;
    let on = reply.first().cloned().unwrap_or(Value::Null);
    ctx.info(&format!(
        "Web interface on {} (process list at /, Prometheus metrics at /metrics, readiness at /ready); `pm2 web stop` stops it",
        base_url(&on)
    ));
    if let Some(note) = dashboard_note(&on) {
        ctx.info(&note);
    }
    ctx.info(&env_note(&on));
    Ok(())
}

/// `pm2 web --new-token`: a new token, in use at once where the env is shown.
async fn new_token(ctx: &Ctx) -> Outcome {
    let client = connect(ctx, true).await?;
    let reply = client.call("webNewToken", vec![]).await?;
    let r = reply.first().cloned().unwrap_or(Value::Null);
    let file = r["tokenFile"].as_str().unwrap_or("PM2_HOME/web.token");
    ctx.info(&format!(
        "New web token written to {file}; the previous one no longer works"
    ));
    if let Some(note) = dashboard_note(&r) {
        ctx.info(&note);
    }
    match &r["running"] {
        Value::Object(on) if on.get("env") == Some(&Value::Bool(true)) => {
            let mut on = Value::Object(on.clone());
            on["token"] = r["token"].clone();
            on["tokenFile"] = r["tokenFile"].clone();
            ctx.info(&env_note(&on));
        }
        Value::Object(_) => ctx.info(
            "The web interface's process list hides the apps' environment, so it needs no token; `pm2 web --env` shows the env to requests with it",
        ),
        _ => ctx.info("The web interface is not running; `pm2 web --env` starts it with this token"),
    }
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
