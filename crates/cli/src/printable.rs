//! Text from processes and users as the terminal gets it: control characters
//! (ESC, line breaks, C1 controls such as the one-byte CSI) are shown escaped,
//! so an app name can neither color nor move nor clear what the CLI prints.

use std::borrow::Cow;
use std::fmt::Write;

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` with each control character written out: `\e` for ESC, `\n`, `\r`,
/// `\t`, and `\xNN` / `\u{NNNN}` for the others. Text without any comes back as is.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_keeps_the_rest() {
        assert_eq!(printable("a\u{1b}[31mb"), "a\\e[31mb");
        assert_eq!(printable("x\ny\r\t"), "x\\ny\\r\\t");
        assert_eq!(printable("\u{9b}2J\u{7f}\u{0}"), "\\x9b2J\\x7f\\x00");
        assert_eq!(printable("a\u{2028}b"), "a\\u{2028}b");
        assert!(matches!(
            printable("api-1 名前 ✓"),
            Cow::Borrowed("api-1 名前 ✓")
        ));
    }

    #[test]
    fn escaped_text_has_no_control_left() {
        let once = printable("\u{1b}\u{7}\u{85}").into_owned();
        assert!(!once.chars().any(is_control));
        assert_eq!(printable(&once), once);
    }
}
