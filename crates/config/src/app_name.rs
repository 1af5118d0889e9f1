//! What an app name may hold. A name is printed in tables and log prefixes,
//! one line per process: a line break in it would split that line and let
//! the name pass for other output, so it is refused when the app is created.

/// Characters that end a line on a terminal or in a text file.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Refuses a name holding a line break, naming the character.
pub fn check(name: &str) -> Result<(), String> {
    match name.chars().find(|&c| is_line_break(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "App name {name:?} holds a line break (U+{:04X}); give a name on one line",
            c as u32
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_kind_of_line_break_and_names_it() {
        for (name, code) in [
            ("a\nb", "U+000A"),
            ("a\rb", "U+000D"),
            ("\u{2028}", "U+2028"),
            ("x\u{85}", "U+0085"),
            ("x\u{0b}", "U+000B"),
        ] {
            let err = check(name).unwrap_err();
            assert!(err.contains(code), "{err}");
            assert!(err.contains("line break"), "{err}");
        }
    }

    #[test]
    fn accepts_other_names_escape_and_tab_included() {
        for name in ["api", "my app:1", "a\u{1b}[31mb", "tab\there", "名前"] {
            assert_eq!(check(name), Ok(()), "{name:?}");
        }
    }
}
