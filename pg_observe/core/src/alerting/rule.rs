//! An alert rule as an admin writes it, checked once when it is saved so
//! that evaluation never meets a rule it cannot run. Every refusal names the
//! argument at fault.

use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::event::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A metric compared with a threshold over a window, every evaluation.
    Threshold,
    /// Fires in the transaction that creates an issue.
    NewIssue,
    /// Fires in the transaction that regresses a resolved issue.
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    ErrorEvents,
    LogEvents,
    AffectedUsers,
    IssueEvents,
    /// Errors ÷ requests, from what middleware recorded.
    ErrorRate,
    /// Health checks currently down.
    HealthFailures,
    /// The 75th percentile of a web vital over the window.
    WebVitalP75,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// Declaration order is escalation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// The Core Web Vitals the ingest endpoint records.
pub const WEB_VITALS: &[&str] = &["LCP", "INP", "CLS", "FCP", "TTFB"];

/// Labels a rule may split its alerts by.
pub const GROUP_LABELS: &[&str] = &[
    "service",
    "environment",
    "level",
    "issue_id",
    "route",
    "check",
    "metric_name",
    "page",
];

macro_rules! words {
    ($ty:ident { $($variant:ident => $word:literal),+ $(,)? }, $what:literal) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($ty::$variant),)+
                    _ => Err(format!(
                        "{} must be one of {}",
                        $what,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(Kind { Threshold => "threshold", NewIssue => "new_issue", Regression => "regression" }, "kind");
words!(
    Metric {
        ErrorEvents => "error_events",
        LogEvents => "log_events",
        AffectedUsers => "affected_users",
        IssueEvents => "issue_events",
        ErrorRate => "error_rate",
        HealthFailures => "health_failures",
        WebVitalP75 => "web_vital_p75",
    },
    "metric"
);
words!(
    Comparator { Gt => ">", Ge => ">=", Lt => "<", Le => "<=", Eq => "=", Ne => "!=" },
    "comparator"
);
words!(
    Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" },
    "severity"
);

impl Comparator {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Gt => value > threshold,
            Comparator::Ge => value >= threshold,
            Comparator::Lt => value < threshold,
            Comparator::Le => value <= threshold,
            Comparator::Eq => value == threshold,
            Comparator::Ne => value != threshold,
        }
    }
}

/// When alerts change state and how often their notifications go out,
/// after Prometheus (`for`, `keep_firing_for`) and Alertmanager
/// (`group_wait`, `group_interval`, `repeat_interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub pending_for: TimeDelta,
    pub keep_firing_for: TimeDelta,
    pub repeat_interval: TimeDelta,
    pub group_wait: TimeDelta,
    pub group_interval: TimeDelta,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            pending_for: TimeDelta::zero(),
            keep_firing_for: TimeDelta::zero(),
            repeat_interval: TimeDelta::hours(4),
            group_wait: TimeDelta::seconds(30),
            group_interval: TimeDelta::minutes(5),
        }
    }
}

/// A rule's filters: which events, logs or issues its metric counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub service: Option<String>,
    pub environment: Option<String>,
    /// At least this level.
    pub level: Option<Level>,
    pub issue_id: Option<i64>,
    /// Tag or context equality (`{"route": "/checkout"}`), or for the web
    /// vital metric the vital's name (`{"name": "LCP"}`).
    pub matches: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub kind: Kind,
    pub metric: Metric,
    pub filters: Filters,
    pub comparator: Comparator,
    pub threshold: Option<f64>,
    pub window: TimeDelta,
    pub timing: Timing,
    pub group_by: Vec<String>,
    pub severity: Severity,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub recipients: Vec<String>,
    pub send_resolved: bool,
    pub enabled: bool,
}

/// Why a rule was refused; each names the argument, as the SQL function's
/// caller wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{argument}: {problem}")]
pub struct RuleError {
    pub argument: &'static str,
    pub problem: String,
}

fn refuse(argument: &'static str, problem: impl Into<String>) -> RuleError {
    RuleError {
        argument,
        problem: problem.into(),
    }
}

