//! `pm2 logs`: the last lines of each selected process's log files, then the
//! new lines as the daemon publishes them on its bus (`log:out`, `log:err`,
//! and `log:PM2` for the daemon's own log).

use super::{connect, Ctx, Outcome};
use crate::args::LogsArgs;
use crate::output::{self, blue, bold, gray, green, red};
use crate::{js_text, listing};
use pm2_client::{bus::BusClient, target};
use pm2_config::daemon_line::DaemonLineFormat;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const DEFAULT_TIMESTAMP: &str = "YYYY-MM-DD-HH:mm:ss";
const PREFIX_WIDTH: usize = 10;

/// The last `n` lines of a file, reading backwards from its end.
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let Ok(len) = f.seek(SeekFrom::End(0)) else {
        return Vec::new();
    };
    if n == 0 || len == 0 {
        return Vec::new();
    }
    const CHUNK: u64 = 64 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = len;
    loop {
        let start = pos.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (pos - start) as usize];
        if f.seek(SeekFrom::Start(start)).is_err() || f.read_exact(&mut chunk).is_err() {
            break;
        }
        chunk.extend_from_slice(&buf);
        buf = chunk;
        pos = start;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if pos == 0 || body.iter().filter(|&&b| b == b'\n').count() >= n {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    // A partial first line (we started mid-file) is dropped by taking only the last n.
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `0|api       | `: the id and name, cut or padded to PM2's width.
pub fn prefix(id: &str, name: &str) -> String {
    prefix_in(&label(id, name), PREFIX_WIDTH)
}

/// What a line's prefix names: `PM2`, or `id|name`.
fn label(id: &str, name: &str) -> String {
    if id == "PM2" {
        id.to_string()
    } else {
        format!("{id}|{}", crate::printable::printable(name))
    }
}

fn prefix_in(label: &str, width: usize) -> String {
    let label: String = label.chars().take(width).collect();
    format!("{label:<width$} | ")
}

/// The prefix width of streamed lines: it starts narrow and widens, for
/// good, to one more than the longest `id|name` seen (the daemon's lines
/// count as `PM2|PM2`), as PM2's stream does.
#[derive(Default)]
struct StreamPadding(std::cell::Cell<usize>);

impl StreamPadding {
    const NARROWEST: usize = 3;

    fn widen_for(&self, id: &str, name: &str) -> usize {
        let seen = id.chars().count() + 1 + name.chars().count();
        let width = self.0.get().max(Self::NARROWEST);
        let width = if seen > width { seen + 1 } else { width };
        self.0.set(width);
        width
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Stream {
    Out,
    Err,
    Daemon,
}

impl Stream {
    fn paint(self, s: &str) -> String {
        match self {
            Stream::Out => green(s),
            Stream::Err => red(s),
            Stream::Daemon => blue(s),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
            Stream::Daemon => "PM2",
        }
    }
}

struct Printer<'a> {
    args: &'a LogsArgs,
    /// Set for streamed lines (their prefix widens as names come); a tail
    /// uses PM2's fixed width.
    padding: Option<StreamPadding>,
}

impl<'a> Printer<'a> {
    fn tail(args: &'a LogsArgs) -> Printer<'a> {
        Printer {
            args,
            padding: None,
        }
    }

    fn stream(args: &'a LogsArgs) -> Printer<'a> {
        Printer {
            args,
            padding: Some(StreamPadding::default()),
        }
    }

    /// Whether a streamed daemon line is shown at all: PM2 leaves them out
    /// of `--json`.
    fn shows_daemon_lines(&self) -> bool {
        !self.args.json
    }

    /// A `process:event` as `--json` streams it; `None` in the other styles.
    fn event(&self, packet: &Value) -> Option<String> {
        if !self.args.json {
            return None;
        }
        let mut o = json!({
            "timestamp": packet["at"].as_u64().map(listing::iso_date),
            "type": "process_event",
            "status": packet["event"],
            "app_name": packet["process"]["name"],
        });
        if o["timestamp"].is_null() {
            o.as_object_mut().map(|m| m.shift_remove("timestamp"));
        }
        Some(js_text::json(&o))
    }

    fn line(&self, stream: Stream, id: &str, name: &str, at: Option<u64>, text: &str) -> String {
        let a = self.args;
        if a.json {
            let mut o = json!({
                "message": text,
                "timestamp": at.map(listing::iso_date),
                "type": stream.name(),
                "process_id": id.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(id)),
                "app_name": name,
            });
            if at.is_none() {
                o.as_object_mut().map(|m| m.shift_remove("timestamp"));
            }
            return js_text::json(&o);
        }
        if a.format {
            let ts = at
                .map(|ms| format_date(ms, DEFAULT_TIMESTAMP))
                .unwrap_or_default();
            return match stream {
                Stream::Daemon => format!("timestamp={ts} app=pm2 message={text}"),
                Stream::Out => format!("timestamp={ts} app={name} id={id} type=out message={text}"),
                Stream::Err => {
                    format!("timestamp={ts} app={name} id={id} type=error message={text}")
                }
            };
        }
        let highlighted;
        let text = match a.highlight.as_deref() {
            Some(h) if !h.is_empty() && text.contains(h) => {
                highlighted = text.replace(h, &output::inverse(&bold(h)));
                highlighted.as_str()
            }
            _ => text,
        };
        let stamp = match (&a.timestamp, at) {
            (Some(fmt), Some(ms)) => {
                let fmt = if fmt.is_empty() {
                    DEFAULT_TIMESTAMP
                } else {
                    fmt
                };
                format!("{} ", output::gray(&format_date(ms, fmt)))
            }
            _ => String::new(),
        };
        if a.raw {
            return format!("{stamp}{text}");
        }
        let prefix = match &self.padding {
            Some(padding) => {
                let width = match stream {
                    Stream::Daemon => padding.widen_for("PM2", "PM2"),
                    _ => padding.widen_for(id, &crate::printable::printable(name)),
                };
                prefix_in(&label(id, name), width)
            }
            None => prefix(id, name),
        };
        format!("{stamp}{}{text}", stream.paint(&prefix))
    }
}

pub async fn logs(ctx: &Ctx, args: &LogsArgs) -> Outcome {
    let client = connect(ctx, true).await?;
    let list = client.list().await?;
    let all = args.target.as_deref().is_none_or(|t| t == "all");
    let ids: Vec<u64> = match &args.target {
        Some(t) if !all => target::resolve(&list, t).unwrap_or_default(),
        _ => list.iter().filter_map(target::pm_id).collect(),
    };
    let streams: Vec<Stream> = match (args.out, args.err) {
        (true, false) => vec![Stream::Out],
        (false, true) => vec![Stream::Err],
        _ => vec![Stream::Out, Stream::Err],
    };
    let printer = Printer::tail(args);
    let decorate = !args.raw && !args.json && !args.format;

    // A streaming --json/--format shows new lines only, as PM2 does; with
    // --nostream there is nothing else, so the tail comes in that format.
    let plain = !args.json && !args.format;
    if (plain || args.nostream) && args.lines > 0 {
        let mut out = String::new();
        if decorate {
            let what = if all {
                "[all] processes".to_string()
            } else {
                format!("[{}] process", args.target.as_deref().unwrap_or(""))
            };
            out.push_str(&bold(&gray(&format!(
                "[TAILING] Tailing last {} lines for {what} (change the value with --lines option)",
                args.lines
            ))));
            out.push('\n');
        }
        if all && streams.len() == 2 {
            out.push_str(&tail_file(
                &printer,
                &client.paths.log_file,
                Stream::Daemon,
                "PM2",
                "PM2",
                decorate,
            ));
        }
        for p in list
            .iter()
            .filter(|p| target::pm_id(p).is_some_and(|id| ids.contains(&id)))
        {
            let id = listing::text(&p["pm_id"]);
            let name = p["name"].as_str().unwrap_or("");
            for &stream in &streams {
                let key = if stream == Stream::Out {
                    "pm_out_log_path"
                } else {
                    "pm_err_log_path"
                };
                if let Some(path) = p["pm2_env"][key].as_str() {
                    out.push_str(&tail_file(
                        &printer,
                        Path::new(path),
                        stream,
                        &id,
                        name,
                        decorate,
                    ));
                }
            }
        }
        output::raw(&out);
    }
    if args.nostream {
        return Ok(());
    }

    let Ok(mut bus) = BusClient::connect(&client.paths.pub_sock).await else {
        return Err("Cannot connect to the PM2 bus".to_string().into());
    };
    let wanted = |p: &Value| -> bool {
        if all {
            return true;
        }
        let t = args.target.as_deref().unwrap_or("");
        target::pm_id(p).is_some_and(|id| ids.contains(&id))
            || p.get("name").and_then(Value::as_str) == Some(t)
            || p.get("namespace").and_then(Value::as_str) == Some(t)
    };
    let follow = Follow {
        streams: &streams,
        daemon_lines: all && streams.len() == 2,
        // A raw stream keeps the apps' two streams apart, as PM2's does.
        err_to_stderr: args.raw,
        daemon_form: None,
    };
    let printer = Printer::stream(args);
    loop {
        follow.run(bus, &printer, &wanted).await;
        match follow_next_daemon(&client.paths).await {
            Some(next) => bus = next,
            None => return Ok(()),
        }
    }
}

/// The bus again after it closed, while the daemon process lives on (it
/// replaced itself in place: `pm2 update`); `None` once the daemon is gone.
async fn follow_next_daemon(paths: &pm2_client::Paths) -> Option<BusClient> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        paths.live_daemon_pid()?;
        if let Ok(bus) = BusClient::connect(&paths.pub_sock).await {
            return Some(bus);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

/// Which log events of the bus are printed, and where.
pub struct Follow<'a> {
    pub streams: &'a [Stream],
    /// Also the daemon's own `log:PM2` lines.
    pub daemon_lines: bool,
    /// Apps' stderr to this process's stderr (foreground mode), not stdout.
    pub err_to_stderr: bool,
    /// The daemon's lines in `pm2.log`'s form (foreground mode), but for
    /// those already printed (time in ms, message).
    pub daemon_form: Option<(DaemonLineFormat, Vec<(u64, String)>)>,
}

impl Follow<'_> {
    /// Prints the events of `bus` that `wanted` accepts, until the bus closes.
    async fn run(
        &self,
        mut bus: BusClient,
        printer: &Printer<'_>,
        wanted: impl Fn(&Value) -> bool,
    ) {
        while let Some((event, packet)) = bus.next().await {
            let stream = match event.as_str() {
                "log:out" => Stream::Out,
                "log:err" => Stream::Err,
                "log:PM2" if self.daemon_lines => Stream::Daemon,
                "process:event" => {
                    if wanted(&packet["process"]) {
                        if let Some(line) = printer.event(&packet) {
                            output::raw(&format!("{line}\n"));
                        }
                    }
                    continue;
                }
                _ => continue,
            };
            if !self.streams.contains(&stream) && stream != Stream::Daemon {
                continue;
            }
            let proc_ = &packet["process"];
            if stream != Stream::Daemon && !wanted(proc_) {
                continue;
            }
            let id = listing::text(&proc_["pm_id"]);
            let name = proc_["name"].as_str().unwrap_or("");
            let at = packet["at"].as_u64();
            let data = packet["data"].as_str().unwrap_or("");
            let mut out = String::new();
            match (stream, &self.daemon_form) {
                (Stream::Daemon, Some((form, printed))) => {
                    let msg = data.strip_suffix('\n').unwrap_or(data);
                    match at {
                        Some(at) if printed.iter().any(|(t, m)| *t == at && m == msg) => {}
                        Some(at) => output::raw(&form.line_at_ms(at, msg)),
                        None => output::raw(&form.line_now(msg)),
                    }
                    continue;
                }
                (Stream::Daemon, None) if !printer.shows_daemon_lines() => continue,
                _ => {}
            }
            for line in data.strip_suffix('\n').unwrap_or(data).split('\n') {
                out.push_str(&printer.line(
                    stream,
                    &id,
                    name,
                    at,
                    line.strip_suffix('\r').unwrap_or(line),
                ));
                out.push('\n');
            }
            if self.err_to_stderr && stream == Stream::Err {
                output::raw_err(&out);
            } else {
                output::raw(&out);
            }
        }
    }
}

/// Streams every app's log lines (and the daemon's) from `bus`: what a
/// foreground supervisor prints, apps' stderr to stderr. The daemon's lines
/// come as PM2's foreground supervisor prints them, in `pm2.log`'s form
/// whatever the apps' style, but for `printed` (time in ms, message): those
/// it logged before `bus` was read, which the command printed already.
pub async fn follow_all(bus: BusClient, args: &LogsArgs, printed: Vec<(u64, String)>) {
    let printer = Printer::stream(args);
    let follow = Follow {
        streams: &[Stream::Out, Stream::Err],
        daemon_lines: true,
        err_to_stderr: true,
        daemon_form: Some((DaemonLineFormat::from_env(), printed)),
    };
    follow.run(bus, &printer, |_| true).await;
}

fn tail_file(
    printer: &Printer,
    path: &Path,
    stream: Stream,
    id: &str,
    name: &str,
    decorate: bool,
) -> String {
    let lines = printer.args.lines;
    let mut out = String::new();
    if decorate {
        out.push_str(&gray(&format!("{} last {lines} lines:", path.display())));
        out.push('\n');
    }
    for line in tail(path, lines) {
        out.push_str(&printer.line(stream, id, name, None, &line));
        out.push('\n');
    }
    if decorate {
        out.push('\n');
    }
    out
}

/// `ms` as local time in a day.js format.
pub fn format_date(ms: u64, fmt: &str) -> String {
    pm2_config::date_format::format_ms(ms, fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_cut_and_padded_like_pm2() {
        assert_eq!(prefix("0", "x"), "0|x        | ");
        assert_eq!(prefix("0", "a-much-longer-name"), "0|a-much-l | ");
        assert_eq!(prefix("PM2", "PM2"), "PM2        | ");
    }

    #[test]
    fn tails_the_last_lines() {
        let dir = std::env::temp_dir().join(format!("pm2-cli-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.log");
        let body: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&f, body).unwrap();
        assert_eq!(tail(&f, 2), ["line 99998", "line 99999"]);
        assert_eq!(tail(&f, 0), Vec::<String>::new());
        std::fs::write(&f, "a\nb").unwrap();
        assert_eq!(tail(&f, 5), ["a", "b"]);
        assert!(tail(&dir.join("missing.log"), 5).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn formats_dates() {
        let s = format_date(1_795_256_708_279, "YYYY-MM-DD[T]HH:mm:ss.SSS");
        assert_eq!(s.len(), "2026-11-21T10:25:08.279".len());
        assert!(s.starts_with("2026-11-2") && s.ends_with(".279"), "{s}");
    }
}
