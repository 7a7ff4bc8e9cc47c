//! Silences and inhibition: which alerts change state without anyone being
//! told.
//!
//! A silence's matchers come in two forms: an object of label equalities
//! (`{"service": "billing"}`), or Alertmanager's API form, a list of
//! `{name, value, isRegex, isEqual}` (regular expressions anchored at both
//! ends, as Alertmanager anchors them). As in Alertmanager, a silence needs
//! at least one matcher that does not match an empty label, so that no
//! silence mutes everything by accident.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;
use thiserror::Error;

use super::rule::Severity;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
struct Matcher {
    name: String,
    test: Test,
    negated: bool,
}

impl Matcher {
    fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        let hit = match &self.test {
            Test::Equal(expected) => value == expected,
            Test::Regex(pattern) => pattern.is_match(value),
        };
        hit != self.negated
    }
}

/// A silence's matchers, checked once when it is created.
#[derive(Debug, Clone)]
pub struct Matchers(Vec<Matcher>);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatcherError {
    #[error(
        "matchers must be an object of label values or a list of {{name, value, isRegex, isEqual}}"
    )]
    Shape,
    #[error("matcher {0} must have a string name and a string value")]
    Field(usize),
    #[error("matcher {index} has an invalid regular expression: {problem}")]
    Regex { index: usize, problem: String },
    #[error("matchers must not be empty")]
    Empty,
    #[error(
        "at least one matcher must not match an empty label, or the silence would mute every alert"
    )]
    MatchesEverything,
}

impl Matchers {
    pub fn parse(value: &Value) -> Result<Matchers, MatcherError> {
        let matchers = match value {
            Value::Object(map) => map
                .iter()
                .enumerate()
                .map(|(index, (name, value))| {
                    let value = value.as_str().ok_or(MatcherError::Field(index + 1))?;
                    Ok(Matcher {
                        name: name.clone(),
                        test: Test::Equal(value.to_owned()),
                        negated: false,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let field = |key: &str| item.get(key).and_then(Value::as_str);
                    let (Some(name), Some(value)) = (field("name"), field("value")) else {
                        return Err(MatcherError::Field(index + 1));
                    };
                    let flag = |key: &str, default: bool| {
                        item.get(key).and_then(Value::as_bool).unwrap_or(default)
                    };
                    let test = if flag("isRegex", false) {
                        Regex::new(&format!("^(?:{value})$"))
                            .map(Test::Regex)
                            .map_err(|e| MatcherError::Regex {
                                index: index + 1,
                                problem: e.to_string(),
                            })?
                    } else {
                        Test::Equal(value.to_owned())
                    };
                    Ok(Matcher {
                        name: name.to_owned(),
                        test,
                        negated: !flag("isEqual", true),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(MatcherError::Shape),
        };
        if matchers.is_empty() {
            return Err(MatcherError::Empty);
        }
        let empty = Labels::new();
        if matchers.iter().all(|m| m.matches(&empty)) {
            return Err(MatcherError::MatchesEverything);
        }
        Ok(Matchers(matchers))
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }
}

/// A firing critical alert mutes the lower-severity alerts of its service:
/// when checkout is down, its error-rate and latency alerts say nothing new.
pub fn inhibited(labels: &Labels, severity: Severity, firing_critical_services: &[String]) -> bool {
    severity < Severity::Critical
        && labels
            .get("service")
            .is_some_and(|service| firing_critical_services.iter().any(|s| s == service))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equality_objects_and_alertmanager_lists() {
        let billing = labels(&[("service", "billing"), ("severity", "high")]);
        let auth = labels(&[("service", "auth"), ("severity", "high")]);
        let m = Matchers::parse(&json!({"service": "billing"})).unwrap();
        assert!(m.matches(&billing) && !m.matches(&auth));
        let m = Matchers::parse(&json!([
            {"name": "service", "value": "bill.*", "isRegex": true},
            {"name": "severity", "value": "critical", "isEqual": false}
        ]))
        .unwrap();
        assert!(m.matches(&billing) && !m.matches(&auth));
        // Anchored: "bill" alone does not match "billing".
        let m = Matchers::parse(&json!([{"name": "service", "value": "bill", "isRegex": true}]))
            .unwrap();
        assert!(!m.matches(&billing));
    }

    #[test]
    fn bad_matchers_are_refused() {
        assert_eq!(
            Matchers::parse(&json!("x")).unwrap_err(),
            MatcherError::Shape
        );
        assert_eq!(
            Matchers::parse(&json!({})).unwrap_err(),
            MatcherError::Empty
        );
        assert_eq!(
            Matchers::parse(&json!({"service": 1})).unwrap_err(),
            MatcherError::Field(1)
        );
        assert!(matches!(
            Matchers::parse(&json!([{"name": "a", "value": "(", "isRegex": true}])),
            Err(MatcherError::Regex { index: 1, .. })
        ));
        assert_eq!(
            Matchers::parse(&json!([{"name": "service", "value": ".*", "isRegex": true}]))
                .unwrap_err(),
            MatcherError::MatchesEverything
        );
    }

    #[test]
    fn critical_alerts_inhibit_lesser_ones_of_their_service() {
        let firing = vec!["checkout".to_string()];
        let latency = labels(&[("service", "checkout")]);
        assert!(inhibited(&latency, Severity::High, &firing));
        assert!(!inhibited(&latency, Severity::Critical, &firing));
        assert!(!inhibited(
            &labels(&[("service", "search")]),
            Severity::Low,
            &firing
        ));
        assert!(!inhibited(&Labels::new(), Severity::Low, &firing));
    }
}
