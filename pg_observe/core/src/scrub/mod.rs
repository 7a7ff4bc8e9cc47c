//! PII scrubbing, applied to every captured error before anything is stored.
//!
//! Text rules run in a fixed order, each on the output of the previous one,
//! and each replaces what it finds with a fixed marker. Fixed markers keep
//! fingerprints stable (the same secret shape always yields the same text),
//! and since no rule matches a marker, scrubbing twice changes nothing.
//! The order matters where shapes overlap:
//!
//! 1. URL userinfo, before e-mail, so `user:pass@host.io` loses the user too
//!    (this is also what covers DSNs and connection URLs: `postgres://`,
//!    `mongodb+srv://`, `redis://:pass@`, `amqp://`, Sentry DSNs);
//! 2. e-mail addresses;
//! 3. token formats (`tokens`: private key blocks, JWTs, `Bearer`/`Basic`/
//!    `Token`/`Digest` credentials, connection-string secrets, webhook URLs,
//!    vendor tokens), in one scan where the match that starts first wins, so
//!    a header reads `Bearer [Filtered]` rather than `Bearer [jwt]`;
//! 4. `key=value` with a sensitive key, after the shape rules, so `apikey=eyJ…`
//!    keeps the more telling `[jwt]`; then PostgreSQL's
//!    `Key (col)=(value)` details, judged by the same keys;
//! 5. card numbers, after `key=value`, so `card_number=…` stays `[Filtered]`;
//! 6. IP addresses, when enabled;
//! 7. the configured extra patterns, last, so they see the built-in markers
//!    rather than racing them.
//!
//! Every rule is linear in the text, and long keys are judged by their last
//! `keys::MAX_EXAMINED_KEY_BYTES` bytes, so hostile input costs time in
//! proportion to its size. Each match, each JSON node and each rule pass over
//! a text of `CHECKED_FROM_BYTES` or more calls `interrupt::check()`, so a
//! statement timeout can stop a long scrub.

mod cards;
mod ip;
mod json;
mod key_detail;
mod key_value;
mod keys;
mod patterns;
mod splice;
mod tokens;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use regex::Regex;

use crate::interrupt;

pub use cards::luhn_valid;
use keys::KeyMatcher;
pub use keys::MAX_EXAMINED_KEY_BYTES;
use splice::Edits;

pub const FILTERED: &str = "[Filtered]";
pub const EMAIL_MARKER: &str = "[email]";
pub const JWT_MARKER: &str = "[jwt]";
pub const API_KEY_MARKER: &str = "[api_key]";
pub const CARD_MARKER: &str = "[card]";
pub const IP_MARKER: &str = "[ip]";
/// Replaces a private key block whole, from BEGIN to END.
pub const PRIVATE_KEY_MARKER: &str = "[private_key]";
/// Replaces a whole `Bearer <token>`, whatever the case and spacing of `Bearer`.
pub const BEARER_MARKER: &str = "Bearer [Filtered]";

const MAX_PASSES: usize = 4;

/// Values that an earlier rule already produced; `key=value` leaves them be.
const MARKERS: [&str; 7] = [
    FILTERED,
    EMAIL_MARKER,
    JWT_MARKER,
    API_KEY_MARKER,
    CARD_MARKER,
    IP_MARKER,
    PRIVATE_KEY_MARKER,
];

/// What the other rules recognise besides the token formats, and where
/// each shape is specified.
const RULE_FORMATS: &[(&str, &str)] = &[
    ("url_credentials", "RFC 3986 section 3.2.1 (userinfo)"),
    ("email", "RFC 5322 section 3.4.1 (addr-spec)"),
    (
        "sensitive_key_value",
        "the sensitive key names in scrub/keys.rs",
    ),
    (
        "postgres_key_detail",
        "PostgreSQL errdetail \"Key (%s)=(%s)\"",
    ),
    ("payment_card", "ISO/IEC 7812 (issuer ranges, Luhn)"),
    ("ip_address", "RFC 791, RFC 4291 (opt-in)"),
];

/// Names of every secret format the scrubber recognises in free text: the
/// shape rules, then the token formats in the order they are tried.
pub fn formats() -> impl Iterator<Item = &'static str> {
    format_sources().map(|(name, _)| name)
}

