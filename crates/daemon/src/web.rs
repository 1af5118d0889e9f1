//! `pm2 web`: the daemon itself serves PM2's web interface over HTTP, with no
//! Node process: PM2's JSON process list at `/`, Prometheus text
//! exposition at `/metrics`, for readiness probes `/ready` (200 once every
//! app is online), and for browsers a dashboard at `/dashboard`, always
//! behind the token (`dashboard`). It listens on 127.0.0.1 unless told
//! otherwise.
//!
//! PM2 runs its web interface as an app (`pm2-http-interface`), so a saved
//! list brings it back with `pm2 resurrect`. Here it is a daemon setting
//! kept in `PM2_HOME/web.json`: written when it starts, removed when it is
//! stopped (`pm2 web stop`), and read by every new daemon at start, so it
//! comes back after `pm2 kill` (at the next command, `pm2 resurrect` at
//! boot included) without a `pm2 save`. The foreground supervisor
//! (`pm2-runtime --web`, `--no-daemon`) serves it without saving it.
//!
//! What is served here reaches whoever can open a TCP connection, past
//! PM2_HOME's permissions, so the apps' environment (their passwords and API
//! keys) is left out (`hide_env`). `pm2 web --env` puts it back, and then
//! every request must carry the token kept in PM2_HOME (`token`).
//!
//! Requests for the list go through the supervisor's ordinary messages, so
//! serving never blocks the actor; `http` bounds what a client can hold.

mod dashboard;
mod hide_env;
mod host;
mod http;
pub mod metrics;
pub mod token;

use crate::supervisor::Supervisor;
use crate::Daemon;
use http::{Request, Response};
use pm2_config::Paths;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use pm2_config::web::{DEFAULT_HOST, DEFAULT_PORT};

/// Where to listen, and whether to show the apps' env. A `port` of 0 picks
/// a free one; what is saved and replied is the port actually bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebConfig {
    pub host: String,
    pub port: u16,
    /// `pm2 web --env`: the list has the apps' env, for requests with the token.
    #[serde(default)]
    pub env: bool,
}

impl WebConfig {
    /// From a `webStart` request's `{host, port, env}`.
    pub fn from_request(v: Option<&Value>) -> Result<WebConfig, String> {
        let v = v.cloned().unwrap_or(Value::Null);
        let host = match &v["host"] {
            Value::Null => DEFAULT_HOST.to_string(),
            Value::String(s) => s.clone(),
            other => return Err(format!("web: host must be an IP address, got {other}")),
        };
        let port = match &v["port"] {
            Value::Null => DEFAULT_PORT,
            p => p
                .as_u64()
                .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| format!("web: port must be a number from 0 to 65535, got {p}"))?,
        };
        let env = match &v["env"] {
            Value::Null => false,
            Value::Bool(b) => *b,
            other => return Err(format!("web: env must be true or false, got {other}")),
        };
        Ok(WebConfig { host, port, env })
    }

    fn address(&self) -> Result<SocketAddr, String> {
        let ip: IpAddr = if self.host == "localhost" {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.host.parse().map_err(|_| {
                format!(
                    "web: host must be an IP address (such as 127.0.0.1 or 0.0.0.0), got \"{}\"",
                    self.host
                )
            })?
        };
        Ok(SocketAddr::new(ip, self.port))
    }
}

fn saved_file(paths: &Paths) -> PathBuf {
    paths.home.join("web.json")
}

/// The setting a previous `pm2 web` left in PM2_HOME, if any.
pub fn saved(paths: &Paths) -> Option<WebConfig> {
    let text = std::fs::read(saved_file(paths)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The daemon's web interface: at most one listener at a time.
pub struct Web {
    running: Mutex<Option<(WebConfig, tokio::task::AbortHandle)>>,
    started: Instant,
    /// `PM2_WEB_STRIP_ENV_VARS` (PM2's switch to hide the env): here the env
    /// is hidden anyway, and with it set `--env` is refused.
    env_forbidden: bool,
    /// The token: every dashboard request needs it, the list only with `--env`.
    token: Arc<RwLock<Option<String>>>,
}

impl Default for Web {
    fn default() -> Web {
        Web {
            running: Mutex::new(None),
            started: Instant::now(),
            env_forbidden: std::env::var("PM2_WEB_STRIP_ENV_VARS")
                .is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0")),
            token: Arc::default(),
        }
    }
}

/// What `webStart` replies: where it listens, the dashboard's URL, and
/// with `env`, the token.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    #[serde(flatten)]
    pub config: WebConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(rename = "tokenFile")]
    pub token_file: PathBuf,
    /// The dashboard's address, with the token.
    pub dashboard: String,
}

