//! IPv4 and IPv6 addresses (opt-in: they identify users, but many teams
//! need them to debug). The regexes only find candidates; the standard
//! library's parsers decide, which rejects `999.1.1.1`, timestamps such as
//! `12:30:45` and MAC addresses without a hand-written grammar.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::splice::Edits;
use super::IP_MARKER;
use crate::interrupt;

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}").expect("IPv4 pattern must compile")
});

/// Up to eight groups, any of them empty for `::`, optionally ending in a
/// dotted IPv4 (`::ffff:10.0.0.1`).
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?")
        .expect("IPv6 pattern must compile")
});

/// Must run before `ipv4_addresses`, or the IPv4 tail of a mapped address
/// would be replaced alone, leaving `::ffff:[ip]`.
///
/// A candidate without a decimal digit is skipped: `Add::add` and `dead::beef`
/// parse as IPv6 but are Rust paths, while real addresses almost always
/// contain a digit.
pub(super) fn ipv6_addresses(text: &str, edits: &mut Edits) {
    if text.bytes().filter(|&b| b == b':').nth(1).is_none() {
        return;
    }
    for found in IPV6.find_iter(text) {
        interrupt::check();
        let candidate = found.as_str();
        if is_standalone(text, found.range(), b':')
            && candidate.bytes().any(|b| b.is_ascii_digit())
            && candidate.parse::<Ipv6Addr>().is_ok()
        {
            edits.replace(found.range(), IP_MARKER);
        }
    }
}

pub(super) fn ipv4_addresses(text: &str, edits: &mut Edits) {
    if !text.contains('.') {
        return;
    }
    for found in IPV4.find_iter(text) {
        interrupt::check();
        if is_standalone(text, found.range(), b'.') && found.as_str().parse::<Ipv4Addr>().is_ok() {
            edits.replace(found.range(), IP_MARKER);
        }
    }
}

/// Rejects candidates that are part of a longer token: versions such as
/// `v1.2.3.4` or `1.2.3.4.5`, hex words, or the middle of a longer
/// colon-separated value. `joiner` is the family's own separator; the other
/// one may touch an address (`10.0.0.1:5432`).
fn is_standalone(text: &str, range: Range<usize>, joiner: u8) -> bool {
    let bytes = text.as_bytes();
    let joins = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == joiner;
    let before_ok = range.start == 0 || {
        let b = bytes[range.start - 1];
        !joins(b) && b != b'.'
    };
    let after_ok = match bytes.get(range.end) {
        None => true,
        Some(&b'.') => !bytes.get(range.end + 1).is_some_and(u8::is_ascii_digit),
        Some(&b) => !joins(b),
    };
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let mut edits = Edits::default();
        ipv6_addresses(text, &mut edits);
        let text = edits.apply(text).unwrap_or_else(|| text.to_string());
        let mut edits = Edits::default();
        ipv4_addresses(&text, &mut edits);
        edits.apply(&text).unwrap_or(text)
    }

    #[test]
    fn addresses_become_markers() {
        let cases = [
            (
                "connection from 203.0.113.42 refused",
                "connection from [ip] refused",
            ),
            (
                "connect ECONNREFUSED 127.0.0.1:5432",
                "connect ECONNREFUSED [ip]:5432",
            ),
            (
                "client=10.0.0.1, proxy=192.168.1.254.",
                "client=[ip], proxy=[ip].",
            ),
            (
                "X-Forwarded-For: 2001:db8:85a3::8a2e:370:7334",
                "X-Forwarded-For: [ip]",
            ),
            ("listen [::1]:8080", "listen [[ip]]:8080"),
            ("peer fe80::1%eth0", "peer [ip]%eth0"),
            ("mapped ::ffff:192.0.2.128 ok", "mapped [ip] ok"),
            ("full 2001:0db8:0000:0000:0000:ff00:0042:8329", "full [ip]"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn lookalikes_survive() {
        for text in [
            "version v1.2.3.4",
            "oid 1.2.3.4.5",
            "bad 999.1.1.1",
            "at 2024-01-01T12:30:45.123Z",
            "mac 00:1A:2B:3C:4D:5E",
            "in core::ops::Add::add",
            "dead::beef",
            "std::fmt::Display",
            "ratio 1:2:3",
        ] {
            assert_eq!(run(text), text);
        }
    }
}
