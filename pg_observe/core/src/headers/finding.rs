//! What a check reports: a stable id, how bad it is, which header to change and how.

use super::names;

/// How much a finding weakens the site, in the words the SQL function returns.
/// Ordered, so `Severity::High > Severity::Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The Observatory-style test a finding belongs to. A test costs at most its
/// worst finding's penalty, however many findings it has (see `grade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Test {
    ContentSecurityPolicy,
    Framing,
    StrictTransportSecurity,
    ContentTypeOptions,
    ReferrerPolicy,
    PermissionsPolicy,
    CrossOriginOpenerPolicy,
    CrossOriginEmbedderPolicy,
    CrossOriginResourcePolicy,
    Cookies,
}

impl Test {
    pub const fn as_str(self) -> &'static str {
        match self {
            Test::ContentSecurityPolicy => "content-security-policy",
            Test::Framing => "framing",
            Test::StrictTransportSecurity => "strict-transport-security",
            Test::ContentTypeOptions => "x-content-type-options",
            Test::ReferrerPolicy => "referrer-policy",
            Test::PermissionsPolicy => "permissions-policy",
            Test::CrossOriginOpenerPolicy => "cross-origin-opener-policy",
            Test::CrossOriginEmbedderPolicy => "cross-origin-embedder-policy",
            Test::CrossOriginResourcePolicy => "cross-origin-resource-policy",
            Test::Cookies => "cookies",
        }
    }
}

macro_rules! finding_ids {
    ($($variant:ident => $id:literal, $test:ident, $header:expr;)*) => {
        /// Stable identifiers: callers key dashboards and suppressions on these
        /// strings, so an id is never renamed, only added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingId {
            $($variant,)*
        }

        impl FindingId {
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $id,)*
                }
            }

            pub const fn test(self) -> Test {
                match self {
                    $(FindingId::$variant => Test::$test,)*
                }
            }

            /// The (lowercase) header the fix goes into.
            pub const fn header(self) -> &'static str {
                match self {
                    $(FindingId::$variant => $header,)*
                }
            }

            pub fn from_id(id: &str) -> Option<FindingId> {
                FindingId::ALL.iter().copied().find(|f| f.as_str() == id)
            }
        }
    };
}

finding_ids! {
    CspMissing => "csp_missing", ContentSecurityPolicy, names::CSP;
    CspReportOnly => "csp_report_only", ContentSecurityPolicy, names::CSP_REPORT_ONLY;
    CspUnsafeInline => "csp_unsafe_inline", ContentSecurityPolicy, names::CSP;
    CspUnsafeEval => "csp_unsafe_eval", ContentSecurityPolicy, names::CSP;
    CspWildcardScriptSrc => "csp_wildcard_script_src", ContentSecurityPolicy, names::CSP;
    CspMissingScriptSrc => "csp_missing_script_src", ContentSecurityPolicy, names::CSP;
    CspBypassHost => "csp_bypass_host", ContentSecurityPolicy, names::CSP;
    CspInsecureScheme => "csp_insecure_scheme", ContentSecurityPolicy, names::CSP;
    CspMissingObjectSrc => "csp_missing_object_src", ContentSecurityPolicy, names::CSP;
    CspMissingBaseUri => "csp_missing_base_uri", ContentSecurityPolicy, names::CSP;
    CspShortNonce => "csp_short_nonce", ContentSecurityPolicy, names::CSP;
    CspNoReporting => "csp_no_reporting", ContentSecurityPolicy, names::CSP;
    TrustedTypesMissing => "trusted_types_missing", ContentSecurityPolicy, names::CSP;
    CspMissingFrameAncestors => "csp_missing_frame_ancestors", Framing, names::CSP;
    HstsMissing => "hsts_missing", StrictTransportSecurity, names::HSTS;
    HstsInvalid => "hsts_invalid", StrictTransportSecurity, names::HSTS;
    HstsShortMaxAge => "hsts_short_max_age", StrictTransportSecurity, names::HSTS;
    HstsNoIncludeSubdomains => "hsts_no_include_subdomains", StrictTransportSecurity, names::HSTS;
    HstsNoPreload => "hsts_no_preload", StrictTransportSecurity, names::HSTS;
    XctoMissing => "xcto_missing", ContentTypeOptions, names::XCTO;
    ReferrerPolicyMissing => "referrer_policy_missing", ReferrerPolicy, names::REFERRER_POLICY;
    ReferrerPolicyUnsafe => "referrer_policy_unsafe", ReferrerPolicy, names::REFERRER_POLICY;
    ReferrerPolicyInvalid => "referrer_policy_invalid", ReferrerPolicy, names::REFERRER_POLICY;
    PermissionsPolicyMissing => "permissions_policy_missing", PermissionsPolicy, names::PERMISSIONS_POLICY;
    CoopMissing => "coop_missing", CrossOriginOpenerPolicy, names::COOP;
    CoepMissing => "coep_missing", CrossOriginEmbedderPolicy, names::COEP;
    CorpMissing => "corp_missing", CrossOriginResourcePolicy, names::CORP;
    CorpInvalid => "corp_invalid", CrossOriginResourcePolicy, names::CORP;
    CookieNoSecure => "cookie_no_secure", Cookies, names::SET_COOKIE;
    CookieNoHttponly => "cookie_no_httponly", Cookies, names::SET_COOKIE;
    CookieNoSamesite => "cookie_no_samesite", Cookies, names::SET_COOKIE;
    CookieSamesiteInvalid => "cookie_samesite_invalid", Cookies, names::SET_COOKIE;
    CookiePrefixInvalid => "cookie_prefix_invalid", Cookies, names::SET_COOKIE;
}

/// One thing to change. `penalty` (zero or negative) is what the finding
/// would cost on its own; a test only ever costs its worst finding, so the
/// penalties of one test's findings do not add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub header: &'static str,
    pub message: String,
    pub penalty: i32,
}

impl Finding {
    pub(crate) fn new(
        id: FindingId,
        severity: Severity,
        penalty: i32,
        message: impl Into<String>,
    ) -> Self {
        debug_assert!(penalty <= 0, "{} has a positive penalty", id.as_str());
        Finding {
            id,
            severity,
            header: id.header(),
            message: message.into(),
            penalty,
        }
    }
}
