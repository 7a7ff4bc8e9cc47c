//! PostgreSQL's key details: `Key (email)=(a@b.io) already exists.`,
//! `Key (org_id, api_key)=(42, abc) is not present in table "keys".` The
//! columns name the values, in order, so a value is filtered when its column
//! is sensitive, as in `key=value` pairs, and the others stay.
//!
//! Only the `(columns)=(values)` shape is looked for, not the word `Key`,
//! which translated messages spell otherwise (`Schlüssel`, `La clé`).
//!
//! PostgreSQL writes the values unquoted, joined by `, `. When a value holds
//! `, ` itself the split is ambiguous; then, if any column is sensitive, all
//! the values are filtered.

use std::ops::Range;

use super::keys::KeyMatcher;
use super::splice::Edits;
use super::{FILTERED, MARKERS};
use crate::interrupt;

const SHAPE: &str = ")=(";

pub(super) fn key_details(text: &str, keys: &KeyMatcher, edits: &mut Edits) {
    if !text.contains(SHAPE) {
        return;
    }
    // Scanning resumes after each detail (or after the line, when a detail
    // has no end), and the column list is only looked for back to where the
    // previous scan stopped: every byte is examined a bounded number of
    // times, however many `)=(` a line holds.
    let mut pos = 0;
    while let Some(found) = text[pos..].find(SHAPE) {
        interrupt::check();
        let close_columns = pos + found;
        let values_start = close_columns + SHAPE.len();
        let Some(open_columns) = column_list_start(text, pos, close_columns) else {
            pos = values_start;
            continue;
        };
        let (values, next) = value_list(text, values_start);
        pos = next.max(values_start);
        filter_values(
            text,
            &text[open_columns + 1..close_columns],
            values,
            keys,
            edits,
        );
    }
}

/// The `(` that opens the column list ending at `close`, on the same line
/// and not before `floor`; expression columns such as `lower(email::text)`
/// hold parentheses of their own.
fn column_list_start(text: &str, floor: usize, close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (at, b) in text.as_bytes()[floor..close].iter().enumerate().rev() {
        match b {
            b'\n' | b'\r' => return None,
            b')' => depth += 1,
            b'(' if depth == 0 => return Some(floor + at),
            b'(' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The values and where scanning resumes. The list ends at the first `)`
/// outside the values' own parentheses (`f(x)`, row values) that is
/// followed by what ends a detail: the end of the text or line, a space,
/// punctuation or a quote. A list that never ends (the text was cut, or a
/// value opens a parenthesis it does not close) runs to the end of the line,
/// and so does the scan.
fn value_list(text: &str, start: usize) -> (Range<usize>, usize) {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    for (at, &b) in bytes.iter().enumerate().skip(start) {
        match b {
            b'\n' | b'\r' => return (start..at, at),
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b')' => {
                let ends = bytes.get(at + 1).is_none_or(|&next| {
                    // Non-ASCII: the closing quote of a translation (`»`, `“`).
                    next.is_ascii_whitespace()
                        || !next.is_ascii()
                        || matches!(next, b'.' | b',' | b';' | b'"' | b'\'' | b'\\')
                });
                if ends {
                    return (start..at, at + 1);
                }
            }
            _ => {}
        }
    }
    (start..text.len(), text.len())
}

fn filter_values(
    text: &str,
    columns: &str,
    values: Range<usize>,
    keys: &KeyMatcher,
    edits: &mut Edits,
) {
    let columns: Vec<&str> = columns.split(',').map(str::trim).collect();
    let sensitive: Vec<bool> = columns.iter().map(|c| keys.is_sensitive(c)).collect();
    if !sensitive.contains(&true) {
        return;
    }
    let mut parts = Vec::with_capacity(columns.len());
    let mut part_start = values.start;
    for (at, _) in text[values.clone()].match_indices(", ") {
        parts.push(part_start..values.start + at);
        part_start = values.start + at + 2;
    }
    parts.push(part_start..values.end);
    if parts.len() != columns.len() {
        replace(text, values, edits);
        return;
    }
    for (part, is_sensitive) in parts.into_iter().zip(sensitive) {
        if is_sensitive {
            replace(text, part, edits);
        }
    }
}

fn replace(text: &str, range: Range<usize>, edits: &mut Edits) {
    let value = &text[range.clone()];
    if !value.is_empty() && !MARKERS.contains(&value) {
        edits.replace(range, FILTERED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let mut edits = Edits::default();
        key_details(text, &KeyMatcher::default(), &mut edits);
        edits.apply(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn sensitive_columns_lose_their_values() {
        let cases = [
            (
                "DETAIL: Key (ssn)=(123-45-6789) already exists.",
                "DETAIL: Key (ssn)=([Filtered]) already exists.",
            ),
            (
                "Key (api_key)=(abc123) already exists.",
                "Key (api_key)=([Filtered]) already exists.",
            ),
            (
                "Key (password_hash)=($2b$10$abcdefghijklmnopqrstuv) already exists",
                "Key (password_hash)=([Filtered]) already exists",
            ),
            (
                "Key (org_id, api_key)=(42, abc) is not present in table \"keys\".",
                "Key (org_id, api_key)=(42, [Filtered]) is not present in table \"keys\".",
            ),
            (
                "Key (api_key, org_id)=(abc, 42) already exists.",
                "Key (api_key, org_id)=([Filtered], 42) already exists.",
            ),
            (
                "Key (\"Password\")=(f(x) y) already exists",
                "Key (\"Password\")=([Filtered]) already exists",
            ),
            ("Key (token)=((1,2))", "Key (token)=([Filtered])"),
            // A value holding ", ": which part belongs to which column is
            // unknown, so all go.
            (
                "Key (name, secret)=(Doe, John, s3cr3t) already exists.",
                "Key (name, secret)=([Filtered]) already exists.",
            ),
            (
                "Schlüssel »(token)=(abc)« existiert bereits.",
                "Schlüssel »(token)=([Filtered])« existiert bereits.",
            ),
            ("Key (session_id)=(abc", "Key (session_id)=([Filtered]"),
            (
                r#"{"detail":"Key (api_key)=(abc) already exists."}"#,
                r#"{"detail":"Key (api_key)=([Filtered]) already exists."}"#,
            ),
            (
                "Key (c)=(1) conflicts with existing key (token)=(abc).",
                "Key (c)=(1) conflicts with existing key (token)=([Filtered]).",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn other_columns_and_lookalikes_survive() {
        for text in [
            "DETAIL: Key (email)=(jane@example.com) already exists.",
            "Key (lower(email::text))=(a@b.io) already exists.",
            "Key (org_id, slug)=(42, my-post) already exists.",
            "Key (author)=(Ann) is still referenced from table \"posts\".",
            "if (a)=(b) then",
            "Key (ssn)=([Filtered]) already exists.",
            ")=(",
            "x)=(y",
        ] {
            assert_eq!(run(text), text);
        }
    }
}