/// Each format's name and the document that specifies its shape (for the
/// README's list of what is scrubbed).
pub fn format_sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    RULE_FORMATS.iter().copied().chain(tokens::sources())
}

#[derive(Debug, Clone, Default)]
pub struct ScrubConfig {
    /// More sensitive key names, split into words like the defaults.
    pub extra_keys: Vec<String>,
    /// Regexes (Rust `regex` syntax); every match becomes `[Filtered]`.
    pub extra_patterns: Vec<String>,
    /// IPv4/IPv6 addresses in text become `[ip]`.
    pub scrub_ip_addresses: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScrubConfigError {
    #[error("invalid extra scrub pattern {pattern:?}: {source}")]
    InvalidPattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
    #[error("extra sensitive key {key:?} has no word to match")]
    EmptyKey { key: String },
}

/// The compiled configuration; build once and share, scrubbing takes `&self`.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    keys: KeyMatcher,
    extra_patterns: Vec<Regex>,
    scrub_ip_addresses: bool,
    /// Names already found clean (`is_clean_name`).
    clean_names: RefCell<HashSet<String>>,
}

/// Names longer than this are scrubbed every time: names that recur are short.
const REMEMBERED_NAME_BYTES: usize = 64;
/// Names remembered at most; the set starts over when full, so a caller
/// inventing names cannot grow it.
const REMEMBERED_NAMES: usize = 1024;

impl Scrubber {
    pub fn new(config: &ScrubConfig) -> Result<Self, ScrubConfigError> {
        let extra_patterns = config
            .extra_patterns
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|source| ScrubConfigError::InvalidPattern {
                    pattern: pattern.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys: KeyMatcher::new(&config.extra_keys)?,
            extra_patterns,
            scrub_ip_addresses: config.scrub_ip_addresses,
            clean_names: RefCell::default(),
        })
    }

    /// Whether `scrub_text` leaves `name` as it is, for names that recur
    /// call after call (services, environments, JSON keys): a short one
    /// found clean is remembered, and scrubbed only once.
    pub fn is_clean_name(&self, name: &str) -> bool {
        if self.clean_names.borrow().contains(name) {
            return true;
        }
        let clean = matches!(self.scrub_text(name), Cow::Borrowed(_));
        if clean && name.len() <= REMEMBERED_NAME_BYTES {
            let mut names = self.clean_names.borrow_mut();
            if names.len() >= REMEMBERED_NAMES {
                names.clear();
            }
            names.insert(name.to_owned());
        }
        clean
    }

    /// Word-based: `authToken` and `x-api-key` are sensitive, `author` and
    /// `max_tokens` are not (see `keys`).
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        self.keys.is_sensitive(key)
    }

    /// Free text (messages, stack traces, string values): returns Borrowed
    /// when nothing matched.
    pub fn scrub_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(mut scrubbed) = owned(self.scrub_once(text)) else {
            return Cow::Borrowed(text);
        };
        // A rule declines a match glued to its neighbour (`CUST-1fe80::1` is
        // no address); once a later rule turns the neighbour into a marker,
        // the match stands alone. Rerunning until nothing changes is what
        // makes scrubbing idempotent. Built-in rules settle in one or two
        // reruns; the cap only guards against extra patterns that match
        // inside markers.
        for _ in 1..MAX_PASSES {
            match owned(self.scrub_once(&scrubbed)) {
                Some(again) => scrubbed = again,
                None => break,
            }
        }
        Cow::Owned(scrubbed)
    }

    fn scrub_once<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        apply(&mut text, patterns::url_credentials);
        apply(&mut text, patterns::emails);
        apply(&mut text, tokens::tokens);
        apply(&mut text, |text, edits| {
            key_value::key_values(text, &self.keys, edits);
        });
        apply(&mut text, |text, edits| {
            key_detail::key_details(text, &self.keys, edits);
        });
        apply(&mut text, cards::cards);
        if self.scrub_ip_addresses {
            apply(&mut text, ip::ipv6_addresses);
            apply(&mut text, ip::ipv4_addresses);
        }
        for pattern in &self.extra_patterns {
            apply(&mut text, |text, edits| {
                patterns::custom(pattern, text, edits)
            });
        }
        text
    }

    /// Objects: values under sensitive keys become "[Filtered]" (whole value,
    /// whatever its type, except null, which holds nothing); every other
    /// string value, and every object key, goes through `scrub_text`; arrays
    /// and objects are walked to any depth. Returns how many values (and
    /// keys) were changed, so a second pass returns 0.
    pub fn scrub_json(&self, value: &mut serde_json::Value) -> usize {
        json::scrub_json(self, value)
    }
}

