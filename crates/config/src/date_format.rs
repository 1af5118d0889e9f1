//! Dates in PM2's day.js format strings (`log_date_format`, `logs --timestamp`).

/// Translates a day.js format (`YYYY-MM-DD HH:mm:ss Z`) into a chrono one.
/// Text in `[brackets]` is literal, as in day.js.
pub fn dayjs_to_chrono(fmt: &str) -> String {
    const TOKENS: &[(&str, &str)] = &[
        ("YYYY", "%Y"),
        ("YY", "%y"),
        ("MMMM", "%B"),
        ("MMM", "%b"),
        ("MM", "%m"),
        ("M", "%-m"),
        ("DD", "%d"),
        ("D", "%-d"),
        ("dddd", "%A"),
        ("ddd", "%a"),
        ("HH", "%H"),
        ("H", "%-H"),
        ("hh", "%I"),
        ("h", "%-I"),
        ("mm", "%M"),
        ("m", "%-M"),
        ("ss", "%S"),
        ("s", "%-S"),
        ("SSS", "%3f"),
        ("ZZ", "%z"),
        ("Z", "%:z"),
        ("A", "%p"),
        ("a", "%P"),
    ];
    let mut out = String::new();
    let mut rest = fmt;
    'outer: while !rest.is_empty() {
        if let Some(stripped) = rest.strip_prefix('[') {
            if let Some(end) = stripped.find(']') {
                out.push_str(&stripped[..end].replace('%', "%%"));
                rest = &stripped[end + 1..];
                continue;
            }
        }
        for (token, spec) in TOKENS {
            if let Some(r) = rest.strip_prefix(token) {
                out.push_str(spec);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("non-empty");
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A time in ms since the epoch, in local time, in a day.js format.
pub fn format_ms(ms: u64, dayjs: &str) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms as i64) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format(&dayjs_to_chrono(dayjs)).to_string()
        }
        chrono::LocalResult::None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_dayjs_formats() {
        assert_eq!(dayjs_to_chrono("YYYY-MM-DDTHH:mm:ss"), "%Y-%m-%dT%H:%M:%S");
        assert_eq!(
            dayjs_to_chrono("YYYY-MM-DD HH:mm:ss.SSS Z"),
            "%Y-%m-%d %H:%M:%S.%3f %:z"
        );
        assert_eq!(dayjs_to_chrono("[at] HH:mm"), "at %H:%M");
    }

    #[test]
    fn formats_a_time() {
        let s = format_ms(1_795_256_708_279, "YYYY-MM-DD[T]HH:mm:ss.SSS");
        assert_eq!(s.len(), "2026-11-21T10:25:08.279".len());
        assert!(s.starts_with("2026-11-2") && s.ends_with(".279"), "{s}");
    }
}
