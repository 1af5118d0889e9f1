//! The regular expressions of `/regex/` targets, read as JavaScript reads
//! them (PM2 builds a `RegExp` from the text between the slashes): literals,
//! `.`, classes (`[a-z]`, `[^,]`, `\d`, `\w`, `\s`), groups and alternatives,
//! the quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy), `^`, `$`, `\b`.
//! Lookarounds and backreferences are refused with an error rather than
//! matched differently.
//!
//! A small backtracking matcher: process names are short, and a regex crate
//! would weigh more than the whole client for this one use.

/// One compiled pattern, matched anywhere in a name (as `RegExp.test`).
#[derive(Debug)]
pub struct NameRegex {
    root: Alt,
}

type Alt = Vec<Vec<Piece>>;

#[derive(Debug)]
struct Piece {
    node: Node,
    min: usize,
    max: usize,
}

#[derive(Debug)]
enum Node {
    Char(char),
    /// `.`: any character but a line break.
    Any,
    Class {
        items: Vec<ClassItem>,
        negated: bool,
    },
    Group(Alt),
    Start,
    End,
    WordBoundary(bool),
}

#[derive(Debug, Clone, Copy)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl ClassItem {
    fn hit(self, c: char) -> bool {
        match self {
            ClassItem::Range(a, b) => a <= c && c <= b,
            ClassItem::Digit(yes) => c.is_ascii_digit() == yes,
            ClassItem::Word(yes) => is_word(c) == yes,
            ClassItem::Space(yes) => c.is_whitespace() == yes,
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl NameRegex {
    /// Compiles `src`; the error names what is wrong, as JavaScript would refuse it.
    pub fn new(src: &str) -> Result<NameRegex, String> {
        let mut parser = Parser {
            chars: src.chars().collect(),
            at: 0,
        };
        let root = parser.alt()?;
        if parser.at < parser.chars.len() {
            return Err(format!(
                "Invalid regular expression: /{src}/: Unmatched ')'"
            ));
        }
        Ok(NameRegex { root })
    }

    pub fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let m = Matcher { text: &text };
        (0..=text.len()).any(|start| m.alt(&self.root, start, &|_| true))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += usize::from(c.is_some());
        c
    }

    fn invalid(&self, why: &str) -> String {
        let src: String = self.chars.iter().collect();
        format!("Invalid regular expression: /{src}/: {why}")
    }

    fn alt(&mut self) -> Result<Alt, String> {
        let mut branches = vec![self.seq()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.seq()?);
        }
        Ok(branches)
    }

    fn seq(&mut self) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let node = self.atom()?;
            let quantifier = match self.peek() {
                Some('*') => Some((0, usize::MAX)),
                Some('+') => Some((1, usize::MAX)),
                Some('?') => Some((0, 1)),
                Some('{') => self.braces(),
                _ => None,
            };
            let Some((min, max)) = quantifier else {
                pieces.push(Piece::once(node));
                continue;
            };
            // The `*`, `+`, `?` or the `}` of a count.
            self.at += 1;
            if matches!(node, Node::Start | Node::End | Node::WordBoundary(_)) {
                return Err(self.invalid("Nothing to repeat"));
            }
            // A lazy quantifier (`*?`) finds a match where a greedy one does:
            // only whether a name matches counts here.
            if self.peek() == Some('?') {
                self.at += 1;
            }
            if min > max {
                return Err(self.invalid("numbers out of order in {} quantifier"));
            }
            pieces.push(Piece { node, min, max });
        }
        Ok(pieces)
    }

    /// `{n}`, `{n,}`, `{n,m}` after an atom, read up to its closing `}`
    /// (left for the caller to step over); anything else is a literal `{`,
    /// as in JavaScript.
    fn braces(&mut self) -> Option<(usize, usize)> {
        let rest: String = self.chars[self.at..].iter().collect();
        let end = rest.find('}')?;
        let body = &rest[1..end];
        let (lo, hi) = match body.split_once(',') {
            None => (body, Some(body)),
            Some((lo, "")) => (lo, None),
            Some((lo, hi)) => (lo, Some(hi)),
        };
        let min: usize = lo.parse().ok()?;
        let max = match hi {
            Some(h) => h.parse().ok()?,
            None => usize::MAX,
        };
        self.at += rest[..end].chars().count();
        Some((min, max))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.next().unwrap_or_default();
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                if self.chars[self.at..].starts_with(&['?', ':']) {
                    self.at += 2;
                } else if self.peek() == Some('?') {
                    return Err(self.invalid("Invalid group"));
                }
                let inner = self.alt()?;
                if self.next() != Some(')') {
                    return Err(self.invalid("Unterminated group"));
                }
                Node::Group(inner)
            }
            '[' => self.class()?,
            '*' | '+' | '?' => return Err(self.invalid("Nothing to repeat")),
            '\\' => match self.next() {
                None => return Err(self.invalid("\\ at end of pattern")),
                Some(d @ '1'..='9') => {
                    return Err(self.invalid(&format!(
                        "backreference \\{d} is not supported in a target's regex"
                    )))
                }
                Some('b') => Node::WordBoundary(true),
                Some('B') => Node::WordBoundary(false),
                Some(e) => match class_escape(e) {
                    Some(item) => Node::Class {
                        items: vec![item],
                        negated: false,
                    },
                    None => Node::Char(char_escape(e)),
                },
            },
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        self.at += usize::from(negated);
        let mut items = Vec::new();
        loop {
            let c = self
                .next()
                .ok_or_else(|| self.invalid("Unterminated character class"))?;
            let lo = match c {
                ']' => break,
                '\\' => {
                    let e = self
                        .next()
                        .ok_or_else(|| self.invalid("\\ at end of pattern"))?;
                    if let Some(item) = class_escape(e) {
                        items.push(item);
                        continue;
                    }
                    char_escape(e)
                }
                c => c,
            };
            let ranged =
                self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']');
            if !ranged {
                items.push(ClassItem::Range(lo, lo));
                continue;
            }
            self.at += 1;
            let hi = match self.next() {
                Some('\\') => char_escape(self.next().unwrap_or('\\')),
                Some(h) => h,
                None => return Err(self.invalid("Unterminated character class")),
            };
            if hi < lo {
                return Err(self.invalid("Range out of order in character class"));
            }
            items.push(ClassItem::Range(lo, hi));
        }
        Ok(Node::Class { items, negated })
    }
}

