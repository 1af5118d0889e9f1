//! The form of the daemon's own log lines: `<date>: PM2 log: <message>`, the
//! date in `PM2_LOG_DATE_FORMAT` (day.js tokens, `YYYY-MM-DDTHH:mm:ss` by
//! default). The daemon writes them to `pm2.log`; a supervisor run in the
//! foreground (`pm2-runtime`, `--no-daemon`) prints them on its stdout.

use chrono::{DateTime, Local, TimeZone};

#[derive(Debug, Clone)]
pub struct DaemonLineFormat {
    /// The date prefix as a chrono format; `None` (the variable set empty)
    /// writes lines bare, as PM2 does.
    date: Option<String>,
}

impl DaemonLineFormat {
    pub fn from_env() -> DaemonLineFormat {
        DaemonLineFormat::from_var(std::env::var("PM2_LOG_DATE_FORMAT").ok())
    }

    fn from_var(var: Option<String>) -> DaemonLineFormat {
        let date = match var {
            None => Some(crate::date_format::dayjs_to_chrono("YYYY-MM-DDTHH:mm:ss")),
            Some(f) if f.is_empty() => None,
            Some(f) => Some(crate::date_format::dayjs_to_chrono(&f)),
        };
        DaemonLineFormat { date }
    }

    /// `msg` as a line written at `at`, with its newline.
    pub fn line(&self, at: DateTime<Local>, msg: &str) -> String {
        self.with_kind(at, "log", msg)
    }

    /// `msg` as a line written now.
    pub fn line_now(&self, msg: &str) -> String {
        self.line(Local::now(), msg)
    }

    /// `msg` as an error line written now (`<date>: PM2 error: <message>`).
    pub fn error_now(&self, msg: &str) -> String {
        self.with_kind(Local::now(), "error", msg)
    }

    fn with_kind(&self, at: DateTime<Local>, kind: &str, msg: &str) -> String {
        match &self.date {
            Some(f) => format!("{}: PM2 {kind}: {msg}\n", at.format(f)),
            None => format!("{msg}\n"),
        }
    }

    /// [`line`](Self::line) for a time in ms since the epoch (a bus event's `at`).
    pub fn line_at_ms(&self, ms: u64, msg: &str) -> String {
        let at = match Local.timestamp_millis_opt(ms as i64) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t,
            chrono::LocalResult::None => Local::now(),
        };
        self.line(at, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_pm2s_prefix_in_the_chosen_date_format() {
        let at = Local.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
        let default = DaemonLineFormat::from_var(None);
        assert_eq!(
            default.line(at, "App [a:0] online"),
            "2026-03-04T05:06:07: PM2 log: App [a:0] online\n"
        );
        let short = DaemonLineFormat::from_var(Some("HH:mm".into()));
        assert_eq!(short.line(at, "x"), "05:06: PM2 log: x\n");
        let bare = DaemonLineFormat::from_var(Some(String::new()));
        assert_eq!(bare.line(at, "x"), "x\n");
        let ms = at.timestamp_millis() as u64;
        assert_eq!(default.line_at_ms(ms, "y"), default.line(at, "y"));
        assert!(default
            .error_now("Script not found: /a.js")
            .ends_with(": PM2 error: Script not found: /a.js\n"));
    }
}
