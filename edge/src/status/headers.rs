//! The status page's response headers: the headers we grade, set the way we
//! tell others to (a nonce-based strict CSP with 'strict-dynamic', Trusted
//! Types with one named policy, HSTS with preload, isolation headers). A
//! test holds them to A+ on our own grader.

use std::collections::BTreeMap;

/// The one Trusted Types policy the page's script creates.
pub const POLICY: &str = "pg-observe-status";

pub fn headers(nonce: &str) -> BTreeMap<String, String> {
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'nonce-{nonce}'; \
         img-src data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'; \
         require-trusted-types-for 'script'; trusted-types {POLICY}; report-uri /functions/v1/ingest"
    );
    [
        ("content-type", "text/html; charset=utf-8".to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("content-security-policy", csp),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains; preload".to_owned(),
        ),
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()".to_owned(),
        ),
        ("cross-origin-opener-policy", "same-origin".to_owned()),
        ("cross-origin-embedder-policy", "require-corp".to_owned()),
        ("cross-origin-resource-policy", "same-origin".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use pg_observe_core::headers::{grade, Headers};

    #[test]
    fn the_status_page_grades_a_plus_on_our_own_grader() {
        let graded = grade(
            &Headers::from_pairs(super::headers("0123456789abcdef0123456789abcdef")).unwrap(),
        );
        assert_eq!(graded.grade.as_str(), "A+", "{:#?}", graded.findings);
        assert!(
            graded.findings.iter().all(|f| f.penalty == 0),
            "{:#?}",
            graded.findings
        );
    }
}
