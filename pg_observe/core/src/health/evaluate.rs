//! Evaluating parsed conditions against what a probe saw. A condition that
//! cannot be evaluated where it runs (the certificate, when pg_net made the
//! request) has no result rather than a failing one.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::condition::{Comparator, Condition, Operand, PathStep, Placeholder};

/// What one request observed. `headers` are keyed by lower-case name.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    /// A response arrived (no network error, no timeout).
    pub connected: bool,
    pub status: Option<u16>,
    pub response_time_ms: Option<f64>,
    pub body: &'a str,
    pub headers: BTreeMap<String, String>,
    /// `None`: the certificate was not looked at (plain HTTP, or pg_net);
    /// `Some(None)`: it was wanted and could not be read.
    pub certificate_expires_in_ms: Option<Option<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConditionResult {
    pub condition: String,
    /// `None`: not evaluable here.
    pub success: Option<bool>,
    /// What the placeholder resolved to, bounded, for the one reading why.
    pub actual: Option<String>,
}

impl ConditionResult {
    pub fn to_json(&self) -> Value {
        json!({"condition": self.condition, "success": self.success, "actual": self.actual})
    }
}

/// Longest `actual` kept: enough to see a status or a short field.
const ACTUAL_CHARS: usize = 100;

pub fn evaluate_all(conditions: &[Condition], seen: &Observation<'_>) -> Vec<ConditionResult> {
    let body: Option<Value> = serde_json::from_str(seen.body).ok();
    conditions
        .iter()
        .map(|c| evaluate(c, seen, body.as_ref()))
        .collect()
}

/// A resolved side: text to compare, or nothing (a missing path, no
/// response), or unknowable here.
enum Side {
    Value(String),
    Missing,
    NotEvaluable,
}

fn evaluate(
    condition: &Condition,
    seen: &Observation<'_>,
    json: Option<&Value>,
) -> ConditionResult {
    let left = resolve(&condition.left, seen, json);
    let right = resolve(&condition.right, seen, json);
    let shown = |side: &Side| match side {
        Side::Value(v) => Some(v.chars().take(ACTUAL_CHARS).collect::<String>()),
        _ => None,
    };
    let actual = if is_placeholder(&condition.left) {
        shown(&left)
    } else {
        shown(&right)
    };
    let success = match (&left, &right) {
        (Side::NotEvaluable, _) | (_, Side::NotEvaluable) => None,
        _ => Some(compare(condition, &left, &right)),
    };
    ConditionResult {
        condition: condition.source.clone(),
        success,
        actual,
    }
}

fn is_placeholder(operand: &Operand) -> bool {
    matches!(
        operand,
        Operand::Placeholder(_) | Operand::Len(_) | Operand::Has(_)
    )
}

fn resolve(operand: &Operand, seen: &Observation<'_>, json: Option<&Value>) -> Side {
    match operand {
        Operand::Literal(text) => Side::Value(text.clone()),
        Operand::Pattern(_) | Operand::Any(_) => Side::Missing,
        Operand::Has(p) => Side::Value(
            match lookup(p, seen, json) {
                Lookup::Found(_) => "true",
                Lookup::Missing => "false",
                Lookup::NotEvaluable => return Side::NotEvaluable,
            }
            .into(),
        ),
        Operand::Len(p) => match lookup(p, seen, json) {
            Lookup::Found(v) => Side::Value(
                match &v {
                    Found::Json(Value::Array(a)) => a.len(),
                    Found::Json(Value::Object(o)) => o.len(),
                    Found::Json(Value::String(s)) => s.chars().count(),
                    Found::Json(other) => other.to_string().chars().count(),
                    Found::Text(s) => s.chars().count(),
                }
                .to_string(),
            ),
            Lookup::Missing => Side::Missing,
            Lookup::NotEvaluable => Side::NotEvaluable,
        },
        Operand::Placeholder(p) => match lookup(p, seen, json) {
            Lookup::Found(Found::Text(s)) => Side::Value(s),
            Lookup::Found(Found::Json(Value::String(s))) => Side::Value(s),
            Lookup::Found(Found::Json(v)) => Side::Value(v.to_string()),
            Lookup::Missing => Side::Missing,
            Lookup::NotEvaluable => Side::NotEvaluable,
        },
    }
}

