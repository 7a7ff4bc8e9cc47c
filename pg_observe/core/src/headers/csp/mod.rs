//! Content-Security-Policy parsing, per CSP Level 3 §2.2 ("parse a serialized
//! CSP" and "parse a serialized CSP list"), and the CSP Evaluator-style
//! analysis of the policies a response enforces.
//!
//! Parsing never fails: like a browser, it keeps what it understands and
//! drops the rest (empty tokens, non-ASCII tokens, repeated directives). It is
//! one pass over the input, so its cost is linear in the header's length.

mod evaluate;
mod source;

use std::collections::BTreeSet;
use std::fmt;

pub use evaluate::evaluate;
pub(crate) use evaluate::{is_broad, test};
pub use source::{HashAlgorithm, HostSource, Keyword, Source};

/// One policy: its directives in the order written, each name once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    directives: Vec<Directive>,
    ignored: Vec<String>,
}

/// A directive: its name (lowercase) and its values (source expressions for
/// fetch directives), as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    name: String,
    values: Vec<String>,
}

impl Policy {
    /// Parses one serialized policy. Directives are separated by `;`, names
    /// are case-insensitive and the first occurrence of a name wins; later
    /// ones are ignored, as browsers ignore them (see `ignored_directives`).
    pub fn parse(serialized: &str) -> Policy {
        let mut policy = Policy::default();
        let mut seen = BTreeSet::new();
        for token in serialized.split(';') {
            let token = token.trim_matches(is_ascii_whitespace);
            if token.is_empty() || !token.is_ascii() {
                continue;
            }
            let mut parts = token.split(is_ascii_whitespace).filter(|p| !p.is_empty());
            let Some(name) = parts.next() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            if !seen.insert(name.clone()) {
                policy.ignored.push(name);
                continue;
            }
            policy.directives.push(Directive {
                name,
                values: parts.map(str::to_owned).collect(),
            });
        }
        policy
    }

    /// Parses a header value, which may hold several policies separated by
    /// commas (as when a proxy folds two `Content-Security-Policy` headers into
    /// one). Each returned policy is enforced on its own; policies without
    /// directives are dropped, as the spec drops them.
    pub fn parse_list(value: &str) -> Vec<Policy> {
        value
            .split(',')
            .map(Policy::parse)
            .filter(|p| !p.is_empty())
            .collect()
    }

    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }

    /// The directive of that name (any case), if the policy has it.
    pub fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub fn is_empty(&self) -> bool {
        self.directives.is_empty()
    }

    /// Names of directives that repeated an earlier one and were ignored.
    pub fn ignored_directives(&self) -> &[String] {
        &self.ignored
    }
}

impl Directive {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The values read as source expressions.
    pub fn sources(&self) -> impl Iterator<Item = Source<'_>> {
        self.values.iter().map(|v| Source::parse(v))
    }
}

/// Serializes back to header syntax (`name value value; name`), which parses
/// to the same policy; a CLI can build a policy from text and print it.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, directive) in self.directives.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&directive.name)?;
            for value in &directive.values {
                write!(f, " {value}")?;
            }
        }
        Ok(())
    }
}

/// The spec's "ASCII whitespace": tab, LF, FF, CR, space.
fn is_ascii_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_split_on_semicolons_and_first_occurrence_wins() {
        let policy = Policy::parse(
            "  Script-SRC 'self'  https://a.example ;;object-src 'none'; script-src *; \
             img-src",
        );
        let names: Vec<_> = policy.directives().iter().map(Directive::name).collect();
        assert_eq!(names, ["script-src", "object-src", "img-src"]);
        assert_eq!(
            policy.directive("SCRIPT-src").unwrap().values(),
            ["'self'", "https://a.example"]
        );
        assert!(policy.directive("img-src").unwrap().values().is_empty());
        assert_eq!(policy.ignored_directives(), ["script-src"]);
    }

    #[test]
    fn non_ascii_tokens_are_skipped() {
        let policy = Policy::parse("script-src 'self' https://é.example; object-src 'none'");
        assert_eq!(policy.directives().len(), 1);
        assert_eq!(policy.directives()[0].name(), "object-src");
    }

    #[test]
    fn a_list_holds_one_policy_per_comma_and_drops_empty_ones() {
        let list = Policy::parse_list("script-src 'self', , object-src 'none';,  ");
        assert_eq!(list.len(), 2);
        assert!(list[1].directive("object-src").is_some());
        assert!(Policy::parse_list(" ; ;").is_empty());
    }

    #[test]
    fn display_round_trips() {
        let policy = Policy::parse("default-src 'none';script-src\t'nonce-abc' 'strict-dynamic'");
        assert_eq!(
            policy.to_string(),
            "default-src 'none'; script-src 'nonce-abc' 'strict-dynamic'"
        );
        assert_eq!(Policy::parse(&policy.to_string()), policy);
    }
}
