//! Decides whether a key (a JSON member name, or the key of `key=value` in
//! text) names a secret. Keys are compared word by word rather than by
//! substring: substring matching is what makes Sentry scrub `author` and
//! `max_tokens`, and those values are exactly what people debug with.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::ScrubConfigError;

/// Sentry's default scrubbed keys plus common secret names. Plural forms are
/// listed one by one on purpose: `cookies` and `secrets` hold the same data as
/// their singular, while `tokens` and `sessions` are counts in AI and
/// analytics payloads and must survive.
const DEFAULT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "credentials",
    "credential",
    "cookie",
    "set_cookie",
    "session",
    "sessionid",
    "csrf",
    "xsrf",
    "private_key",
    "privatekey",
    "mysql_pwd",
    "bearer",
    "access_token",
    "refresh_token",
    "client_secret",
    "jwt",
    "ssn",
    "card_number",
    "cvv",
    "cvc",
    "passwords",
    "secrets",
    "cookies",
    "api_keys",
    // libpq reads it from the environment, and environment dumps end up in
    // error context; written as one word it cannot be split.
    "pgpassword",
    "passphrase",
];

/// A sensitive name followed by one of these describes the secret instead of
/// holding it (`promptTokenCount`, `password_length`, `session_count`): the
/// value is a number worth keeping.
const MEASURE_WORDS: &[&str] = &["count", "counts", "length", "len", "size", "limit"];

/// A key with one of these after the sensitive name names an error, not a
/// secret: `AuthApiError`, `TokenExpiredError` and `JsonWebTokenError` are
/// the prefixes of the most common auth messages, in text and in JSON.
const ERROR_WORDS: &[&str] = &["error", "errors", "exception", "warning"];

static DEFAULT_NAMES: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    DEFAULT_KEYS
        .iter()
        .map(|key| lowercase_words(key))
        .collect()
});

#[derive(Debug, Clone)]
pub(super) struct KeyMatcher {
    /// Each name as its lowercase words; never empty, or it would match
    /// every key.
    names: Vec<Vec<String>>,
    /// Indexes into `names` by their first word: each word of a key costs
    /// one lookup instead of a comparison with every name, and keys are
    /// judged for every member of every event.
    by_first_word: HashMap<String, Vec<usize>>,
}

impl Default for KeyMatcher {
    fn default() -> Self {
        Self::with_names(DEFAULT_NAMES.clone())
    }
}

impl KeyMatcher {
    pub(super) fn new(extra_keys: &[String]) -> Result<Self, ScrubConfigError> {
        let mut names = DEFAULT_NAMES.clone();
        for key in extra_keys {
            let words = lowercase_words(key);
            if words.is_empty() {
                return Err(ScrubConfigError::EmptyKey { key: key.clone() });
            }
            names.push(words);
        }
        Ok(Self::with_names(names))
    }

    fn with_names(names: Vec<Vec<String>>) -> Self {
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, name) in names.iter().enumerate() {
            by_first_word
                .entry(name[0].clone())
                .or_default()
                .push(index);
        }
        Self {
            names,
            by_first_word,
        }
    }

    /// True when the words of some sensitive name appear contiguously among
    /// the key's words, unless a measure word follows them directly or an
    /// error word follows them anywhere.
    ///
    /// Only the last `MAX_EXAMINED_KEY_BYTES` of a key are examined (see
    /// `examined_part`), and those in one pass: each word is looked up among
    /// the names' first words, and where one starts there, a suffix flag
    /// (computed once) says whether an error word follows; so the cost grows
    /// with the number of words, whatever the key.
    pub(super) fn is_sensitive(&self, key: &str) -> bool {
        let words = split_words(examined_part(key));
        let mut lower = String::new();
        // error_from[i]: an error word is at i or later.
        let mut error_from: Option<Vec<bool>> = None;
        for at in 0..words.len() {
            lowercase_into(words[at], &mut lower);
            let Some(candidates) = self.by_first_word.get(lower.as_str()) else {
                continue;
            };
            for &index in candidates {
                let name = &self.names[index];
                let end = at + name.len();
                let matches = end <= words.len()
                    && words[at + 1..end]
                        .iter()
                        .zip(&name[1..])
                        .all(|(word, part)| word_eq(word, part))
                    && !words
                        .get(end)
                        .is_some_and(|next| is_any(next, MEASURE_WORDS));
                if matches && !error_from.get_or_insert_with(|| error_flags(&words))[end] {
                    return true;
                }
            }
        }
        false
    }
}

fn is_any(word: &str, list: &[&str]) -> bool {
    list.iter().any(|item| word_eq(word, item))
}

