//! Collects the replacements one rule wants to make and applies them in a
//! single copy, so a rule that finds nothing costs no allocation and the
//! caller can keep returning borrowed text.

use std::ops::Range;

#[derive(Debug, Default)]
pub(super) struct Edits {
    replacements: Vec<(Range<usize>, &'static str)>,
}

impl Edits {
    /// Ranges must arrive in increasing, non-overlapping order (every rule
    /// scans left to right), which lets `apply` copy the text in one pass.
    pub(super) fn replace(&mut self, range: Range<usize>, marker: &'static str) {
        debug_assert!(self
            .replacements
            .last()
            .is_none_or(|(last, _)| last.end <= range.start));
        self.replacements.push((range, marker));
    }

    /// `None` when the rule found nothing to replace.
    pub(super) fn apply(self, text: &str) -> Option<String> {
        if self.replacements.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (range, marker) in self.replacements {
            out.push_str(&text[copied..range.start]);
            out.push_str(marker);
            copied = range.end;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_edits_means_no_copy() {
        assert_eq!(Edits::default().apply("unchanged"), None);
    }

    #[test]
    fn edits_are_spliced_in_order() {
        let mut edits = Edits::default();
        edits.replace(0..2, "[a]");
        edits.replace(4..7, "[b]");
        assert_eq!(edits.apply("xx, yyy!").as_deref(), Some("[a], [b]!"));
    }
}
