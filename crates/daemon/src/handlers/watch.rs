//! Watching turned on, off or over for the processes a call names.

use super::args::{display, id_arg, ids_named};
use super::{one, Answer, Call};
use crate::watch::Switch;
use serde_json::Value;

pub async fn stop(c: Call<'_>) -> Answer {
    set(c, Switch::Off).await
}

pub async fn start(c: Call<'_>) -> Answer {
    set(c, Switch::On).await
}

pub async fn toggle(c: Call<'_>) -> Answer {
    set(c, Switch::Toggle).await
}

async fn set(c: Call<'_>, change: Switch) -> Answer {
    let ids = targets(&c).await?;
    one(c
        .sup()
        .query(move |a| Ok(a.set_watch(&ids, change)))
        .await?)
}

/// The processes a call names, as PM2's client sends them: `(method, value)`
/// where the method is the action under way (`stopProcessId` with an id,
/// `restartProcessId` with `{id}`, `…ProcessName` with a name,
/// `stopAll`/`deleteAll` for every process).
async fn targets(c: &Call<'_>) -> Result<Vec<u64>, String> {
    let method = c.first().and_then(Value::as_str).unwrap_or_default();
    let value = c.args.get(1);
    if method == "stopAll" || method == "deleteAll" {
        return c.sup().ids().await;
    }
    if method.contains("ProcessName") {
        let name = value.map(display).unwrap_or_default();
        return Ok(ids_named(&c.sup().list().await?, &name));
    }
    Ok(id_arg(value).map(|id| vec![id]).unwrap_or_default())
}
