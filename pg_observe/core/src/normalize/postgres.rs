//! PostgreSQL-shaped text: identifiers after object keywords and HTTP status
//! codes (kept), key tuples and failing rows (`<value>`), quoted values
//! (`<quoted_str>`).

use super::words::{HTTP_STATUS_LEADS, KEY_TUPLE_ENDINGS, REASON_PHRASES};
use super::{is_word, replace, Kind, Scanner, Step};

/// Which identifiers a PostgreSQL object keyword protects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum IdentContext {
    /// Only a quoted name: after `server` or `domain` an unquoted word is as
    /// likely to be a host as an object name.
    Quoted,
    /// A quoted or unquoted (possibly schema-qualified) name.
    Named,
    /// Like `Named`, plus the argument list that follows a routine's name.
    Routine,
}

impl Scanner<'_> {
    /// The PostgreSQL object keyword (a whole word) ending right before the
    /// space at `space`, if any.
    pub(super) fn object_keyword_before(&self, space: usize) -> Option<IdentContext> {
        let mut start = space;
        while start > 0 && self.b[start - 1].is_ascii_alphabetic() && space - start <= 12 {
            start -= 1;
        }
        let len = space - start;
        if len == 0
            || len > 12
            || start > 0 && (self.b[start - 1] >= 0x80 || is_word(self.b[start - 1] as char))
        {
            return None;
        }
        let mut buf = [0u8; 12];
        for (d, s) in buf.iter_mut().zip(&self.b[start..space]) {
            *d = s.to_ascii_lowercase();
        }
        match &buf[..len] {
            b"function" | b"procedure" | b"aggregate" | b"routine" => Some(IdentContext::Routine),
            b"relation" | b"table" | b"column" | b"constraint" | b"index" | b"sequence"
            | b"view" | b"schema" | b"type" | b"enum" | b"database" | b"tablespace"
            | b"language" | b"trigger" | b"policy" | b"extension" | b"collation" | b"role"
            | b"statement" | b"cursor" | b"savepoint" | b"portal" | b"publication"
            | b"subscription" | b"slot" => Some(IdentContext::Named),
            b"server" | b"wrapper" | b"domain" | b"rule" | b"parameter" | b"conversion"
            | b"configuration" | b"dictionary" | b"template" | b"parser" | b"method"
            | b"family" | b"class" | b"field" | b"attribute" => Some(IdentContext::Quoted),
            _ => None,
        }
    }

    pub(super) fn identifier(&self, i: usize, c: u8, context: IdentContext) -> Option<usize> {
        let limit = (i + 256).min(self.b.len());
        if matches!(c, b'"' | b'\'' | b'`') {
            let mut j = i + 1;
            while j < limit {
                match self.b[j] {
                    b'\n' => return None,
                    // PostgreSQL doubles a quote inside a quoted identifier.
                    q if q == c && c == b'"' && self.at(j + 1) == b'"' => j += 2,
                    q if q == c => return (j > i + 1).then_some(j + 1),
                    _ => j += 1,
                }
            }
            return None;
        }
        if context == IdentContext::Quoted {
            return None;
        }
        let mut j = i;
        loop {
            match self.char_at(j) {
                Some(ch) if j < limit && (is_word(ch) || ch == '$') => j += ch.len_utf8(),
                Some('.')
                    if self
                        .char_at(j + 1)
                        .is_some_and(|n| n.is_alphabetic() || n == '_') =>
                {
                    j += 1
                }
                _ => break,
            }
        }
        // An unquoted identifier cannot contain `-`: `table a0000000-...`
        // is a value (here a UUID), not a table name.
        if self.at(j) == b'-' {
            return None;
        }
        if context == IdentContext::Routine && self.at(j) == b'(' {
            let mut depth = 0;
            for k in j..limit {
                match self.b[k] {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(k + 1);
                        }
                    }
                    b'\n' => break,
                    _ => {}
                }
            }
        }
        Some(j)
    }

    /// A three-digit HTTP status after `status`, `status code`, `HTTP`, ...
    /// or before its reason phrase: a 404 and a 500 are different problems.
    pub(super) fn http_status(&self, i: usize) -> Option<usize> {
        let end = i + 3;
        let code = self.b.get(i..end)?;
        if !code.iter().all(u8::is_ascii_digit)
            || !self.word_ends(end)
            || self.at(end) == b'.' && self.at(end + 1).is_ascii_digit()
        {
            return None;
        }
        let from = self.floor_char(i.saturating_sub(24));
        let before = self.s[from..i]
            .trim_end_matches([' ', ':', '=', '"', '\''])
            .as_bytes();
        let whole_word = |k: &str| {
            ends_with_ignore_case(before, k)
                && !before[..before.len() - k.len()]
                    .last()
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        };
        if HTTP_STATUS_LEADS.iter().any(|k| whole_word(k)) {
            return Some(end);
        }
        let rest = self.s[end..].trim_start_matches([' ', ':', '-', '(']);
        if rest.len() == self.s.len() - end {
            return None;
        }
        // Case matters: `404 Not Found` is a status line, `order 123 not
        // found` is an id.
        REASON_PHRASES
            .iter()
            .any(|p| rest.starts_with(p) && !rest[p.len()..].starts_with(is_word))
            .then_some(end)
    }

    /// `(` opening a PostgreSQL key tuple (`Key (email)=(...)`) or failing row.
    /// No length limit: a limit would see the span shrink once its contents
    /// are normalized and decide differently on a second pass.
    pub(super) fn value(&mut self, i: usize) -> Option<Step> {
        if !self.has_key_tuple && !self.has_failing_row {
            return None;
        }
        let close = if self.has_key_tuple
            && i >= 2
            && self.b[i - 2] == b')'
            && self.b[i - 1] == b'='
            && self.key_tuple_before(i - 2)
        {
            self.key_tuple_end(i)?
        } else if self.has_failing_row && self.s[..i].ends_with("Failing row contains ") {
            self.last_paren_on_line(i)?
        } else {
            return None;
        };
        (close > i + 1).then_some(Step::Replace {
            start: i + 1,
            end: close,
            kind: Kind::Value,
        })
    }

    /// Whether `Key (` opens the column list that `)` at `close` ends. The
    /// look-back stops at the previous `=`, so each byte is looked at once.
    fn key_tuple_before(&self, close: usize) -> bool {
        let from = self.b[..close]
            .iter()
            .rposition(|&c| c == b'\n' || c == b'=')
            .map_or(0, |k| k + 1);
        self.b[from..close].windows(5).any(|w| w == b"Key (")
    }

    /// The `)` before the first of PostgreSQL's key-tuple endings after `i`
    /// on this line.
    fn key_tuple_end(&mut self, i: usize) -> Option<usize> {
        let (from, to, found) = self.key_end;
        if i >= from && i <= found.unwrap_or(to) && i < to {
            return found;
        }
        let line_end = self.line_end(i);
        let tail = &self.s[i..line_end];
        let found = tail
            .match_indices(") ")
            .find(|(k, _)| {
                KEY_TUPLE_ENDINGS
                    .iter()
                    .any(|e| tail[k + 1..].starts_with(e))
            })
            .map(|(k, _)| i + k);
        self.key_end = (i, line_end, found);
        found
    }

    fn last_paren_on_line(&mut self, i: usize) -> Option<usize> {
        let line_end = self.line_end(i);
        if self.last_paren.0 != line_end {
            self.last_paren = (
                line_end,
                self.b[..line_end].iter().rposition(|&c| c == b')'),
            );
        }
        self.last_paren.1.filter(|&k| k > i)
    }

    /// A quoted value: after `=` (Sentry), or after `: ` when it ends the line.
    pub(super) fn quoted(&mut self, i: usize, q: u8, prev: Option<char>) -> Option<Step> {
        if prev == Some('=') {
            let close = i + 1 + self.b[i + 1..].iter().position(|&c| c == q)?;
            return (close > i + 1).then(|| Step::Replace {
                start: i,
                end: close + 1,
                kind: Kind::QuotedStr,
            });
        }
        if prev != Some(' ') || i < 2 || self.b[i - 2] != b':' {
            return None;
        }
        let line_end = self.line_end(i);
        let trimmed = self.s[i..line_end].trim_end();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed).trim_end();
        if trimmed.len() < 3 || !trimmed.ends_with(q as char) {
            return None;
        }
        // `KeyError: 'user_id'`: the line starts with a type name and the
        // quoted text is the whole message, naming the missing key rather
        // than carrying a value. (A first pass never adds whitespace, so this
        // reads the same on normalized text.)
        let line_start = self.b[..i]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |k| k + 1);
        if !self.s[line_start..i - 2].contains(char::is_whitespace) {
            return None;
        }
        replace(i, i + trimmed.len(), Kind::QuotedStr)
    }
}

fn ends_with_ignore_case(hay: &[u8], suffix: &str) -> bool {
    hay.len() >= suffix.len()
        && hay[hay.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}
