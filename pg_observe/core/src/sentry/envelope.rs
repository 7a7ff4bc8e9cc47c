//! Envelope framing (develop.sentry.dev, "Envelopes"): a JSON header line,
//! then items, each a JSON item header line followed by its payload: exactly
//! `length` bytes and a newline when the header gives a length, else up to
//! the next newline (or the end). The last newline may be missing.

use serde_json::{Map, Value};
use thiserror::Error;

/// Items one envelope may carry; SDKs send a handful.
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    /// `event_id`, `dsn`, `sdk`, `sent_at`, … as sent.
    pub header: Map<String, Value>,
    pub items: Vec<Item<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    /// `event`, `session`, `attachment`, … (any string).
    pub kind: String,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvelopeError {
    #[error("the envelope is empty")]
    Empty,
    #[error("the envelope header is not a JSON object: {0}")]
    Header(String),
    #[error("item {index}: the item header is not a JSON object with a string \"type\": {reason}")]
    ItemHeader { index: usize, reason: String },
    #[error("item {index}: \"length\" says {length} bytes, but {available} follow")]
    Truncated {
        index: usize,
        length: u64,
        available: usize,
    },
    #[error("item {index}: its {length} bytes are not followed by a newline")]
    MissingNewline { index: usize, length: u64 },
    #[error("more than {MAX_ITEMS} items")]
    TooManyItems,
}

pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(EnvelopeError::Empty);
    }
    let (line, mut rest) = split_line(bytes);
    let header = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(header)) => header,
        Ok(other) => return Err(EnvelopeError::Header(format!("got {}", kind_of(&other)))),
        Err(e) => return Err(EnvelopeError::Header(e.to_string())),
    };
    let mut items = Vec::new();
    // Blank lines between or after items carry nothing.
    while let Some(start) = rest.iter().position(|b| !b.is_ascii_whitespace()) {
        let index = items.len();
        if index == MAX_ITEMS {
            return Err(EnvelopeError::TooManyItems);
        }
        let (line, after) = split_line(&rest[start..]);
        let item_header = |reason: String| EnvelopeError::ItemHeader { index, reason };
        let header = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(header)) => header,
            Ok(other) => return Err(item_header(format!("got {}", kind_of(&other)))),
            Err(e) => return Err(item_header(e.to_string())),
        };
        let kind = match header.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(item_header("no \"type\"".into())),
        };
        let payload;
        match header.get("length") {
            None | Some(Value::Null) => (payload, rest) = split_line(after),
            Some(length) => {
                let length = length
                    .as_u64()
                    .ok_or_else(|| item_header("\"length\" is not a byte count".into()))?;
                let available = after.len();
                let end = usize::try_from(length)
                    .ok()
                    .filter(|&end| end <= available)
                    .ok_or(EnvelopeError::Truncated {
                        index,
                        length,
                        available,
                    })?;
                payload = &after[..end];
                rest = match after.get(end) {
                    None => &[],
                    Some(b'\n') => &after[end + 1..],
                    Some(_) => return Err(EnvelopeError::MissingNewline { index, length }),
                };
            }
        }
        items.push(Item { kind, payload });
    }
    Ok(Envelope { header, items })
}

/// The bytes up to the first newline, and those after it.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[]),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds<'a>(envelope: &'a Envelope<'a>) -> Vec<(&'a str, &'a str)> {
        envelope
            .items
            .iter()
            .map(|i| (i.kind.as_str(), std::str::from_utf8(i.payload).unwrap()))
            .collect()
    }

    #[test]
    fn items_with_and_without_length_and_binary_payloads() {
        let body =
            b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://k@h/1\"}\n\
{\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n\
line\none\n\n\n\
{\"type\":\"event\"}\n\
{\"message\":\"hello\"}\n\
{\"type\":\"session\",\"length\":2}\n\
{}";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(
            envelope.header["event_id"],
            "9ec79c33ec9942ab8353589fcb2e04dc"
        );
        assert_eq!(
            kinds(&envelope),
            vec![
                ("attachment", "line\none\n\n"),
                ("event", "{\"message\":\"hello\"}"),
                ("session", "{}"),
            ]
        );
    }

    #[test]
    fn unknown_item_types_and_empty_payloads_are_items_like_any_other() {
        let body = b"{}\n{\"type\":\"profile_chunk\",\"length\":0}\n\n{\"type\":\"statsd\"}\n";
        let envelope = parse_envelope(body).unwrap();
        assert_eq!(
            kinds(&envelope),
            vec![("profile_chunk", ""), ("statsd", "")]
        );
        assert!(parse_envelope(b"{}").unwrap().items.is_empty());
        assert!(parse_envelope(b"{}\n\n").unwrap().items.is_empty());
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "empty"),
            (b"not json\n", "header is not a JSON object"),
            (b"[1]\n", "got an array"),
            (b"{}\n{\"length\":2}\n{}", "item 0: the item header"),
            (
                b"{}\n{\"type\":\"event\"}\n{}\nnope\n",
                "item 1: the item header",
            ),
            (
                b"{}\n{\"type\":\"event\",\"length\":50}\n{\"a\":1}",
                "says 50 bytes, but 7 follow",
            ),
            (
                b"{}\n{\"type\":\"event\",\"length\":2}\n{}X",
                "not followed by a newline",
            ),
            (
                b"{}\n{\"type\":\"event\",\"length\":-1}\n",
                "not a byte count",
            ),
        ];
        for (body, expected) in cases {
            let error = parse_envelope(body).unwrap_err().to_string();
            assert!(error.contains(expected), "{body:?}: {error}");
        }
        let many = format!("{{}}\n{}", "{\"type\":\"x\"}\n\n".repeat(MAX_ITEMS + 1));
        assert_eq!(
            parse_envelope(many.as_bytes()).unwrap_err(),
            EnvelopeError::TooManyItems
        );
    }

    #[test]
    fn a_huge_length_is_refused_not_allocated() {
        let body = b"{}\n{\"type\":\"attachment\",\"length\":18446744073709551615}\nxx";
        assert!(matches!(
            parse_envelope(body),
            Err(EnvelopeError::Truncated { .. })
        ));
    }
}
