//! `key=value`, `key: value`, `"key": "value"` and `key => value` pairs in
//! free text whose key is sensitive: the key stays (it says what was there),
//! the value becomes `[Filtered]`.
//!
//! Separators are found with a SIMD byte search and keys by walking back
//! from them, which costs far less than running an automaton over every
//! byte of text that is mostly not keys; the value is measured by hand,
//! because its extent depends on quoting and on the key (a `Cookie:` header
//! runs to the end of the line). Searching resumes right after each
//! separator, so a value that itself contains `token=…` (a URL) is still
//! examined, and every byte is scanned a bounded number of times.

use std::ops::Range;

use super::keys::{examined_part, split_words, word_eq, KeyMatcher};
use super::splice::Edits;
use super::{FILTERED, MARKERS};
use crate::interrupt;

/// Authorization schemes stay visible (`Basic [Filtered]`): they tell the
/// reader which credential was sent without revealing it.
const AUTH_SCHEMES: &[&str] = &["basic", "bearer", "digest", "negotiate", "ntlm", "token"];

pub(super) fn key_values(text: &str, keys: &KeyMatcher, edits: &mut Edits) {
    let mut pos = 0;
    while let Some((key_range, after)) = next_key(text, pos) {
        interrupt::check();
        pos = after;
        let key = &text[key_range.clone()];
        let is_pair = match separator(text, key_range.end, key) {
            Some(b':') => starts_field(text, key_range.start),
            Some(_) => true,
            None => false,
        };
        if !is_pair || !keys.is_sensitive(key) {
            continue;
        }
        if let Some(value) = value_range(text, after, is_cookie(key)) {
            pos = pos.max(value.end);
            edits.replace(value, FILTERED);
        }
    }
}

