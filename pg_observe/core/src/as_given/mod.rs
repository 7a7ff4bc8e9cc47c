//! Whether a caller's JSON object would come out of reading and processing
//! exactly as it went in, decided by walking it where it is (the extension
//! walks jsonb's binary form) instead of converting it. Most context is
//! small and clean; converting it to serde values only to find nothing to
//! change cost `observe.log` more than storing the line (benches/RESULTS.md,
//! section 3).
//!
//! "As given" means all of: the bounded reader would copy all of it (its
//! budget counted as `limits::read_cost` counts it), no container is deeper
//! than the depth limit, its serialization fits the byte limit, and the
//! scrubber would change no key and no value. Numbers are counted at the
//! longest serde_json can print one, so the walk never needs their digits;
//! the answer can therefore be "no" for an object that processing would
//! keep after all, never "yes" for one it would change.

use std::borrow::Cow;

use crate::interrupt;
use crate::limits::{read_cost, string_len, Limits, MAX_SUPPORTED_DEPTH};
use crate::scrub::{Scrubber, FILTERED};

/// The longest serde_json prints a number (without `arbitrary_precision`):
/// an f64 such as `-2.2250738585072014e-308`; integers take at most 20.
pub const MAX_NUMBER_LEN: usize = 24;

/// One member of an object or element of an array, as a walk finds it.
pub enum Item<'v, C> {
    Null,
    Bool(bool),
    /// A number, whatever its digits.
    Number,
    Text(&'v str),
    Container(C),
}

/// A JSON object or array in whatever form it is stored.
pub trait Container: Sized {
    fn is_array(&self) -> bool;
    /// Members (with their names) or elements.
    fn count(&self) -> usize;
    /// Visits the members (name and value) or elements (no name) in stored
    /// order until `visit` returns false; returns whether it was never
    /// stopped. A name or string that is not UTF-8 stops the walk with
    /// `false`, like a refusal from `visit`.
    fn visit(&self, visit: impl FnMut(Option<&str>, Item<'_, Self>) -> bool) -> bool;
}

/// True when reading `root` under `limits` and then `process::bounded_json`
/// would keep it exactly as it is.
pub fn is_as_given<C: Container>(root: &C, limits: &Limits, scrubber: &Scrubber) -> bool {
    within(
        root,
        limits,
        crate::limits::precut(limits.context_bytes),
        scrubber,
    )
}

/// With the reader's budget given: it binds only below a few bytes of limit
/// (the reader counts at most about twice the serialized bound), but a
/// smaller precut factor would change that.
fn within<C: Container>(
    root: &C,
    limits: &Limits,
    read_budget: usize,
    scrubber: &Scrubber,
) -> bool {
    let mut walk = Walk {
        scrubber,
        max_depth: limits.context_depth.min(MAX_SUPPORTED_DEPTH),
        serialized_left: limits.context_bytes,
        // The reader reports a cut when its budget is used up exactly, even
        // with nothing left to read: one byte must remain.
        read_left: read_budget.saturating_sub(1),
    };
    walk.container(root, 1)
}

struct Walk<'s> {
    scrubber: &'s Scrubber,
    max_depth: usize,
    serialized_left: usize,
    read_left: usize,
}

impl Walk<'_> {
    fn spend(&mut self, serialized: usize, read: usize) -> bool {
        match (
            self.serialized_left.checked_sub(serialized),
            self.read_left.checked_sub(read),
        ) {
            (Some(serialized), Some(read)) => {
                self.serialized_left = serialized;
                self.read_left = read;
                true
            }
            _ => false,
        }
    }

    fn container<C: Container>(&mut self, container: &C, depth: usize) -> bool {
        if depth > self.max_depth {
            return false;
        }
        let array = container.is_array();
        let len = container.count();
        let elements = if array { len * read_cost::ELEMENT } else { 0 };
        if !self.spend(2 + len.saturating_sub(1), read_cost::CONTAINER + elements) {
            return false;
        }
        container.visit(|name, item| {
            interrupt::check();
            match name {
                Some(name) => self.member(name, item, depth),
                None => self.item(item, depth),
            }
        })
    }

    fn member<C: Container>(&mut self, name: &str, item: Item<'_, C>, depth: usize) -> bool {
        if !self.scrubber.is_clean_name(name) {
            return false;
        }
        let Some(serialized) = string_len(name, self.serialized_left) else {
            return false;
        };
        if !self.spend(serialized + 1, read_cost::key(name.len())) {
            return false;
        }
        if self.scrubber.is_sensitive_key(name) {
            // Filtered whole unless null or already filtered (scrub/json.rs).
            return match item {
                Item::Null => self.item(item, depth),
                Item::Text(text) if text == FILTERED => self.item(item, depth),
                _ => false,
            };
        }
        self.item(item, depth)
    }

    fn item<C: Container>(&mut self, item: Item<'_, C>, depth: usize) -> bool {
        match item {
            Item::Null | Item::Bool(true) => self.spend(4, read_cost::SCALAR),
            Item::Bool(false) => self.spend(5, read_cost::SCALAR),
            Item::Number => self.spend(MAX_NUMBER_LEN, read_cost::SCALAR),
            Item::Text(text) => {
                let Some(serialized) = string_len(text, self.serialized_left) else {
                    return false;
                };
                self.clean(text) && self.spend(serialized, read_cost::string(text.len()))
            }
            Item::Container(inner) => self.container(&inner, depth + 1),
        }
    }

    fn clean(&self, text: &str) -> bool {
        matches!(self.scrubber.scrub_text(text), Cow::Borrowed(_))
    }
}

#[cfg(test)]
mod tests;
