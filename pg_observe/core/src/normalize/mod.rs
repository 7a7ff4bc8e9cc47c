//! Message parameterization: the variable parts of an error message (ids,
//! numbers, times, addresses, ...) are replaced with `<kind>` placeholders so
//! that messages differing only in those values hash to the same issue.
//!
//! # Placeholders
//!
//! `<email>`, `<url>`, `<hostname>`, `<ip>`, `<traceparent>`, `<uuid>`,
//! `<sha1>`, `<md5>`, `<date>`, `<duration>`, `<size>`, `<swift_txn_id>`,
//! `<hex>`, `<git_sha>`, `<float>`, `<int>`, `<value>`, `<quoted_str>`,
//! `<bool>`. The names are Sentry's (plus `<size>` and `<value>`), so a grouped
//! message reads the same as in Sentry.
//!
//! # How matching works, and why the order matters
//!
//! Like Sentry (`src/sentry/grouping/parameterization.py`, which joins all its
//! patterns into one alternation), this is a single left-to-right pass: at each
//! position the kinds are tried in the order below, the first one that matches
//! there wins, and scanning resumes after the match. A match is never looked at
//! again, so a placeholder can never end up inside another placeholder, and a
//! long message costs one pass, not one per kind.
//!
//! The order decides what a string that fits several kinds becomes: an email
//! contains a hostname, a URL contains hostnames, ips and ints; a UUID is made
//! of hex words; a timestamp is made of ints; `1.5s` is also a float. The most
//! specific kind therefore comes first:
//!
//! 1. `email`; 2. `url`; 3. `hostname`; 4. `ip` (v4 and v6); 5. `traceparent`
//!    (W3C and AWS X-Ray); 6. `uuid`; 7. `sha1`; 8. `md5`; 9. `date` (ISO 8601
//!    dates and timestamps, RFC 822/850/1123/3339, JavaScript `Date`, times of
//!    day, Python `datetime.datetime(...)`); 10. `duration`; 11. `size`;
//!    12. `swift_txn_id`; 13. `hex`; 14. `git_sha`; 15. `float`; 16. `int`;
//!    17. `value` (a PostgreSQL key tuple or failing row); 18. `quoted_str`;
//!    19. `bool`.
//!
//! Some spans are kept verbatim instead (checked after `email`, before `url`),
//! because they name *what* failed rather than carry a value:
//! - identifiers after a PostgreSQL object keyword: `relation "public.orders"`,
//!   `constraint "users_email_key"`, `column u.id`, `function observe.x(integer)`;
//! - standard names that look numeric: `utf-8`, `iso-8859-1`, `sha-256`,
//!   `HTTP/1.1`, `ed25519`, ...;
//! - HTTP status codes (`status code 404`, `HTTP 503`, `404 Not Found`).
//!
//! # Deliberate differences from Sentry, and why
//!
//! - Every kind needs a word boundary on both sides. Sentry lets dates, `1.5s`
//!   durations and negative floats start inside a word (`file_2024-01-01` →
//!   `file_<date>`, `v2s` → `v<duration>`) and lets dates and `true` end inside
//!   one (`2024-01-0123` → `<date>23`). That mangles identifiers, and it is not
//!   idempotent: `<date>23` normalizes again to `<date><int>`.
//! - All-digit numbers of any length are `<int>`. Sentry stops `<int>` at 7
//!   digits and lets the hex rule take 8 or more, so `order 9999999` and
//!   `order 10000000` became two issues. Numbers with thousands separators
//!   (`4,150,908`) are one `<int>`, and exponents belong to the float (`1.5e-10`).
//! - Durations also take `ns`/`us`/`µs`, minutes and hours, Go compounds
//!   (`1m30.5s`) and spelled-out units (`250 µs`, `30 seconds`, `5 min`), so
//!   one timeout message stays one issue whatever unit its formatter picked.
//!   Byte sizes (`10MB`, `512 KiB`, `100 bytes`) become `<size>`; Sentry keeps
//!   `10MB` as is.
//! - URLs take any scheme of letters, digits, `+` and `-` (`postgres://`,
//!   `redis://`, `chrome-extension://`), stop at quotes and angle brackets and
//!   drop trailing punctuation and unbalanced closing brackets, so
//!   `"https://x.io/a".` keeps its quotes and full stop. (Sentry's
//!   `tcp://user:pw@host:10` becomes `tcp://user:<email>:<int>`.)
//! - Hostnames take the longest dotted name ending in a known TLD (Sentry takes
//!   the shortest: `www.google.com.au` → `<hostname>.au`). TLDs that are also
//!   common property or file names (`id`, `at`, `info`, `app`, `rs`, ...) need
//!   two labels before them, so `user.id`, `logger.info` and `main.rs` survive
//!   while `api.example.app` does not. `dev` and `ai` are added to Sentry's
//!   top-100 list.
//! - Email local parts exclude `'`, `` ` ``, `=`, `/`, `{`, `|`, `}`: legal in
//!   RFC 5322 but delimiters in messages (`user=bob@x.io` → `user=<email>`,
//!   where Sentry swallows the key).
//! - IPv6 candidates must be real addresses (checked with the standard
//!   library's parser, as Sentry's newest `is_valid_ip` callback does), contain
//!   a digit, and not be followed by `(`, so `Fee::add()`, a bare `::` and
//!   `12:31:99` are not ips. A CIDR suffix belongs to the ip (`fc00::/7`).
//! - Quoted strings are also a value after `: ` when they end the line
//!   (`invalid input syntax for type integer: "abc"`), unless the line up to
//!   the colon is one token, a type name (`KeyError: 'user_id'`), where the
//!   quoted text names the failure. `=` must be right before a `true`/`false`
//!   or quoted value, as in Sentry.
//! - PostgreSQL key tuples and failing rows become `<value>`
//!   (`Key (email)=(<value>) already exists.`), whatever the type of the values.
//! - The kept spans above are new: Sentry turns `status code 404` and
//!   `status code 500` into one issue, and its own test suite lists
//!   `Encoding: utf-8` → `utf-<int>` as a known mistake.
//! - Only ASCII digits are numbers; word boundaries are Unicode-aware.
//!
//! # Cost
//!
//! One pass over the bytes; recognizers only run where their first character
//! can start a match, anything a recognizer scans past is bounded or never
//! rescanned, and a message with nothing to replace is returned borrowed.