/// For each position of `words` (and one past the end), whether an error
/// word is at it or later.
fn error_flags(words: &[&str]) -> Vec<bool> {
    let mut error_from = vec![false; words.len() + 1];
    for at in (0..words.len()).rev() {
        error_from[at] = error_from[at + 1] || is_any(words[at], ERROR_WORDS);
    }
    error_from
}

/// `word` lowercased as `word_eq` compares it, into `out`.
fn lowercase_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

/// How much of a key is examined, from its end. Keys are names, not data:
/// real ones (`spring.datasource.hikari.password`, JSON paths, header
/// names) are far shorter, and in a long dotted path the trailing words name
/// the value (`a.b.c.password`). The bound keeps a hostile 100 kB key from
/// costing more than a short one.
pub const MAX_EXAMINED_KEY_BYTES: usize = 256;

/// The last `MAX_EXAMINED_KEY_BYTES` of `key`, less the word the cut fell
/// into: a word's tail (`…xpwd`) must not pass for a word of its own.
pub(super) fn examined_part(key: &str) -> &str {
    if key.len() <= MAX_EXAMINED_KEY_BYTES {
        return key;
    }
    let mut cut = key.len() - MAX_EXAMINED_KEY_BYTES;
    while !key.is_char_boundary(cut) {
        cut += 1;
    }
    let tail = &key[cut..];
    let mut chars = tail.chars();
    let (Some(prev), Some(first)) = (key[..cut].chars().next_back(), chars.next()) else {
        return tail;
    };
    let inside_word = prev.is_alphanumeric()
        && first.is_alphanumeric()
        && !is_boundary(prev, first, chars.next());
    if !inside_word {
        return tail;
    }
    // Skip to the first word boundary after the cut.
    let mut prev = first;
    let mut rest = tail.char_indices().skip(1).peekable();
    while let Some((at, c)) = rest.next() {
        let next = rest.peek().map(|&(_, n)| n);
        if !c.is_alphanumeric() || is_boundary(prev, c, next) {
            return &tail[at..];
        }
        prev = c;
    }
    ""
}

/// Splits on every non-alphanumeric character and on camelCase, PascalCase,
/// acronym (`APIKey` → `API`, `Key`) and letter/digit boundaries, so that
/// Django's `password2` and `X-Api-Key` both expose their words.
pub(super) fn split_words(key: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut prev: Option<char> = None;
    let mut chars = key.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !c.is_alphanumeric() {
            if let Some(begin) = start.take() {
                words.push(&key[begin..at]);
            }
            prev = None;
            continue;
        }
        match (start, prev) {
            (Some(begin), Some(p)) if is_boundary(p, c, chars.peek().map(|&(_, n)| n)) => {
                words.push(&key[begin..at]);
                start = Some(at);
            }
            (None, _) => start = Some(at),
            _ => {}
        }
        prev = Some(c);
    }
    if let Some(begin) = start {
        words.push(&key[begin..]);
    }
    words
}

fn is_boundary(prev: char, c: char, next: Option<char>) -> bool {
    (prev.is_lowercase() && c.is_uppercase())
        || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase))
        || prev.is_alphabetic() != c.is_alphabetic()
}

fn lowercase_words(key: &str) -> Vec<String> {
    split_words(key)
        .into_iter()
        .map(str::to_lowercase)
        .collect()
}