/// `http://host:port/dashboard?token=…`; an unspecified address (0.0.0.0)
/// is shown as this machine's loopback, where a browser here reaches it.
fn dashboard_url(config: &WebConfig, token: &str) -> String {
    let ip = config
        .address()
        .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
    let ip = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        other => other,
    };
    format!(
        "http://{}/dashboard?token={token}",
        SocketAddr::new(ip, config.port)
    )
}

impl Web {
    /// Where it listens now.
    pub fn current(&self) -> Option<WebConfig> {
        self.running.lock().ok()?.as_ref().map(|(c, _)| c.clone())
    }

    /// Stops listening; returns where it listened.
    pub fn stop(&self) -> Option<WebConfig> {
        let (config, task) = self.running.lock().ok()?.take()?;
        task.abort();
        Some(config)
    }

    fn set_token(&self, token: String) {
        if let Ok(mut t) = self.token.write() {
            *t = Some(token);
        }
    }

    /// Listens at `config` (in place of any previous listener) and serves;
    /// returns where, and the token when the env is shown.
    async fn start(
        &self,
        config: WebConfig,
        sup: Supervisor,
        bus: crate::bus::Bus,
        paths: &Paths,
        new_token: bool,
    ) -> Result<(WebConfig, String), String> {
        let addr = config.address()?;
        if config.env && self.env_forbidden {
            return Err("web: --env is refused: PM2_WEB_STRIP_ENV_VARS is set in the daemon's environment, so the apps' env is never served; start the daemon without it (pm2 kill, then a command without it) to use --env".into());
        }
        // The dashboard always needs the token; the list only with `--env`.
        // File reads and an fsynced write: off the runtime's threads.
        let home = paths.clone();
        let token = tokio::task::spawn_blocking(move || {
            if new_token {
                token::create(&home)
            } else {
                token::load_or_create(&home)
            }
        })
        .await
        .map_err(|e| format!("web: the token could not be read: {e}"))??;
        self.set_token(token.clone());
        let previous = self.current();
        // Rebinding the same address needs the old listener closed first;
        // an aborted task drops it at its next turn on the runtime, so the
        // address may stay taken for a moment.
        let rebinding = previous.as_ref().and_then(|p| p.address().ok()) == Some(addr);
        if rebinding {
            self.stop();
        }
        let mut attempts = if rebinding { 50 } else { 1 };
        let listener = loop {
            attempts -= 1;
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if attempts > 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => return Err(format!("web: cannot listen on {addr}: {e}")),
            }
        };
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        self.stop();
        let actual = WebConfig {
            host: config.host.clone(),
            port: bound.port(),
            env: config.env,
        };
        let ctx = Arc::new(Routes {
            dashboard: dashboard::Dashboard::new(
                sup.clone(),
                bus,
                self.token.clone(),
                config.env && !self.env_forbidden,
            ),
            sup,
            started: self.started,
            show_env: config.env,
            token: self.token.clone(),
            loopback_only: bound.ip().is_loopback(),
        });
        let task = tokio::spawn(http::serve(listener, move |req| {
            let ctx = ctx.clone();
            async move { ctx.answer(req).await }
        }));
        if let Ok(mut running) = self.running.lock() {
            *running = Some((actual.clone(), task.abort_handle()));
        }
        Ok((actual, token))
    }
}

/// Starts (or moves) the daemon's web interface, with a new token when
/// asked; a standalone daemon keeps the setting in PM2_HOME for the daemons
/// after it.
pub async fn start(d: &Daemon, config: WebConfig, new_token: bool) -> Result<Started, String> {
    let (actual, token) = d
        .web
        .start(
            config,
            d.supervisor.clone(),
            d.bus.clone(),
            &d.paths,
            new_token,
        )
        .await?;
    if !d.settings.in_process {
        let text = serde_json::to_vec(&actual).map_err(|e| e.to_string())?;
        let file = saved_file(&d.paths);
        tokio::task::spawn_blocking(move || {
            pm2_config::write_atomic(&file, &text)
                .map_err(|e| format!("web: cannot save {}: {e}", file.display()))
        })
        .await
        .map_err(|e| format!("web: the setting could not be saved: {e}"))??;
    }
    d.log.info(&format!(
        "web interface listening on http://{} (process list at /, Prometheus metrics at /metrics, dashboard at /dashboard with the token); {}",
        SocketAddr::new(
            actual
                .address()
                .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip()),
            actual.port
        ),
        if actual.env {
            "the apps' env is shown, to requests with the token only"
        } else {
            "the apps' env is hidden"
        }
    ));
    Ok(Started {
        dashboard: dashboard_url(&actual, &token),
        token: Some(token).filter(|_| actual.env),
        config: actual,
        token_file: token::file(&d.paths),
    })
}

