//! The graded input: response headers by case-insensitive name, each name with
//! every value it was sent with, and the limits that keep grading cheap.
//!
//! Limits are checked here, once, so every check downstream may assume small
//! input: a real response carries a few dozen headers of a few KiB at most.

use std::collections::BTreeMap;

use serde_json::Value;
use thiserror::Error;

/// Longest header name accepted; real ones are under 64 bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest single value; the largest real CSPs (hash lists) are ~20 KiB.
pub const MAX_VALUE_BYTES: usize = 32 * 1024;
/// Values over all names, counting each element of an array.
pub const MAX_VALUES: usize = 256;
/// Bytes over all values.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024;

/// Why headers were refused. Errors name the header and the JSON type, never
/// the value: values can hold cookies and tokens.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadersError {
    #[error(
        "headers must be a JSON object of header name to string or array of strings, got {json_type}"
    )]
    NotAnObject { json_type: &'static str },
    #[error("header {header:?} must be a string or an array of strings, got {json_type}")]
    InvalidValue {
        header: String,
        json_type: &'static str,
    },
    #[error("header {header:?} must be an array of strings, got an array holding {json_type}")]
    InvalidArrayItem {
        header: String,
        json_type: &'static str,
    },
    #[error("a header name is longer than {limit} bytes")]
    NameTooLong { limit: usize },
    #[error("header {header:?} has a value longer than {limit} bytes")]
    ValueTooLong { header: String, limit: usize },
    #[error("more than {limit} header values")]
    TooManyValues { limit: usize },
    #[error("header values add up to more than {limit} bytes")]
    TooLarge { limit: usize },
}

/// Response headers. Names are compared ASCII-case-insensitively; a name
/// sent several times (two CSP headers, many `Set-Cookie`) keeps every value
/// in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    by_name: BTreeMap<String, Vec<String>>,
    values: usize,
    bytes: usize,
}

impl Headers {
    pub fn new() -> Self {
        Headers::default()
    }

    pub fn from_pairs<I, N, V>(pairs: I) -> Result<Self, HeadersError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.append(name.as_ref(), value.as_ref())?;
        }
        Ok(headers)
    }

    /// Accepts `{name: string | [string, ...]}`, the shape of
    /// `observe.grade_headers(headers jsonb)`; an empty array is a header
    /// that was not sent.
    pub fn from_json(value: &Value) -> Result<Self, HeadersError> {
        let Value::Object(object) = value else {
            return Err(HeadersError::NotAnObject {
                json_type: json_type(value),
            });
        };
        let mut headers = Headers::new();
        for (name, value) in object {
            check_name(name)?;
            match value {
                Value::String(text) => headers.append(name, text)?,
                Value::Array(items) => {
                    for item in items {
                        let Value::String(text) = item else {
                            return Err(HeadersError::InvalidArrayItem {
                                header: name.clone(),
                                json_type: json_type(item),
                            });
                        };
                        headers.append(name, text)?;
                    }
                }
                other => {
                    return Err(HeadersError::InvalidValue {
                        header: name.clone(),
                        json_type: json_type(other),
                    })
                }
            }
        }
        Ok(headers)
    }

    /// Adds one value; surrounding whitespace of name and value is dropped,
    /// as HTTP parsers do.
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), HeadersError> {
        check_name(name)?;
        let name = name.trim();
        let value = value.trim_matches(is_http_whitespace);
        if value.len() > MAX_VALUE_BYTES {
            return Err(HeadersError::ValueTooLong {
                header: name.to_owned(),
                limit: MAX_VALUE_BYTES,
            });
        }
        if self.values >= MAX_VALUES {
            return Err(HeadersError::TooManyValues { limit: MAX_VALUES });
        }
        if self.bytes + value.len() > MAX_TOTAL_BYTES {
            return Err(HeadersError::TooLarge {
                limit: MAX_TOTAL_BYTES,
            });
        }
        self.values += 1;
        self.bytes += value.len();
        self.by_name
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_owned());
        Ok(())
    }

    /// Every value of `name`, in the order received; empty when not sent.
    pub fn get_all(&self, name: &str) -> &[String] {
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_name.get(&name.to_ascii_lowercase())
        } else {
            self.by_name.get(name)
        };
        found.map_or(&[], Vec::as_slice)
    }

    pub fn contains(&self, name: &str) -> bool {
        !self.get_all(name).is_empty()
    }

    /// Lowercase names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

fn check_name(name: &str) -> Result<(), HeadersError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(HeadersError::NameTooLong {
            limit: MAX_NAME_BYTES,
        });
    }
    Ok(())
}

/// RFC 9110 OWS: space and horizontal tab.
pub(crate) fn is_http_whitespace(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110's list syntax (`#element`): a header sent several times reads as
/// its values joined by commas. Empty elements are dropped.
pub(crate) fn list_elements(values: &[String]) -> impl Iterator<Item = &str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|e| e.trim_matches(is_http_whitespace))
        .filter(|e| !e.is_empty())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_are_case_insensitive_and_values_accumulate() {
        let headers = Headers::from_json(&json!({
            "Set-Cookie": ["a=1", "b=2"],
            "set-cookie": "c=3",
            "X-Frame-Options": "  DENY  ",
        }))
        .unwrap();
        assert_eq!(headers.get_all("SET-COOKIE"), ["a=1", "b=2", "c=3"]);
        assert_eq!(headers.get_all("x-frame-options"), ["DENY"]);
        assert!(headers.get_all("content-security-policy").is_empty());
    }

    #[test]
    fn errors_name_the_header_and_type_but_not_the_value() {
        let secret = "sessionid=hunter2";
        for (input, expected) in [
            (json!([secret]), "got array"),
            (json!({"Set-Cookie": {"v": secret}}), "\"Set-Cookie\""),
            (json!({"Set-Cookie": [secret, 42]}), "holding number"),
            (json!({"X-Thing": null}), "got null"),
        ] {
            let message = Headers::from_json(&input).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(matches!(
            Headers::from_pairs([("csp", long.as_str())]),
            Err(HeadersError::ValueTooLong { .. })
        ));
        let many = (0..=MAX_VALUES).map(|i| ("set-cookie", format!("c{i}=1")));
        assert_eq!(
            Headers::from_pairs(many),
            Err(HeadersError::TooManyValues { limit: MAX_VALUES })
        );
        let name = "n".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            Headers::from_pairs([(name.as_str(), "1")]),
            Err(HeadersError::NameTooLong {
                limit: MAX_NAME_BYTES
            })
        );
        let big = "y".repeat(MAX_VALUE_BYTES);
        let total = (0..MAX_TOTAL_BYTES / MAX_VALUE_BYTES + 1).map(|_| ("a", big.as_str()));
        assert_eq!(
            Headers::from_pairs(total),
            Err(HeadersError::TooLarge {
                limit: MAX_TOTAL_BYTES
            })
        );
    }
}
