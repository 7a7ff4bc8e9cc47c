//! The word tables the recognizers match against.

use std::sync::LazyLock;

use regex::Regex;

/// Checked in this order; a unit only counts when a word ends right after it.
pub(super) const DURATION_WORDS: &[&str] = &[
    "nanoseconds",
    "nanosecond",
    "microseconds",
    "microsecond",
    "milliseconds",
    "millisecond",
    "millis",
    "msecs",
    "msec",
    "seconds",
    "second",
    "secs",
    "sec",
    "minutes",
    "minute",
    "mins",
    "min",
    "hours",
    "hour",
    "hrs",
    "hr",
    "days",
    "day",
    "weeks",
    "week",
];

/// Symbols that still read as a duration after a space (`250 µs`); `s`,
/// `m` and `h` alone after a space are too often something else.
pub(super) const SPACED_SYMBOLS: &[&str] = &["ms", "ns", "µs", "μs"];

/// Longest first, so `ms` is not read as minutes followed by `s`.
pub(super) const DURATION_SYMBOLS: &[&str] = &["ms", "ns", "us", "µs", "μs", "s", "m", "h"];

/// What PostgreSQL writes after the closing parenthesis of a key tuple.
pub(super) const KEY_TUPLE_ENDINGS: &[&str] = &[
    " already exists",
    " is not present in table",
    " is still referenced from table",
    " conflicts with existing key",
    " conflicts with key",
    " is duplicated",
];

/// What may precede a status code, as a whole word, ignoring case.
pub(super) const HTTP_STATUS_LEADS: &[&str] = &[
    "status",
    "statuscode",
    "status_code",
    "status code",
    "http",
    "http/1.0",
    "http/1.1",
    "http/2",
    "http/3",
    "http error",
    "http status",
];

pub(super) const REASON_PHRASES: &[&str] = &[
    "Bad Request",
    "Unauthorized",
    "Payment Required",
    "Forbidden",
    "Not Found",
    "Method Not Allowed",
    "Not Acceptable",
    "Request Timeout",
    "Conflict",
    "Gone",
    "Precondition Failed",
    "Payload Too Large",
    "Unsupported Media Type",
    "Unprocessable Entity",
    "Unprocessable Content",
    "Too Many Requests",
    "Internal Server Error",
    "Not Implemented",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
];

pub(super) const DATE_NAME_PREFIXES: &[&[u8]] = &[
    b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Jan", b"Feb", b"Mar", b"Apr", b"May",
    b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Names of standards whose digits are part of the name, not a value.
pub(super) static STANDARD_NAMES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?i:utf-(?:8|16|32)(?:le|be)?|iso-8859-[0-9]{1,2}|windows-125[0-8]|latin-1|ucs-[24]|sha3?-(?:1|224|256|384|512)|aes-(?:128|192|256)|p-(?:256|384|521)|http/(?:1\.[01]|2(?:\.0)?|3)|ed25519|ed448)\b{end-half}",
    )
    .expect("standard names pattern compiles")
});
