//! `Scrubber::scrub_text` and `scrub_json` as one would write them first:
//! the same rules in the same order with the same markers (URL credentials,
//! e-mails, bearer tokens, JWTs, vendor API keys, sensitive `key=value`
//! pairs, Luhn-checked card numbers), each a `replace_all` pass, and JSON
//! keys judged by substring, as Sentry does.
//!
//! It does less than the real scrubber: sensitive keys are substrings, not
//! words (`author` and `max_tokens` are filtered too), quoted values stop at
//! the first space, "bearer" in prose is taken for a token, card numbers are
//! Luhn-checked without issuer ranges, and the text is scrubbed once instead
//! of until nothing changes. Cheaper, if anything, so a ratio against it
//! understates the gain.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{group, run, whole, Pass};

/// Sentry's default scrubbed fields and the real scrubber's additions.
const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "auth",
    "credential",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "private_key",
    "privatekey",
    "bearer",
    "jwt",
    "ssn",
    "card_number",
    "cvv",
    "cvc",
    "passphrase",
];

const FILTERED: &str = "[Filtered]";

pub struct NaiveScrubber {
    passes: Vec<Pass>,
}

impl Default for NaiveScrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl NaiveScrubber {
    pub fn new() -> Self {
        let keys = SENSITIVE
            .iter()
            .map(|key| key.replace('_', "[_-]?"))
            .collect::<Vec<_>>()
            .join("|");
        let passes = vec![
            Pass::to(
                r#"([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#"'`<>\\]*@"#,
                "${1}[Filtered]@",
            ),
            Pass::to(r"[\w.%+\-]+@(?:[\w\-]+\.)+\p{L}{2,}", "[email]"),
            Pass::to(
                r"(?i)\bbearer[ \t]+[A-Za-z0-9\-._~+/]+=*",
                "Bearer [Filtered]",
            ),
            Pass::to(
                r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*",
                "[jwt]",
            ),
            Pass::to(
                concat!(
                    r"\b(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z+/=]{10,}",
                    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}",
                    r"|(?:AKIA|ASIA)[0-9A-Z]{16}\b|AIza[0-9A-Za-z_\-]{35}|sk-[A-Za-z0-9_\-]{20,}",
                    r"|re_[A-Za-z0-9]{8,}_[A-Za-z0-9]{16,}|sbp_[A-Za-z0-9]{20,}|sb_secret_[A-Za-z0-9_\-]{10,}",
                    r"|npm_[A-Za-z0-9]{30,}|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,})",
                ),
                "[api_key]",
            ),
            // The authorization scheme stays (`Basic [Filtered]`), and a
            // value that is already a marker is left alone.
            Pass::judge(
                &format!(
                    r#"(?i)([\w.\-]*(?:{keys})[\w.\-]*(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*(?:\\?["'])?)((?:basic|bearer|digest|token)[ \t]+)?([^\s&,;"'`)\]}}<>\\]+)"#
                ),
                |text, caps| {
                    if group(caps, 3).starts_with('[') {
                        Cow::Borrowed(whole(text, caps))
                    } else {
                        Cow::Owned(format!("{}{}{FILTERED}", group(caps, 1), group(caps, 2)))
                    }
                },
            ),
            Pass::judge(r"\b(?:[0-9][ \-]?){12,18}[0-9]\b", |text, caps| {
                let number = whole(text, caps);
                Cow::Borrowed(if luhn(number) { "[card]" } else { number })
            }),
        ];
        NaiveScrubber { passes }
    }

    pub fn scrub_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        run(&self.passes, text)
    }

    /// Keys are scrubbed like text (an e-mail address as a key leaks like a
    /// value), values under sensitive keys become `[Filtered]` unless null.
    pub fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(scrubbed) = self.scrub_text(text) {
                    *text = scrubbed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_json(item)),
            Value::Object(members) => {
                if members
                    .keys()
                    .any(|key| matches!(self.scrub_text(key), Cow::Owned(_)))
                {
                    *members = std::mem::take(members)
                        .into_iter()
                        .map(|(key, member)| (self.scrub_text(&key).into_owned(), member))
                        .collect::<Map<_, _>>();
                }
                for (key, member) in members.iter_mut() {
                    let key = key.to_lowercase();
                    if SENSITIVE.iter().any(|sensitive| key.contains(sensitive)) {
                        if !member.is_null() {
                            *member = Value::String(FILTERED.to_owned());
                        }
                    } else {
                        self.scrub_json(member);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .filter(u8::is_ascii_digit)
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            match (i % 2 == 1, digit * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => digit,
            }
        })
        .sum();
    sum % 10 == 0
}