/// `lower` is already lowercase; the ASCII path avoids allocating for the
/// overwhelmingly common case.
pub(super) fn word_eq(word: &str, lower: &str) -> bool {
    if word.is_ascii() {
        word.eq_ignore_ascii_case(lower)
    } else {
        word.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keys_into_words() {
        let cases: &[(&str, &[&str])] = &[
            ("authToken", &["auth", "Token"]),
            ("X-Api-Key", &["X", "Api", "Key"]),
            ("SESSION_ID", &["SESSION", "ID"]),
            ("APIKey", &["API", "Key"]),
            ("PGPassword", &["PG", "Password"]),
            ("user.password", &["user", "password"]),
            ("user[password]", &["user", "password"]),
            ("password2", &["password", "2"]),
            ("  spaced  key ", &["spaced", "key"]),
            ("Über_Geheimnis", &["Über", "Geheimnis"]),
            ("", &[]),
            ("__", &[]),
        ];
        for (key, expected) in cases {
            assert_eq!(split_words(key), *expected, "{key}");
        }
    }

    #[test]
    fn word_matching_table() {
        let matcher = KeyMatcher::default();
        let sensitive = [
            "password",
            "Password",
            "userPassword",
            "password_hash",
            "password2",
            "new-password",
            "auth_token",
            "authToken",
            "auth",
            "x-api-key",
            "X-Api-Key",
            "apiKey",
            "API_KEY",
            "apikey",
            "Set-Cookie",
            "cookie",
            "cookies",
            "session_id",
            "SESSION_ID",
            "sessionId",
            "sessionid",
            "access_token",
            "refreshToken",
            "id_token",
            "client_secret",
            "secrets",
            "Authorization",
            "x-csrf-token",
            "X-XSRF-TOKEN",
            "privateKey",
            "MYSQL_PWD",
            "PGPASSWORD",
            "jwt",
            "ssn",
            "cardNumber",
            "credit_card_number",
            "cvv",
            "credentials",
            "user.credentials.token",
            "headers.authorization",
        ];
        let not_sensitive = [
            "author",
            "authority",
            "authors",
            "authenticated",
            "max_tokens",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "promptTokenCount",
            "token_count",
            "tokenizer",
            "passage",
            "bypass",
            "secretary",
            "sessions",
            "sessions_count",
            "session_count",
            "password_length",
            "AuthApiError",
            "TokenExpiredError",
            "JsonWebTokenError",
            "auth_error_code",
            "key",
            "public_key",
            "monkey",
            "card",
            "user_id",
            "message",
            "",
        ];
        for key in sensitive {
            assert!(matcher.is_sensitive(key), "{key} should be sensitive");
        }
        for key in not_sensitive {
            assert!(!matcher.is_sensitive(key), "{key} should not be sensitive");
        }
    }

    #[test]
    fn extra_keys_are_split_like_the_defaults() {
        let matcher = KeyMatcher::new(&["stripe-customer".into(), "Geheimnis".into()]).unwrap();
        assert!(matcher.is_sensitive("stripeCustomer"));
        assert!(matcher.is_sensitive("STRIPE_CUSTOMER_ID"));
        assert!(matcher.is_sensitive("mein_geheimnis"));
        assert!(!matcher.is_sensitive("stripe"));
        assert!(!matcher.is_sensitive("customer"));
    }

    #[test]
    fn names_sharing_a_first_word_are_each_tried() {
        // `card_number` is a default; an extra name starting with `card` and
        // a longer one with the same start must not hide each other.
        let matcher = KeyMatcher::new(&["card-holder".into(), "card_number_hint".into()]).unwrap();
        assert!(matcher.is_sensitive("cardHolder"));
        assert!(matcher.is_sensitive("card_number"));
        assert!(matcher.is_sensitive("billing.cardNumberHint"));
        assert!(!matcher.is_sensitive("card"));
        assert!(!matcher.is_sensitive("card_holder_count"));
        assert!(!matcher.is_sensitive("CardHolderError"));
    }

    #[test]
    fn long_keys_are_judged_by_their_last_words() {
        let matcher = KeyMatcher::default();
        let path = format!("{}password", "a.".repeat(10_000));
        assert!(matcher.is_sensitive(&path));
        let error = format!("{}error", "pwd.".repeat(25_000));
        assert!(!matcher.is_sensitive(&error));
        let camel = format!("{}Error", "Pwd".repeat(25_000));
        assert!(!matcher.is_sensitive(&camel));
        // A cut inside a word drops the piece: `…xpwd` names nothing.
        let glued = format!("{}pwd", "x".repeat(MAX_EXAMINED_KEY_BYTES * 2));
        assert!(!matcher.is_sensitive(&glued));
        let camel_cut = format!("{}Password", "x".repeat(MAX_EXAMINED_KEY_BYTES * 2));
        assert!(matcher.is_sensitive(&camel_cut));
        // Beyond the bound, a secret name at the start is no longer seen.
        let early = format!("password.{}", "a.".repeat(MAX_EXAMINED_KEY_BYTES));
        assert!(!matcher.is_sensitive(&early));
    }

    #[test]
    fn examined_part_cuts_at_word_boundaries() {
        let long = |tail: &str| format!("{}{tail}", "é".repeat(MAX_EXAMINED_KEY_BYTES));
        assert_eq!(examined_part("short_key"), "short_key");
        assert_eq!(examined_part(&long(".api_key")), ".api_key");
        assert!(examined_part(&long("")).len() <= MAX_EXAMINED_KEY_BYTES);
        let dotted = format!("{}.secret", "ab".repeat(MAX_EXAMINED_KEY_BYTES));
        assert_eq!(examined_part(&dotted), ".secret");
    }

    #[test]
    fn extra_key_without_words_is_rejected() {
        for key in ["", "  ", "--"] {
            let err = KeyMatcher::new(&[key.to_string()]).unwrap_err();
            assert!(matches!(err, ScrubConfigError::EmptyKey { .. }), "{key:?}");
        }
    }
}
