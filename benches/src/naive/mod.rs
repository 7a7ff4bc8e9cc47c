//! The baselines: what one would write first for the same job, a chain of
//! `Regex::replace_all` passes, each compiled once. They are written to be
//! fair competitors: a pass that finds nothing returns the text borrowed, so
//! no pass copies a message it leaves alone, and fixed replacements go
//! through the regex crate's no-expansion fast path.

pub mod normalize;
pub mod scrub;

use std::borrow::Cow;

use regex::{Captures, Regex};

/// Decides what replaces one match, given the whole text: for the rules that
/// need a look-around, which the regex crate does not have.
type Judge = for<'h> fn(&'h str, &Captures<'_>) -> Cow<'h, str>;

enum Rewrite {
    /// A replacement string; `${n}` expands capture group `n`.
    To(&'static str),
    Judge(Judge),
}

struct Pass {
    regex: Regex,
    rewrite: Rewrite,
}

impl Pass {
    fn to(pattern: &str, replacement: &'static str) -> Self {
        Pass {
            regex: compile(pattern),
            rewrite: Rewrite::To(replacement),
        }
    }

    fn judge(pattern: &str, judge: Judge) -> Self {
        Pass {
            regex: compile(pattern),
            rewrite: Rewrite::Judge(judge),
        }
    }

    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let replaced = match &self.rewrite {
            Rewrite::To(with) => self.regex.replace_all(&text, *with),
            Rewrite::Judge(judge) => self
                .regex
                .replace_all(&text, |caps: &Captures<'_>| judge(&text, caps)),
        };
        // Keeps the borrow of `text` inside this statement.
        let owned = match replaced {
            Cow::Owned(owned) => Some(owned),
            Cow::Borrowed(_) => None,
        };
        owned.map_or(text, Cow::Owned)
    }
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("baseline pattern {pattern:?}: {e}"))
}

fn run<'a>(passes: &[Pass], text: &'a str) -> Cow<'a, str> {
    passes
        .iter()
        .fold(Cow::Borrowed(text), |text, pass| pass.apply(text))
}

/// The text of the whole match, borrowed from the haystack.
fn whole<'h>(text: &'h str, caps: &Captures<'_>) -> &'h str {
    &text[caps.get(0).expect("group 0 always matches").range()]
}

fn group<'c>(caps: &Captures<'c>, i: usize) -> &'c str {
    caps.get(i).map_or("", |m| m.as_str())
}

fn char_before(text: &str, caps: &Captures<'_>) -> Option<char> {
    let start = caps.get(0).expect("group 0 always matches").start();
    text[..start].chars().next_back()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