/// `pm2 web --new-token`: replaces the token; a web interface showing the
/// env takes the new one at once.
pub async fn new_token(d: &Daemon) -> Result<Value, String> {
    let home = d.paths.clone();
    let token = tokio::task::spawn_blocking(move || token::create(&home))
        .await
        .map_err(|e| format!("web: the token could not be written: {e}"))??;
    d.web.set_token(token.clone());
    d.log.info("web interface token replaced");
    let running = d.web.current();
    let dashboard = running.as_ref().map(|c| dashboard_url(c, &token));
    Ok(serde_json::json!({
        "token": token,
        "tokenFile": token::file(&d.paths),
        "running": running,
        "dashboard": dashboard,
    }))
}

/// Stops the web interface and forgets the setting; returns where it listened.
pub fn stop(d: &Daemon) -> Option<WebConfig> {
    let was = d.web.stop();
    if !d.settings.in_process {
        let _ = std::fs::remove_file(saved_file(&d.paths));
    }
    if let Some(c) = &was {
        d.log
            .info(&format!("web interface on {}:{} stopped", c.host, c.port));
    }
    was
}

/// Brings back the setting a previous daemon saved (at a daemon's start).
pub async fn restore(d: &Daemon) {
    if d.settings.in_process {
        return;
    }
    if let Some(config) = saved(&d.paths) {
        if let Err(e) = start(d, config, false).await {
            d.log
                .info(&format!("could not restore the web interface: {e}"));
        }
    }
}

/// What a request is answered with.
struct Routes {
    dashboard: dashboard::Dashboard,
    sup: Supervisor,
    started: Instant,
    /// `--env`: the list keeps the apps' env, and every request needs the token.
    show_env: bool,
    token: Arc<RwLock<Option<String>>>,
    /// Bound to a loopback address: only requests addressed to an IP or to
    /// `localhost` are answered, so a web page cannot read the list through
    /// a name that resolves to 127.0.0.1 (DNS rebinding).
    loopback_only: bool,
}

