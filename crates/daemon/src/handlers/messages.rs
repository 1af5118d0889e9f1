//! What clients send to processes (stdin lines, messages, data, signals),
//! the events they announce, and the monitored flag.

use super::args::{display, id_arg, ids_named, object_arg};
use super::{none, one, Answer, Call};
use serde_json::{json, Value};

pub async fn line_to_stdin(c: Call<'_>) -> Answer {
    let packet = object_arg(c.first(), c.method)?;
    let id = id_arg(packet.get("pm_id"))?;
    let line = packet.get("line").map(display).unwrap_or_default();
    c.sup()
        .call(move |a, reply| a.send_line(id, line, reply))
        .await?;
    one(json!({"success": true}))
}

pub async fn msg_process(c: Call<'_>) -> Answer {
    let cmd = object_arg(c.first(), c.method)?;
    let msg = match (cmd.get("opts"), cmd.get("uuid")) {
        (None, None) => cmd.get("msg").cloned().unwrap_or(Value::Null),
        _ => Value::Object(cmd.clone()),
    };
    one(c.sup().msg_process(Value::Object(cmd), msg).await?)
}

pub async fn send_data(c: Call<'_>) -> Answer {
    let packet = c.first().cloned().unwrap_or(Value::Null);
    one(c.sup().query(move |a| a.send_data(packet)).await?)
}

pub async fn signal_id(c: Call<'_>) -> Answer {
    let opts = object_arg(c.first(), c.method)?;
    let id = id_arg(opts.get("process_id"))?;
    let signal = opts.get("signal").map(display).unwrap_or_default();
    c.sup().query(move |a| a.send_signal(id, &signal)).await?;
    one(c.sup().get(id).await?)
}

pub async fn signal_name(c: Call<'_>) -> Answer {
    let opts = object_arg(c.first(), c.method)?;
    let name = opts.get("process_name").map(display).unwrap_or_default();
    let signal = opts.get("signal").map(display).unwrap_or_default();
    let ids = ids_named(&c.sup().list().await?, &name);
    if ids.is_empty() {
        return Err(format!("Process name {name} not found"));
    }
    for id in ids {
        let signal = signal.clone();
        c.sup().query(move |a| a.send_signal(id, &signal)).await?;
    }
    one(json!({"success": true}))
}

/// `notifyByProcessId`: a client announces what it did (`process:event`).
pub async fn notify(c: Call<'_>) -> Answer {
    let opts = object_arg(c.first(), c.method)?;
    if let Ok(id) = id_arg(opts.get("id")) {
        let event = opts.get("action_name").map(display).unwrap_or_default();
        let manually = opts
            .get("manually")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        c.sup().tell(move |a| a.emit(id, &event, manually));
    }
    none()
}

pub async fn monitor(c: Call<'_>) -> Answer {
    set_monitored(c, true).await
}

pub async fn unmonitor(c: Call<'_>) -> Answer {
    set_monitored(c, false).await
}

/// The `_km_monitored` flag of a process.
async fn set_monitored(c: Call<'_>, on: bool) -> Answer {
    let id = id_arg(c.first())?;
    c.sup().query(move |a| a.set_monitored(id, on)).await?;
    one(json!({"success": true, "pm_id": id}))
}
