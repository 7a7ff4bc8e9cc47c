//! Permissions-Policy: whether powerful features (camera, geolocation,
//! payment…) are switched off for the page and what it embeds. Not an
//! Observatory test; see the module doc of `headers` for its price.

use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;

const PENALTY: i32 = -5;

pub(crate) fn test(values: &[String], feature_policy: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::PermissionsPolicy);
    if values.iter().any(|v| !v.is_empty()) {
        return result;
    }
    result.push(Finding::new(
        FindingId::PermissionsPolicyMissing,
        Severity::Low,
        PENALTY,
        if feature_policy.is_empty() {
            "No Permissions-Policy, so the page and its iframes may ask for camera, \
             microphone, geolocation and more: add one that turns off what you do not \
             use, e.g. camera=(), microphone=(), geolocation=()"
        } else {
            "Only the obsolete Feature-Policy is sent, which current browsers ignore: \
             send the same rules as Permissions-Policy, e.g. camera=(), microphone=()"
        },
    ));
    result
}
