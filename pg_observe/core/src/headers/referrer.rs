//! Referrer-Policy, graded like the Observatory's referrer-policy test.

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;
use super::input::list_elements;

/// Values that keep paths and queries on the origin (`referrer-policy-private`, +5).
const PRIVATE: [&str; 4] = [
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
];
/// Values that leak to other origins or over http (`referrer-policy-unsafe`, -5).
const UNSAFE: [&str; 4] = [
    "origin",
    "origin-when-cross-origin",
    "unsafe-url",
    "no-referrer-when-downgrade",
];
const BONUS_PRIVATE: i32 = 5;
/// `referrer-policy-unsafe` and `referrer-policy-header-invalid`.
const PENALTY: i32 = -5;

pub(crate) fn test(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::ReferrerPolicy);
    if values.is_empty() {
        // Observatory: 0, since browsers now default to strict-origin-when-cross-origin.
        result.push(Finding::new(
            FindingId::ReferrerPolicyMissing,
            Severity::Low,
            0,
            "No Referrer-Policy, so older browsers send full URLs to other sites: add \
             Referrer-Policy: strict-origin-when-cross-origin (or no-referrer)",
        ));
        return result;
    }
    // The Referrer Policy spec: the last value the browser knows wins, so
    // fallbacks for old browsers come first.
    let policy = list_elements(values)
        .filter(|v| {
            PRIVATE
                .iter()
                .chain(&UNSAFE)
                .any(|known| known.eq_ignore_ascii_case(v))
        })
        .last()
        .map(str::to_ascii_lowercase);
    match policy {
        Some(p) if PRIVATE.contains(&p.as_str()) => result.bonus = BONUS_PRIVATE,
        Some(p) => result.push(Finding::new(
            FindingId::ReferrerPolicyUnsafe,
            Severity::Low,
            PENALTY,
            format!(
                "Referrer-Policy {p} sends page URLs (paths, query strings) to other sites: \
                 use strict-origin-when-cross-origin (or no-referrer)"
            ),
        )),
        None => result.push(Finding::new(
            FindingId::ReferrerPolicyInvalid,
            Severity::Low,
            PENALTY,
            "Referrer-Policy holds no value browsers know, so it does nothing: use \
             strict-origin-when-cross-origin (or no-referrer)",
        )),
    }
    result
}
