//! The dashboard `pm2 web` serves to browsers: one page (embedded in the
//! daemon, no build step, nothing fetched from elsewhere) fed by
//! server-sent events, and a few JSON routes behind it. Every route needs
//! the token in PM2_HOME, whatever `--env` says; actions also need a POST
//! from the page's own origin, so another site cannot make a browser that
//! holds the URL act for it.
//!
//! - `GET /dashboard` the page; `/dashboard/app.js`, `/dashboard/style.css`
//! - `GET /api/events` the list and host figures, live (`live`)
//! - `GET /api/logs?id=N` the app's recent log lines, then its new ones
//! - `GET /api/process/N` the app's `describe` fields, env left out
//! - `GET /api/env/N` the app's env, secret-looking values masked (`mask`),
//!   with `pm2 web --env` only
//! - `POST /api/action` `{action, id, param}`: restart, reload, stop, start,
//!   delete, flush, trigger (an app's custom action)

mod actions;
mod history;
mod live;
mod logs;
mod mask;

use super::http::{Request, Response};
use super::{hide_env, token};
use crate::bus::Bus;
use crate::supervisor::Supervisor;
use serde_json::{json, Value};
use std::sync::{Arc, RwLock};

const INDEX_HTML: &str = include_str!("dashboard/assets/index.html");
const APP_JS: &str = include_str!("dashboard/assets/app.js");
const STYLE_CSS: &str = include_str!("dashboard/assets/style.css");

/// The page may load its own files only, and is shown in no other site's frame.
const PAGE_HEADERS: [&str; 4] = [
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options: nosniff",
    "Referrer-Policy: no-referrer",
    "Cache-Control: no-store",
];

pub struct Dashboard {
    sup: Supervisor,
    bus: Bus,
    token: Arc<RwLock<Option<String>>>,
    /// `pm2 web --env` is on (and PM2_WEB_STRIP_ENV_VARS is not set):
    /// only then does `/api/env/N` answer.
    show_env: bool,
    live: Arc<live::Live>,
    log_slots: Arc<tokio::sync::Semaphore>,
}

/// Whether a path is the dashboard's.
pub fn owns(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/api/")
}

fn json_reply(status: u16, body: &Value) -> Response {
    let mut r = Response::new(status, "application/json", body.to_string());
    r.headers.push("Cache-Control: no-store".into());
    r
}

fn error(status: u16, why: &str) -> Response {
    json_reply(status, &json!({ "err": why }))
}

fn page_file(content_type: &'static str, text: &'static str) -> Response {
    let mut r = Response::new(200, content_type, text);
    r.headers.extend(PAGE_HEADERS.iter().map(|h| h.to_string()));
    r
}

