//! The request body of the platform's existing `log-error` endpoint.
//!
//! Clients of that endpoint switch to `observe.log_error(jsonb)` without
//! rewriting their calls, so its vocabulary (severity, the `context` area
//! string, the criticality rule) is honoured here, once, for the SQL form and
//! the edge function alike.

use std::str::FromStr;

use super::{EventError, Level};

/// The endpoint's four-step severity scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The level an event of this severity is stored with.
    pub fn level(self) -> Level {
        match self {
            Severity::Low => Level::Info,
            Severity::Medium => Level::Warning,
            Severity::High => Level::Error,
            Severity::Critical => Level::Fatal,
        }
    }
}

impl FromStr for Severity {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| EventError::InvalidSeverity(super::error::Shown::new(s)))
    }
}

const CRITICAL_AREAS: [&str; 3] = ["auth", "database", "rls"];
const CRITICAL_TYPES: [&str; 3] = ["security", "database", "rls_violation"];

/// The endpoint's rule for events that did not state a severity: anything in
/// the auth, database or RLS areas, any security/database/RLS error type, and
/// server errors (HTTP >= 500) in those areas or left unhandled. A server
/// error in a critical area is critical by the first clause already, so the
/// last one reduces to "unhandled server error".
pub fn legacy_is_critical(
    area: Option<&str>,
    error_type: Option<&str>,
    http_status: Option<i64>,
    unhandled: bool,
) -> bool {
    let critical_area = area.is_some_and(|a| CRITICAL_AREAS.contains(&a));
    let critical_type = error_type.is_some_and(|t| CRITICAL_TYPES.contains(&t));
    let server_error = http_status.is_some_and(|s| s >= 500);
    critical_area || critical_type || (server_error && unhandled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_map_onto_levels() {
        let table = [
            ("low", Level::Info),
            ("medium", Level::Warning),
            ("high", Level::Error),
            ("CRITICAL", Level::Fatal),
        ];
        for (input, level) in table {
            assert_eq!(input.parse::<Severity>().unwrap().level(), level);
        }
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn criticality_rule_matches_the_endpoint() {
        // (area, error_type, http_status, unhandled) → critical
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<i64>, bool, bool);
        let table: [Case; 9] = [
            (Some("auth"), None, None, false, true),
            (Some("rls"), Some("javascript"), Some(200), false, true),
            (Some("billing"), Some("security"), None, false, true),
            (None, Some("rls_violation"), None, false, true),
            (Some("billing"), Some("api"), Some(502), true, true),
            (Some("billing"), Some("api"), Some(502), false, false),
            (Some("billing"), Some("api"), Some(404), true, false),
            (Some("search"), Some("network"), None, true, false),
            (None, None, None, false, false),
        ];
        for (area, error_type, status, unhandled, critical) in table {
            assert_eq!(
                legacy_is_critical(area, error_type, status, unhandled),
                critical,
                "{area:?} {error_type:?} {status:?} {unhandled}"
            );
        }
    }
}
