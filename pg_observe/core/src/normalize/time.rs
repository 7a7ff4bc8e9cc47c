//! Dates, times of day and durations: their regexes and their units.

use std::sync::LazyLock;

use regex::Regex;

use super::words::{DATE_NAME_PREFIXES, DURATION_SYMBOLS, DURATION_WORDS, SPACED_SYMBOLS};
use super::Scanner;

impl Scanner<'_> {
    pub(super) fn date(&mut self, i: usize, c: u8) -> Option<usize> {
        // A date closed by `)` must not touch what follows; once that is a
        // placeholder (`<`), it must still count as touching.
        self.any_date(i, c)
            .filter(|&end| !(self.b[end - 1] == b')' && self.at(end) == b'<'))
    }

    fn any_date(&mut self, i: usize, c: u8) -> Option<usize> {
        let rest = &self.s[i..];
        let digits = self.b[i..]
            .iter()
            .take(4)
            .take_while(|d| d.is_ascii_digit())
            .count();
        if c.is_ascii_digit() {
            // Cheap shape checks first: the regexes cost more than the scan.
            if digits == 4 {
                if let Some(m) = DATE_NUMERIC.find(rest) {
                    return Some(i + m.end());
                }
            }
            if let Some(end) = self.time_of_day(i) {
                return Some(end);
            }
            let late = match digits {
                4 => self.at(i + 4) == b'-',
                1 | 2 => self.at(i + digits) == b':' || self.at(i + digits).is_ascii_whitespace(),
                _ => false,
            };
            return late
                .then(|| DATE_NUMERIC_LATE.find(rest))
                .flatten()
                .map(|m| i + m.end());
        }
        if rest.starts_with("datetime.datetime(") {
            // Python's repr, Sentry's `datetime.datetime\(.*?\)`.
            let close = self.next_paren(i + 18);
            return (self.at(close) == b')' && self.word_ends(close + 1)).then_some(close + 1);
        }
        let named = self.b[i..]
            .get(..3)
            .is_some_and(|p| DATE_NAME_PREFIXES.contains(&p));
        named
            .then(|| DATE_NAMED.find(rest))
            .flatten()
            .map(|m| i + m.end())
    }

    /// The first `)` or line end at or after `i`.
    fn next_paren(&mut self, i: usize) -> usize {
        let (from, found) = self.paren;
        if i < from || i > found {
            let found = self.b[i..]
                .iter()
                .position(|&c| c == b')' || c == b'\n')
                .map_or(self.b.len(), |k| i + k);
            self.paren = (i, found);
        }
        self.paren.1
    }

    /// Sentry's "kitchen" times (`9:08`, `11:21:12 PM`, `23:21`). Its
    /// lookahead `(?![\d:])` after the minutes or seconds is checked by hand;
    /// a word boundary is required on top so `10:30abc` is not half a time.
    fn time_of_day(&self, i: usize) -> Option<usize> {
        let hour_len = if self.at(i + 1) == b':' { 1 } else { 2 };
        if !self.at(i + hour_len - 1).is_ascii_digit() || self.at(i + hour_len) != b':' {
            return None;
        }
        let (h0, h1) = (self.b[i], self.at(i + 1));
        let twelve = (hour_len == 1 && h0 != b'0') || (hour_len == 2 && h0 == b'1' && h1 <= b'2');
        let twenty_four = hour_len == 1 || h0 <= b'1' || (h0 == b'2' && h1 <= b'3');
        if !twenty_four {
            return None;
        }
        let minutes = i + hour_len + 1;
        let mut end = self.two_digits_below_60(minutes)?;
        if self.at(end) == b':' {
            if let Some(e) = self.two_digits_below_60(end + 1) {
                end = e;
            }
        }
        if self.at(end).is_ascii_digit() || self.at(end) == b':' {
            return None;
        }
        if twelve {
            let k = if matches!(self.at(end), b' ' | b'\t') {
                end + 1
            } else {
                end
            };
            if matches!(self.at(k), b'a' | b'A' | b'p' | b'P')
                && matches!(self.at(k + 1), b'm' | b'M')
                && self.word_ends(k + 2)
            {
                return Some(k + 2);
            }
        }
        self.word_ends(end).then_some(end)
    }

    fn two_digits_below_60(&self, i: usize) -> Option<usize> {
        (matches!(self.at(i), b'0'..=b'5') && self.at(i + 1).is_ascii_digit()).then_some(i + 2)
    }

    pub(super) fn duration(&self, i: usize) -> Option<usize> {
        let number = self.decimal(i)?;
        if !self.unit_follows(number) {
            return None;
        }
        for gap in [0, 1] {
            let k = number + gap;
            if gap == 1 && self.at(number) != b' ' {
                break;
            }
            let words = DURATION_WORDS
                .iter()
                .chain(if gap == 1 { SPACED_SYMBOLS } else { &[] });
            for unit in words {
                if let Some(end) = self.unit_at(k, unit) {
                    return Some(end);
                }
            }
        }
        // Symbols without a space, chained Go-style (`1h2m3.5s`).
        let mut end = self.symbol_unit(number)?;
        while let Some(next) = self.decimal(end).and_then(|n| self.symbol_unit(n)) {
            end = next;
        }
        self.word_ends(end).then_some(end)
    }

    /// Whether a unit can start right after the number ending at `i`, or
    /// after one space.
    pub(super) fn unit_follows(&self, i: usize) -> bool {
        starts_unit(self.at(i)) || (self.at(i) == b' ' && starts_unit(self.at(i + 1)))
    }

    fn symbol_unit(&self, i: usize) -> Option<usize> {
        DURATION_SYMBOLS
            .iter()
            .find(|u| self.b[i..].starts_with(u.as_bytes()))
            .map(|u| i + u.len())
    }

    /// `unit` at `i`, ASCII case-insensitively, followed by a word end.
    pub(super) fn unit_at(&self, i: usize, unit: &str) -> Option<usize> {
        let end = i + unit.len();
        let candidate = self.b.get(i..end)?;
        (candidate.eq_ignore_ascii_case(unit.as_bytes()) && self.word_ends(end)).then_some(end)
    }
}

