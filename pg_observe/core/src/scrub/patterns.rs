//! Secrets recognisable by their shape alone: URL credentials, e-mail
//! addresses, bearer tokens, JWTs and vendor API keys.
//!
//! Word boundaries are ASCII (`(?-u:\b)`): the Unicode `\b` forces the regex
//! engine off its DFA on non-ASCII text, and every secret shape here is ASCII.

use std::sync::LazyLock;

use regex::Regex;

use super::splice::Edits;
use super::{API_KEY_MARKER, BEARER_MARKER, EMAIL_MARKER, FILTERED, JWT_MARKER};

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

static BEARER: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)(?-u:\b)bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)"));

/// Words that follow "bearer" in prose and in `WWW-Authenticate` challenges;
/// scrubbing them would turn "missing bearer token" into a false secret and
/// change the message's fingerprint for nothing.
const BEARER_PROSE: &[&str] = &[
    "a",
    "an",
    "and",
    "auth",
    "authentication",
    "authorization",
    "error",
    "expected",
    "for",
    "format",
    "header",
    "in",
    "is",
    "missing",
    "must",
    "not",
    "of",
    "or",
    "prefix",
    "realm",
    "required",
    "scheme",
    "scope",
    "the",
    "to",
    "token",
    "tokens",
    "was",
    "with",
];

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
});

/// One alternation so the text is scanned once for all vendors.
static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)(?:",
        r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",
        r"|whsec_[0-9A-Za-z+/=]{10,}",
        r"|gh[pousr]_[A-Za-z0-9]{20,}",
        r"|github_pat_[A-Za-z0-9_]{20,}",
        r"|xox[abprs]-[A-Za-z0-9\-]{10,}",
        r"|(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        r"|AIza[0-9A-Za-z_\-]{35}",
        r"|sk-[A-Za-z0-9_\-]{20,}",
        r"|re_[A-Za-z0-9]{8,}_[A-Za-z0-9]{16,}",
        r"|sbp_[A-Za-z0-9]{20,}",
        r"|sb_secret_[A-Za-z0-9_\-]{10,}",
        r"|npm_[A-Za-z0-9]{30,}",
        r"|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
        r")",
    ))
});

/// Runs before the e-mail rule: `user:pass@db.example.com` would otherwise
/// become `user:[email]` and keep the user name.
pub(super) fn url_credentials(text: &str, edits: &mut Edits) {
    if !text.contains("://") {
        return;
    }
    for caps in URL_USERINFO.captures_iter(text) {
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

pub(super) fn bearer_tokens(text: &str, edits: &mut Edits) {
    for caps in BEARER.captures_iter(text) {
        let (Some(whole), Some(token)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let word = token.as_str().trim_end_matches('=');
        if !BEARER_PROSE
            .iter()
            .any(|prose| word.eq_ignore_ascii_case(prose))
        {
            edits.replace(whole.range(), BEARER_MARKER);
        }
    }
}

pub(super) fn jwts(text: &str, edits: &mut Edits) {
    if !text.contains("eyJ") {
        return;
    }
    for found in JWT.find_iter(text) {
        edits.replace(found.range(), JWT_MARKER);
    }
}

pub(super) fn api_keys(text: &str, edits: &mut Edits) {
    for found in API_KEY.find_iter(text) {
        edits.replace(found.range(), API_KEY_MARKER);
    }
}

/// Empty matches and matches that already are the marker are skipped: the
/// first would sprinkle markers between characters, the second would make a
/// pattern like `\[\w+\]` rewrite its own output forever.
pub(super) fn custom(pattern: &Regex, text: &str, edits: &mut Edits) {
    for found in pattern.find_iter(text) {
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
    fn bearer_tokens_are_filtered_but_prose_is_not() {
        let cases = [
            ("Authorization: Bearer abc123", "Authorization: Bearer [Filtered]"),
            ("authorization: bearer x", "authorization: Bearer [Filtered]"),
            ("BEARER dGVzdA==", "Bearer [Filtered]"),
            (
                "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig' https://api",
                "curl -H 'Authorization: Bearer [Filtered]' https://api",
            ),
            ("missing bearer token", "missing bearer token"),
            ("the bearer of bad news", "the bearer of bad news"),
            (
                "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
                "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
            ),
            ("Bearer [Filtered]", "Bearer [Filtered]"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(bearer_tokens, input), expected, "{input}");
        }
    }

    #[test]
    fn jwts_become_markers() {
        let supabase_anon = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3AiLCJyb2xlIjoiYW5vbiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoyMDAwMDAwMDAwfQ.dc_X5iR_VP_qT0zsiyj_I_OZ2T9FtRU2BBNWN8Bu4GE";
        let cases = [
            (
                format!("apikey={supabase_anon}"),
                "apikey=[jwt]".to_string(),
            ),
            (
                format!("JWT expired: {supabase_anon}."),
                "JWT expired: [jwt].".to_string(),
            ),
            (
                "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjMifQ. token".to_string(),
                "unsigned [jwt] token".to_string(),
            ),
            (
                "eyJ alone is not a token".to_string(),
                "eyJ alone is not a token".to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(jwts, &input), expected, "{input}");
        }
    }

    #[test]
    fn vendor_api_keys_become_markers() {
        let keys = [
            "sk_live_51H8abcdEFGHijklMNOPqrstUVwx",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_51H8abcdEFGHijklMNOP",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLSwe",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx",
            "re_9dYSBUup_372aqzc7KUiUmMLrimP9w8gE",
            "sbp_0123456789abcdef0123456789abcdef01234567",
            "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "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",
        ];
        for key in keys {
            let text = format!("request failed (key \"{key}\") after 3 retries");
            assert_eq!(
                run(api_keys, &text),
                "request failed (key \"[api_key]\") after 3 retries",
                "{key}"
            );
        }
    }

    #[test]
    fn identifiers_that_resemble_key_prefixes_survive() {
        for text in [
            "pk_live_51H8abcdEFGHijklMNOP is publishable",
            "call re_compile_pattern_for_user failed",
            "class sk-button",
            "my_sk_live_setting",
            "AKIAIOSFODNN7EXAMPLEXX",
        ] {
            assert_eq!(run(api_keys, text), text);
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
