//! JavaScript's own text forms of values, as PM2's CLI prints them:
//! `JSON.stringify(v)` (`pm2 jlist`) and `util.inspect(v, false, null, false)`
//! (`pm2 prettylist`, `pm2 ping`, `pm2 id`), including Node's rules for putting
//! short objects on one line (`compact: 3`, `breakLength: 80`) and for grouping
//! long arrays of short items into columns.

use serde_json::{Number, Value};

/// A number the way JavaScript's `String(n)` writes it.
pub fn number(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    float(n.as_f64().unwrap_or(f64::NAN))
}

pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        // Rust's Display is the shortest round-trip form, without exponent.
        format!("{f}")
    } else {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    }
}

/// `JSON.stringify(value)`: compact, keys in their order.
pub fn json(value: &Value) -> String {
    let mut out = String::with_capacity(4096);
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let s = number(n);
            // JSON has no NaN or Infinity: JSON.stringify writes null.
            if s.starts_with(|c: char| c.is_ascii_digit() || c == '-') && s != "-Infinity" {
                out.push_str(if s == "-0" { "0" } else { &s });
            } else {
                out.push_str("null");
            }
        }
        Value::String(s) => json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    // Copy runs of plain text at once; only ASCII bytes ever need escaping,
    // so every cut falls on a char boundary.
    let mut plain_from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain_from..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain_from = i + 1;
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

const BREAK_LENGTH: usize = 80;
const COMPACT: usize = 3;
const MAX_ARRAY_LENGTH: usize = 100;
const MAX_STRING_LENGTH: usize = 10_000;
const MIN_LINE_WIDTH: usize = 16;

/// `util.inspect(value, false, null, false)`.
pub fn inspect(value: &Value) -> String {
    let mut ctx = Inspect {
        indentation: 0,
        current_depth: 0,
    };
    ctx.value(value, 0)
}

struct Inspect {
    indentation: usize,
    current_depth: usize,
}

