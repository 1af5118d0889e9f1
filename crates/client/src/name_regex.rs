//! The regular expressions of `/regex/` targets, read as JavaScript reads
//! them: PM2 builds a `RegExp` from the text between the slashes, so the
//! pattern is compiled by `regress`, an engine of EcmaScript's syntax and
//! semantics (classes such as `[1,2]`, lookarounds, backreferences alike).

/// One compiled pattern, matched anywhere in a name (as `RegExp.test`).
#[derive(Debug)]
pub struct NameRegex(regress::Regex);

impl NameRegex {
    /// Compiles `src`; the error names what is wrong, as JavaScript would refuse it.
    pub fn new(src: &str) -> Result<NameRegex, String> {
        regress::Regex::new(src)
            .map(NameRegex)
            .map_err(|e| format!("Invalid regular expression: /{src}/: {e}"))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.find(text).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::NameRegex;

    fn m(re: &str, text: &str) -> bool {
        NameRegex::new(re).unwrap().is_match(text)
    }

    #[test]
    fn classes_match_as_javascript_reads_them() {
        // `[1,2]` is the class of `1`, `,` and `2`.
        assert!(m("echo-[1,2]", "echo-1"));
        assert!(m("echo-[1,2]", "echo-2"));
        assert!(m("echo-[1,2]", "echo-,"));
        assert!(!m("echo-[1,2]", "echo-3"));
        assert!(m("^api-[a-c]$", "api-b"));
        assert!(!m("^api-[^a-c]$", "api-b"));
        assert!(m("w\\d+", "w42"));
        assert!(!m("^w\\d+$", "wx"));
        assert!(m("[\\w-]+x", "a-b-x"));
    }

    #[test]
    fn groups_alternatives_and_quantifiers() {
        assert!(m("^(api|web)$", "web"));
        assert!(!m("^(api|web)$", "webs"));
        assert!(m("^a(?:bc)*d$", "abcbcd"));
        assert!(m("^x{2}$", "xx"));
        assert!(!m("^x{2}$", "xxx"));
        assert!(m("^x{2,}$", "xxxx"));
        assert!(m("^x{1,2}y$", "xxy"));
        assert!(!m("^x{1,2}y$", "xxxy"));
        assert!(m("^a.*?b$", "aXXb"));
        assert!(m("a{b", "a{b"), "a brace without a count is a literal");
        assert!(m("^ap?i$", "ai"));
        assert!(m("\\bworker\\b", "a worker here"));
        assert!(!m("\\bwork\\b", "worker"));
        assert!(m("^(a*)*$", "aaa"), "an empty loop ends");
    }

    #[test]
    fn lookarounds_and_backreferences_as_javascript_has_them() {
        assert!(m("^api(?!-old)", "api-new"));
        assert!(!m("^api(?!-old)", "api-old"));
        assert!(m("^(a)\\1$", "aa"));
    }

    #[test]
    fn anywhere_in_the_name_unless_anchored() {
        assert!(m("ork", "worker"));
        assert!(!m("^ork", "worker"));
        assert!(m("", "anything"));
    }

    #[test]
    fn bad_patterns_are_refused_with_their_reason() {
        for bad in ["(a", "a)", "[a", "*a", "a\\", "[z-a]", "x{3,1}"] {
            let err = NameRegex::new(bad).unwrap_err();
            assert!(
                err.starts_with("Invalid regular expression"),
                "{bad}: {err}"
            );
        }
    }
}