mod network;
mod numbers;
mod postgres;
mod time;
mod words;

use std::borrow::Cow;

use network::is_email_local;
use numbers::is_bare_hex;
use words::STANDARD_NAMES;

/// Bytes scanned between checks for cancellation (`crate::interrupt`).
const INTERRUPT_EVERY: usize = 64 * 1024;

/// Replaces the variable parts of `message` with `<kind>` placeholders.
///
/// ```
/// use pg_observe_core::normalize::normalize_message;
/// assert_eq!(
///     normalize_message("Timeout after 3000ms for user 42"),
///     normalize_message("Timeout after 1500ms for user 7"),
/// );
/// ```
pub fn normalize_message(message: &str) -> Cow<'_, str> {
    let mut scanner = Scanner::new(message);
    let bytes = message.as_bytes();
    let mut out = String::new();
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    let mut after_match = true;
    let mut next_check = INTERRUPT_EVERY;
    while i < bytes.len() {
        if i >= next_check {
            crate::interrupt::check();
            next_check = i + INTERRUPT_EVERY;
        }
        match scanner.step(i, after_match) {
            Some(Step::Replace { start, end, kind }) => {
                let placeholder = kind.placeholder();
                // Re-normalizing an already normalized `<value>` finds the
                // placeholder itself; leaving it alone keeps the result borrowed.
                if &message[start..end] != placeholder {
                    if !changed {
                        out.reserve(message.len());
                        changed = true;
                    }
                    out.push_str(&message[copied..start]);
                    out.push_str(placeholder);
                    copied = end;
                }
                i = end;
                after_match = true;
            }
            Some(Step::Keep(end)) => {
                i = end;
                after_match = true;
            }
            None => {
                i += utf8_len(bytes[i]);
                after_match = false;
                // Inside an ASCII word nothing can start (`step` would say
                // so too, only slower): this is most of a message's bytes.
                while i < bytes.len() && is_ascii_word(bytes[i]) && is_ascii_word(bytes[i - 1]) {
                    i += 1;
                }
            }
        }
    }
    if changed {
        out.push_str(&message[copied..]);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Email,
    Url,
    Hostname,
    Ip,
    Traceparent,
    Uuid,
    Sha1,
    Md5,
    Date,
    Duration,
    Size,
    SwiftTxnId,
    Hex,
    GitSha,
    Float,
    Int,
    Value,
    QuotedStr,
    Bool,
}