#[derive(PartialEq)]
enum Kind {
    Object,
    Array,
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

impl Inspect {
    fn value(&mut self, value: &Value, depth: usize) -> String {
        match value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => number(n),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                if items.is_empty() {
                    return "[]".into();
                }
                let depth = depth + 1;
                self.current_depth = depth;
                let shown = items.len().min(MAX_ARRAY_LENGTH);
                let mut output: Vec<String> = items[..shown]
                    .iter()
                    .map(|item| {
                        self.indentation += 2;
                        let s = self.value(item, depth);
                        self.indentation -= 2;
                        s
                    })
                    .collect();
                if items.len() > shown {
                    let more = items.len() - shown;
                    output.push(format!(
                        "... {more} more item{}",
                        if more > 1 { "s" } else { "" }
                    ));
                }
                let numeric = items.iter().all(Value::is_number);
                self.reduce(
                    output,
                    ("[", "]"),
                    Kind::Array,
                    depth,
                    items.len() > shown,
                    numeric,
                )
            }
            Value::Object(map) => {
                if map.is_empty() {
                    return "{}".into();
                }
                let depth = depth + 1;
                self.current_depth = depth;
                let output: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        self.indentation += 2;
                        let s = self.value(v, depth);
                        self.indentation -= 2;
                        format!("{}: {s}", key(k))
                    })
                    .collect();
                self.reduce(output, ("{", "}"), Kind::Object, depth, false, false)
            }
        }
    }

    fn string(&self, s: &str) -> String {
        let len = utf16_len(s);
        let (s, trailer) = if len > MAX_STRING_LENGTH {
            let kept: String = s.chars().take(MAX_STRING_LENGTH).collect();
            let more = len - MAX_STRING_LENGTH;
            (
                kept,
                format!(
                    "... {more} more character{}",
                    if more > 1 { "s" } else { "" }
                ),
            )
        } else {
            (s.to_string(), String::new())
        };
        let len = utf16_len(&s);
        if len > MIN_LINE_WIDTH && len + self.indentation + 4 > BREAK_LENGTH {
            let pieces: Vec<String> = s.split_inclusive('\n').map(quote).collect();
            let joiner = format!(" +\n{}", " ".repeat(self.indentation + 2));
            return pieces.join(&joiner) + &trailer;
        }
        quote(&s) + &trailer
    }

    fn reduce(
        &mut self,
        mut output: Vec<String>,
        braces: (&str, &str),
        kind: Kind,
        depth: usize,
        has_more: bool,
        numeric: bool,
    ) -> String {
        let entries = output.len();
        if kind == Kind::Array && entries > 6 {
            output = self.group(output, has_more, numeric);
        }
        if self.current_depth - depth < COMPACT && entries == output.len() {
            let start = output.len() + self.indentation + braces.0.len() + 10;
            if below_break_length(&output, start) {
                let joined = output.join(", ");
                if !joined.contains('\n') {
                    return format!("{} {joined} {}", braces.0, braces.1);
                }
            }
        }
        let ind = format!("\n{}", " ".repeat(self.indentation));
        format!(
            "{}{ind}  {}{ind}{}",
            braces.0,
            output.join(&format!(",{ind}  ")),
            braces.1
        )
    }

    /// Node's grouping of many short array items into aligned columns.
    fn group(&self, output: Vec<String>, has_more: bool, numeric: bool) -> Vec<String> {
        let mut total = 0usize;
        let mut max_len = 0usize;
        let count = if has_more {
            output.len() - 1
        } else {
            output.len()
        };
        let separator = 2;
        let lens: Vec<usize> = output[..count].iter().map(|s| s.chars().count()).collect();
        for &len in &lens {
            total += len + separator;
            max_len = max_len.max(len);
        }
        let actual_max = max_len + separator;
        if !(actual_max * 3 + self.indentation < BREAK_LENGTH
            && (total as f64 / actual_max as f64 > 5.0 || max_len <= 6))
        {
            return output;
        }
        let average_bias = (actual_max as f64 - total as f64 / output.len() as f64).sqrt();
        let biased_max = (actual_max as f64 - 3.0 - average_bias).max(1.0);
        let columns = [
            ((2.5 * biased_max * count as f64).sqrt() / biased_max).round() as usize,
            (BREAK_LENGTH - self.indentation) / actual_max,
            COMPACT * 4,
            15,
        ]
        .into_iter()
        .min()
        .unwrap_or(1);
        if columns <= 1 {
            return output;
        }
        let max_line: Vec<usize> = (0..columns)
            .map(|i| {
                (i..count)
                    .step_by(columns)
                    .map(|j| lens[j])
                    .max()
                    .unwrap_or(0)
                    + separator
            })
            .collect();
        let mut grouped = Vec::new();
        let mut i = 0;
        while i < count {
            let end = (i + columns).min(count);
            let mut line = String::new();
            for j in i..end - 1 {
                let cell = format!("{}, ", output[j]);
                line.push_str(&pad(&cell, max_line[j - i], numeric));
            }
            let j = end - 1;
            if numeric {
                line.push_str(&pad(&output[j], max_line[j - i] - separator, true));
            } else {
                line.push_str(&output[j]);
            }
            grouped.push(line);
            i += columns;
        }
        if has_more {
            grouped.push(output[count].clone());
        }
        grouped
    }
}

fn pad(s: &str, width: usize, start: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.chars().count()));
    if start {
        fill + s
    } else {
        format!("{s}{fill}")
    }
}

fn below_break_length(output: &[String], start: usize) -> bool {
    let mut total = output.len() + start;
    if total + output.len() > BREAK_LENGTH {
        return false;
    }
    for o in output {
        total += o.chars().count();
        if total > BREAK_LENGTH {
            return false;
        }
    }
    true
}

