//! X-Content-Type-Options, graded like the Observatory's test of it.

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;
use super::input::list_elements;

/// `x-content-type-options-not-implemented` and `-header-invalid`.
const PENALTY: i32 = -5;

pub(crate) fn test(values: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::ContentTypeOptions);
    // Fetch: only the first value counts.
    let nosniff = list_elements(values)
        .next()
        .is_some_and(|v| v.eq_ignore_ascii_case("nosniff"));
    if !nosniff {
        result.push(Finding::new(
            FindingId::XctoMissing,
            Severity::Low,
            PENALTY,
            if values.is_empty() {
                "No X-Content-Type-Options, so browsers may sniff uploads into scripts or \
                 HTML: add X-Content-Type-Options: nosniff"
            } else {
                "X-Content-Type-Options is not nosniff, so browsers ignore it: set it to \
                 nosniff"
            },
        ));
    }
    result
}
