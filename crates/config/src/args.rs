//! Argument lists (`args`, `node_args`): an array, or one string split the way a
//! shell would split it, so `"--port 3000 --name 'a b'"` gives four words.

use serde_json::Value;

use crate::error::ConfigError;

const LIST: &str = "a string or an array of strings";

/// Normalises an argument list to its words.
pub(crate) fn string_list(v: &Value) -> Result<Vec<String>, ConfigError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(split_words(s)),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) | Value::Bool(_) => Ok(item.to_string()),
                _ => Err(ConfigError::invalid(LIST, v)),
            })
            .collect(),
        _ => Err(ConfigError::invalid(LIST, v)),
    }
}

/// Splits on unquoted whitespace. Single quotes keep everything literally; double
/// quotes and bare text honour backslash escapes. An unclosed quote runs to the end
/// rather than failing, since the user's intent is still clear.
pub(crate) fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => word.push('\\'),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_on_spaces() {
        assert_eq!(split_words("  --port 3000\t-v "), ["--port", "3000", "-v"]);
        assert!(split_words("   ").is_empty());
    }

    #[test]
    fn respects_quotes_and_escapes() {
        assert_eq!(
            split_words(r#"--name 'a b' "c \"d\"" e\ f"#),
            ["--name", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(split_words("''"), [""]);
        assert_eq!(split_words("--msg='hi there'"), ["--msg=hi there"]);
        assert_eq!(split_words("'unclosed quote"), ["unclosed quote"]);
    }

    #[test]
    fn arrays_are_kept_and_scalars_stringified() {
        assert_eq!(
            string_list(&json!(["a b", 3, true])).unwrap(),
            ["a b", "3", "true"]
        );
        assert_eq!(string_list(&json!("x 'y z'")).unwrap(), ["x", "y z"]);
        assert!(string_list(&json!(null)).unwrap().is_empty());
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(string_list(&json!(5)).is_err());
        assert!(string_list(&json!([{"a": 1}])).is_err());
    }
}