/// The next key written before a separator (`=`, `:`, `=>`) at or after
/// `from`: the key's range, and where the separator and the blanks after
/// it end. A key starts with a letter or `_` and goes on with letters,
/// digits, `_`, `.` and `-`; a quote (`"`, `'`, `\"`) and blanks may stand
/// between it and the separator. The walk back from a separator stops at
/// `from` and at the previous separator, so no byte is walked twice.
fn next_key(text: &str, mut from: usize) -> Option<(Range<usize>, usize)> {
    let bytes = text.as_bytes();
    loop {
        let sep = from + memchr::memchr2(b'=', b':', bytes.get(from..)?)?;
        let mut end = sep;
        while end > from && matches!(bytes[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        if end > from && matches!(bytes[end - 1], b'"' | b'\'') {
            end -= 1;
            if end > from && bytes[end - 1] == b'\\' {
                end -= 1;
            }
        }
        let mut start = end;
        while start > from && is_key_byte(bytes[start - 1]) {
            start -= 1;
        }
        while start < end && !(bytes[start].is_ascii_alphabetic() || bytes[start] == b'_') {
            start += 1;
        }
        let mut after = sep + 1;
        if bytes[sep] == b'=' && bytes.get(after) == Some(&b'>') {
            after += 1;
        }
        while matches!(bytes.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        if start < end {
            return Some((start..end, after));
        }
        from = sep + 1;
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// The separator (`=` also stands for `=>`), or `None` when it is not an
/// assignment: `==`, `:=`, `::` (code and Rust paths), `scheme://`, and
/// `file.ext:line` locations in stack traces, which would otherwise lose
/// their line numbers to `auth.js:[Filtered]`.
fn separator(text: &str, after_key: usize, key: &str) -> Option<u8> {
    let bytes = text.as_bytes();
    let at = after_key
        + bytes[after_key..]
            .iter()
            .position(|&b| b == b'=' || b == b':')?;
    let next = bytes.get(at + 1).copied();
    let is_assignment = if bytes[at] == b'=' {
        !matches!(next, Some(b'=' | b':'))
    } else {
        match next {
            Some(b':' | b'=' | b'/') => false,
            Some(digit) if digit.is_ascii_digit() => !key.contains('.'),
            _ => true,
        }
    };
    is_assignment.then_some(bytes[at])
}

/// `key: value` is also how prose reads ("invalid JWT: unable to parse"), so
/// with a colon the key must begin a field: start of a line (headers, YAML,
/// `- item`), or right after an opening bracket, a quote, a field delimiter,
/// or another colon (`config error: secret: abc`). `=` is an assignment
/// wherever it appears.
fn starts_field(text: &str, key_start: usize) -> bool {
    let before = text[..key_start].trim_end_matches([' ', '\t']);
    let indented = before.len() < key_start;
    match before.bytes().last() {
        None => true,
        Some(b'-') => indented,
        Some(b) => b"\n\r{[(,;:|?&\"'`".contains(&b),
    }
}

fn is_cookie(key: &str) -> bool {
    split_words(examined_part(key))
        .iter()
        .any(|word| word_eq(word, "cookie") || word_eq(word, "cookies"))
}

fn is_stop(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'&' | b',' | b';' | b'"' | b'\'' | b'`' | b')' | b']' | b'}' | b'<' | b'>'
        )
}

/// The bytes to replace, or `None` when the value is empty or was already
/// replaced by an earlier rule (which keeps scrubbing idempotent).
fn value_range(text: &str, start: usize, to_line_end: bool) -> Option<Range<usize>> {
    let rest = &text[start..];
    let quote = ["\\\"", "\"", "'"]
        .into_iter()
        .find(|quote| rest.starts_with(quote));
    let open = start + quote.map_or(0, str::len);
    let begin = open + scheme_len(&text[open..]);
    let body = &text[begin..];
    if let Some(len) = quote.and_then(|quote| closing_quote(body, quote)) {
        let inner = &body[..len];
        return (!inner.is_empty() && !MARKERS.contains(&inner)).then(|| begin..begin + len);
    }
    if starts_with_marker(body) {
        return None;
    }
    let len = if to_line_end {
        body.find(['\n', '\r']).unwrap_or(body.len())
    } else {
        body.bytes().position(is_stop).unwrap_or(body.len())
    };
    (len > 0).then(|| begin..begin + len)
}

/// An unterminated quote (the text was cut, or the value spans lines) falls
/// back to the unquoted extent instead of swallowing the rest of the text.
fn closing_quote(body: &str, quote: &str) -> Option<usize> {
    if quote == "\\\"" {
        // Stops at the first `"` or newline rather than looking for the
        // line's end first, which would rescan the rest of a long line for
        // every key on it.
        let mut from = 0;
        while let Some(at) = body[from..].find(['\n', '"']).map(|at| from + at) {
            if body.as_bytes()[at] == b'\n' {
                return None;
            }
            if at > 0 && body.as_bytes()[at - 1] == b'\\' {
                return Some(at - 1);
            }
            from = at + 1;
        }
        return None;
    }
    let quote = quote.as_bytes()[0];
    let mut escaped = false;
    for (at, b) in body.bytes().enumerate() {
        match b {
            b'\n' => return None,
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if b == quote => return Some(at),
            _ => {}
        }
    }
    None
}

fn scheme_len(s: &str) -> usize {
    let word = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let spaces = s[word..]
        .bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    let credential_follows = s
        .as_bytes()
        .get(word + spaces)
        .is_some_and(|&b| !is_stop(b));
    let is_scheme = AUTH_SCHEMES
        .iter()
        .any(|scheme| s[..word].eq_ignore_ascii_case(scheme));
    if spaces > 0 && credential_follows && is_scheme {
        word + spaces
    } else {
        0
    }
}

fn starts_with_marker(body: &str) -> bool {
    MARKERS.iter().any(|marker| {
        body.strip_prefix(marker)
            .is_some_and(|after| after.bytes().next().is_none_or(is_stop))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    proptest! {
        /// The walk back finds what the regex this rule used to run over
        /// the whole text found, from every starting point.
        #[test]
        fn next_key_agrees_with_the_former_regex(text in "[ab_9.\\-\"'\\\\ \t:=>\n]{0,24}") {
            let former = Regex::new(r#"[A-Za-z_][A-Za-z0-9_.\-]*(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*"#).unwrap();
            for from in 0..=text.len() {
                let expected = former.find_at(&text, from).map(|found| {
                    let key_len = found
                        .as_str()
                        .bytes()
                        .take_while(|&b| is_key_byte(b))
                        .count();
                    (found.start()..found.start() + key_len, found.end())
                });
                prop_assert_eq!(next_key(&text, from), expected, "{:?} from {}", text, from);
            }
        }
    }

    fn run(text: &str) -> String {
        let mut edits = Edits::default();
        key_values(text, &KeyMatcher::default(), &mut edits);
        edits.apply(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn sensitive_values_are_filtered() {
        let cases = [
            (
                "login failed password=hunter2 user=bob",
                "login failed password=[Filtered] user=bob",
            ),
            (
                "GET /callback?token=abc&x=1 500",
                "GET /callback?token=[Filtered]&x=1 500",
            ),
            (
                r#"upstream said {"api_key": "abc 123", "model": "gpt-4o"}"#,
                r#"upstream said {"api_key": "[Filtered]", "model": "gpt-4o"}"#,
            ),
            ("secret: abc", "secret: [Filtered]"),
            (
                "config error: secret: abc",
                "config error: secret: [Filtered]",
            ),
            (
                "db:\n  host: x\n  password: hunter2\n",
                "db:\n  host: x\n  password: [Filtered]\n",
            ),
            ("- token: abc", "- token: [Filtered]"),
            (
                "curl -H 'X-Api-Key: abc123' https://x",
                "curl -H 'X-Api-Key: [Filtered]' https://x",
            ),
            (
                "{ Authorization: 'Basic dXNlcg==' }",
                "{ Authorization: 'Basic [Filtered]' }",
            ),
            ("a=1, session: 9f8e", "a=1, session: [Filtered]"),
            ("{'password': 'hunter 2'}", "{'password': '[Filtered]'}"),
            (
                r#"body: "{\"password\":\"hunter2\",\"name\":\"x\"}""#,
                r#"body: "{\"password\":\"[Filtered]\",\"name\":\"x\"}""#,
            ),
            (r#"{"password":"a\"b"}"#, r#"{"password":"[Filtered]"}"#),
            (
                "Authorization: Basic dXNlcjpwYXNz",
                "Authorization: Basic [Filtered]",
            ),
            (
                "authorization=Bearer token",
                "authorization=Bearer [Filtered]",
            ),
            (
                "Cookie: sid=abc; theme=dark\nHost: x",
                "Cookie: [Filtered]\nHost: x",
            ),
            ("Set-Cookie: id=a3fWa; Path=/", "Set-Cookie: [Filtered]"),
            (
                "psql --password=hunter2 -h db",
                "psql --password=[Filtered] -h db",
            ),
            ("PGPASSWORD=s3cret psql", "PGPASSWORD=[Filtered] psql"),
            ("db.password = abc", "db.password = [Filtered]"),
            ("x-api-key: abc123", "x-api-key: [Filtered]"),
            ("X-Auth-Token:abc123", "X-Auth-Token:[Filtered]"),
            ("{:password => \"x\"}", "{:password => \"[Filtered]\"}"),
            (
                "url=http://x/cb?token=abc",
                "url=http://x/cb?token=[Filtered]",
            ),
            ("[session_id=9f8e7d]", "[session_id=[Filtered]]"),
            ("password=\"unterminated", "password=\"[Filtered]"),
            ("token:12345", "token:[Filtered]"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn other_pairs_and_code_survive() {
        for text in [
            "author=bob max_tokens=100 prompt_tokens: 12",
            "url=https://example.com/?a=1",
            "at Object.<anonymous> (/app/src/auth.js:10:5)",
            "thread 'main' panicked at src/token.rs:42:9:",
            "at com.example.TokenService.validate(TokenService.java:42)",
            "in auth::middleware::check",
            "if token == null",
            "token := load()",
            "password=",
            "password is required",
            "missing field: password",
            "AuthApiError: invalid JWT: unable to parse or verify signature",
            "TokenExpiredError: jwt expired",
        ] {
            assert_eq!(run(text), text);
        }
    }

    #[test]
    fn already_scrubbed_values_are_left_alone() {
        for text in [
            "password=[Filtered]",
            "token=[jwt]",
            "apikey=[api_key]",
            "Authorization: Bearer [Filtered]",
            r#""api_key": "[Filtered]""#,
            "[session_id=[Filtered]]",
            "Cookie: [Filtered]",
        ] {
            assert_eq!(run(text), text);
        }
    }
}
