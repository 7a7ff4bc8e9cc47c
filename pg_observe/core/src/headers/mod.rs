//! Security-header grading: what `observe.grade_headers(headers jsonb)`, the
//! health-check edge function and the CLI report about a response's headers.
//!
//! The score follows Mozilla's HTTP Observatory ("Tests and scoring" on
//! developer.mozilla.org/en-US/observatory/docs/tests_and_scoring, numbers
//! from `SCORE_TABLE` in mdn/mdn-http-observatory `src/grader/charts.js`):
//! start at 100, subtract each test's penalty, and only if the result is
//! still 90 or more add each test's bonus; never below 0, no maximum. A test
//! costs its *worst* finding, not the sum of them, as in the Observatory,
//! where each test has one result. Letters use the Observatory scale
//! (`grade::Letter`). The CSP findings are Google CSP Evaluator's checks
//! (github.com/google/csp-evaluator `checks/security_checks.ts`,
//! `checks/strictcsp_checks.ts`), run on the policy as a CSP3 browser
//! enforces it, and priced like the Observatory CSP result they fall under.
//!
//! | test | finding | severity | points | from |
//! |---|---|---|---|---|
//! | CSP | `csp_missing` | high | −25 | Obs. csp-not-implemented |
//! | | `csp_report_only`, report-only alone / beside an enforced policy | high / info | −25 / 0 | Obs. csp-not-implemented-but-reporting-enabled |
//! | | `csp_unsafe_inline` | high | −20 | Obs. csp-implemented-with-unsafe-inline; CSPE HIGH |
//! | | `csp_wildcard_script_src` (`*`, `http:`, `https:`, `data:`) | high | −20 | same; CSPE HIGH |
//! | | `csp_missing_script_src` (no script-src nor default-src) | high | −20 | same; CSPE HIGH |
//! | | `csp_bypass_host` (JSONP / AngularJS host) | high | −20 | priced as unsafe-inline; CSPE HIGH |
//! | | `csp_missing_object_src`, unrestricted / not `'none'` | high / low | −20 / 0 | Obs. (unsafe-inline row); CSPE HIGH / MEDIUM |
//! | | `csp_missing_base_uri`, nonce-based policy / other | high / low | −20 / 0 | CSPE HIGH (nonce-based only) |
//! | | `csp_insecure_scheme`, active / images and media only | high / medium | −20 / −10 | Obs. csp-implemented-with-insecure-scheme[-in-passive-content-only] |
//! | | `csp_unsafe_eval` | medium | −10 | Obs. csp-implemented-with-unsafe-eval; CSPE MEDIUM |
//! | | `csp_short_nonce` (< 8 characters) | medium | −10 | CSPE MEDIUM, priced as unsafe-eval |
//! | | `csp_no_reporting` | info | 0 | CSPE INFO |
//! | | `trusted_types_missing` | info | 0 | CSPE INFO |
//! | | bonus: no penalty; with `default-src 'none'` | | +5; +10 | Obs. csp-implemented-with-no-unsafe[-default-src-none] |
//! | framing | `csp_missing_frame_ancestors` (no frame-ancestors, no valid X-Frame-Options) | high | −20 | Obs. x-frame-options-not-implemented |
//! | | bonus: frame-ancestors | | +5 | Obs. x-frame-options-implemented-via-csp |
//! | HSTS | `hsts_missing`, `hsts_invalid` | high | −20 | Obs. hsts-not-implemented, hsts-header-invalid |
//! | | `hsts_short_max_age`, < 15552000 / < 31536000 | medium / low | −10 / 0 | Obs. hsts-…-less-than-six-months / hstspreload.org |
//! | | `hsts_no_include_subdomains`; `hsts_no_preload` | low; info | 0 | hstspreload.org |
//! | | bonus: one year, includeSubDomains, preload | | +5 | Obs. hsts-preloaded (we cannot read the list) |
//! | X-Content-Type-Options | `xcto_missing` (or not nosniff) | low | −5 | Obs. x-content-type-options-not-implemented |
//! | Referrer-Policy | `referrer_policy_missing` | low | 0 | Obs. referrer-policy-not-implemented |
//! | | `referrer_policy_unsafe`; `referrer_policy_invalid` | low | −5 | Obs. referrer-policy-unsafe; -header-invalid |
//! | | bonus: no-referrer, same-origin, strict-origin[-when-cross-origin] | | +5 | Obs. referrer-policy-private |
//! | cookies | `cookie_no_secure`, session / other cookie | high / high | −40 / −20 | Obs. cookies-session-without-secure-flag / cookies-without-secure-flag |
//! | | the same under HSTS of six months or more | medium / low | −10 / −5 | Obs. …-without-secure-flag-but-protected-by-hsts |
//! | | `cookie_no_httponly`, session / other | high / info | −30 / 0 | Obs. cookies-session-without-httponly-flag |
//! | | `cookie_no_samesite`, anti-CSRF / other | high / low | −20 / 0 | Obs. cookies-anticsrf-without-samesite-flag |
//! | | `cookie_samesite_invalid` (unknown value, `None` without Secure) | high | −20 | Obs. cookies-samesite-flag-invalid |
//! | | `cookie_prefix_invalid` (`__Host-` / `__Secure-` rules broken) | low | 0 | RFC 6265bis: browsers drop the cookie |
//! | | bonus: all Secure, sessions HttpOnly, all SameSite | | +5 | Obs. cookies-secure-with-httponly-sessions-and-samesite |
//! | CORP | `corp_missing`; `corp_invalid` | info; low | 0; −5 | Obs. corp-not-implemented; corp-header-invalid |
//! | | bonus: same-origin or same-site | | +10 | Obs. corp-implemented-with-same-origin / -same-site |
//! | Permissions-Policy | `permissions_policy_missing` | low | −5 | ours |
//! | COOP | `coop_missing` (or `unsafe-none`) | low | −5 | ours |
//! | COEP | `coep_missing` | info | 0 | ours |
//!
//! "Obs." is the Observatory, "CSPE" CSP Evaluator. The Observatory has no
//! COOP or Permissions-Policy test; we price their absence like its
//! smallest penalty (X-Content-Type-Options), so they count without
//! outweighing any Observatory test, and a response with no security header
//! at all ends below D-. COEP `require-corp` breaks third-party embeds, so
//! its absence is only noted. Tests the Observatory runs on more than
//! headers (redirects, Subresource Integrity, CORS files) are not graded
//! here, so the best score is 140 where the Observatory's is 145.
//!
//! Session and anti-CSRF cookies are recognised by name as the Observatory
//! does (`sess`, `login`; `csrf`), plus `auth` (Supabase's
//! `sb-…-auth-token`) and `xsrf` (Angular's `XSRF-TOKEN`).

