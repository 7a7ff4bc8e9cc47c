//! Shapes that need more than a table row: URL credentials and e-mail
//! addresses (which must tell stack frames apart). Token formats, bearer
//! tokens included, are in `tokens`.
//!
//! Word boundaries are ASCII (`(?-u:\b)`): the Unicode `\b` forces the regex
//! engine off its DFA on non-ASCII text, and every secret shape here is ASCII.

use std::sync::LazyLock;

use regex::Regex;

use super::splice::Edits;
use super::{EMAIL_MARKER, FILTERED};
use crate::interrupt;

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in scrub pattern must compile")
}

/// Userinfo is everything up to the authority's last `@` (passwords are often
/// pasted unencoded and contain `@`), stopping at the delimiters that end a URL
/// in logs and JSON.
static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"[A-Za-z][A-Za-z0-9+.\-]*://([^\s/?#"'`<>\\]*)@"#));

/// The TLD must be alphabetic so that npm specifiers (`pkg@1.2.3`) and
/// Firefox stack frames (`fn@https://…`) are left alone. An apostrophe may
/// only sit inside the local part (`o'neil@`), never open it, so a quoted
/// address keeps its quotes.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"[\p{L}\p{N}_.%+\-]+(?:'[\p{L}\p{N}_.%+\-]+)*",
        r"@(?:[\p{L}\p{N}\-]+\.)+(?:\p{L}{2,}|xn--[A-Za-z0-9\-]+)",
    ))
});

/// Runs before the e-mail rule: `user:pass@db.example.com` would otherwise
/// become `user:[email]` and keep the user name.
pub(super) fn url_credentials(text: &str, edits: &mut Edits) {
    if !text.contains("://") {
        return;
    }
    for caps in URL_USERINFO.captures_iter(text) {
        interrupt::check();
        let Some(userinfo) = caps.get(1) else {
            continue;
        };
        if !userinfo.is_empty() && userinfo.as_str() != FILTERED {
            edits.replace(userinfo.range(), FILTERED);
        }
    }
}

pub(super) fn emails(text: &str, edits: &mut Edits) {
    if !text.contains('@') {
        return;
    }
    for found in EMAIL.find_iter(text) {
        interrupt::check();
        if !is_stack_frame(found.as_str(), &text[found.end()..]) {
            edits.replace(found.range(), EMAIL_MARKER);
        }
    }
}

/// File extensions of code that stack frames point into.
const SOURCE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "bundle", "jsbundle", "vue", "svelte",
    "html", "htm", "coffee", "map",
];

/// `name@file.js:1:531` is a Firefox, Safari or React Native frame, not an
/// address: its "domain" ends in a code file's extension and a line number
/// follows. A real address is never followed by `:<digits>` after such a
/// "top-level domain".
fn is_stack_frame(address: &str, after: &str) -> bool {
    let extension = address.rsplit('.').next().unwrap_or_default();
    after
        .strip_prefix(':')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        && SOURCE_EXTENSIONS
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known))
}

/// Empty matches and matches that already are the marker are skipped: the
/// first would sprinkle markers between characters, the second would make a
/// pattern like `\[\w+\]` rewrite its own output forever.
pub(super) fn custom(pattern: &Regex, text: &str, edits: &mut Edits) {
    for found in pattern.find_iter(text) {
        interrupt::check();
        if !found.is_empty() && found.as_str() != FILTERED {
            edits.replace(found.range(), FILTERED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rule: impl Fn(&str, &mut Edits), text: &str) -> String {
        let mut edits = Edits::default();
        rule(text, &mut edits);
        edits.apply(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn url_credentials_keep_scheme_and_host() {
        let cases = [
            (
                "could not connect to postgres://app:s3cr3t@db.internal:5432/prod",
                "could not connect to postgres://[Filtered]@db.internal:5432/prod",
            ),
            (
                "DATABASE_URL=postgresql://postgres.abcd:p@ss@aws-0-eu.pooler.supabase.com:6543/postgres",
                "DATABASE_URL=postgresql://[Filtered]@aws-0-eu.pooler.supabase.com:6543/postgres",
            ),
            ("GET https://user:pass@example.com/x", "GET https://[Filtered]@example.com/x"),
            ("redis://:hunter2@cache:6379", "redis://[Filtered]@cache:6379"),
            (
                "jdbc:mysql://root:toor@localhost/db",
                "jdbc:mysql://[Filtered]@localhost/db",
            ),
            (
                "url=\"https://host/path\" user=\"a@b.co\"",
                "url=\"https://host/path\" user=\"a@b.co\"",
            ),
            ("https://example.com/@user/posts", "https://example.com/@user/posts"),
            ("https://example.com/?email=a@b.co", "https://example.com/?email=a@b.co"),
            ("postgres://[Filtered]@db/x", "postgres://[Filtered]@db/x"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(url_credentials, input), expected, "{input}");
        }
    }

    #[test]
    fn emails_become_markers() {
        let cases = [
            (
                "duplicate key value violates unique constraint \"users_email_key\": alice.smith+test@example.co.uk",
                "duplicate key value violates unique constraint \"users_email_key\": [email]",
            ),
            ("send to <Bob_O'Neil@mail.example.org>", "send to <[email]>"),
            ("user='jane_doe@example.com'", "user='[email]'"),
            ("müller@bücher.de failed", "[email] failed"),
            ("a@b.io,c@d.io", "[email],[email]"),
            ("installed @supabase/supabase-js@2.39.0", "installed @supabase/supabase-js@2.39.0"),
            ("at handler@https://app.example.com/main.js:1:2", "at handler@https://app.example.com/main.js:1:2"),
            ("user@localhost", "user@localhost"),
            ("s@33.js:1:531", "s@33.js:1:531"),
            ("value@index.android.bundle:12:1917", "value@index.android.bundle:12:1917"),
            ("render@https://x/app.tsx:3:9 by a@b.js", "render@https://x/app.tsx:3:9 by [email]"),
            ("ops@team.js:8080", "ops@team.js:8080"),
            ("ops@team.dev:8080", "[email]:8080"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(emails, input), expected, "{input}");
        }
    }

    #[test]
    fn custom_patterns_skip_empty_and_marker_matches() {
        let pattern = Regex::new(r"\[Filtered\]|x*").unwrap();
        assert_eq!(
            run(|t, e| custom(&pattern, t, e), "a [Filtered] xx b"),
            "a [Filtered] [Filtered] b"
        );
    }
}
