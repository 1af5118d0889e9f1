//! Creating, starting, stopping, restarting and deleting processes, and
//! listing them.

use super::args::{id_arg, object_arg};
use super::{duplicate, none, one, Answer, Call, Reply};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

pub async fn prepare(c: Call<'_>) -> Answer {
    let app = object_arg(c.first(), c.method)?;
    one(Value::Array(c.sup().prepare(app).await?))
}

/// Ours: check-and-create, so concurrent starts and resurrects never create
/// an app twice (PM2's own clients send `prepare`).
pub async fn prepare_unique(c: Call<'_>) -> Answer {
    one(c.sup().prepare_unique(c.args).await?)
}

pub async fn list(c: Call<'_>) -> Answer {
    Ok(Reply::Json(c.sup().list_reply().await?))
}

/// Ours: the list with only what a table of the processes shows (`pm2 ls`,
/// `ls -m`, `--sort`), a few hundred bytes an app instead of its whole env.
pub async fn list_table(c: Call<'_>) -> Answer {
    Ok(Reply::Json(c.sup().table_reply().await?))
}

pub async fn start(c: Call<'_>) -> Answer {
    one(c.sup().start_process(id_arg(c.first())?).await?)
}

pub async fn stop(c: Call<'_>) -> Answer {
    one(c.sup().stop(id_arg(c.first())?).await?)
}

pub async fn delete(c: Call<'_>) -> Answer {
    one(c.sup().delete(id_arg(c.first())?).await?)
}

/// The id of a restart or reload, and the options it carries besides.
fn restart_args(c: &Call<'_>) -> Result<(u64, Map<String, Value>), String> {
    let id = id_arg(c.first())?;
    let update = match c.first() {
        Some(Value::Object(o)) => o
            .iter()
            .filter(|(k, _)| *k != "id")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Map::new(),
    };
    Ok((id, update))
}

pub async fn restart(c: Call<'_>) -> Answer {
    let (id, update) = restart_args(&c)?;
    one(c.sup().restart(id, update).await?)
}

pub async fn reload(c: Call<'_>) -> Answer {
    let (id, update) = restart_args(&c)?;
    one(c.sup().reload(id, update, false).await?)
}

/// `softReloadProcessId`: a reload whose old processes get `shutdown`.
pub async fn soft_reload(c: Call<'_>) -> Answer {
    let (id, update) = restart_args(&c)?;
    one(c.sup().reload(id, update, true).await?)
}

/// `resetMetaProcessId`: the restart counters back to 0.
pub async fn reset(c: Call<'_>) -> Answer {
    let id = id_arg(c.first())?;
    c.sup().query(move |a| a.reset(id)).await?;
    one(c.sup().get(id).await?)
}

pub async fn duplicate(c: Call<'_>) -> Answer {
    let source = c.sup().get(id_arg(c.first())?).await?;
    let env = duplicate::app_of(source["pm2_env"].as_object().cloned().unwrap_or_default());
    one(Value::Array(c.sup().prepare(env).await?))
}

/// Ours: answers once the Node apps just started have booted, or after the
/// given milliseconds (at most 10 s); the CLI's table waits on it. A count
/// is a few microseconds of the actor's time where a list is the whole table.
pub async fn wait_booted(c: Call<'_>) -> Answer {
    const EVERY: Duration = Duration::from_millis(10);
    let ms = c
        .first()
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .min(10_000);
    let deadline = Instant::now() + Duration::from_millis(ms);
    while c.sup().query(|a| Ok(a.booting())).await? > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(EVERY.min(left)).await;
    }
    none()
}