impl Kind {
    const fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "<email>",
            Kind::Url => "<url>",
            Kind::Hostname => "<hostname>",
            Kind::Ip => "<ip>",
            Kind::Traceparent => "<traceparent>",
            Kind::Uuid => "<uuid>",
            Kind::Sha1 => "<sha1>",
            Kind::Md5 => "<md5>",
            Kind::Date => "<date>",
            Kind::Duration => "<duration>",
            Kind::Size => "<size>",
            Kind::SwiftTxnId => "<swift_txn_id>",
            Kind::Hex => "<hex>",
            Kind::GitSha => "<git_sha>",
            Kind::Float => "<float>",
            Kind::Int => "<int>",
            Kind::Value => "<value>",
            Kind::QuotedStr => "<quoted_str>",
            Kind::Bool => "<bool>",
        }
    }
}

enum Step {
    /// `message[start..end]` becomes the placeholder; `start` is past the
    /// scanning position only when an opening delimiter stays (`(<value>)`).
    Replace {
        start: usize,
        end: usize,
        kind: Kind,
    },
    /// `message[..end]` stays as it is and is not scanned again.
    Keep(usize),
}

/// What an ASCII-hex analysis of one word (a maximal run of word characters)
/// found; most whole-word kinds are decided from it alone.
struct Word {
    end: usize,
    /// Only `[0-9a-f]` (an all-digit word is both lower and upper).
    lower_hex: bool,
    upper_hex: bool,
    /// Only `[0-9a-fA-F]`, case mixed or not.
    any_hex: bool,
    digits: usize,
    hex_letters: usize,
}

impl Word {
    fn len(&self, start: usize) -> usize {
        self.end - start
    }
}

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    has_at: bool,
    has_dot: bool,
    has_colon: bool,
    has_scheme: bool,
    has_key_tuple: bool,
    has_failing_row: bool,
    /// End of the last run of local-part characters not followed by `@` and
    /// a domain: an email starting later in it would end the same way, and
    /// rescanning after every match inside the run would be quadratic.
    email_dead_until: usize,
    /// End of the last dotted run in which no label can end a hostname:
    /// later labels of the run cannot start one either (the labels that
    /// follow them are the same), and rescanning them would be quadratic on
    /// `a.a.a.a...`.
    host_dead_until: usize,
    /// `(from, end)`: the line containing every position in `from..end` ends at `end`.
    line: (usize, usize),
    /// `(line_end, position)` of the last `)` on that line.
    last_paren: (usize, Option<usize>),
    /// `(from, to, found)`: the first key-tuple end in `from..to`.
    key_end: (usize, usize, Option<usize>),
    /// `(from, found)`: the first `)` or newline at or after `from`.
    paren: (usize, usize),
}

impl<'a> Scanner<'a> {
    fn new(s: &'a str) -> Self {
        let b = s.as_bytes();
        let (mut has_at, mut has_dot, mut has_colon) = (false, false, false);
        for &c in b {
            match c {
                b'@' => has_at = true,
                b'.' => has_dot = true,
                b':' => has_colon = true,
                _ => {}
            }
        }
        Scanner {
            s,
            b,
            has_at,
            has_dot,
            has_colon,
            has_scheme: has_colon && s.contains("://"),
            has_key_tuple: s.contains("Key ("),
            has_failing_row: s.contains("Failing row contains ("),
            email_dead_until: 0,
            host_dead_until: 0,
            line: (0, 0),
            last_paren: (usize::MAX, None),
            key_end: (0, 0, None),
            paren: (usize::MAX, 0),
        }
    }