/// Whether a unit (of time or size) can start with this byte: a letter, or
/// the lead byte of `µ`/`μ`.
fn starts_unit(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == 0xC2 || c == 0xCE
}

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const WEEKDAY: &str = "(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)";
const ZONE: &str = "(?:[-+][0-9]{2}[0-5][0-9]|UT|GMT|[ECMP][SD]T|[A-IK-Z])";

fn anchored(alternatives: &[String]) -> Regex {
    // `\b{end-half}` is the word boundary Sentry's patterns lack at the end:
    // no date may stop in the middle of a word.
    Regex::new(&format!(r"^(?:{})\b{{end-half}}", alternatives.join("|")))
        .expect("date pattern compiles")
}

/// Date alternatives that start with a digit and come before the time of
/// day in Sentry's order (RFC 3339, then datetimes with and without offset).
static DATE_NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    let ymd = "[0-9]{4}-?[01][0-9]-?[0-3][0-9][\\sT][0-2][0-9]:?[0-5][0-9]";
    let sec = ":?[0-5][0-9]";
    let off = "(?:[-+][0-2][0-9]:?[0-5][0-9]|Z)";
    anchored(&[
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z?(?:[-+]?[0-9]{2}:[0-9]{2})?".into(),
        format!(r"{ymd}{sec}\.[0-9]+{off}"),
        format!("{ymd}{sec}{off}"),
        format!("{ymd}{off}"),
        format!(r"{ymd}{sec}\.[0-9]+"),
        format!("{ymd}{sec}"),
        ymd.into(),
    ])
});

/// Digit-first date alternatives that come after the time of day.
static DATE_NUMERIC_LATE: LazyLock<Regex> = LazyLock::new(|| {
    anchored(&[
        "[0-9]{4}-[01][0-9]-[0-3][0-9]".into(),
        "[0-2][0-9]:[0-5][0-9]:[0-5][0-9]".into(),
        format!(
            r"(?:0[1-9]|[1-2]?[0-9]|3[01])\s+{MONTH}\s+(?:19[0-9]{{2}}|[2-9][0-9]{{3}})\s+(?:2[0-3]|[0-1][0-9]):[0-5][0-9](?::(?:60|[0-5][0-9]))?\s+{ZONE}"
        ),
    ])
});

/// Date alternatives that start with a weekday or a month.
static DATE_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    let long_day =
        "(?:Sun|Sunday|Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday)";
    anchored(&[
        format!(
            r"{WEEKDAY},\s[0-9]{{1,2}}\s{MONTH}\s[0-9]{{2,4}}\s[0-9]{{1,2}}:[0-9]{{1,2}}(?::[0-9]{{1,2}})?\s{ZONE}"
        ),
        format!(r"(?:{WEEKDAY}\s)?{MONTH}\s[0-3][0-9],\s[0-9]{{2,4}}"),
        format!(
            r"{long_day},\s[0-9]{{2}}-{MONTH}-[0-9]{{2}}\s[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\s{ZONE}"
        ),
        format!(
            r"{WEEKDAY}\s{MONTH}\s[0-9]{{2}}\s[0-9]{{4}}\s[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\sGMT[-+][0-9]{{4}}(?:\s\([^)\n]{{1,64}}\))?"
        ),
        format!(
            r"(?:{WEEKDAY}\s+)?{MONTH}\s+[0-9]{{1,2}}\s+[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}\s+[0-9]{{4}}"
        ),
        format!(
            r"{WEEKDAY},\s+(?:0[1-9]|[1-2]?[0-9]|3[01])\s+{MONTH}\s+(?:19[0-9]{{2}}|[2-9][0-9]{{3}})\s+(?:2[0-3]|[0-1][0-9]):[0-5][0-9](?::(?:60|[0-5][0-9]))?\s+{ZONE}"
        ),
    ])
});