fn key(k: &str) -> String {
    let mut chars = k.chars();
    let ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A string literal the way util.inspect writes it: single quotes, or double
/// quotes / backticks when that avoids escaping a quote.
pub fn quote(s: &str) -> String {
    let quote = if s.contains('\'') {
        if !s.contains('"') {
            '"'
        } else if !s.contains('`') && !s.contains("${") {
            '`'
        } else {
            '\''
        }
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        let code = c as u32;
        match c {
            '\'' if quote == '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            _ if code < 0x20 || (0x7f..0xa0).contains(&code) => {
                out.push_str(&format!("\\x{code:02X}"))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_like_javascript() {
        assert_eq!(float(0.30000000000000004), "0.30000000000000004");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(1.5e-7), "1.5e-7");
        assert_eq!(float(0.000001), "0.000001");
        assert_eq!(float(5.0), "5");
        assert_eq!(float(-0.0), "-0");
        assert_eq!(number(&Number::from(42u64)), "42");
    }

    #[test]
    fn json_is_compact_and_keeps_key_order() {
        let v = json!({"z": 1, "a": [true, null, "x\"\n\u{1}"], "f": 1.5});
        assert_eq!(json(&v), r#"{"z":1,"a":[true,null,"x\"\n\u0001"],"f":1.5}"#);
        assert_eq!(json(&json!("é\u{1f}ü→\\")), r#""é\u001fü→\\""#);
    }

    // Expected texts below are what Node 20's util.inspect prints for the same values.
    #[test]
    fn short_objects_stay_on_one_line() {
        assert_eq!(inspect(&json!({"msg": "pong"})), "{ msg: 'pong' }");
        assert_eq!(inspect(&json!([0])), "[ 0 ]");
        assert_eq!(inspect(&json!([])), "[]");
        assert_eq!(
            inspect(&json!({"a": {"b": {"c": {"d": 1}}}, "e": []})),
            "{\n  a: { b: { c: { d: 1 } } },\n  e: []\n}"
        );
    }

    #[test]
    fn long_objects_break_one_entry_per_line() {
        let v = json!({
            "aaaaaaaaaa": "bbbbbbbbbbbbbbbbbbbb",
            "cccccccccc": "dddddddddddddddddddd",
            "eeeeeeeeee": "ffffffffffffffffffff",
            "g": 1
        });
        assert_eq!(
            inspect(&v),
            "{\n  aaaaaaaaaa: 'bbbbbbbbbbbbbbbbbbbb',\n  cccccccccc: 'dddddddddddddddddddd',\n  eeeeeeeeee: 'ffffffffffffffffffff',\n  g: 1\n}"
        );
    }

    #[test]
    fn keys_and_strings_are_quoted_like_node() {
        let v = json!({"s": "it's", "t": "a\nb", "a-b": 1, "0a": 2, "_x$": 3, "": 4});
        assert_eq!(
            inspect(&v),
            "{ s: \"it's\", t: 'a\\nb', 'a-b': 1, '0a': 2, '_x$': 3, '': 4 }"
        );
        assert_eq!(quote("a'b\"c"), "`a'b\"c`");
        assert_eq!(quote("\u{7f}"), "'\\x7F'");
    }

    #[test]
    fn long_strings_split_at_newlines() {
        let v = json!({"u": format!("{}\n{}\n", "x".repeat(20), "y".repeat(80))});
        assert_eq!(
            inspect(&v),
            format!(
                "{{\n  u: '{}\\n' +\n    '{}\\n'\n}}",
                "x".repeat(20),
                "y".repeat(80)
            )
        );
    }

    #[test]
    fn many_short_numbers_group_into_columns() {
        let mut items: Vec<u64> = (1..=27).collect();
        items.extend([100, 1000]);
        assert_eq!(
            inspect(&json!(items)),
            "[\n     1,  2,  3,  4,  5,  6,   7,\n     8,  9, 10, 11, 12, 13,  14,\n    15, 16, 17, 18, 19, 20,  21,\n    22, 23, 24, 25, 26, 27, 100,\n  1000\n]"
        );
    }

    #[test]
    fn long_string_items_stay_one_per_line() {
        let v = json!([
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "b",
            "c",
            "d",
            "e",
            "f",
            "g",
            "h"
        ]);
        assert_eq!(
            inspect(&v),
            "[\n  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',\n  'b',\n  'c',\n  'd',\n  'e',\n  'f',\n  'g',\n  'h'\n]"
        );
    }
}
