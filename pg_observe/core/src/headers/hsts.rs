//! Strict-Transport-Security (RFC 6797), graded like the Observatory's HSTS
//! test plus the hstspreload.org requirements (one year, includeSubDomains,
//! preload).

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;

/// Observatory's six months, which it lowers to 180 days "since a lot of
/// sites use 15552000"; below it HSTS is penalised.
pub const SIX_MONTHS: u64 = 15_552_000;
/// hstspreload.org's minimum, and the brief's "long enough".
pub const ONE_YEAR: u64 = 31_536_000;

/// Observatory `hsts-not-implemented` / `hsts-header-invalid`.
const NOT_IMPLEMENTED: i32 = -20;
/// Observatory `hsts-implemented-max-age-less-than-six-months`.
const SHORT: i32 = -10;
/// Observatory `hsts-preloaded`; we cannot read the preload list, so a
/// header that qualifies for it earns the bonus instead.
const BONUS_PRELOAD: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    pub max_age: u64,
    pub include_subdomains: bool,
    pub preload: bool,
}

impl Hsts {
    /// Parses one header value. `None` when it is not valid HSTS: no
    /// `max-age`, a non-numeric one, or a directive given twice (RFC 6797
    /// §6.1 — browsers then ignore the header).
    pub fn parse(value: &str) -> Option<Hsts> {
        let mut max_age = None;
        let mut include_subdomains = false;
        let mut preload = false;
        for directive in value.split(';') {
            let directive = directive.trim_matches(|c| c == ' ' || c == '\t');
            if directive.is_empty() {
                continue;
            }
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim_end(), Some(argument.trim_start())),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("max-age") {
                let digits = argument?.trim_matches('"');
                if max_age.is_some()
                    || digits.is_empty()
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                // Saturate: a 30-digit max-age is merely "forever".
                max_age = Some(digits.bytes().fold(0u64, |n, b| {
                    n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
                }));
            } else if name.eq_ignore_ascii_case("includesubdomains") {
                if include_subdomains {
                    return None;
                }
                include_subdomains = true;
            } else if name.eq_ignore_ascii_case("preload") {
                if preload {
                    return None;
                }
                preload = true;
            }
        }
        Some(Hsts {
            max_age: max_age?,
            include_subdomains,
            preload,
        })
    }

    /// Whether cookies and requests are kept off plain http for long enough
    /// for Observatory to count it (its `pass`).
    pub fn protects(&self) -> bool {
        self.max_age >= SIX_MONTHS
    }
}

/// Browsers process only the first HSTS header (RFC 6797 §8.1), and a
/// proxy may have folded several into one comma-separated value.
pub(crate) fn first(values: &[String]) -> Option<Option<Hsts>> {
    let value = values.first()?;
    let value = value.split(',').next().unwrap_or(value);
    Some(Hsts::parse(value))
}

pub(crate) fn test(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::StrictTransportSecurity);
    let hsts = match first(values) {
        None => {
            result.push(Finding::new(
                FindingId::HstsMissing,
                Severity::High,
                NOT_IMPLEMENTED,
                format!(
                    "No Strict-Transport-Security, so the first visit and every typed \
                     http:// URL can be intercepted: send max-age={ONE_YEAR}; \
                     includeSubDomains; preload"
                ),
            ));
            return result;
        }
        Some(None) => {
            result.push(Finding::new(
                FindingId::HstsInvalid,
                Severity::High,
                NOT_IMPLEMENTED,
                format!(
                    "Strict-Transport-Security is not valid (it needs exactly one numeric \
                     max-age and no repeated directive), so browsers ignore it: send \
                     max-age={ONE_YEAR}; includeSubDomains; preload"
                ),
            ));
            return result;
        }
        Some(Some(hsts)) => hsts,
    };
    if hsts.max_age < SIX_MONTHS {
        result.push(Finding::new(
            FindingId::HstsShortMaxAge,
            Severity::Medium,
            SHORT,
            format!(
                "HSTS max-age is {} seconds, under six months{}: raise it to {ONE_YEAR} \
                 (one year) or more",
                hsts.max_age,
                if hsts.max_age == 0 {
                    ", and 0 switches HSTS off"
                } else {
                    ""
                }
            ),
        ));
    } else if hsts.max_age < ONE_YEAR {
        result.push(Finding::new(
            FindingId::HstsShortMaxAge,
            Severity::Low,
            0,
            format!(
                "HSTS max-age is {} seconds, under the one year preloading requires: \
                 raise it to {ONE_YEAR}",
                hsts.max_age
            ),
        ));
    }
    if !hsts.include_subdomains {
        result.push(Finding::new(
            FindingId::HstsNoIncludeSubdomains,
            Severity::Low,
            0,
            "HSTS does not cover subdomains, which can then be used to set cookies over \
             http: add includeSubDomains once every subdomain serves https",
        ));
    }
    if !hsts.preload {
        result.push(Finding::new(
            FindingId::HstsNoPreload,
            Severity::Info,
            0,
            "HSTS is not marked for preloading, so a browser's very first visit is \
             unprotected: add preload and submit the domain to hstspreload.org",
        ));
    }
    if hsts.max_age >= ONE_YEAR && hsts.include_subdomains && hsts.preload {
        result.bonus = BONUS_PRELOAD;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_6797_syntax() {
        assert_eq!(
            Hsts::parse("max-age=\"31536000\" ; INCLUDESUBDOMAINS;preload; unknown=1"),
            Some(Hsts {
                max_age: ONE_YEAR,
                include_subdomains: true,
                preload: true
            })
        );
        assert_eq!(
            Hsts::parse("max-age=999999999999999999999999999").map(|h| h.max_age),
            Some(u64::MAX)
        );
        for invalid in [
            "",
            "includeSubDomains",
            "max-age",
            "max-age=",
            "max-age=-1",
            "max-age=1e9",
            "max-age=1; max-age=2",
            "max-age=1; preload; preload",
        ] {
            assert_eq!(Hsts::parse(invalid), None, "{invalid}");
        }
    }

    #[test]
    fn only_the_first_header_counts() {
        let values = ["max-age=10".to_owned(), "max-age=31536000".to_owned()];
        assert_eq!(first(&values).unwrap().unwrap().max_age, 10);
        let folded = ["max-age=31536000, max-age=10".to_owned()];
        assert_eq!(first(&folded).unwrap().unwrap().max_age, ONE_YEAR);
    }
}