enum Found {
    Text(String),
    Json(Value),
}

enum Lookup {
    Found(Found),
    Missing,
    NotEvaluable,
}

fn lookup(p: &Placeholder, seen: &Observation<'_>, json: Option<&Value>) -> Lookup {
    let text = |s: String| Lookup::Found(Found::Text(s));
    match p {
        Placeholder::Connected => text(seen.connected.to_string()),
        Placeholder::Status => match seen.status {
            Some(s) if seen.connected => text(s.to_string()),
            _ => Lookup::Missing,
        },
        Placeholder::ResponseTime => match seen.response_time_ms {
            Some(ms) => text(format!("{}", ms.round() as i64)),
            None => Lookup::NotEvaluable,
        },
        Placeholder::Header(name) => match seen.headers.get(name) {
            Some(v) if seen.connected => text(v.clone()),
            _ => Lookup::Missing,
        },
        Placeholder::CertificateExpiration => match seen.certificate_expires_in_ms {
            None => Lookup::NotEvaluable,
            Some(None) => Lookup::Missing,
            Some(Some(ms)) => text(ms.to_string()),
        },
        Placeholder::Body(path) if path.is_empty() => {
            if seen.connected {
                text(seen.body.to_owned())
            } else {
                Lookup::Missing
            }
        }
        Placeholder::Body(path) => {
            let Some(mut value) = json else {
                return Lookup::Missing;
            };
            for step in path {
                let next = match step {
                    PathStep::Key(k) => value.get(k.as_str()),
                    PathStep::Index(i) => value.get(*i),
                };
                match next {
                    Some(v) => value = v,
                    None => return Lookup::Missing,
                }
            }
            Lookup::Found(Found::Json(value.clone()))
        }
    }
}

fn compare(condition: &Condition, left: &Side, right: &Side) -> bool {
    let equal = |l: &str| match &condition.right {
        Operand::Pattern(p) => wildcard(p, l),
        Operand::Any(items) => items.iter().any(|i| same(l, i)),
        _ => match right {
            Side::Value(r) => same(l, r),
            _ => false,
        },
    };
    match condition.comparator {
        Comparator::Eq => match left {
            Side::Value(l) => equal(l),
            _ => false,
        },
        Comparator::Ne => match left {
            Side::Value(l) => !equal(l),
            // A missing value differs from any value.
            _ => true,
        },
        ordering => {
            let (Side::Value(l), Side::Value(r)) = (left, right) else {
                return false;
            };
            let (Some(l), Some(r)) = (number(l), number(r)) else {
                return false;
            };
            match ordering {
                Comparator::Lt => l < r,
                Comparator::Le => l <= r,
                Comparator::Gt => l > r,
                _ => l >= r,
            }
        }
    }
}

/// Equal as numbers when both are numbers or durations (`200` and `200.0`,
/// `1s` and `1000`), else as text.
fn same(left: &str, right: &str) -> bool {
    match (number(left), number(right)) {
        (Some(l), Some(r)) => l == r,
        _ => left == right,
    }
}

/// A number, or a duration in milliseconds (`48h`, `1h30m`, `500ms`, `7d`),
/// as durations compare with [RESPONSE_TIME] and [CERTIFICATE_EXPIRATION].
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let mut total = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let amount: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        total += amount * factor;
        rest = &rest[unit..];
    }
    Some(total)
}

