//! Payment card numbers: 13–19 digits, contiguous or grouped by single
//! spaces or dashes, accepted only when the Luhn checksum holds *and* the
//! number lies in a card network's issuer range with that network's length.
//! Luhn alone passes one id or timestamp in ten; epoch milliseconds and
//! microseconds start with 1, which no network issues.
//!
//! A hand-written scanner instead of a regex: a run such as
//! `4111 1111 1111 1111 4242 4242 4242 4242` holds two cards, and finding both
//! needs windows over the run's digit groups, which a single leftmost regex
//! match cannot express.

use std::ops::Range;

use super::splice::Edits;
use super::CARD_MARKER;
use crate::interrupt;

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;
/// Printed cards group by 4 (4-4-4-4, 4-6-5, 4-4-4-4-3); requiring at least
/// this many digits in every group but the last keeps lists of small numbers
/// ("1 2 3 4 …") from adding up to a card.
const MIN_INNER_GROUP: usize = 4;

/// Luhn checksum over the digits of `digits`, ignoring the space and dash
/// separators cards are written with. Anything else, or no digit at all,
/// makes it invalid.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    let mut count = 0usize;
    for b in digits.bytes().rev() {
        match b {
            b'0'..=b'9' => {
                let mut digit = u32::from(b - b'0');
                if count % 2 == 1 {
                    digit *= 2;
                    if digit > 9 {
                        digit -= 9;
                    }
                }
                // Reduced at every step so arbitrarily long input cannot overflow.
                sum = (sum + digit) % 10;
                count += 1;
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    count > 0 && sum == 0
}

/// Issuer identification ranges and lengths of the networks in circulation
/// (Visa, Mastercard, Amex, Discover, UnionPay, JCB, Diners, Maestro, Mir).
fn plausible_issuer(digits: &[u8]) -> bool {
    let prefix = |n: usize| -> u32 {
        digits[..n.min(digits.len())]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let len = digits.len();
    match digits.first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        Some(b'5') => (13..=19).contains(&len),
        Some(b'6') => (13..=19).contains(&len),
        Some(b'3') => match prefix(2) {
            34 | 37 => len == 15,
            30 | 36 | 38 | 39 => (14..=19).contains(&len),
            35 => (16..=19).contains(&len) && (3528..=3589).contains(&prefix(4)),
            _ => false,
        },
        Some(b'2') => {
            let p4 = prefix(4);
            ((2221..=2720).contains(&p4) && len == 16)
                || ((2200..=2204).contains(&p4) && (16..=19).contains(&len))
        }
        _ => false,
    }
}

pub(super) fn cards(text: &str, edits: &mut Edits) {
    let bytes = text.as_bytes();
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        interrupt::check();
        groups.clear();
        loop {
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            groups.push(start..at);
            let separated = matches!(bytes.get(at), Some(b' ' | b'-'))
                && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
            if !separated {
                break;
            }
            at += 1;
        }
        cards_in_run(text, &groups, edits);
    }
}

fn is_card(candidate: &str) -> bool {
    let digits: Vec<u8> = candidate.bytes().filter(u8::is_ascii_digit).collect();
    plausible_issuer(&digits) && luhn_valid(candidate)
}

/// Tries, from each group, the longest window of whole groups first, so a
/// grouped card is replaced as one piece rather than leaving its tail.
fn cards_in_run(text: &str, groups: &[Range<usize>], edits: &mut Edits) {
    let mut first = 0;
    'starts: while first < groups.len() {
        let mut last = first;
        let mut digits = groups[first].len();
        while let Some(next) = groups.get(last + 1) {
            if groups[last].len() < MIN_INNER_GROUP || digits + next.len() > MAX_DIGITS {
                break;
            }
            last += 1;
            digits += next.len();
        }
        loop {
            let span = groups[first].start..groups[last].end;
            if (MIN_DIGITS..=MAX_DIGITS).contains(&digits) && is_card(&text[span.clone()]) {
                edits.replace(span, CARD_MARKER);
                first = last + 1;
                continue 'starts;
            }
            if last == first {
                break;
            }
            digits -= groups[last].len();
            last -= 1;
        }
        first += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let mut edits = Edits::default();
        cards(text, &mut edits);
        edits.apply(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn luhn_table() {
        let cases = [
            ("4242424242424242", true),
            ("4242 4242 4242 4242", true),
            ("4111-1111-1111-1111", true),
            ("378282246310005", true),
            ("5555555555554444", true),
            ("6011111111111117", true),
            ("4242424242424241", false),
            ("1234567812345678", false),
            ("0", true),
            ("", false),
            ("--", false),
            ("4242x4242", false),
        ];
        for (digits, valid) in cases {
            assert_eq!(luhn_valid(digits), valid, "{digits:?}");
        }
    }

    #[test]
    fn luhn_valid_cards_become_markers() {
        let cases = [
            (
                "charge failed for card 4242 4242 4242 4242 (declined)",
                "charge failed for card [card] (declined)",
            ),
            ("pan=4111-1111-1111-1111;", "pan=[card];"),
            ("amex 378282246310005 expired", "amex [card] expired"),
            ("mc:5555555555554444", "mc:[card]"),
            ("amex grouped 3782 822463 10005", "amex grouped [card]"),
            ("order_4242424242424242_retry", "order_[card]_retry"),
            ("4111 1111 1111 1111 4242 4242 4242 4242", "[card] [card]"),
            ("qty 3 card 4242424242424242", "qty 3 card [card]"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input), expected, "{input}");
        }
    }

    #[test]
    fn other_numbers_survive() {
        for text in [
            "order 4242424242424241 not found",
            "invoice 1234-5678-9012-3456",
            "ids 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6",
            "digits 42424242424242424242424242",
            "at 2024-01-01 12:30:45",
            "call +1-415-555-1234",
            "short 424242424242",
        ] {
            assert_eq!(run(text), text);
        }
    }

    #[test]
    fn luhn_valid_numbers_no_network_issues_survive() {
        // Each of these passes Luhn; none is in an issuer range at its length.
        for text in [
            "job started at 1732540000004 ms",
            "ts_us=1732540000000008",
            "tenant 9000000000000001",
            "amex-prefix 34000000000000 is too short",
            "visa-length 42424242424242426 wrong",
        ] {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            assert!(luhn_valid(&digits), "fixture must pass Luhn: {digits}");
            assert_eq!(run(text), text);
        }
    }

    #[test]
    fn every_network_is_recognised() {
        for card in [
            "4012888888881881", // Visa
            "4222222222222",    // Visa, 13 digits
            "2223003122003222", // Mastercard 2-series
            "371449635398431",  // Amex
            "6011000990139424", // Discover
            "3530111333300000", // JCB
            "36227206271667",   // Diners
            "6200000000000005", // UnionPay
            "2200000000000004", // Mir
        ] {
            assert!(luhn_valid(card), "{card}");
            assert_eq!(run(card), "[card]", "{card}");
        }
    }
}
