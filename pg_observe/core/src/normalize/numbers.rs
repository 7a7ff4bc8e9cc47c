//! Numbers (ints, floats, sizes) and ids (traceparents, UUIDs, Swift
//! transaction ids, hex); `sha1`, `md5` and `git_sha` are decided from the
//! word analysis alone, in `word_kinds`.

use super::{replace, Kind, Scanner, Step, Word};

impl Scanner<'_> {
    /// A minus sign not glued to a word (`-42`, but not `maisey-908`).
    pub(super) fn negative(&mut self, i: usize) -> Option<Step> {
        let first = self.at(i + 1);
        if !first.is_ascii_alphanumeric() {
            return None;
        }
        let w = self.word(i + 1);
        if is_bare_hex(&w, w.len(i + 1)) {
            return replace(i, w.end, Kind::Hex);
        }
        if first.is_ascii_digit() {
            if let Some((end, kind)) = self.number(i + 1) {
                return replace(i, end, kind);
            }
        }
        None
    }

    pub(super) fn traceparent(&self, i: usize, c: u8) -> Option<usize> {
        let end = match c {
            b'0' => {
                let mut j = self.literal(i, "00-")?;
                j = self.lower_hex_exact(j, 32)?;
                j = self.literal(j, "-")?;
                j = self.lower_hex_exact(j, 16)?;
                j = self.literal(j, "-0")?;
                matches!(self.at(j), b'0' | b'1').then_some(j + 1)?
            }
            b'1' => {
                let mut j = self.literal(i, "1-")?;
                j = self.lower_hex_exact(j, 8)?;
                j = self.literal(j, "-")?;
                self.lower_hex_exact(j, 24)?
            }
            _ => return None,
        };
        self.word_ends(end).then_some(end)
    }

    fn lower_hex_exact(&self, i: usize, n: usize) -> Option<usize> {
        let run = self.b.get(i..i + n)?;
        run.iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            .then_some(i + n)
    }

    pub(super) fn uuid(&self, i: usize) -> Option<usize> {
        let mut j = i;
        for (k, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if k > 0 {
                j = self.literal(j, "-")?;
            }
            let run = self.b.get(j..j + n)?;
            if !run.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            j += n;
        }
        self.word_ends(j).then_some(j)
    }

    /// `\d+(\.\d+)?`, ASCII only.
    pub(super) fn decimal(&self, i: usize) -> Option<usize> {
        let mut j = i;
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        if j == i {
            return None;
        }
        if self.at(j) == b'.' && self.at(j + 1).is_ascii_digit() {
            j += 1;
            while self.at(j).is_ascii_digit() {
                j += 1;
            }
        }
        Some(j)
    }

    pub(super) fn size(&self, i: usize) -> Option<usize> {
        let number = self.decimal(i)?;
        if !self.unit_follows(number) {
            return None;
        }
        for gap in [0, 1] {
            let k = number + gap;
            if gap == 1 && self.at(number) != b' ' {
                break;
            }
            if let Some(end) = self.unit_at(k, "bytes").or_else(|| self.unit_at(k, "byte")) {
                return Some(end);
            }
            let mut j = k;
            if matches!(
                self.at(j),
                b'k' | b'K' | b'm' | b'M' | b'g' | b'G' | b't' | b'T' | b'p' | b'P' | b'e' | b'E'
            ) {
                j += 1;
                if self.at(j) == b'i' {
                    j += 1;
                }
            } else if gap == 1 {
                // A lone `B` after a space is more often a letter than a unit.
                continue;
            }
            if matches!(self.at(j), b'b' | b'B') && self.word_ends(j + 1) {
                return Some(j + 1);
            }
        }
        None
    }

    pub(super) fn swift_txn_id(&self, i: usize) -> Option<usize> {
        let mut j = self.literal(i, "tx")?;
        j = self.lower_hex_exact(j, 21)?;
        j = self.literal(j, "-")?;
        j = self.lower_hex_exact(j, 10)?;
        while let Some(ch) = self.char_at(j) {
            if ch.is_whitespace() {
                break;
            }
            j += ch.len_utf8();
        }
        Some(j)
    }

    pub(super) fn is_prefixed_hex(&self, i: usize, w: &Word) -> bool {
        w.len(i) > 2
            && self.b[i] == b'0'
            && matches!(self.b[i + 1], b'x' | b'X')
            && self.b[i + 2..w.end].iter().all(u8::is_ascii_hexdigit)
    }

    /// An int or float starting at the digit `i`; the longest reading whose
    /// end is a word boundary wins, down to Sentry's plain `\d+`.
    pub(super) fn number(&self, i: usize) -> Option<(usize, Kind)> {
        let mut digits = i;
        while self.at(digits).is_ascii_digit() {
            digits += 1;
        }
        let mut grouped = digits;
        if digits - i <= 3 {
            while self.at(grouped) == b','
                && self
                    .b
                    .get(grouped + 1..grouped + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !self.at(grouped + 4).is_ascii_digit()
            {
                grouped += 4;
            }
        }
        for int_end in [grouped, digits] {
            let mut candidates = [None; 3];
            if self.at(int_end) == b'.' && self.at(int_end + 1).is_ascii_digit() {
                let mut frac = int_end + 1;
                while self.at(frac).is_ascii_digit() {
                    frac += 1;
                }
                candidates[0] = self.exponent(frac).map(|e| (e, Kind::Float));
                candidates[1] = Some((frac, Kind::Float));
            }
            candidates[2] = Some((int_end, Kind::Int));
            if let Some(found) = candidates
                .into_iter()
                .flatten()
                .find(|&(end, _)| self.word_ends(end))
            {
                return Some(found);
            }
        }
        None
    }

    fn exponent(&self, i: usize) -> Option<usize> {
        if !matches!(self.at(i), b'e' | b'E') {
            return None;
        }
        let mut j = i + 1;
        if matches!(self.at(j), b'+' | b'-') {
            j += 1;
        }
        let digits = j;
        while self.at(j).is_ascii_digit() {
            j += 1;
        }
        (j > digits).then_some(j)
    }
}

/// Sentry's unprefixed hex: one letter case, 4 to 6 characters with both a
/// letter and a digit, or 8 to 128 characters; all-digit words are ints here.
pub(super) fn is_bare_hex(w: &Word, len: usize) -> bool {
    (w.lower_hex || w.upper_hex)
        && w.hex_letters > 0
        && ((4..=6).contains(&len) && w.digits > 0 || (8..=128).contains(&len))
}