/// Gatus's `pat()`: `*` matches any run of characters, everything else
/// itself. Iterative with one backtrack point, so linear-ish on any input.
fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: u16, body: &str) -> Observation<'_> {
        Observation {
            connected: true,
            status: Some(status),
            response_time_ms: Some(120.4),
            body,
            headers: [(
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            )]
            .into(),
            certificate_expires_in_ms: None,
        }
    }

    fn check(condition: &str, observation: &Observation<'_>) -> Option<bool> {
        let parsed = Condition::parse(condition).unwrap();
        evaluate_all(&[parsed], observation)[0].success
    }

    #[test]
    fn gatus_semantics() {
        let ok = seen(
            200,
            r#"{"status": "UP", "items": [1, 2, 3], "data": [{"id": 7}], "ratio": 0.5}"#,
        );
        for (condition, expected) in [
            ("[STATUS] == 200", true),
            ("[STATUS] != 200", false),
            ("[STATUS] == any(200, 204)", true),
            ("[STATUS] < 300", true),
            ("[STATUS] >= 500", false),
            ("[RESPONSE_TIME] < 500", true),
            ("[RESPONSE_TIME] <= 100ms", false),
            ("[RESPONSE_TIME] < 1s", true),
            ("[BODY].status == UP", true),
            ("[BODY].status == DOWN", false),
            ("[BODY].data[0].id == 7", true),
            ("[BODY].data[1].id == 7", false),
            ("[BODY].missing != x", true),
            ("len([BODY].items) == 3", true),
            ("len([BODY].items) > 3", false),
            ("has([BODY].status) == true", true),
            ("has([BODY].errors) == false", true),
            ("[BODY] == pat(*\"UP\"*)", true),
            ("[BODY] == pat(*DOWN*)", false),
            ("[BODY].ratio < 1", true),
            ("[HEADER].content-type == pat(*json*)", true),
            ("[HEADER].x-missing == pat(*)", false),
            ("[CONNECTED] == true", true),
        ] {
            assert_eq!(check(condition, &ok), Some(expected), "{condition}");
        }
    }

    #[test]
    fn failures_and_what_cannot_be_evaluated() {
        let down = Observation {
            connected: false,
            response_time_ms: Some(10_000.0),
            ..Observation::default()
        };
        assert_eq!(check("[STATUS] == 200", &down), Some(false));
        assert_eq!(check("[CONNECTED] == true", &down), Some(false));
        assert_eq!(check("[BODY].status == UP", &down), Some(false));
        assert_eq!(check("[CERTIFICATE_EXPIRATION] > 48h", &down), None);
        let mut tls = seen(200, "");
        tls.certificate_expires_in_ms = Some(Some(24 * 3_600_000));
        assert_eq!(check("[CERTIFICATE_EXPIRATION] > 48h", &tls), Some(false));
        assert_eq!(check("[CERTIFICATE_EXPIRATION] > 12h", &tls), Some(true));
        tls.certificate_expires_in_ms = Some(None);
        assert_eq!(check("[CERTIFICATE_EXPIRATION] > 12h", &tls), Some(false));
        let mut no_time = seen(200, "");
        no_time.response_time_ms = None;
        assert_eq!(check("[RESPONSE_TIME] < 500", &no_time), None);
    }

    #[test]
    fn actual_values_are_reported_bounded() {
        let body = "x".repeat(1000);
        let parsed = Condition::parse("[BODY] == ok").unwrap();
        let result = &evaluate_all(&[parsed], &seen(500, &body))[0];
        assert_eq!(result.actual.as_ref().unwrap().len(), ACTUAL_CHARS);
        let parsed = Condition::parse("[STATUS] == 200").unwrap();
        let result = &evaluate_all(&[parsed], &seen(500, ""))[0];
        assert_eq!(result.actual.as_deref(), Some("500"));
        assert_eq!(result.to_json()["success"], json!(false));
    }

    #[test]
    fn wildcards_and_durations() {
        assert!(wildcard("*", ""));
        assert!(wildcard("a*c", "abbbc"));
        assert!(!wildcard("a*c", "abbbd"));
        assert!(wildcard("*json*", "application/json"));
        assert!(wildcard("**a**", "xxa"));
        assert!(!wildcard(&"*a".repeat(50), &"a".repeat(40)));
        assert_eq!(number("48h"), Some(172_800_000.0));
        assert_eq!(number("1h30m"), Some(5_400_000.0));
        assert_eq!(number("500ms"), Some(500.0));
        assert_eq!(number("7d"), Some(604_800_000.0));
        assert_eq!(number("UP"), None);
        assert_eq!(number("5x"), None);
    }
}