/// A `Host` header that names an IP address or `localhost` (any port).
fn local_host_header(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

fn json(status: u16, body: impl Into<Vec<u8>>) -> Response {
    Response::new(status, "application/json", body)
}

impl Routes {
    async fn answer(&self, req: Request) -> Response {
        if self.loopback_only && !req.host.as_deref().is_none_or(local_host_header) {
            return Response::text(
                403,
                "this address only answers requests made to localhost or an IP address",
            );
        }
        if dashboard::owns(&req.path) {
            return self.dashboard.answer(req).await;
        }
        if self.show_env {
            if let Err(refused) = self.authorize(&req) {
                return refused;
            }
        }
        if req.method != "GET" && req.method != "HEAD" {
            let mut r = Response::text(405, "only GET and HEAD are served");
            r.headers.push("Allow: GET, HEAD".into());
            return r;
        }
        match req.path.as_str() {
            "/" => self.process_list().await,
            "/metrics" => self.metrics().await,
            "/ready" => self.readiness().await,
            _ => json(404, r#"{"err":"404"}"#),
        }
    }

    /// With the env shown, a request without the token gets 401, one with
    /// another token 403.
    fn authorize(&self, req: &Request) -> Result<(), Response> {
        let expected = self.token.read().ok().and_then(|t| t.clone());
        token::authorize(
            req,
            expected.as_deref(),
            "this web interface shows the apps' environment (pm2 web --env), so every request needs its token: send `Authorization: Bearer <token>` or add `?token=<token>` (the token is in PM2_HOME/web.token)",
            "wrong token: the token is in PM2_HOME/web.token (`pm2 web --new-token` replaces it)",
            |status, why| json(status, serde_json::json!({ "err": why }).to_string()),
        )
    }

    /// PM2's document: `{system_info, monit, processes}`.
    async fn process_list(&self) -> Response {
        let processes = if self.show_env {
            self.sup.list_json().await
        } else {
            self.sup.list().await.map(|mut list| {
                hide_env::hide_env_in_list(&mut list);
                serde_json::to_string(&list).unwrap_or_default()
            })
        };
        let processes = match processes {
            Ok(list) => list,
            Err(e) => return Response::text(503, &e),
        };
        // The host is read from files: on the blocking pool, off the runtime.
        let host = tokio::task::spawn_blocking(|| (host::system_info(), host::monit())).await;
        let (system_info, monit) = host.unwrap_or_default();
        let body =
            format!(r#"{{"system_info":{system_info},"monit":{monit},"processes":{processes}}}"#);
        json(200, body)
    }

    /// For an orchestrator's readiness probe: 200 once there is an app and
    /// every app is online (with `wait_ready`, once it has sent `ready`),
    /// else 503 with the ones that are not.
    async fn readiness(&self) -> Response {
        let list = match self.sup.list().await {
            Ok(list) => list,
            Err(e) => return Response::text(503, &e),
        };
        let (body, ready) = readiness(&list);
        json(if ready { 200 } else { 503 }, body.to_string())
    }

    async fn metrics(&self) -> Response {
        let list = match self.sup.list().await {
            Ok(list) => list,
            Err(e) => return Response::text(503, &e),
        };
        let me = crate::proc_info::stat(std::process::id());
        let figures = metrics::DaemonFigures {
            rss_bytes: me.map_or(0, |s| s.rss),
            cpu_seconds: me.map_or(0.0, |s| s.cpu_ns as f64 / 1e9),
            uptime_seconds: self.started.elapsed().as_secs_f64(),
        };
        Response::new(
            200,
            metrics::CONTENT_TYPE,
            metrics::render(&list, figures, crate::clock::now_ms()),
        )
    }
}

/// `{ready, not_ready: [{id, name, status}]}` over the apps (modules aside).
fn readiness(list: &[Value]) -> (Value, bool) {
    let apps: Vec<&Value> = list
        .iter()
        .filter(|p| p["pm2_env"]["pmx_module"] != Value::Bool(true))
        .collect();
    let not_ready: Vec<Value> = apps
        .iter()
        .filter(|p| p["pm2_env"]["status"] != "online")
        .map(|p| {
            serde_json::json!({"id": p["pm_id"], "name": p["name"], "status": p["pm2_env"]["status"]})
        })
        .collect();
    let ready = !apps.is_empty() && not_ready.is_empty();
    (
        serde_json::json!({"ready": ready, "apps": apps.len(), "not_ready": not_ready}),
        ready,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_from_a_request() {
        assert_eq!(
            WebConfig::from_request(None).unwrap(),
            WebConfig {
                host: "127.0.0.1".into(),
                port: 9615,
                env: false
            }
        );
        let c = WebConfig::from_request(Some(
            &json!({"host": "0.0.0.0", "port": "8080", "env": true}),
        ))
        .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.env), ("0.0.0.0", 8080, true));
        assert!(WebConfig::from_request(Some(&json!({"env": "yes"})))
            .unwrap_err()
            .contains("env must be true or false"));
        assert!(WebConfig::from_request(Some(&json!({"port": 70000})))
            .unwrap_err()
            .contains("port must be a number"));
        let bad_host = WebConfig {
            host: "example.com".into(),
            port: 1,
            env: false,
        };
        assert!(bad_host.address().unwrap_err().contains("IP address"));
    }

    #[test]
    fn host_headers_that_name_this_machine_directly() {
        for ok in [
            "127.0.0.1:9615",
            "localhost",
            "LOCALHOST:1",
            "[::1]:9615",
            "10.0.0.2",
        ] {
            assert!(local_host_header(ok), "{ok}");
        }
        for bad in ["evil.example:9615", "evil.example", "127.0.0.1.nip.io"] {
            assert!(!local_host_header(bad), "{bad}");
        }
    }

    #[test]
    fn ready_when_every_app_is_online() {
        let online = json!({"pm_id": 0, "name": "a", "pm2_env": {"status": "online"}});
        let launching = json!({"pm_id": 1, "name": "b", "pm2_env": {"status": "launching"}});
        let module =
            json!({"pm_id": 2, "name": "m", "pm2_env": {"status": "stopped", "pmx_module": true}});
        assert!(readiness(&[online.clone(), module.clone()]).1);
        let (body, ready) = readiness(&[online, launching]);
        assert!(!ready);
        assert_eq!(body["not_ready"][0]["name"], "b");
        assert!(!readiness(&[module]).1, "no app is not ready");
    }
}
