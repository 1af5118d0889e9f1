//! Shell-style globs for `ignore_watch`, as chokidar's matcher reads them:
//! `*` and `?` within one path segment, `**` across segments, `[a-z]` and
//! `[!x]` classes, `{a,b}` alternatives, `\` escapes.
//!
//! Written here rather than taken from a crate: the patterns are short, a
//! backtracking matcher is plenty, and globset's regex engine added 1 MB to
//! the daemon's binary (and so to its resident size) for this one option.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `?`: one character, not `/`.
    One,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**`: any run of characters.
    Any,
    /// `**/`: nothing, or any run ending with `/`.
    AnyDirs,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
}

/// One compiled pattern (its `{…}` alternatives expanded).
#[derive(Debug, Clone)]
pub struct Glob {
    alternatives: Vec<Vec<Tok>>,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let alternatives = expand_braces(pattern)?
            .iter()
            .map(|p| tokens(p))
            .collect::<Result<_, _>>()?;
        Ok(Glob { alternatives })
    }

    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        self.alternatives.iter().any(|toks| matches(toks, &text))
    }
}

/// `a{b,c}d` → `abd`, `acd` (nested too).
fn expand_braces(p: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut depth = 0;
    let mut open = None;
    let mut commas = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                if depth == 0 {
                    open = Some(i);
                    commas.clear();
                }
                depth += 1;
            }
            ',' if depth == 1 => commas.push(i),
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let start = open.unwrap_or(0);
                    let head: String = chars[..start].iter().collect();
                    let tail: String = chars[i + 1..].iter().collect();
                    let mut bounds = vec![start];
                    bounds.extend(&commas);
                    bounds.push(i);
                    let mut out = Vec::new();
                    for w in bounds.windows(2) {
                        let middle: String = chars[w[0] + 1..w[1]].iter().collect();
                        for rest in expand_braces(&format!("{head}{middle}{tail}"))? {
                            out.push(rest);
                        }
                    }
                    return Ok(out);
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err("unclosed `{`".into());
    }
    Ok(vec![p.to_string()])
}

fn tokens(p: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i += 1;
                out.push(Tok::Lit(*chars.get(i).ok_or("a trailing `\\`")?));
            }
            '?' => out.push(Tok::One),
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                    out.push(Tok::AnyDirs);
                } else {
                    out.push(Tok::Any);
                }
            }
            '*' => out.push(Tok::Star),
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!' | '^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(&c) = chars.get(j) else {
                        return Err("unclosed `[`".into());
                    };
                    if c == ']' && !first {
                        break;
                    }
                    let lo = if c == '\\' {
                        j += 1;
                        *chars.get(j).ok_or("unclosed `[`")?
                    } else {
                        c
                    };
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&h| h != ']')
                    {
                        ranges.push((lo, chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                    first = false;
                }
                i = j;
                out.push(Tok::Class { ranges, negated });
            }
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    Ok(out)
}

fn matches(toks: &[Tok], text: &[char]) -> bool {
    let Some((tok, rest)) = toks.split_first() else {
        return text.is_empty();
    };
    match tok {
        Tok::Lit(c) => text.first() == Some(c) && matches(rest, &text[1..]),
        Tok::One => text.first().is_some_and(|&c| c != '/') && matches(rest, &text[1..]),
        Tok::Class { ranges, negated } => {
            text.first().is_some_and(|&c| {
                c != '/' && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }) && matches(rest, &text[1..])
        }
        Tok::Star => {
            let run = text.iter().take_while(|&&c| c != '/').count();
            (0..=run).any(|n| matches(rest, &text[n..]))
        }
        Tok::Any => (0..=text.len()).any(|n| matches(rest, &text[n..])),
        Tok::AnyDirs => {
            matches(rest, text)
                || (0..text.len())
                    .filter(|&n| text[n] == '/')
                    .any(|n| matches(rest, &text[n + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).unwrap().is_match(t)
    }

    #[test]
    fn stars_stay_within_a_segment_and_double_stars_cross() {
        assert!(m("*.log", "debug.log"));
        assert!(!m("*.log", "logs/debug.log"));
        assert!(m("logs/*.log", "logs/debug.log"));
        assert!(m("**/*.log", "a/b/debug.log"));
        assert!(m("**/*.log", "debug.log"));
        assert!(m("client/**", "client/img/a.png"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/*/b", "a/x/y/b"));
        assert!(m("node_modules", "node_modules"));
        assert!(!m("node_modules", "node_modules2"));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(m("file?.js", "file1.js"));
        assert!(!m("file?.js", "file10.js"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(m("*.{log,tmp}", "a.tmp"));
        assert!(m("*.{log,tmp}", "a.log"));
        assert!(!m("*.{log,tmp}", "a.js"));
        assert!(m("\\.git", ".git"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(Glob::new("a[b").is_err());
        assert!(Glob::new("a{b,c").is_err());
        assert!(Glob::new("a\\").is_err());
        assert!(Glob::new("[]]").is_ok());
    }
}