/// A rule's arguments as the SQL function receives them, before checking.
#[derive(Debug, Clone, Default)]
pub struct RuleArgs {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub metric: Option<String>,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub level: Option<String>,
    pub issue_id: Option<i64>,
    pub matches: Option<Value>,
    pub comparator: Option<String>,
    pub threshold: Option<f64>,
    pub window: Option<TimeDelta>,
    pub pending_for: Option<TimeDelta>,
    pub keep_firing_for: Option<TimeDelta>,
    pub repeat_interval: Option<TimeDelta>,
    pub group_wait: Option<TimeDelta>,
    pub group_interval: Option<TimeDelta>,
    pub group_by: Option<Vec<String>>,
    pub severity: Option<String>,
    pub labels: Option<Value>,
    pub annotations: Option<Value>,
    pub recipients: Option<Vec<String>>,
    pub send_resolved: Option<bool>,
    pub enabled: Option<bool>,
}

/// Longest rule name; it becomes the `alertname` label and the e-mail title.
pub const MAX_NAME: usize = 200;
pub const MAX_RECIPIENTS: usize = 50;

impl RuleArgs {
    /// Checks the arguments and builds the rule, filling defaults.
    pub fn build(self) -> Result<Rule, RuleError> {
        let name = self
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| refuse("name", "is required"))?;
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(refuse(
                "name",
                format!("must be at most {MAX_NAME} characters on one line"),
            ));
        }
        let kind = parse("kind", self.kind.as_deref(), Kind::Threshold)?;
        let metric = parse("metric", self.metric.as_deref(), Metric::ErrorEvents)?;
        let comparator = parse("comparator", self.comparator.as_deref(), Comparator::Ge)?;
        let severity = parse("severity", self.severity.as_deref(), Severity::High)?;
        let level = self
            .level
            .as_deref()
            .map(|l| {
                l.parse::<Level>()
                    .map_err(|e| refuse("level", e.to_string()))
            })
            .transpose()?;
        let window = self.window.unwrap_or(TimeDelta::minutes(5));
        if window <= TimeDelta::zero() {
            return Err(refuse("window_size", "must be positive"));
        }
        if window > TimeDelta::days(31) {
            return Err(refuse("window_size", "must be at most 31 days"));
        }
        let defaults = Timing::default();
        let timing = Timing {
            pending_for: non_negative("pending_for", self.pending_for, defaults.pending_for)?,
            keep_firing_for: non_negative(
                "keep_firing_for",
                self.keep_firing_for,
                defaults.keep_firing_for,
            )?,
            repeat_interval: positive(
                "repeat_interval",
                self.repeat_interval,
                defaults.repeat_interval,
            )?,
            group_wait: non_negative("group_wait", self.group_wait, defaults.group_wait)?,
            group_interval: positive(
                "group_interval",
                self.group_interval,
                defaults.group_interval,
            )?,
        };
        if kind == Kind::Threshold && self.threshold.is_none() {
            return Err(refuse("threshold", "is required for a threshold rule"));
        }
        if self.threshold.is_some_and(|t| !t.is_finite()) {
            return Err(refuse("threshold", "must be a finite number"));
        }
        if kind != Kind::Threshold && metric != Metric::ErrorEvents && self.metric.is_some() {
            return Err(refuse(
                "metric",
                format!("does not apply to a {kind} rule, which fires on the event itself"),
            ));
        }
        if metric == Metric::IssueEvents
            && self.issue_id.is_none()
            && !self
                .group_by
                .as_ref()
                .is_some_and(|g| g.iter().any(|l| l == "issue_id"))
        {
            return Err(refuse(
                "issue_id",
                "issue_events needs an issue_id, or group_by {issue_id} to watch every issue",
            ));
        }
        let group_by = self.group_by.unwrap_or_default();
        let mut seen = Vec::new();
        for label in &group_by {
            if !GROUP_LABELS.contains(&label.as_str()) {
                return Err(refuse(
                    "group_by",
                    format!("labels must be among {}", GROUP_LABELS.join(", ")),
                ));
            }
            if seen.contains(&label) {
                return Err(refuse("group_by", "names a label twice"));
            }
            seen.push(label);
        }
        let matches = object("match", self.matches)?;
        if matches.values().any(|v| !v.is_string()) {
            return Err(refuse(
                "match",
                "values must be strings (tag or context equality)",
            ));
        }
        if metric == Metric::WebVitalP75 {
            match matches.get("name").and_then(Value::as_str) {
                Some(name) if WEB_VITALS.contains(&name) => {}
                _ => {
                    return Err(refuse(
                        "match",
                        format!(
                            "web_vital_p75 needs {{\"name\": …}}, one of {}",
                            WEB_VITALS.join(", ")
                        ),
                    ));
                }
            }
        }
        let recipients = self.recipients.unwrap_or_default();
        if recipients.len() > MAX_RECIPIENTS {
            return Err(refuse(
                "recipients",
                format!("must be at most {MAX_RECIPIENTS} addresses (Resend's limit per e-mail)"),
            ));
        }
        for (index, address) in recipients.iter().enumerate() {
            if !is_email(address) {
                return Err(refuse(
                    "recipients",
                    format!("element {} is not an e-mail address", index + 1),
                ));
            }
        }
        Ok(Rule {
            name,
            kind,
            metric,
            filters: Filters {
                service: identifier("service", self.service)?,
                environment: identifier("environment", self.environment)?,
                level,
                issue_id: self.issue_id,
                matches,
            },
            comparator,
            threshold: self.threshold,
            window,
            timing,
            group_by,
            severity,
            labels: string_map("labels", self.labels)?,
            annotations: string_map("annotations", self.annotations)?,
            recipients,
            send_resolved: self.send_resolved.unwrap_or(true),
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

fn parse<T: FromStr<Err = String>>(
    argument: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T, RuleError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: String| refuse(argument, e)),
    }
}

