//! The header names graded, lowercase as `Headers` stores them.

pub const CSP: &str = "content-security-policy";
pub const CSP_REPORT_ONLY: &str = "content-security-policy-report-only";
pub const HSTS: &str = "strict-transport-security";
pub const XCTO: &str = "x-content-type-options";
pub const XFO: &str = "x-frame-options";
pub const REFERRER_POLICY: &str = "referrer-policy";
pub const PERMISSIONS_POLICY: &str = "permissions-policy";
pub const FEATURE_POLICY: &str = "feature-policy";
pub const COOP: &str = "cross-origin-opener-policy";
pub const COEP: &str = "cross-origin-embedder-policy";
pub const CORP: &str = "cross-origin-resource-policy";
pub const SET_COOKIE: &str = "set-cookie";
