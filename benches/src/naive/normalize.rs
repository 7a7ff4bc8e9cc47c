//! `normalize_message` as a chain of regex passes: the Rust twin of
//! `benches/sql/normalize_regexp.sql`, with the same kinds in the same
//! (Sentry's) order and the same placeholders, each kind its own pass.
//!
//! Where the regex crate cannot follow the SQL (it has no look-around), a
//! capture group keeps the context, `\b{start-half}`/`\b{end-half}` stand for
//! "no word character before/after", or a judge function looks at the
//! neighbours of the match. Beyond the SQL version's own differences from
//! `pg_observe_core::normalize` (one pass per kind, no protected PostgreSQL
//! identifiers, IPv6 checked by syntax):
//!   * alternations take the first alternative that matches, not the longest;
//!   * IPv6 candidates are checked with the standard library's parser (as
//!     the Rust scanner does), since no leftmost-first alternation of
//!     Sentry's address forms reliably takes a whole address;
//!   * a time of day is not refused when a `:digit` follows (`12:31:99` →
//!     `<date>:<int>`).
//!
//! Standard names are protected like the SQL does it, by gluing letters into
//! them that no rule matches (`utf-8` → `utfǂ8`), restored at the end: `ǀ`
//! for `/`, `ǁ` for `.`, `ǂ` for `-`, and `ǃ`, dropped, in front of the HTTP
//! status codes and `ed25519` digits that must stay. Input that already
//! contains one of these four letters is changed by the restore.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use regex::Captures;

use super::{char_before, group, is_word, run, whole, Pass};

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAY: &str = "(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)";
const ZONE: &str = "(?:[-+][0-9]{2}[0-5][0-9]|UT|GMT|[ECMP][SD]T|[A-IK-Z])";

/// Sentry's top-100 TLDs plus `dev` and `ai`.
const COMMON_TLDS: &str = "com|net|org|jp|de|uk|fr|br|ru|es|gov|pl|ca|au|cn|co|in|nl|edu|eu|ch|kr|cz|mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|no|fi|us|pt|dk|ar|hu|tk|gr|il|ro|biz|ie|za|nz|sg|ee|th|io|xyz|pe|bg|hk|lt|ph|si|mobi|la|xxx|cf|hr|ng|kz|ug|gq|ae|lv|fm|sa|dev|ai";
/// TLDs that are also property and file names: two labels must precede them.
const CODE_LIKE_TLDS: &str = "id|at|is|it|to|me|my|by|ms|ga|rs|cc|info|app|cat|pro|link|site|jobs|news|club|tips|wiki|online";

const REASON_PHRASES: &str = "Bad Request|Unauthorized|Payment Required|Forbidden|Not Found|Method Not Allowed|Not Acceptable|Request Timeout|Conflict|Gone|Precondition Failed|Payload Too Large|Unsupported Media Type|Unprocessable Entity|Unprocessable Content|Too Many Requests|Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout";

pub struct NaiveNormalizer {
    passes: Vec<Pass>,
}