mod bypass_hosts;
mod content_type;
mod cookies;
pub mod csp;
mod finding;
mod framing;
mod grade;
mod hsts;
mod input;
mod isolation;
mod names;
mod permissions;
mod referrer;

use serde_json::{json, Value};

pub use bypass_hosts::{bypasses, Bypass, BypassKind};
pub use cookies::{SameSite, SetCookie};
pub use csp::Policy;
pub use finding::{Finding, FindingId, Severity, Test};
pub use grade::{Grade, Letter, Modifier, BASELINE, MINIMUM_SCORE_FOR_BONUS};
pub use hsts::Hsts;
pub use input::{
    Headers, HeadersError, MAX_NAME_BYTES, MAX_TOTAL_BYTES, MAX_VALUES, MAX_VALUE_BYTES,
};

/// Grades a response's headers. Linear in the size of the headers, which
/// `Headers` bounds.
pub fn grade(headers: &Headers) -> Grade {
    let csp_values = headers.get_all(names::CSP);
    let enforced: Vec<Policy> = csp_values
        .iter()
        .flat_map(|v| Policy::parse_list(v))
        .collect();
    let report_only: Vec<Policy> = headers
        .get_all(names::CSP_REPORT_ONLY)
        .iter()
        .flat_map(|v| Policy::parse_list(v))
        .collect();
    let hsts_values = headers.get_all(names::HSTS);
    let hsts_protects = hsts::first(hsts_values)
        .flatten()
        .is_some_and(|h| h.protects());
    grade::tally(vec![
        csp::test(&enforced, &report_only, !csp_values.is_empty()),
        framing::test(&enforced, headers.get_all(names::XFO)),
        hsts::test(hsts_values),
        content_type::test(headers.get_all(names::XCTO)),
        referrer::test(headers.get_all(names::REFERRER_POLICY)),
        permissions::test(
            headers.get_all(names::PERMISSIONS_POLICY),
            headers.get_all(names::FEATURE_POLICY),
        ),
        isolation::coop(headers.get_all(names::COOP)),
        isolation::coep(headers.get_all(names::COEP)),
        isolation::corp(headers.get_all(names::CORP)),
        cookies::test(headers.get_all(names::SET_COOKIE), hsts_protects),
    ])
}

/// `observe.grade_headers`: `{name: string | [string…]}` in,
/// `{score, grade, findings: [{id, severity, header, message}]}` out.
pub fn grade_json(value: &Value) -> Result<Value, HeadersError> {
    Ok(grade(&Headers::from_json(value)?).to_json())
}

impl Grade {
    pub fn to_json(&self) -> Value {
        json!({
            "score": self.score,
            "grade": self.grade.as_str(),
            "findings": self.findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
        })
    }
}

impl Finding {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.as_str(),
            "severity": self.severity.as_str(),
            "header": self.header,
            "message": self.message,
        })
    }
}