fn class_escape(e: char) -> Option<ClassItem> {
    Some(match e {
        'd' => ClassItem::Digit(true),
        'D' => ClassItem::Digit(false),
        'w' => ClassItem::Word(true),
        'W' => ClassItem::Word(false),
        's' => ClassItem::Space(true),
        'S' => ClassItem::Space(false),
        _ => return None,
    })
}

fn char_escape(e: char) -> char {
    match e {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'f' => '\u{c}',
        'v' => '\u{b}',
        '0' => '\0',
        e => e,
    }
}

impl Piece {
    fn once(node: Node) -> Piece {
        Piece {
            node,
            min: 1,
            max: 1,
        }
    }
}

struct Matcher<'t> {
    text: &'t [char],
}

impl Matcher<'_> {
    fn alt(&self, alt: &Alt, pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        alt.iter().any(|seq| self.seq(seq, pos, k))
    }

    fn seq(&self, seq: &[Piece], pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        match seq.split_first() {
            None => k(pos),
            Some((piece, rest)) => self.repeat(piece, 0, pos, &|p| self.seq(rest, p, k)),
        }
    }

    /// `piece` matched `count` times so far, ending at `pos`.
    fn repeat(&self, piece: &Piece, count: usize, pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        let more = count < piece.max
            && self.node(&piece.node, pos, &|p| {
                // An empty match ends the loop (as JavaScript's does).
                (p != pos || count < piece.min) && self.repeat(piece, count + 1, p, k)
            });
        more || (count >= piece.min && k(pos))
    }

    fn node(&self, node: &Node, pos: usize, k: &dyn Fn(usize) -> bool) -> bool {
        let here = self.text.get(pos).copied();
        match node {
            Node::Char(c) => here == Some(*c) && k(pos + 1),
            Node::Any => here.is_some_and(|c| !matches!(c, '\n' | '\r')) && k(pos + 1),
            Node::Class { items, negated } => {
                here.is_some_and(|c| items.iter().any(|i| i.hit(c)) != *negated) && k(pos + 1)
            }
            Node::Group(alt) => self.alt(alt, pos, k),
            Node::Start => pos == 0 && k(pos),
            Node::End => pos == self.text.len() && k(pos),
            Node::WordBoundary(yes) => {
                let before = pos > 0 && is_word(self.text[pos - 1]);
                let after = here.is_some_and(is_word);
                (before != after) == *yes && k(pos)
            }
        }
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
    fn anywhere_in_the_name_unless_anchored() {
        assert!(m("ork", "worker"));
        assert!(!m("^ork", "worker"));
        assert!(m("", "anything"));
    }

    #[test]
    fn bad_patterns_are_refused_with_their_reason() {
        for bad in [
            "(a", "a)", "[a", "*a", "a\\", "[z-a]", "x{3,1}", "(?=a)", "(a)\\1",
        ] {
            let err = NameRegex::new(bad).unwrap_err();
            assert!(
                err.starts_with("Invalid regular expression"),
                "{bad}: {err}"
            );
        }
    }
}