impl Default for NaiveNormalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl NaiveNormalizer {
    pub fn new() -> Self {
        let both_cases = |tlds: &str| format!("{tlds}|{}", tlds.to_uppercase());
        let date = [
            format!(r"{DAY},\s[0-9]{{1,2}}\s{MONTH}\s[0-9]{{2,4}}\s[0-9]{{1,2}}:[0-9]{{1,2}}(?::[0-9]{{1,2}})?\s{ZONE}"),
            format!(r"(?:{DAY}\s)?{MONTH}\s[0-3][0-9],\s[0-9]{{2,4}}"),
            format!(r"(?:Sunday|Sun|Monday|Mon|Tuesday|Tue|Wednesday|Wed|Thursday|Thu|Friday|Fri|Saturday|Sat),\s[0-9]{{2}}-{MONTH}-[0-9]{{2}}\s[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\s{ZONE}"),
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z?(?:[-+]?[0-9]{2}:[0-9]{2})?".to_owned(),
            format!(r"{DAY}\s{MONTH}\s[0-9]{{2}}\s[0-9]{{4}}\s[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\sGMT[-+][0-9]{{4}}(?:\s\([^)\n]{{1,64}}\))?"),
            r"[0-9]{4}-?[01][0-9]-?[0-3][0-9][\sT][0-2][0-9]:?[0-5][0-9](?::?[0-5][0-9](?:\.[0-9]+)?)?(?:[-+][0-2][0-9]:?[0-5][0-9]|Z)?".to_owned(),
            r"(?:1[0-2]|[1-9]):[0-5][0-9](?::[0-5][0-9])?[ \t]?[aApP][mM]".to_owned(),
            r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?".to_owned(),
            r"[0-9]{4}-[01][0-9]-[0-3][0-9]".to_owned(),
            r"[0-2][0-9]:[0-5][0-9]:[0-5][0-9]".to_owned(),
            format!(r"(?:{DAY}\s+)?{MONTH}\s+[0-9]{{1,2}}\s+[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\s+[0-9]{{4}}"),
            format!(r"(?:{DAY},\s+)?(?:0[1-9]|[1-2]?[0-9]|3[01])\s+{MONTH}\s+(?:19[0-9]{{2}}|[2-9][0-9]{{3}})\s+(?:2[0-3]|[0-1][0-9]):[0-5][0-9](?::(?:60|[0-5][0-9]))?\s+{ZONE}"),
            r"datetime\.datetime\([^)\n]{0,128}\)".to_owned(),
        ]
        .join("|");
        let passes = vec![
            // 0a. Standard names that look numeric.
            Pass::judge(
                r"(?i)\b(?:utf-(?:8|16|32)(?:le|be)?|iso-8859-[0-9]{1,2}|windows-125[0-8]|latin-1|ucs-[24]|sha3?-(?:1|224|256|384|512)|aes-(?:128|192|256)|p-(?:256|384|521)|http/(?:1\.[01]|2(?:\.0)?|3))\b",
                |text, caps| {
                    Cow::Owned(
                        whole(text, caps)
                            .replace('-', "ǂ")
                            .replace('/', "ǀ")
                            .replace('.', "ǁ"),
                    )
                },
            ),
            // 0b. HTTP status codes after a status word or before a reason
            // phrase, and the digits of ed25519/ed448.
            Pass::judge(
                &format!(
                    r#"((?i:status(?:[ _]?code)?|http(?:ǀ(?:1ǁ[01]|2(?:ǁ0)?|3))?|http (?:error|status))[ :="']{{0,3}})([1-5][0-9]{{2}})\b|\b([1-5][0-9]{{2}}[ :(\-]{{1,3}}(?:{REASON_PHRASES}))\b|\b((?i:ed))(25519|448)\b"#
                ),
                |_, caps| {
                    Cow::Owned(if caps.get(2).is_some() {
                        format!("{}ǃ{}", group(caps, 1), group(caps, 2))
                    } else if caps.get(3).is_some() {
                        format!("ǃ{}", group(caps, 3))
                    } else {
                        format!("{}ǃ{}", group(caps, 4), group(caps, 5))
                    })
                },
            ),
            // 1. email, unless inside a URL (which the next pass takes whole).
            Pass::judge(
                r"[A-Za-z0-9.!#$%&*+?^_~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*",
                |text, caps| {
                    let start = caps.get(0).expect("group 0 always matches").start();
                    let token_start = text[..start]
                        .rfind(char::is_whitespace)
                        .map_or(0, |at| at + 1);
                    if text[token_start..start].contains("://") {
                        Cow::Borrowed(whole(text, caps))
                    } else {
                        Cow::Borrowed("<email>")
                    }
                },
            ),
            // 2. url
            Pass::to(
                r#"\b[A-Za-z][A-Za-z0-9+\-]{0,31}://[^\s"'<>`]*[^\s"'<>`.,;:!?)\]}]"#,
                "<url>",
            ),
            // 3. hostname
            Pass::to(
                &format!(
                    r"\b(?:(?:[A-Za-z0-9\-]{{1,63}}\.)+(?:{})|[A-Za-z0-9\-]{{1,63}}\.(?:[A-Za-z0-9\-]{{1,63}}\.)+(?:{}))\b",
                    both_cases(COMMON_TLDS),
                    both_cases(CODE_LIKE_TLDS)
                ),
                "<hostname>",
            ),
            // 4a. ip v6, with a zone or a CIDR suffix
            Pass::judge(
                r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?(?:%[0-9A-Za-z]+)?(?:/[0-9]{1,3})?",
                |text, caps| {
                    let candidate = whole(text, caps);
                    let end = caps.get(0).expect("group 0 always matches").end();
                    let address = candidate
                        .split(['%', '/'])
                        .next()
                        .expect("split yields at least one part");
                    let glued_before =
                        char_before(text, caps).is_some_and(|c| is_word(c) || c == '>');
                    let glued_after = text[end..]
                        .chars()
                        .next()
                        .is_some_and(|c| is_word(c) || c == '(');
                    let is_ip = address.parse::<Ipv6Addr>().is_ok()
                        && address.bytes().any(|b| b.is_ascii_digit())
                        && !glued_before
                        && !glued_after;
                    Cow::Borrowed(if is_ip { "<ip>" } else { candidate })
                },
            ),
            // 4b. ip v4, CIDR
            Pass::to(
                r"\b(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\b{end-half}(?:/(?:3[0-2]|[12]?[0-9])\b{end-half})?",
                "<ip>",
            ),
            // 5. traceparent (W3C, AWS X-Ray)
            Pass::to(
                r"\b(?:00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]|1-[0-9a-f]{8}-[0-9a-f]{24})\b",
                "<traceparent>",
            ),
            // 6. uuid
            Pass::to(
                r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b",
                "<uuid>",
            ),
            // 7. sha1, 8. md5
            Pass::to(r"\b[0-9a-fA-F]{40}\b", "<sha1>"),
            Pass::to(r"\b[0-9a-fA-F]{32}\b", "<md5>"),
            // 9. date
            Pass::to(&format!(r"\b(?:{date})\b{{end-half}}"), "<date>"),
            // 10a. duration, spelled-out units
            Pass::to(
                r"(?i)\b[0-9]+(?:\.[0-9]+)? ?(?:nanoseconds?|microseconds?|milliseconds?|millis|msecs?|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b",
                "<duration>",
            ),
            // 10b. duration, symbols and Go-style chains
            Pass::to(
                r"\b[0-9]+(?:\.[0-9]+)?(?: (?:ms|ns|µs|μs)|(?:ms|ns|us|µs|μs|s|m|h)(?:[0-9]+(?:\.[0-9]+)?(?:ms|ns|us|µs|μs|s|m|h))*)\b",
                "<duration>",
            ),
            // 11. size
            Pass::to(
                r"\b[0-9]+(?:\.[0-9]+)?(?: ?(?:[kKmMgGtTpPeE]i?[bB]|[bB][yY][tT][eE][sS]?)|[bB])\b",
                "<size>",
            ),
            // 12. swift_txn_id
            Pass::to(r"\btx[0-9a-f]{21}-[0-9a-f]{10}\S*", "<swift_txn_id>"),
            // 13. hex: 0x..., or one letter case with a letter: 4-6 long
            // with a digit too, or 8-128 long; not a float's exponent.
            Pass::judge(
                r"\b0[xX][0-9a-fA-F]+\b|(-)?\b([0-9a-fA-F]{4,128})\b",
                |text, caps| {
                    let Some(word) = caps.get(2).map(|m| m.as_str()) else {
                        return Cow::Borrowed("<hex>");
                    };
                    let one_case = !word.bytes().any(|b| b.is_ascii_uppercase())
                        || !word.bytes().any(|b| b.is_ascii_lowercase());
                    let letter = word.bytes().any(|b| b.is_ascii_alphabetic());
                    let digit = word.bytes().any(|b| b.is_ascii_digit());
                    let long_enough = word.len() >= 8 || (digit && word.len() <= 6);
                    let start = caps.get(0).expect("group 0 always matches").start();
                    let after_decimal_point = text[..start].ends_with('.')
                        && text[..start - 1].ends_with(|c: char| c.is_ascii_digit());
                    let exponent = after_decimal_point && is_exponent(word);
                    if !(one_case && letter && long_enough) || exponent {
                        Cow::Borrowed(whole(text, caps))
                    } else {
                        Cow::Borrowed(signed(text, caps, "<hex>", "-<hex>"))
                    }
                },
            ),
            // 14. git_sha
            Pass::judge(r"\b[0-9a-f]{7}\b", |text, caps| {
                let word = whole(text, caps);
                let mixed = word.bytes().any(|b| b.is_ascii_digit())
                    && word.bytes().any(|b| b.is_ascii_alphabetic());
                Cow::Borrowed(if mixed { "<git_sha>" } else { word })
            }),
            // 15. float, 16. int: thousands separators; a minus only when
            // not glued to a word.
            Pass::judge(
                r"(-)?\b(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.[0-9]+(?:[eE][-+]?[0-9]+)?\b{end-half}",
                |text, caps| Cow::Borrowed(signed(text, caps, "<float>", "-<float>")),
            ),
            Pass::judge(
                r"(-)?\b(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\b{end-half}",
                |text, caps| Cow::Borrowed(signed(text, caps, "<int>", "-<int>")),
            ),
            // 17a. value: PostgreSQL key tuple
            Pass::to(
                r"(Key \([^=\n]*\)=\()[^\n]+?(\) (?:already exists|is not present in table|is still referenced from table|conflicts with existing key|conflicts with key|is duplicated))",
                "${1}<value>${2}",
            ),
            // 17b. value: PostgreSQL failing row
            Pass::to(r"(Failing row contains \()[^\n]+(\))", "${1}<value>${2}"),
            // 18a. quoted_str right after =
            Pass::to(r#"=(?:'[^']+'|"[^"]+")"#, "=<quoted_str>"),
            // 18b. quoted_str after ': ' that ends the line, unless the line
            // up to the colon is one token (`KeyError: 'x'`).
            Pass::judge(
                r#"(?m)^([^\n]*?: )("[^\n]+"|'[^\n]+')([ \t\r]*\.?[ \t\r]*)$"#,
                |text, caps| {
                    let prefix = group(caps, 1);
                    if !prefix[..prefix.len() - 2].contains(char::is_whitespace) {
                        Cow::Borrowed(whole(text, caps))
                    } else {
                        Cow::Owned(format!("{prefix}<quoted_str>{}", group(caps, 3)))
                    }
                },
            ),
            // 19. bool right after =
            Pass::to(r"=(?:true|True|false|False)\b", "=<bool>"),
            // Restore what step 0 glued in.
            Pass::judge("[ǀǁǂǃ]", |text, caps| {
                Cow::Borrowed(match whole(text, caps) {
                    "ǀ" => "/",
                    "ǁ" => ".",
                    "ǂ" => "-",
                    _ => "",
                })
            }),
        ];
        NaiveNormalizer { passes }
    }

    pub fn normalize<'a>(&self, message: &'a str) -> Cow<'a, str> {
        run(&self.passes, message)
    }
}

/// A leading minus belongs to the number unless a word (or a placeholder's
/// `>`) is glued to it: `maisey-908` → `maisey-<int>`.
fn signed(
    text: &str,
    caps: &Captures<'_>,
    unsigned: &'static str,
    glued: &'static str,
) -> &'static str {
    let minus_is_a_hyphen =
        caps.get(1).is_some() && char_before(text, caps).is_some_and(|c| is_word(c) || c == '>');
    if minus_is_a_hyphen {
        glued
    } else {
        unsigned
    }
}

/// `5e10`: digits, then `e` and a digit, the tail of a float like `1.5e10`.
fn is_exponent(word: &str) -> bool {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < word.len()
        && rest.starts_with(['e', 'E'])
        && rest[1..].starts_with(|c: char| c.is_ascii_digit())
}
