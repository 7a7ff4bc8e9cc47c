//! Security-header grading against real-world header sets, one test per
//! finding id, the JSON contract of `observe.grade_headers`, and properties
//! that must hold for any input.
//!
//! Everything sits in `mod headers` so that `cargo test -p pg_observe_core headers`
//! selects these tests along with the unit tests of `pg_observe_core::headers`.

mod headers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use pg_observe_core::headers::{
        grade, grade_json, Finding, FindingId, Grade, Headers, HeadersError, Letter, Policy,
        Severity, MAX_VALUES, MAX_VALUE_BYTES,
    };
    use proptest::prelude::*;
    use serde_json::{json, Value};

    // ---------------------------------------------------------------------------
    // Real-world header sets

    struct Case {
        fixture: &'static str,
        score: i32,
        grade: &'static str,
        ids: &'static [&'static str],
    }

    /// One row per file in `tests/fixtures/headers/`; `every_fixture_has_a_case`
    /// keeps the two in step.
    const CASES: &[Case] = &[
        // Nonce + 'strict-dynamic' with the backward-compatible 'unsafe-inline'
        // https: http: (all ignored by CSP3 browsers), every header set: no
        // penalty, so every bonus: 100 + 10 (CSP, default-src 'none') + 5
        // (frame-ancestors) + 5 (HSTS preload) + 5 (referrer) + 5 (cookies) + 10 (CORP).
        Case {
            fixture: "strict_site",
            score: 140,
            grade: "A+",
            ids: &[],
        },
        // `script-src 'self' 'unsafe-inline' 'unsafe-eval'`, Vercel's default
        // HSTS and nothing else: 100 − 20 (CSP) − 20 (framing) − 5 (nosniff)
        // − 5 (Permissions-Policy) − 5 (COOP).
        Case {
            fixture: "nextjs_vercel",
            score: 45,
            grade: "C-",
            ids: &[
                "csp_unsafe_inline",
                "csp_unsafe_eval",
                "csp_missing_object_src",
                "csp_missing_base_uri",
                "csp_no_reporting",
                "trusted_types_missing",
                "csp_missing_frame_ancestors",
                "hsts_no_include_subdomains",
                "hsts_no_preload",
                "xcto_missing",
                "referrer_policy_missing",
                "permissions_policy_missing",
                "coop_missing",
                "coep_missing",
                "corp_missing",
            ],
        },
        // No security header and a PHP session cookie over http: below zero, clamped.
        Case {
            fixture: "bare_apache_php",
            score: 0,
            grade: "F",
            ids: &[
                "csp_missing",
                "csp_missing_frame_ancestors",
                "hsts_missing",
                "xcto_missing",
                "referrer_policy_missing",
                "permissions_policy_missing",
                "coop_missing",
                "coep_missing",
                "corp_missing",
                "cookie_no_secure",
                "cookie_no_httponly",
                "cookie_no_samesite",
            ],
        },
        // No security header, no cookie: 100 − 25 − 20 − 20 − 5 − 5 − 5.
        Case {
            fixture: "bare_nginx_static",
            score: 20,
            grade: "F",
            ids: &[
                "csp_missing",
                "csp_missing_frame_ancestors",
                "hsts_missing",
                "xcto_missing",
                "referrer_policy_missing",
                "permissions_policy_missing",
                "coop_missing",
                "coep_missing",
                "corp_missing",
            ],
        },
        // An allowlist CSP without Trusted Types or reporting, default-src 'none':
        // 100 − 5 − 5 = 90, so bonuses: + 10 + 5 + 5 + 5 (last known referrer
        // value is strict-origin-when-cross-origin) + 5 (cookies).
        Case {
            fixture: "github_like",
            score: 120,
            grade: "A+",
            ids: &[
                "csp_no_reporting",
                "trusted_types_missing",
                "permissions_policy_missing",
                "coop_missing",
                "coep_missing",
                "corp_missing",
                "cookie_no_httponly",
            ],
        },
        // A report-only policy protects nothing: 100 − 25 − 5 − 5.
        Case {
            fixture: "report_only_only",
            score: 65,
            grade: "B-",
            ids: &[
                "csp_report_only",
                "hsts_no_include_subdomains",
                "hsts_no_preload",
                "permissions_policy_missing",
                "coop_missing",
                "coep_missing",
                "corp_missing",
            ],
        },
        // Three enforced policies (nonce-based, Trusted Types, allowlist): inline
        // scripts need the nonce of the first, so only 'unsafe-eval', which all
        // three allow, counts: 100 − 10 = 90, + 10 (CORP same-site).
        Case {
            fixture: "google_style_three_policies",
            score: 100,
            grade: "A+",
            ids: &[
                "csp_unsafe_eval",
                "hsts_no_preload",
                "referrer_policy_missing",
                "coep_missing",
                "cookie_no_samesite",
            ],
        },
    ];

    fn fixture_dir() -> &'static Path {
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/headers"
        ))
    }

    fn load(fixture: &str) -> Value {
        let path = fixture_dir().join(format!("{fixture}.json"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn ids(findings: &[Finding]) -> BTreeSet<&'static str> {
        findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn real_world_header_sets() {
        for case in CASES {
            let json = load(case.fixture);
            let graded = grade(&Headers::from_json(&json).unwrap());
            let expected: BTreeSet<_> = case.ids.iter().copied().collect();
            assert_eq!(ids(&graded.findings), expected, "{}", case.fixture);
            assert_eq!(
                (graded.score, graded.grade.as_str()),
                (case.score, case.grade),
                "{}: {:?}",
                case.fixture,
                graded.modifiers
            );
            let out = grade_json(&json).unwrap();
            assert_eq!(out["score"], case.score, "{}", case.fixture);
            assert_eq!(out["grade"], case.grade, "{}", case.fixture);
        }
    }

    #[test]
    fn every_fixture_has_a_case() {
        let mut files: Vec<String> = fs::read_dir(fixture_dir())
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        let mut cases: Vec<&str> = CASES.iter().map(|c| c.fixture).collect();
        cases.sort();
        assert_eq!(files, cases);
    }

    #[test]
    fn the_vercel_site_is_told_what_to_change() {
        let graded = grade(&Headers::from_json(&load("nextjs_vercel")).unwrap());
        let message = |id| {
            graded
                .findings
                .iter()
                .find(|f| f.id == id)
                .map(|f| f.message.as_str())
                .unwrap()
        };
        assert!(message(FindingId::CspUnsafeInline).contains("nonce"));
        assert!(message(FindingId::CspUnsafeEval).contains("remove it"));
        assert!(message(FindingId::CspMissingFrameAncestors).contains("frame-ancestors 'none'"));
        assert!(message(FindingId::XctoMissing).contains("nosniff"));
    }

    // ---------------------------------------------------------------------------
    // One test per finding id: a header set with exactly that finding, made from
    // a strict baseline that has none.

    const CSP_TAIL: &str = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                            require-trusted-types-for 'script'; trusted-types app; report-uri /csp";
    const STRICT_SCRIPT: &str = "'nonce-9omWNKSSGXLqKvqaYh2Cuw' 'strict-dynamic'";
    const HSTS: &str = "max-age=63072000; includeSubDomains; preload";
    const SESSION: &str = "__Host-session=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax";

    type Set = BTreeMap<&'static str, Vec<String>>;

    fn csp(script_src: &str) -> String {
        format!("script-src {script_src}; {CSP_TAIL}")
    }

    fn baseline() -> Set {
        let mut set = Set::new();
        let mut put = |name, value: &str| {
            set.insert(name, vec![value.to_owned()]);
        };
        put("Content-Security-Policy", &csp(STRICT_SCRIPT));
        put("Strict-Transport-Security", HSTS);
        put("X-Content-Type-Options", "nosniff");
        put("X-Frame-Options", "DENY");
        put("Referrer-Policy", "no-referrer");
        put("Permissions-Policy", "camera=(), microphone=()");
        put("Cross-Origin-Opener-Policy", "same-origin");
        put("Cross-Origin-Embedder-Policy", "credentialless");
        put("Cross-Origin-Resource-Policy", "same-site");
        put("Set-Cookie", SESSION);
        set
    }

    fn graded(set: &Set) -> Grade {
        grade(
            &Headers::from_pairs(
                set.iter()
                    .flat_map(|(n, vs)| vs.iter().map(move |v| (*n, v))),
            )
            .unwrap(),
        )
    }

    fn set(set: &mut Set, name: &'static str, value: &str) {
        set.insert(name, vec![value.to_owned()]);
    }

    /// Returns the one finding `change` causes, after checking it is the only one.
    fn only_finding(id: FindingId, change: impl FnOnce(&mut Set)) -> Finding {
        let fixed = graded(&baseline());
        assert!(
            !fixed.findings.iter().any(|f| f.id == id),
            "baseline has {}",
            id.as_str()
        );
        let mut broken = baseline();
        change(&mut broken);
        let graded = graded(&broken);
        let found: Vec<_> = graded.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(found, [id.as_str()], "{}", id.as_str());
        graded.findings.into_iter().next().unwrap()
    }

    fn check(
        id: FindingId,
        severity: Severity,
        penalty: i32,
        change: impl FnOnce(&mut Set),
    ) -> Finding {
        let finding = only_finding(id, change);
        assert_eq!(
            (finding.severity, finding.penalty),
            (severity, penalty),
            "{}: {}",
            id.as_str(),
            finding.message
        );
        assert_eq!(finding.header, id.header());
        assert!(!finding.message.contains("s3cr3t"), "{}", finding.message);
        finding
    }

    #[test]
    fn baseline_is_clean_and_earns_every_bonus() {
        let graded = graded(&baseline());
        assert!(graded.findings.is_empty(), "{:?}", graded.findings);
        // 100 + 5 (CSP, no default-src 'none') + 5 + 5 + 5 + 5 + 10.
        assert_eq!((graded.score, graded.grade), (135, Letter::APlus));
    }

    #[test]
    fn csp_missing() {
        check(FindingId::CspMissing, Severity::High, -25, |s| {
            s.remove("Content-Security-Policy");
        });
        let empty = check(FindingId::CspMissing, Severity::High, -25, |s| {
            set(s, "Content-Security-Policy", " ; ,");
        });
        assert!(empty.message.contains("no directives"));
    }

    #[test]
    fn csp_report_only() {
        check(FindingId::CspReportOnly, Severity::High, -25, |s| {
            let policy = s.remove("Content-Security-Policy").unwrap();
            s.insert("Content-Security-Policy-Report-Only", policy);
        });
        let beside = check(FindingId::CspReportOnly, Severity::Info, 0, |s| {
            set(
                s,
                "Content-Security-Policy-Report-Only",
                "script-src 'none'",
            );
        });
        assert!(beside.message.contains("beside the enforced"));
    }

    #[test]
    fn csp_unsafe_inline() {
        let finding = check(FindingId::CspUnsafeInline, Severity::High, -20, |s| {
            set(s, "Content-Security-Policy", &csp("'self' 'unsafe-inline'"));
        });
        assert!(finding
            .message
            .starts_with("script-src allows 'unsafe-inline'"));
        // With a nonce, a hash or 'strict-dynamic', browsers ignore 'unsafe-inline'.
        for compatible in [
            "'nonce-9omWNKSSGXLqKvqaYh2Cuw' 'unsafe-inline'",
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'unsafe-inline' 'self'",
            "'strict-dynamic' 'unsafe-inline' 'sha384-abcd'",
        ] {
            let mut s = baseline();
            set(&mut s, "Content-Security-Policy", &csp(compatible));
            assert!(graded(&s).findings.is_empty(), "{compatible}");
        }
    }

    #[test]
    fn csp_unsafe_eval() {
        check(FindingId::CspUnsafeEval, Severity::Medium, -10, |s| {
            let script = format!("{STRICT_SCRIPT} 'unsafe-eval'");
            set(s, "Content-Security-Policy", &csp(&script));
        });
    }

    #[test]
    fn csp_wildcard_script_src() {
        for broad in ["'self' https:", "*", "'self' data:", "https://*:443"] {
            let finding = check(FindingId::CspWildcardScriptSrc, Severity::High, -20, |s| {
                set(s, "Content-Security-Policy", &csp(broad));
            });
            assert!(
                finding.message.contains("from anywhere"),
                "{}",
                finding.message
            );
        }
        // 'strict-dynamic' neutralises them.
        let mut s = baseline();
        let script = format!("{STRICT_SCRIPT} https: http: *");
        set(&mut s, "Content-Security-Policy", &csp(&script));
        assert!(graded(&s).findings.is_empty());
    }

    #[test]
    fn csp_missing_script_src() {
        check(FindingId::CspMissingScriptSrc, Severity::High, -20, |s| {
            set(s, "Content-Security-Policy", CSP_TAIL);
        });
    }

    #[test]
    fn csp_bypass_host() {
        let finding = check(FindingId::CspBypassHost, Severity::High, -20, |s| {
            set(
                s,
                "Content-Security-Policy",
                &csp("'self' https://cdnjs.cloudflare.com"),
            );
        });
        assert!(finding.message.contains("https://cdnjs.cloudflare.com"));
        assert!(finding.message.contains("AngularJS"));
        for host in [
            "*.googleapis.com",
            "ajax.googleapis.com",
            "*.google.com",
            "www.gstatic.com",
        ] {
            let mut s = baseline();
            set(
                &mut s,
                "Content-Security-Policy",
                &csp(&format!("'self' {host}")),
            );
            assert_eq!(
                ids(&graded(&s).findings),
                BTreeSet::from(["csp_bypass_host"]),
                "{host}"
            );
        }
        // Neutralised by 'strict-dynamic'.
        let mut s = baseline();
        let script = format!("{STRICT_SCRIPT} cdnjs.cloudflare.com");
        set(&mut s, "Content-Security-Policy", &csp(&script));
        assert!(graded(&s).findings.is_empty());
    }

    #[test]
    fn csp_insecure_scheme() {
        check(FindingId::CspInsecureScheme, Severity::Medium, -10, |s| {
            let policy = format!("{}; img-src http://images.example.com", csp(STRICT_SCRIPT));
            set(s, "Content-Security-Policy", &policy);
        });
        check(FindingId::CspInsecureScheme, Severity::High, -20, |s| {
            let policy = format!("{}; connect-src 'self' http:", csp(STRICT_SCRIPT));
            set(s, "Content-Security-Policy", &policy);
        });
    }

    #[test]
    fn csp_missing_object_src() {
        check(FindingId::CspMissingObjectSrc, Severity::High, -20, |s| {
            let policy = csp(STRICT_SCRIPT).replace("object-src 'none'; ", "");
            set(s, "Content-Security-Policy", &policy);
        });
        check(FindingId::CspMissingObjectSrc, Severity::Low, 0, |s| {
            let policy = csp(STRICT_SCRIPT).replace("object-src 'none'", "object-src 'self'");
            set(s, "Content-Security-Policy", &policy);
        });
    }

    #[test]
    fn csp_missing_base_uri() {
        check(FindingId::CspMissingBaseUri, Severity::High, -20, |s| {
            let policy = csp(STRICT_SCRIPT).replace("base-uri 'none'; ", "");
            set(s, "Content-Security-Policy", &policy);
        });
        check(FindingId::CspMissingBaseUri, Severity::Low, 0, |s| {
            let policy = csp("'self'").replace("base-uri 'none'; ", "");
            set(s, "Content-Security-Policy", &policy);
        });
    }

    #[test]
    fn csp_short_nonce() {
        check(FindingId::CspShortNonce, Severity::Medium, -10, |s| {
            set(
                s,
                "Content-Security-Policy",
                &csp("'nonce-abc123' 'strict-dynamic'"),
            );
        });
    }

    #[test]
    fn csp_no_reporting() {
        check(FindingId::CspNoReporting, Severity::Info, 0, |s| {
            let policy = csp(STRICT_SCRIPT).replace("; report-uri /csp", "");
            set(s, "Content-Security-Policy", &policy);
        });
    }

    #[test]
    fn trusted_types_missing() {
        let finding = check(FindingId::TrustedTypesMissing, Severity::Info, 0, |s| {
            let policy = csp(STRICT_SCRIPT).replace("require-trusted-types-for 'script'; ", "");
            set(s, "Content-Security-Policy", &policy);
        });
        assert!(finding.message.contains("nothing enforces them"));
    }

    #[test]
    fn csp_missing_frame_ancestors() {
        check(
            FindingId::CspMissingFrameAncestors,
            Severity::High,
            -20,
            |s| {
                let policy = csp(STRICT_SCRIPT).replace("frame-ancestors 'none'; ", "");
                set(s, "Content-Security-Policy", &policy);
                s.remove("X-Frame-Options");
            },
        );
        // X-Frame-Options alone protects, without the frame-ancestors bonus.
        let mut s = baseline();
        let policy = csp(STRICT_SCRIPT).replace("frame-ancestors 'none'; ", "");
        set(&mut s, "Content-Security-Policy", &policy);
        let with_xfo = graded(&s);
        assert!(with_xfo.findings.is_empty());
        assert_eq!(with_xfo.score, 130);
        for useless in ["ALLOW-FROM https://example.com", "ALLOWALL"] {
            set(&mut s, "X-Frame-Options", useless);
            assert_eq!(
                ids(&graded(&s).findings),
                BTreeSet::from(["csp_missing_frame_ancestors"]),
                "{useless}"
            );
        }
    }

    #[test]
    fn hsts_missing() {
        check(FindingId::HstsMissing, Severity::High, -20, |s| {
            s.remove("Strict-Transport-Security");
        });
    }

    #[test]
    fn hsts_invalid() {
        check(FindingId::HstsInvalid, Severity::High, -20, |s| {
            set(s, "Strict-Transport-Security", "includeSubDomains; preload");
        });
    }

    #[test]
    fn hsts_short_max_age() {
        check(FindingId::HstsShortMaxAge, Severity::Medium, -10, |s| {
            set(
                s,
                "Strict-Transport-Security",
                "max-age=86400; includeSubDomains; preload",
            );
        });
        check(FindingId::HstsShortMaxAge, Severity::Low, 0, |s| {
            set(
                s,
                "Strict-Transport-Security",
                "max-age=15552000; includeSubDomains; preload",
            );
        });
    }

    #[test]
    fn hsts_no_include_subdomains() {
        check(FindingId::HstsNoIncludeSubdomains, Severity::Low, 0, |s| {
            set(s, "Strict-Transport-Security", "max-age=63072000; preload");
        });
    }

    #[test]
    fn hsts_no_preload() {
        check(FindingId::HstsNoPreload, Severity::Info, 0, |s| {
            set(
                s,
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            );
        });
    }

    #[test]
    fn xcto_missing() {
        check(FindingId::XctoMissing, Severity::Low, -5, |s| {
            s.remove("X-Content-Type-Options");
        });
        check(FindingId::XctoMissing, Severity::Low, -5, |s| {
            set(s, "X-Content-Type-Options", "sniff, nosniff");
        });
    }

    #[test]
    fn referrer_policy_missing() {
        check(FindingId::ReferrerPolicyMissing, Severity::Low, 0, |s| {
            s.remove("Referrer-Policy");
        });
    }

    #[test]
    fn referrer_policy_unsafe() {
        check(FindingId::ReferrerPolicyUnsafe, Severity::Low, -5, |s| {
            set(s, "Referrer-Policy", "unsafe-url");
        });
        // The last value the browser knows wins.
        check(FindingId::ReferrerPolicyUnsafe, Severity::Low, -5, |s| {
            set(
                s,
                "Referrer-Policy",
                "no-referrer, no-referrer-when-downgrade, bogus",
            );
        });
    }

    #[test]
    fn referrer_policy_invalid() {
        check(FindingId::ReferrerPolicyInvalid, Severity::Low, -5, |s| {
            set(s, "Referrer-Policy", "strict-orgin");
        });
    }

    #[test]
    fn permissions_policy_missing() {
        check(
            FindingId::PermissionsPolicyMissing,
            Severity::Low,
            -5,
            |s| {
                s.remove("Permissions-Policy");
            },
        );
        let legacy = check(
            FindingId::PermissionsPolicyMissing,
            Severity::Low,
            -5,
            |s| {
                s.remove("Permissions-Policy");
                set(s, "Feature-Policy", "camera 'none'");
            },
        );
        assert!(legacy.message.contains("Feature-Policy"));
    }

    #[test]
    fn coop_missing() {
        check(FindingId::CoopMissing, Severity::Low, -5, |s| {
            s.remove("Cross-Origin-Opener-Policy");
        });
        check(FindingId::CoopMissing, Severity::Low, -5, |s| {
            set(s, "Cross-Origin-Opener-Policy", "unsafe-none");
        });
    }

    #[test]
    fn coep_missing() {
        check(FindingId::CoepMissing, Severity::Info, 0, |s| {
            s.remove("Cross-Origin-Embedder-Policy");
        });
    }

    #[test]
    fn corp_missing() {
        check(FindingId::CorpMissing, Severity::Info, 0, |s| {
            s.remove("Cross-Origin-Resource-Policy");
        });
    }

    #[test]
    fn corp_invalid() {
        check(FindingId::CorpInvalid, Severity::Low, -5, |s| {
            set(s, "Cross-Origin-Resource-Policy", "same-origin-please");
        });
    }

    #[test]
    fn cookie_no_secure() {
        let finding = check(FindingId::CookieNoSecure, Severity::Medium, -10, |s| {
            set(
                s,
                "Set-Cookie",
                "session=s3cr3t; Path=/; HttpOnly; SameSite=Lax",
            );
        });
        assert!(finding.message.contains("\"session\""));
        // Without HSTS the same cookie costs the most of any cookie finding,
        // which is then also the cookie test's cost.
        let mut s = baseline();
        s.remove("Strict-Transport-Security");
        set(
            &mut s,
            "Set-Cookie",
            "session=s3cr3t; Path=/; HttpOnly; SameSite=Lax",
        );
        let graded = graded(&s);
        let cookie = graded
            .findings
            .iter()
            .find(|f| f.id == FindingId::CookieNoSecure)
            .unwrap();
        assert_eq!((cookie.severity, cookie.penalty), (Severity::High, -40));
        assert_eq!(graded.score, 100 - 20 - 40);
        check(FindingId::CookieNoSecure, Severity::Low, -5, |s| {
            set(
                s,
                "Set-Cookie",
                "theme=dark; Path=/; HttpOnly; SameSite=Lax",
            );
        });
    }

    #[test]
    fn cookie_no_httponly() {
        check(FindingId::CookieNoHttponly, Severity::High, -30, |s| {
            set(
                s,
                "Set-Cookie",
                "__Host-session=s3cr3t; Path=/; Secure; SameSite=Lax",
            );
        });
        check(FindingId::CookieNoHttponly, Severity::Info, 0, |s| {
            set(s, "Set-Cookie", "theme=dark; Path=/; Secure; SameSite=Lax");
        });
    }

    #[test]
    fn cookie_no_samesite() {
        check(FindingId::CookieNoSamesite, Severity::Low, 0, |s| {
            set(
                s,
                "Set-Cookie",
                "__Host-session=s3cr3t; Path=/; Secure; HttpOnly",
            );
        });
        check(FindingId::CookieNoSamesite, Severity::High, -20, |s| {
            set(s, "Set-Cookie", "__Host-csrftoken=s3cr3t; Path=/; Secure");
        });
    }

    #[test]
    fn cookie_samesite_invalid() {
        check(FindingId::CookieSamesiteInvalid, Severity::High, -20, |s| {
            let cookie = SESSION.replace("SameSite=Lax", "SameSite=Lox");
            set(s, "Set-Cookie", &cookie);
        });
    }

    #[test]
    fn cookie_prefix_invalid() {
        check(FindingId::CookiePrefixInvalid, Severity::Low, 0, |s| {
            let cookie = SESSION.replace("Path=/", "Path=/app");
            set(s, "Set-Cookie", &cookie);
        });
        check(FindingId::CookiePrefixInvalid, Severity::Low, 0, |s| {
            set(
                s,
                "Set-Cookie",
                "__Secure-id=s3cr3t; HttpOnly; SameSite=Lax",
            );
        });
    }

    /// Keeps the per-id tests above in step with the ids: every id has a test
    /// function of its name in this file.
    #[test]
    fn every_finding_id_has_a_test() {
        let source = include_str!("headers.rs");
        for id in FindingId::ALL {
            assert!(
                source.contains(&format!("fn {}()", id.as_str())),
                "no test for {}",
                id.as_str()
            );
            assert_eq!(FindingId::from_id(id.as_str()), Some(*id));
        }
    }

    // ---------------------------------------------------------------------------
    // Scoring rules

    #[test]
    fn a_test_costs_its_worst_finding_only() {
        let mut s = baseline();
        set(
            &mut s,
            "Content-Security-Policy",
            "script-src 'unsafe-inline' 'unsafe-eval' https:; frame-ancestors 'none'",
        );
        let graded = graded(&s);
        assert!(graded.findings.len() > 3);
        assert_eq!(graded.score, 80, "{:?}", graded.modifiers);
    }

    #[test]
    fn bonuses_need_a_score_of_90_first() {
        let mut s = baseline();
        set(&mut s, "X-Content-Type-Options", "sniff");
        set(&mut s, "Referrer-Policy", "unsafe-url");
        // 100 − 5 − 5 = 90: every other test's bonus applies.
        assert_eq!(graded(&s).score, 90 + 5 + 5 + 5 + 5 + 10);
        s.remove("Permissions-Policy");
        // 85: no bonus.
        assert_eq!(graded(&s).score, 85);
    }

    // ---------------------------------------------------------------------------
    // The JSON contract of observe.grade_headers

    #[test]
    fn grade_json_returns_score_grade_and_findings() {
        let out = grade_json(&json!({
            "content-security-policy": "script-src 'self' 'unsafe-inline'",
            "Set-Cookie": ["a=1; Secure; HttpOnly; SameSite=Lax", "b=2; Secure; HttpOnly; SameSite=Lax"],
            "x-frame-options": [],
        }))
        .unwrap();
        let object = out.as_object().unwrap();
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["score", "grade", "findings"]
        );
        assert!(out["score"].is_i64());
        let first = &out["findings"][0];
        assert_eq!(
            first.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id", "severity", "header", "message"]
        );
        assert_eq!(first["id"], "csp_unsafe_inline");
        assert_eq!(first["severity"], "high");
        assert_eq!(first["header"], "content-security-policy");
        let severities: BTreeSet<_> = out["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["severity"].as_str().unwrap())
            .collect();
        assert!(severities.is_subset(&BTreeSet::from(["info", "low", "medium", "high"])));
    }

    #[test]
    fn grade_json_refuses_other_shapes_without_echoing_values() {
        let cases = [
            (
                json!("max-age=1"),
                HeadersError::NotAnObject {
                    json_type: "string",
                },
            ),
            (
                json!({"Strict-Transport-Security": 31536000}),
                HeadersError::InvalidValue {
                    header: "Strict-Transport-Security".into(),
                    json_type: "number",
                },
            ),
            (
                json!({"Set-Cookie": ["sid=s3cr3t", {"sid": "s3cr3t"}]}),
                HeadersError::InvalidArrayItem {
                    header: "Set-Cookie".into(),
                    json_type: "object",
                },
            ),
            (
                json!({"X-Frame-Options": true}),
                HeadersError::InvalidValue {
                    header: "X-Frame-Options".into(),
                    json_type: "boolean",
                },
            ),
        ];
        for (input, expected) in cases {
            let error = grade_json(&input).unwrap_err();
            assert!(!error.to_string().contains("s3cr3t"), "{error}");
            assert_eq!(error, expected);
        }
    }

    // ---------------------------------------------------------------------------
    // Bounded work

    #[test]
    fn the_largest_accepted_input_grades_quickly() {
        // Every value as long as allowed, full of host sources that the bypass
        // check has to compare with every known bypass URL.
        let hosts: String = (0..)
            .map(|i| format!(" *.h{i}.googleapis.example"))
            .take_while({
                let mut len = "script-src https:".len();
                move |h: &String| {
                    len += h.len();
                    len < MAX_VALUE_BYTES
                }
            })
            .collect();
        // `https:` last: every policy allows every bypass URL, so each is
        // compared with every host of every policy before being let through.
        let policy = format!("script-src{hosts} https:");
        let count = pg_observe_core::headers::MAX_TOTAL_BYTES / MAX_VALUE_BYTES;
        let headers =
            Headers::from_pairs((0..count).map(|_| ("content-security-policy", &policy))).unwrap();
        let start = Instant::now();
        let graded = grade(&headers);
        assert!(graded.score < 100);
        for finding in &graded.findings {
            assert!(finding.message.len() < 1024, "{}", finding.message);
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    // ---------------------------------------------------------------------------
    // Properties

    const NAMES: &[&str] = &[
        "Content-Security-Policy",
        "content-security-policy-report-only",
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Permissions-Policy",
        "Feature-Policy",
        "Cross-Origin-Opener-Policy",
        "Cross-Origin-Embedder-Policy",
        "Cross-Origin-Resource-Policy",
        "Set-Cookie",
        "X-Other",
    ];

    const TOKENS: &[&str] = &[
        "script-src",
        "default-src",
        "object-src",
        "base-uri",
        "frame-ancestors",
        "script-src-elem",
        "script-src-attr",
        "require-trusted-types-for",
        "trusted-types",
        "report-uri",
        "report-to",
        "upgrade-insecure-requests",
        "img-src",
        "form-action",
        "'self'",
        "'none'",
        "'unsafe-inline'",
        "'unsafe-eval'",
        "'strict-dynamic'",
        "'script'",
        "'nonce-abc'",
        "'nonce-9omWNKSSGXLqKvqaYh2Cuw'",
        "'sha256-abc='",
        "https:",
        "http:",
        "data:",
        "*",
        "*.googleapis.com",
        "cdnjs.cloudflare.com",
        "https://*",
        "http://x.example",
        "max-age=31536000",
        "max-age=1",
        "includeSubDomains",
        "preload",
        "nosniff",
        "DENY",
        "no-referrer",
        "unsafe-url",
        "same-origin",
        "same-site",
        "unsafe-none",
        "require-corp",
        "session=1",
        "csrf=1",
        "__Host-a=1",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "SameSite=None",
        "Path=/",
        "Domain=x",
        "Max-Age=0",
        ";",
        ",",
        "=",
        "'",
        "\"",
        " ",
        "\t",
        "é",
        "\u{0}",
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(prop::sample::select(TOKENS), 0..24).prop_map(|t| t.join(" ")),
            prop::collection::vec(prop::sample::select(TOKENS), 0..24).prop_map(|t| t.concat()),
            "\\PC{0,80}",
        ]
    }

    fn header_map() -> impl Strategy<Value = Vec<(String, String)>> {
        let name = prop_oneof![
            prop::sample::select(NAMES).prop_map(str::to_owned),
            prop::sample::select(NAMES).prop_map(|n| n.to_ascii_uppercase()),
            "[A-Za-z-]{0,16}",
        ];
        prop::collection::vec((name, value()), 0..24)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            value().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(NAMES).prop_map(str::to_owned),
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_headers_grade_without_panicking(pairs in header_map()) {
            let headers = Headers::from_pairs(pairs).unwrap();
            let graded = grade(&headers);
            prop_assert!((0..=140).contains(&graded.score), "{}", graded.score);
            prop_assert_eq!(graded.grade, Letter::from_score(graded.score));
            for finding in &graded.findings {
                prop_assert!(finding.penalty <= 0);
                prop_assert!(!finding.message.is_empty());
            }
            let json = graded.to_json();
            prop_assert_eq!(json["findings"].as_array().unwrap().len(), graded.findings.len());
        }

        #[test]
        fn arbitrary_json_is_graded_or_refused(value in json_value()) {
            match grade_json(&value) {
                Ok(out) => prop_assert!(out["score"].as_i64().is_some()),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }

        #[test]
        fn letters_never_improve_as_the_score_drops(a in -1000i32..1000, b in -1000i32..1000) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            // Letter orders best first.
            prop_assert!(Letter::from_score(high) <= Letter::from_score(low));
        }

        #[test]
        fn policies_round_trip_through_display(text in value()) {
            let policy = Policy::parse(&text);
            let reparsed = Policy::parse(&policy.to_string());
            prop_assert_eq!(reparsed.directives(), policy.directives());
        }

        #[test]
        fn too_many_values_are_refused_not_truncated(extra in 1usize..8) {
            let pairs = (0..MAX_VALUES + extra).map(|i| ("set-cookie", format!("c{i}=1")));
            prop_assert_eq!(
                Headers::from_pairs(pairs),
                Err(HeadersError::TooManyValues { limit: MAX_VALUES })
            );
        }
    }
}