    /// The byte at `k`, or NUL past the end (NUL is in no character class
    /// used here, exactly like the end of the text).
    #[inline]
    fn at(&self, k: usize) -> u8 {
        self.b.get(k).copied().unwrap_or(0)
    }

    fn floor_char(&self, mut k: usize) -> usize {
        while !self.s.is_char_boundary(k) {
            k -= 1;
        }
        k
    }

    fn char_before(&self, i: usize) -> Option<char> {
        match i.checked_sub(1).map(|k| self.b[k]) {
            None => None,
            Some(c) if c < 0x80 => Some(c as char),
            Some(_) => self.s[..i].chars().next_back(),
        }
    }

    fn char_at(&self, i: usize) -> Option<char> {
        match self.b.get(i) {
            None => None,
            Some(&c) if c < 0x80 => Some(c as char),
            Some(_) => self.s[i..].chars().next(),
        }
    }

    /// True when no word character follows `k` (`\b` after a word character).
    fn word_ends(&self, k: usize) -> bool {
        !self.char_at(k).is_some_and(is_word)
    }

    fn line_end(&mut self, i: usize) -> usize {
        if !(self.line.0..self.line.1).contains(&i) {
            let end = self.b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.b.len(), |k| i + k);
            self.line = (i, end);
        }
        self.line.1
    }

    fn word(&self, i: usize) -> Word {
        let mut w = Word {
            end: i,
            lower_hex: true,
            upper_hex: true,
            any_hex: true,
            digits: 0,
            hex_letters: 0,
        };
        loop {
            let c = self.at(w.end);
            match c {
                b'0'..=b'9' => w.digits += 1,
                b'a'..=b'f' => {
                    w.upper_hex = false;
                    w.hex_letters += 1;
                }
                b'A'..=b'F' => {
                    w.lower_hex = false;
                    w.hex_letters += 1;
                }
                b'g'..=b'z' | b'G'..=b'Z' | b'_' => {
                    w.lower_hex = false;
                    w.upper_hex = false;
                    w.any_hex = false;
                }
                0x80.. => match self.char_at(w.end) {
                    Some(ch) if is_word(ch) => {
                        w.lower_hex = false;
                        w.upper_hex = false;
                        w.any_hex = false;
                        w.end += ch.len_utf8();
                        continue;
                    }
                    _ => break,
                },
                _ => break,
            }
            w.end += 1;
        }
        w
    }

    fn literal(&self, i: usize, lit: &str) -> Option<usize> {
        self.b[i..]
            .starts_with(lit.as_bytes())
            .then_some(i + lit.len())
    }

    fn step(&mut self, i: usize, after_match: bool) -> Option<Step> {
        let c = self.b[i];
        if c >= 0x80 {
            return None;
        }
        let prev = self.char_before(i);
        let word_start = !prev.is_some_and(is_word);

        // Email goes first and starts where a run of local-part characters
        // starts; inside a run the answer cannot change, so it is asked once.
        if self.has_at
            && is_email_local(c)
            && (after_match || i == 0 || !is_email_local(self.b[i - 1]))
        {
            if let Some(end) = self.email(i) {
                return replace(i, end, Kind::Email);
            }
        }
        if let Some(end) = self.keep(i, c, prev, word_start) {
            return Some(Step::Keep(end));
        }
        match c {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' if word_start => self.word_kinds(i, c, prev),
            b'-' if word_start => self.negative(i),
            // `>` counts as a word here: after a first pass, `2024-01-15::a1`
            // reads `<date>::a1`, and `::a1` must not become an address then.
            b':' if self.has_colon && word_start && prev != Some('>') => {
                self.ip_v6(i).map(|e| Step::Replace {
                    start: i,
                    end: e,
                    kind: Kind::Ip,
                })
            }
            b'(' => self.value(i),
            b'"' | b'\'' => self.quoted(i, c, prev),
            _ => None,
        }
    }

    /// Everything that can start at the first character of a word, in order.
    fn word_kinds(&mut self, i: usize, c: u8, prev: Option<char>) -> Option<Step> {
        if self.has_scheme && c.is_ascii_alphabetic() {
            if let Some(end) = self.url(i) {
                return replace(i, end, Kind::Url);
            }
        }
        if self.has_dot && i >= self.host_dead_until {
            if let Some(end) = self.hostname(i) {
                return replace(i, end, Kind::Hostname);
            }
        }
        if self.has_colon && c.is_ascii_hexdigit() {
            if let Some(end) = self.ip_v6(i) {
                return replace(i, end, Kind::Ip);
            }
        }
        if self.has_dot && c.is_ascii_digit() {
            if let Some(end) = self.ip_v4(i) {
                return replace(i, end, Kind::Ip);
            }
        }
        if let Some(end) = self.traceparent(i, c) {
            return replace(i, end, Kind::Traceparent);
        }
        let w = self.word(i);
        let len = w.len(i);
        if len == 8 && w.any_hex {
            if let Some(end) = self.uuid(i) {
                return replace(i, end, Kind::Uuid);
            }
        }
        if w.any_hex && len == 40 {
            return replace(i, w.end, Kind::Sha1);
        }
        if w.any_hex && len == 32 {
            return replace(i, w.end, Kind::Md5);
        }
        if let Some(end) = self.date(i, c) {
            return replace(i, end, Kind::Date);
        }
        if c.is_ascii_digit() {
            if let Some(end) = self.duration(i) {
                return replace(i, end, Kind::Duration);
            }
            if let Some(end) = self.size(i) {
                return replace(i, end, Kind::Size);
            }
        }
        if c == b't' {
            if let Some(end) = self.swift_txn_id(i) {
                return replace(i, end, Kind::SwiftTxnId);
            }
        }
        if self.is_prefixed_hex(i, &w) || is_bare_hex(&w, len) {
            return replace(i, w.end, Kind::Hex);
        }
        if len == 7 && w.lower_hex && w.digits > 0 && w.hex_letters > 0 {
            return replace(i, w.end, Kind::GitSha);
        }
        if c.is_ascii_digit() {
            if let Some((end, kind)) = self.number(i) {
                return replace(i, end, kind);
            }
        }
        if prev == Some('=') && matches!(&self.s[i..w.end], "true" | "True" | "false" | "False") {
            return replace(i, w.end, Kind::Bool);
        }
        None
    }

    /// Spans that stay verbatim because they name what failed.
    fn keep(&mut self, i: usize, c: u8, prev: Option<char>, word_start: bool) -> Option<usize> {
        if prev == Some(' ')
            && (matches!(c, b'"' | b'\'' | b'`') || c.is_ascii_alphabetic() || c == b'_')
        {
            if let Some(context) = self.object_keyword_before(i - 1) {
                if let Some(end) = self.identifier(i, c, context) {
                    return Some(end);
                }
            }
        }
        if !word_start {
            return None;
        }
        if matches!(
            c.to_ascii_lowercase(),
            b'u' | b'i' | b'w' | b'l' | b's' | b'a' | b'p' | b'h' | b'e'
        ) {
            let w = self.word(i);
            if matches!(self.at(w.end), b'-' | b'/') || self.b[i..].starts_with(b"ed") {
                if let Some(m) = STANDARD_NAMES.find(&self.s[i..]) {
                    return Some(i + m.end());
                }
            }
        }
        if matches!(c, b'1'..=b'5') {
            return self.http_status(i);
        }
        None
    }
}

fn replace(start: usize, end: usize, kind: Kind) -> Option<Step> {
    Some(Step::Replace { start, end, kind })
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

fn is_ascii_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
