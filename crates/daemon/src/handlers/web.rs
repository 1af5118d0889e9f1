//! Ours, not PM2's: `pm2 web`, `pm2 web stop`, `pm2 web --new-token`.

use super::{one, Answer, Call};
use crate::web;
use serde_json::json;

pub async fn start(c: Call<'_>) -> Answer {
    let config = web::WebConfig::from_request(c.first())?;
    let new_token = c.first().is_some_and(|v| v["newToken"] == true);
    one(json!(web::start(c.daemon, config, new_token).await?))
}

pub async fn stop(c: Call<'_>) -> Answer {
    one(json!({"stopped": web::stop(c.daemon)}))
}

pub async fn new_token(c: Call<'_>) -> Answer {
    one(web::new_token(c.daemon).await?)
}