fn sse(chunks: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Response {
    let mut r = Response::stream("text/event-stream", chunks);
    r.headers.push("Cache-Control: no-store".into());
    r.headers.push("X-Accel-Buffering: no".into());
    r
}

/// `name=value` from a query string.
fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn id_in(text: &str) -> Result<u64, Response> {
    text.parse().map_err(|_| {
        error(
            400,
            &format!("the process id must be a number, got \"{text}\""),
        )
    })
}

/// The Origin a page served from this `Host` sends.
fn same_origin(req: &Request) -> bool {
    match (&req.origin, &req.host) {
        (Some(origin), Some(host)) => origin == &format!("http://{host}"),
        _ => false,
    }
}

impl Dashboard {
    pub fn new(
        sup: Supervisor,
        bus: Bus,
        token: Arc<RwLock<Option<String>>>,
        show_env: bool,
    ) -> Dashboard {
        Dashboard {
            sup,
            bus,
            live: Arc::new(live::Live::new(token.clone())),
            token,
            show_env,
            log_slots: Arc::new(tokio::sync::Semaphore::new(logs::MAX_FOLLOWERS)),
        }
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        let expected = self.token.read().ok().and_then(|t| t.clone());
        token::authorize(
            req,
            expected.as_deref(),
            "the dashboard needs its token: open the URL `pm2 web` prints (the token is in PM2_HOME/web.token)",
            "wrong token: open the URL `pm2 web` prints (`pm2 web --new-token` replaces the token)",
            error,
        )
    }

    pub async fn answer(&self, req: Request) -> Response {
        if let Err(refused) = self.authorize(&req) {
            return refused;
        }
        // Streams end when this token is replaced.
        let opened_with = token::presented(&req).unwrap_or_default().to_string();
        let path = req.path.clone();
        match (req.method.as_str(), path.as_str()) {
            ("GET" | "HEAD", "/dashboard" | "/dashboard/") => {
                // The page's own files need the token too: it is in their URLs.
                let token = token::presented(&req).unwrap_or_default();
                let mut r = page_file("text/html; charset=utf-8", "");
                r.body = INDEX_HTML.replace("{{TOKEN}}", token).into_bytes();
                r
            }
            ("GET" | "HEAD", "/dashboard/app.js") => {
                page_file("text/javascript; charset=utf-8", APP_JS)
            }
            ("GET" | "HEAD", "/dashboard/style.css") => {
                page_file("text/css; charset=utf-8", STYLE_CSS)
            }
            ("GET", "/api/events") => match self.live.join(&self.sup, &opened_with).await {
                Some(chunks) => sse(chunks),
                None => error(429, "too many dashboard pages are open at once; close one"),
            },
            ("GET", "/api/logs") => {
                let id = match id_in(query_param(&req, "id").unwrap_or("")) {
                    Ok(id) => id,
                    Err(bad) => return bad,
                };
                let Ok(slot) = self.log_slots.clone().try_acquire_owned() else {
                    return error(429, "too many app logs are followed at once; close a page");
                };
                let opener = logs::Opener {
                    current: self.token.clone(),
                    token: opened_with,
                };
                match logs::follow(&self.sup, &self.bus, id, slot, opener).await {
                    Ok(chunks) => sse(chunks),
                    Err(e) => error(404, &e),
                }
            }
            ("GET", p) if p.starts_with("/api/process/") => {
                match id_in(&p["/api/process/".len()..]) {
                    Ok(id) => self.describe(id).await,
                    Err(bad) => bad,
                }
            }
            ("GET", p) if p.starts_with("/api/env/") && !self.show_env => error(
                403,
                "the apps' env is not served: start the web interface with `pm2 web --env` to show it (refused while PM2_WEB_STRIP_ENV_VARS is set)",
            ),
            ("GET", p) if p.starts_with("/api/env/") => match id_in(&p["/api/env/".len()..]) {
                Ok(id) => self.env(id).await,
                Err(bad) => bad,
            },
            ("POST", "/api/action") => self.action(&req).await,
            (_, "/api/action") => {
                let mut r = error(405, "actions are POST requests");
                r.headers.push("Allow: POST".into());
                r
            }
            _ => error(404, &format!("no such dashboard path: {path}")),
        }
    }

    /// The app as `pm2 describe` shows it, without its env.
    async fn describe(&self, id: u64) -> Response {
        match self.sup.get(id).await {
            Ok(mut p) => {
                if let Some(e) = p.get_mut("pm2_env").and_then(Value::as_object_mut) {
                    hide_env::hide_env(e);
                }
                json_reply(200, &p)
            }
            Err(e) => error(404, &e),
        }
    }

    /// The app's env, asked for explicitly, secrets masked.
    async fn env(&self, id: u64) -> Response {
        match self.sup.get(id).await {
            Ok(p) => {
                let env = p["pm2_env"]["env"].as_object().cloned().unwrap_or_default();
                let name = p["pm2_env"]["name"].as_str().unwrap_or_default();
                json_reply(200, &json!({"id": id, "env": mask::masked(&env, name)}))
            }
            Err(e) => error(404, &e),
        }
    }

    async fn action(&self, req: &Request) -> Response {
        if !same_origin(req) {
            return error(
                403,
                "actions are taken only from the dashboard's own page (the Origin header must match the Host)",
            );
        }
        if !req
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json"))
        {
            return error(
                415,
                "an action is a JSON body: {\"action\", \"id\", \"param\"}",
            );
        }
        let asked: actions::Asked = match serde_json::from_slice(&req.body) {
            Ok(a) => a,
            Err(e) => {
                return error(
                    400,
                    &format!("an action is {{\"action\", \"id\", \"param\"}}: {e}"),
                )
            }
        };
        match actions::run(&self.sup, &self.bus, asked).await {
            Ok(done) => json_reply(200, &done),
            Err(e) => error(422, &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(origin: Option<&str>, host: Option<&str>) -> Request {
        let mut r = super::super::http::parse_head(b"POST /api/action HTTP/1.1\r\n\r\n").unwrap();
        r.origin = origin.map(str::to_string);
        r.host = host.map(str::to_string);
        r
    }

    #[test]
    fn actions_come_only_from_the_page_s_own_origin() {
        assert!(same_origin(&req(
            Some("http://127.0.0.1:9615"),
            Some("127.0.0.1:9615")
        )));
        assert!(!same_origin(&req(None, Some("127.0.0.1:9615"))));
        assert!(!same_origin(&req(
            Some("http://evil.example"),
            Some("127.0.0.1:9615")
        )));
        assert!(!same_origin(&req(Some("null"), Some("127.0.0.1:9615"))));
        assert!(!same_origin(&req(Some("http://127.0.0.1:9615"), None)));
    }

    #[test]
    fn dashboard_paths() {
        assert!(owns("/dashboard") && owns("/dashboard/app.js") && owns("/api/events"));
        assert!(!owns("/") && !owns("/metrics") && !owns("/dashboards"));
    }
}
