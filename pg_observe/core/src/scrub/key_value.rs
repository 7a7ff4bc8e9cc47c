//! `key=value`, `key: value`, `"key": "value"` and `key => value` pairs in
//! free text whose key is sensitive: the key stays (it says what was there),
//! the value becomes `[Filtered]`.
//!
//! The regex only finds `key` + separator; the value is measured by hand,
//! because its extent depends on quoting and on the key (a `Cookie:` header
//! runs to the end of the line). Searching resumes right after each
//! separator, so a value that itself contains `token=…` (a URL) is still
//! examined, and every byte is scanned a bounded number of times.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::keys::{split_words, word_eq, KeyMatcher};
use super::splice::Edits;
use super::{FILTERED, MARKERS};

static KEY_SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[A-Za-z_][A-Za-z0-9_.\-]*(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*"#)
        .expect("key/value pattern must compile")
});

/// Authorization schemes stay visible (`Basic [Filtered]`): they tell the
/// reader which credential was sent without revealing it.
const AUTH_SCHEMES: &[&str] = &["basic", "bearer", "digest", "negotiate", "ntlm", "token"];

pub(super) fn key_values(text: &str, keys: &KeyMatcher, edits: &mut Edits) {
    if !text.contains(['=', ':']) {
        return;
    }
    let mut pos = 0;
    while let Some(found) = KEY_SEPARATOR.find_at(text, pos) {
        pos = found.end();
        let candidate = found.as_str();
        let key_len = candidate
            .bytes()
            .take_while(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            .count();
        let key = &candidate[..key_len];
        let is_pair = match separator(text, found.start() + key_len, key) {
            Some(b':') => starts_field(text, found.start()),
            Some(_) => true,
            None => false,
        };
        if !is_pair || !keys.is_sensitive(key) {
            continue;
        }
        if let Some(value) = value_range(text, found.end(), is_cookie(key)) {
            pos = pos.max(value.end);
            edits.replace(value, FILTERED);
        }
    }
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
    split_words(key)
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
        let line = body.find('\n').unwrap_or(body.len());
        return body[..line].find(quote);
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
    use super::*;

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