fn non_negative(
    argument: &'static str,
    value: Option<TimeDelta>,
    default: TimeDelta,
) -> Result<TimeDelta, RuleError> {
    let value = value.unwrap_or(default);
    if value < TimeDelta::zero() {
        return Err(refuse(argument, "must not be negative"));
    }
    Ok(value)
}

fn positive(
    argument: &'static str,
    value: Option<TimeDelta>,
    default: TimeDelta,
) -> Result<TimeDelta, RuleError> {
    let value = value.unwrap_or(default);
    if value <= TimeDelta::zero() {
        return Err(refuse(argument, "must be positive"));
    }
    Ok(value)
}

fn identifier(argument: &'static str, value: Option<String>) -> Result<Option<String>, RuleError> {
    match value {
        Some(v) if v.trim().is_empty() || v.chars().any(char::is_control) || v.len() > 200 => {
            Err(refuse(
                argument,
                "must be a name of at most 200 characters on one line",
            ))
        }
        other => Ok(other),
    }
}

fn object(argument: &'static str, value: Option<Value>) -> Result<Map<String, Value>, RuleError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(refuse(argument, "must be a JSON object")),
    }
}

fn string_map(
    argument: &'static str,
    value: Option<Value>,
) -> Result<Map<String, Value>, RuleError> {
    let map = object(argument, value)?;
    if map.values().any(|v| !v.is_string()) {
        return Err(refuse(argument, "values must be strings"));
    }
    Ok(map)
}

