//! Clickjacking protection: CSP `frame-ancestors`, or `X-Frame-Options` for
//! a site without it (Observatory's X-Frame-Options test).

use super::csp::{is_broad, Policy};
use super::finding::{Finding, FindingId, Severity, Test};
use super::grade::TestResult;
use super::input::list_elements;

/// Observatory `x-frame-options-not-implemented` / `-header-invalid`.
const NOT_IMPLEMENTED: i32 = -20;
/// Observatory `x-frame-options-implemented-via-csp`.
const BONUS_VIA_CSP: i32 = 5;

pub(crate) fn test(enforced: &[Policy], x_frame_options: &[String]) -> TestResult {
    let mut result = TestResult::new(Test::Framing);
    let frame_ancestors: Vec<_> = enforced
        .iter()
        .filter_map(|p| p.directive("frame-ancestors"))
        .collect();
    if frame_ancestors
        .iter()
        .any(|d| !d.sources().any(|s| is_broad(&s)))
    {
        result.bonus = BONUS_VIA_CSP;
        return result;
    }
    let message = if !frame_ancestors.is_empty() {
        "frame-ancestors allows any site to frame this page: set frame-ancestors 'none' \
         (or 'self')"
    } else {
        match x_frame_options_verdict(x_frame_options) {
            Verdict::Protects => return result,
            Verdict::AllowFrom => {
                "X-Frame-Options ALLOW-FROM is ignored by current browsers, so any site \
                 can frame this page: add frame-ancestors to the CSP"
            }
            Verdict::Absent => {
                "Neither CSP frame-ancestors nor X-Frame-Options is set, so any site can \
                 frame this page (clickjacking): add frame-ancestors 'none' (or 'self')"
            }
            Verdict::Unrecognised => {
                "X-Frame-Options has a value browsers do not recognise, so any site can \
                 frame this page: add frame-ancestors 'none' (or 'self') to the CSP"
            }
        }
    };
    result.push(Finding::new(
        FindingId::CspMissingFrameAncestors,
        Severity::High,
        NOT_IMPLEMENTED,
        message,
    ));
    result
}

enum Verdict {
    Protects,
    AllowFrom,
    Absent,
    Unrecognised,
}

/// HTML's "check a navigation response's adherence to X-Frame-Options":
/// the values as a set; several different ones that include a known value
/// block framing (fail closed), one value must be DENY or SAMEORIGIN.
fn x_frame_options_verdict(values: &[String]) -> Verdict {
    let mut set: Vec<String> = list_elements(values).map(str::to_ascii_lowercase).collect();
    set.sort_unstable();
    set.dedup();
    let known = |v: &String| matches!(v.as_str(), "deny" | "sameorigin" | "allowall");
    match set.as_slice() {
        [] => Verdict::Absent,
        [one] if one == "deny" || one == "sameorigin" => Verdict::Protects,
        [one] if one.starts_with("allow-from") => Verdict::AllowFrom,
        [_] => Verdict::Unrecognised,
        many if many.iter().any(known) => Verdict::Protects,
        _ => Verdict::Unrecognised,
    }
}