fn owned(text: Cow<'_, str>) -> Option<String> {
    match text {
        Cow::Borrowed(_) => None,
        Cow::Owned(text) => Some(text),
    }
}

/// Every rule together takes microseconds over a shorter text, which is most
/// of them (names, keys, identifiers): not worth a check between rules.
const CHECKED_FROM_BYTES: usize = 4096;

fn apply(text: &mut Cow<'_, str>, rule: impl FnOnce(&str, &mut Edits)) {
    if text.len() >= CHECKED_FROM_BYTES {
        interrupt::check();
    }
    let mut edits = Edits::default();
    rule(text, &mut edits);
    if let Some(scrubbed) = edits.apply(text) {
        *text = Cow::Owned(scrubbed);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::*;

    const SUPABASE_SERVICE_ROLE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3AiLCJyb2xlIjoic2VydmljZV9yb2xlIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjIwMDAwMDAwMDB9.M9jrxyvPLkUxWgOYSf5dNdJ8v_eWrqwU7WgPJNh7dw0";

    fn with_ips() -> Scrubber {
        Scrubber::new(&ScrubConfig {
            scrub_ip_addresses: true,
            ..ScrubConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn a_name_is_clean_when_scrubbing_keeps_it_however_often_asked() {
        let scrubber = Scrubber::default();
        for _ in 0..3 {
            for name in [
                "billing",
                "production",
                "order_id",
                "x".repeat(100).as_str(),
            ] {
                assert!(scrubber.is_clean_name(name), "{name}");
            }
            for name in [
                "jane@example.com",
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "token=abc",
            ] {
                assert!(!scrubber.is_clean_name(name), "{name}");
            }
        }
        // Invented names cannot grow what is remembered without bound.
        for n in 0..3 * REMEMBERED_NAMES {
            assert!(scrubber.is_clean_name(&format!("name{n}")));
        }
        assert!(scrubber.clean_names.borrow().len() <= REMEMBERED_NAMES);
        // Each configuration remembers for itself.
        let strict = Scrubber::new(&ScrubConfig {
            extra_patterns: vec!["^billing$".into()],
            ..ScrubConfig::default()
        })
        .unwrap();
        assert!(!strict.is_clean_name("billing"));
    }

    #[test]
    fn realistic_messages_are_scrubbed() {
        let cases = [
            (
                "duplicate key value violates unique constraint \"users_email_key\" DETAIL: Key (email)=(jane.doe@example.com) already exists.".to_string(),
                "duplicate key value violates unique constraint \"users_email_key\" DETAIL: Key (email)=([email]) already exists.".to_string(),
            ),
            (
                format!("AuthApiError: invalid JWT: unable to parse or verify signature, token is {SUPABASE_SERVICE_ROLE}"),
                "AuthApiError: invalid JWT: unable to parse or verify signature, token is [jwt]".to_string(),
            ),
            (
                format!("Error: fetch failed\n    at request (headers: {{ Authorization: 'Bearer {SUPABASE_SERVICE_ROLE}' }})\n    at main (index.ts:12:3)"),
                "Error: fetch failed\n    at request (headers: { Authorization: 'Bearer [Filtered]' })\n    at main (index.ts:12:3)".to_string(),
            ),
            (
                "StripeAuthenticationError: Invalid API Key provided: sk_live_51H8abcdEFGHijklMNOPqrstUVwx".to_string(),
                "StripeAuthenticationError: Invalid API Key provided: [api_key]".to_string(),
            ),
            (
                "could not connect to server: postgres://postgres:Sup3rS3cret!@db.abcdefghijklmnop.supabase.co:5432/postgres".to_string(),
                "could not connect to server: postgres://[Filtered]@db.abcdefghijklmnop.supabase.co:5432/postgres".to_string(),
            ),
            (
                "payment failed for 4242 4242 4242 4242 (order 4242424242424241)".to_string(),
                "payment failed for [card] (order 4242424242424241)".to_string(),
            ),
            (
                "cards: 4111-1111-1111-1111, 378282246310005, 5555555555554444".to_string(),
                "cards: [card], [card], [card]".to_string(),
            ),
            (
                "POST /auth/v1/token?grant_type=password failed: password=hunter2&email=a@b.io".to_string(),
                "POST /auth/v1/token?grant_type=password failed: password=[Filtered]&email=[email]".to_string(),
            ),
            (
                r#"log: {"level":"error","api_key":"abc123","msg":"quota"}"#.to_string(),
                r#"log: {"level":"error","api_key":"[Filtered]","msg":"quota"}"#.to_string(),
            ),
            (
                "apikey: sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz".to_string(),
                "apikey: [api_key]".to_string(),
            ),
            (
                "request from 203.0.113.7 failed".to_string(),
                "request from 203.0.113.7 failed".to_string(),
            ),
        ];
        let scrubber = Scrubber::default();
        for (input, expected) in cases {
            assert_eq!(scrubber.scrub_text(&input), expected, "{input}");
        }
    }

    #[test]
    fn ip_addresses_only_when_enabled() {
        let text = "connect ECONNREFUSED 10.1.2.3:5432 via 2001:db8::1";
        assert_eq!(Scrubber::default().scrub_text(text), text);
        assert_eq!(
            with_ips().scrub_text(text),
            "connect ECONNREFUSED [ip]:5432 via [ip]"
        );
    }

    #[test]
    fn clean_text_is_borrowed() {
        for text in [
            "TypeError: Cannot read properties of undefined (reading 'map')",
            "at Object.<anonymous> (/app/src/auth.js:10:5)",
            "max_tokens=4096 exceeded by prompt_tokens: 5000",
            "missing bearer token",
            "",
        ] {
            assert!(
                matches!(Scrubber::default().scrub_text(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn extra_patterns_and_keys_from_config() {
        let scrubber = Scrubber::new(&ScrubConfig {
            extra_keys: vec!["tenant_code".into()],
            extra_patterns: vec![r"\bCUST-\d{6}\b".into(), r"(?i)internal-\w+".into()],
            scrub_ip_addresses: false,
        })
        .unwrap();
        assert_eq!(
            scrubber.scrub_text("customer CUST-123456 on Internal-Alpha, tenantCode=acme"),
            "customer [Filtered] on [Filtered], tenantCode=[Filtered]"
        );
        assert!(scrubber.is_sensitive_key("TENANT_CODE"));
    }

    #[test]
    fn invalid_extra_pattern_names_the_pattern() {
        let err = Scrubber::new(&ScrubConfig {
            extra_patterns: vec!["ok".into(), "unclosed(group".into()],
            ..ScrubConfig::default()
        })
        .unwrap_err();
        assert!(
            matches!(&err, ScrubConfigError::InvalidPattern { pattern, .. } if pattern == "unclosed(group")
        );
        let message = err.to_string();
        assert!(message.contains("unclosed(group"), "{message}");
        assert!(message.contains("unclosed group"), "{message}");
    }

    #[test]
    fn empty_extra_key_is_rejected() {
        let err = Scrubber::new(&ScrubConfig {
            extra_keys: vec![" ".into()],
            ..ScrubConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, ScrubConfigError::EmptyKey { .. }));
    }

    /// Fragments that trigger every rule and their overlaps, so generated
    /// text exercises the rules instead of being random noise.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a@b.io".to_string()),
            Just("user:p@ss@db.io".to_string()),
            Just("postgres://".to_string()),
            Just("Bearer ".to_string()),
            Just("Authorization: ".to_string()),
            Just("password=".to_string()),
            Just("\"token\": \"".to_string()),
            Just("Cookie: ".to_string()),
            Just("4242424242424242".to_string()),
            Just("4111 1111 1111 1111".to_string()),
            Just("10.0.0.1".to_string()),
            Just("fe80::1".to_string()),
            Just(SUPABASE_SERVICE_ROLE.to_string()),
            Just("sk_live_51H8abcdEFGHijklMNOP".to_string()),
            Just("[Filtered]".to_string()),
            Just("CUST-123456".to_string()),
            Just("https://u:p@h/".to_string()),
            Just("Basic ".to_string()),
            Just("x-api-key: ".to_string()),
            Just("\\\"".to_string()),
            Just("\n".to_string()),
            Just("::ffff:1.2.3.4".to_string()),
            Just("eyJ".to_string()),
            "[ -~]{0,12}",
            "[0-9 \\-]{0,20}",
            any::<String>(),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..10).prop_map(|parts| parts.concat())
    }

    fn luhn_complete(payload: &str) -> String {
        (0..10)
            .map(|check| format!("{payload}{check}"))
            .find(|number| luhn_valid(number))
            .expect("one check digit always satisfies Luhn")
    }

    proptest! {
        #[test]
        fn scrubbing_is_idempotent(text in text()) {
            let extras = Scrubber::new(&ScrubConfig {
                extra_patterns: vec![r"CUST-\d+".into()],
                scrub_ip_addresses: true,
                ..ScrubConfig::default()
            })
            .unwrap();
            for scrubber in [Scrubber::default(), extras] {
                let once = scrubber.scrub_text(&text).into_owned();
                let twice = scrubber.scrub_text(&once);
                prop_assert!(matches!(twice, Cow::Borrowed(_)), "{:?} -> {:?} -> {:?}", text, once, twice);
            }
        }

        #[test]
        fn no_email_survives(
            before in "[^@]{0,20}",
            local in "[a-z0-9._%+-]{1,12}",
            domain in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,8}){0,2}\\.[a-z]{2,6}",
            after in "[^@]{0,20}",
        ) {
            let email = format!("{local}@{domain}");
            let out = Scrubber::default().scrub_text(&format!("{before}{email}{after}")).into_owned();
            prop_assert!(!out.contains(&email), "{out:?}");
            // The only '@' was the address's; if it remains, it must follow a marker.
            for (at, _) in out.match_indices('@') {
                prop_assert!(out[..at].ends_with(']'), "{out:?}");
            }
        }

        #[test]
        fn luhn_valid_sixteen_digit_cards_never_survive(
            before in any::<String>(),
            payload in "(4[0-9]{14}|5[1-5][0-9]{13}|6011[0-9]{11}|35(2[89]|[3-8][0-9])[0-9]{11})",
            after in any::<String>(),
            grouped in any::<bool>(),
        ) {
            // Digits glued on would make it a different, longer number.
            let before = before.trim_end_matches(|c: char| c.is_ascii_digit());
            let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
            let number = luhn_complete(&payload);
            let written = if grouped {
                number.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
            } else {
                number.clone()
            };
            let out = Scrubber::default().scrub_text(&format!("{before}{written}{after}")).into_owned();
            prop_assert!(!out.contains(&written), "{out:?}");
        }

        #[test]
        fn scrub_json_leaves_nothing_under_sensitive_keys(value in json_value()) {
            let scrubber = Scrubber::default();
            let mut scrubbed = value;
            scrubber.scrub_json(&mut scrubbed);
            assert_no_sensitive_values(&scrubber, &scrubbed)?;
            let again = scrubbed.clone();
            prop_assert_eq!(scrubber.scrub_json(&mut scrubbed), 0);
            prop_assert_eq!(scrubbed, again);
        }
    }

    fn assert_no_sensitive_values(scrubber: &Scrubber, value: &Value) -> Result<(), TestCaseError> {
        match value {
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| assert_no_sensitive_values(scrubber, item)),
            Value::Object(members) => members.iter().try_for_each(|(key, member)| {
                if scrubber.is_sensitive_key(key) {
                    prop_assert!(member.is_null() || member == FILTERED, "{key}: {member}");
                    Ok(())
                } else {
                    assert_no_sensitive_values(scrubber, member)
                }
            }),
            _ => Ok(()),
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("password"),
            Just("authToken"),
            Just("x-api-key"),
            Just("Set-Cookie"),
            Just("sessionId"),
            Just("card_number"),
            Just("max_tokens"),
            Just("author"),
            Just("name"),
            Just("data"),
            Just("items"),
            Just("a@b.io"),
        ]
        .prop_map(str::to_string);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }
}