/// An address Resend can deliver to: a valid RFC 5322 address (the
/// `email_address` crate's grammar), without a display name, whose domain is
/// a dotted host name (`ops@localhost` parses, but is nobody's inbox).
pub fn is_email(address: &str) -> bool {
    let Ok(parsed) = email_address::EmailAddress::parse_with_options(
        address,
        email_address::Options::default().without_display_text(),
    ) else {
        return false;
    };
    let domain = parsed.domain();
    domain.contains('.')
        && !domain.starts_with('[')
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args() -> RuleArgs {
        RuleArgs {
            name: Some("errors spike".into()),
            threshold: Some(10.0),
            ..RuleArgs::default()
        }
    }

    #[test]
    fn defaults_follow_the_issue() {
        let rule = args().build().unwrap();
        assert_eq!(rule.kind, Kind::Threshold);
        assert_eq!(rule.metric, Metric::ErrorEvents);
        assert_eq!(rule.comparator, Comparator::Ge);
        assert_eq!(rule.window, TimeDelta::minutes(5));
        assert_eq!(rule.timing, Timing::default());
        assert_eq!(rule.severity, Severity::High);
        assert!(rule.send_resolved && rule.enabled);
    }

    #[test]
    fn bad_rules_name_the_argument() {
        let table: Vec<(RuleArgs, &str)> = vec![
            (
                RuleArgs {
                    name: None,
                    ..args()
                },
                "name",
            ),
            (
                RuleArgs {
                    kind: Some("spike".into()),
                    ..args()
                },
                "kind",
            ),
            (
                RuleArgs {
                    metric: Some("cpu".into()),
                    ..args()
                },
                "metric",
            ),
            (
                RuleArgs {
                    comparator: Some("=>".into()),
                    ..args()
                },
                "comparator",
            ),
            (
                RuleArgs {
                    window: Some(TimeDelta::zero()),
                    ..args()
                },
                "window_size",
            ),
            (
                RuleArgs {
                    window: Some(TimeDelta::minutes(-5)),
                    ..args()
                },
                "window_size",
            ),
            (
                RuleArgs {
                    threshold: None,
                    ..args()
                },
                "threshold",
            ),
            (
                RuleArgs {
                    threshold: Some(f64::NAN),
                    ..args()
                },
                "threshold",
            ),
            (
                RuleArgs {
                    recipients: Some(vec!["ops@example.com".into(), "not an address".into()]),
                    ..args()
                },
                "recipients",
            ),
            (
                RuleArgs {
                    severity: Some("urgent".into()),
                    ..args()
                },
                "severity",
            ),
            (
                RuleArgs {
                    level: Some("warn".into()),
                    ..args()
                },
                "level",
            ),
            (
                RuleArgs {
                    group_by: Some(vec!["hostname".into()]),
                    ..args()
                },
                "group_by",
            ),
            (
                RuleArgs {
                    pending_for: Some(TimeDelta::seconds(-1)),
                    ..args()
                },
                "pending_for",
            ),
            (
                RuleArgs {
                    repeat_interval: Some(TimeDelta::zero()),
                    ..args()
                },
                "repeat_interval",
            ),
            (
                RuleArgs {
                    matches: Some(json!([1])),
                    ..args()
                },
                "match",
            ),
            (
                RuleArgs {
                    labels: Some(json!({"team": 1})),
                    ..args()
                },
                "labels",
            ),
            (
                RuleArgs {
                    metric: Some("issue_events".into()),
                    ..args()
                },
                "issue_id",
            ),
            (
                RuleArgs {
                    metric: Some("web_vital_p75".into()),
                    ..args()
                },
                "match",
            ),
            (
                RuleArgs {
                    metric: Some("web_vital_p75".into()),
                    matches: Some(json!({"name": "FID"})),
                    ..args()
                },
                "match",
            ),
        ];
        for (args, argument) in table {
            let err = args.build().unwrap_err();
            assert_eq!(err.argument, argument, "{err}");
        }
    }

    #[test]
    fn event_rules_need_no_threshold() {
        let rule = RuleArgs {
            name: Some("new issue".into()),
            kind: Some("new_issue".into()),
            ..RuleArgs::default()
        }
        .build()
        .unwrap();
        assert_eq!(rule.kind, Kind::NewIssue);
    }

    #[test]
    fn addresses() {
        for ok in [
            "ops@example.com",
            "a.b+alerts@sub.example.co.uk",
            "x@example.museum",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "ops@localhost",
            "a b@example.com",
            "Ops <ops@example.com>",
            "ops@example..com",
            "ops@-x.com",
            "ops@example.c0m",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn comparators() {
        assert!(Comparator::Ge.holds(10.0, 10.0));
        assert!(!Comparator::Gt.holds(10.0, 10.0));
        assert!(Comparator::Lt.holds(0.04, 0.05));
        assert!(Comparator::Ne.holds(1.0, 2.0));
        for c in Comparator::ALL {
            assert_eq!(c.as_str().parse::<Comparator>(), Ok(*c));
        }
    }
}
