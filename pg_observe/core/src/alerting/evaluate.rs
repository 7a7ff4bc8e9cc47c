//! One evaluation of one rule, with every fact injected: what the metric
//! measured per label set, what the rule's alerts and groups remembered, the
//! silences, and which services have a critical alert firing. Returns the
//! alerts' new states and each group's notification decision; the extension
//! reads the facts and writes the outcome.
//!
//! It runs in two passes over all rules, because inhibition looks across
//! rules: first every rule's alerts step (`step_alerts`), then, knowing which
//! critical alerts fire, every group decides (`notify`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

#[cfg(test)]
use super::group::Notification;
use super::group::{decide, Action, GroupState, Members};
use super::matchers::{inhibited, Labels, Matchers};
use super::rule::{Kind, Rule, Severity};
use super::state::{step, Alert, AlertState, Change};

/// What the metric measured for one label set (the values of the rule's
/// `group_by` labels). No value: nothing to measure (a rate without
/// requests), which never satisfies a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub labels: Labels,
    pub value: Option<f64>,
}

/// An alert as the evaluation leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertUpdate {
    pub key: String,
    pub labels: Labels,
    pub group_key: String,
    pub group_labels: Labels,
    pub alert: Alert,
    pub change: Option<Change>,
}

/// A group's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupUpdate {
    pub key: String,
    pub labels: Labels,
    pub state: GroupState,
    pub action: Action,
}

/// The identity of a label set: its labels, sorted, as JSON.
pub fn labels_key(labels: &Labels) -> String {
    serde_json::to_string(labels).expect("string maps serialize")
}

/// The labels every alert of a rule carries, under its own ones.
pub fn base_labels(rule: &Rule) -> Labels {
    let mut labels = Labels::new();
    labels.insert("alertname".into(), rule.name.clone());
    labels.insert("severity".into(), rule.severity.as_str().into());
    for (key, value) in &rule.labels {
        if let Some(value) = value.as_str() {
            labels.insert(key.clone(), value.to_owned());
        }
    }
    for (label, value) in [
        ("service", &rule.filters.service),
        ("environment", &rule.filters.environment),
    ] {
        if let Some(value) = value {
            labels.insert(label.into(), value.clone());
        }
    }
    labels
}

/// An alert's full labels and the group it belongs to.
pub fn place(rule: &Rule, observed: &Labels) -> (Labels, Labels) {
    let mut labels = base_labels(rule);
    labels.extend(observed.iter().map(|(k, v)| (k.clone(), v.clone())));
    let group: Labels = observed
        .iter()
        .filter(|(k, _)| {
            rule.group_by.contains(k) && (rule.kind == Kind::Threshold || k.as_str() != "issue_id")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (labels, group)
}

/// First pass: every alert of the rule, observed now or remembered, steps.
/// Event rules' alerts hold only in the transaction of their event, so an
/// evaluation lets them go quiet (after `keep_firing_for`).
pub fn step_alerts(
    rule: &Rule,
    observations: &[Observation],
    remembered: &BTreeMap<String, (Labels, Alert)>,
    at: DateTime<Utc>,
) -> Vec<AlertUpdate> {
    let threshold = rule.threshold.unwrap_or(0.0);
    let mut seen = BTreeSet::new();
    let mut updates = Vec::new();
    for observation in observations {
        let (labels, group_labels) = place(rule, &observation.labels);
        let key = labels_key(&labels);
        let previous = remembered.get(&key).map_or(Alert::NEW, |(_, alert)| *alert);
        let holds = rule.kind == Kind::Threshold
            && observation
                .value
                .is_some_and(|value| rule.comparator.holds(value, threshold));
        let (alert, change) = step(&previous, holds, observation.value, at, &rule.timing);
        seen.insert(key.clone());
        updates.push(AlertUpdate {
            group_key: labels_key(&group_labels),
            key,
            labels,
            group_labels,
            alert,
            change,
        });
    }
    for (key, (labels, previous)) in remembered {
        if seen.contains(key) {
            continue;
        }
        let (alert, change) = step(previous, false, None, at, &rule.timing);
        let observed: Labels = labels
            .iter()
            .filter(|(k, _)| rule.group_by.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (_, group_labels) = place(rule, &observed);
        updates.push(AlertUpdate {
            key: key.clone(),
            labels: labels.clone(),
            group_key: labels_key(&group_labels),
            group_labels,
            alert,
            change,
        });
    }
    updates
}

/// Services with a critical alert firing (after the first pass of every rule).
pub fn firing_critical_services<'a>(
    rules_and_alerts: impl IntoIterator<Item = (&'a Rule, &'a [AlertUpdate])>,
) -> Vec<String> {
    let mut services: Vec<String> = rules_and_alerts
        .into_iter()
        .filter(|(rule, _)| rule.severity == Severity::Critical)
        .flat_map(|(_, alerts)| alerts.iter())
        .filter(|update| update.alert.state == AlertState::Firing)
        .filter_map(|update| update.labels.get("service").cloned())
        .collect();
    services.sort();
    services.dedup();
    services
}

/// Whether nobody is told about an alert: a silence matches it, or a
/// critical alert of its service fires.
pub fn muted(
    rule: &Rule,
    labels: &Labels,
    silences: &[Matchers],
    critical_services: &[String],
) -> bool {
    silences.iter().any(|silence| silence.matches(labels))
        || inhibited(labels, rule.severity, critical_services)
}

/// Second pass: every group of the rule (with alerts now, or remembered)
/// decides what to send.
pub fn notify(
    rule: &Rule,
    alerts: &[AlertUpdate],
    remembered: &BTreeMap<String, (Labels, GroupState)>,
    silences: &[Matchers],
    critical_services: &[String],
    at: DateTime<Utc>,
) -> Vec<GroupUpdate> {
    let mut groups: BTreeMap<String, (Labels, Members)> = BTreeMap::new();
    for (key, (labels, _)) in remembered {
        groups.insert(key.clone(), (labels.clone(), Members::default()));
    }
    for update in alerts {
        let (_, members) = groups
            .entry(update.group_key.clone())
            .or_insert_with(|| (update.group_labels.clone(), Members::default()));
        match update.alert.state {
            AlertState::Firing if muted(rule, &update.labels, silences, critical_services) => {
                members.muted.insert(update.key.clone());
            }
            AlertState::Firing => {
                members.firing.insert(update.key.clone());
            }
            AlertState::Resolved | AlertState::Inactive => {
                members.quiet.insert(update.key.clone());
            }
            AlertState::Pending => {}
        }
    }
    // Event rules report events, not conditions: nothing "resolves".
    let send_resolved = rule.send_resolved && rule.kind == Kind::Threshold;
    groups
        .into_iter()
        .map(|(key, (labels, members))| {
            let previous = remembered
                .get(&key)
                .map(|(_, state)| state.clone())
                .unwrap_or_default();
            let (state, action) = decide(&previous, &members, at, &rule.timing, send_resolved);
            GroupUpdate {
                key,
                labels,
                state,
                action,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::super::group::NotificationKind;
    use super::super::rule::RuleArgs;
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    fn rule(args: RuleArgs) -> Rule {
        RuleArgs {
            name: args.name.clone().or(Some("errors".into())),
            threshold: Some(10.0),
            ..args
        }
        .build()
        .unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Runs evaluations minute by minute of a rule fed the given values per
    /// service; returns the notifications that went out (whose time came
    /// while they still stood), with the minute each was decided.
    fn simulate(rule: &Rule, values: &[&[(&str, f64)]]) -> Vec<(i64, Notification)> {
        let mut alerts: BTreeMap<String, (Labels, Alert)> = BTreeMap::new();
        let mut groups: BTreeMap<String, (Labels, GroupState)> = BTreeMap::new();
        let mut sent = Vec::new();
        for (minute, values) in values.iter().enumerate() {
            let observations: Vec<Observation> = values
                .iter()
                .map(|(service, value)| Observation {
                    labels: labels(&[("service", service)]),
                    value: Some(*value),
                })
                .collect();
            let now = at(minute as i64);
            let updates = step_alerts(rule, &observations, &alerts, now);
            let critical = firing_critical_services([(rule, updates.as_slice())]);
            for group in notify(rule, &updates, &groups, &[], &critical, now) {
                let before = groups.get(&group.key).and_then(|(_, s)| s.sent.clone());
                if group.state.sent.is_some() && group.state.sent != before {
                    sent.push((minute as i64, group.state.sent.clone().unwrap()));
                }
                groups.insert(group.key, (group.labels, group.state));
            }
            for update in updates {
                alerts.insert(update.key, (update.labels, update.alert));
            }
        }
        sent
    }

    #[test]
    fn group_by_splits_alerts_and_each_group_notifies_once() {
        let r = rule(RuleArgs {
            group_by: Some(vec!["service".into()]),
            ..RuleArgs::default()
        });
        let sent = simulate(
            &r,
            &[
                &[("billing", 12.0), ("auth", 3.0)],
                &[("billing", 15.0), ("auth", 20.0)],
                &[("billing", 15.0), ("auth", 20.0)],
                &[("billing", 15.0), ("auth", 20.0)],
            ],
        );
        assert_eq!(sent.len(), 2, "{sent:?}");
        // Each goes out once its group_wait has passed: seen at the next
        // evaluation, one a minute.
        assert_eq!((sent[0].0, sent[1].0), (1, 2));
        assert!(sent
            .iter()
            .all(|(_, n)| n.kind == NotificationKind::Firing && n.firing.len() == 1));
    }

    #[test]
    fn a_flapping_condition_pages_within_the_bound_the_timing_promises() {
        // The condition flips every minute for an hour.
        let hour: Vec<&[(&str, f64)]> = (0..60)
            .map(|minute| {
                if minute % 2 == 0 {
                    &[("billing", 50.0)][..]
                } else {
                    &[("billing", 0.0)][..]
                }
            })
            .collect();
        // keep_firing_for rides out the gaps: one notification, no repeats
        // within repeat_interval.
        let steady = rule(RuleArgs {
            keep_firing_for: Some(TimeDelta::minutes(2)),
            ..RuleArgs::default()
        });
        let sent = simulate(&steady, &hour);
        assert_eq!(sent.len(), 1, "{sent:?}");
        // ...and repeats only every repeat_interval while it keeps firing.
        let reminding = rule(RuleArgs {
            keep_firing_for: Some(TimeDelta::minutes(2)),
            repeat_interval: Some(TimeDelta::minutes(20)),
            ..RuleArgs::default()
        });
        let minutes: Vec<i64> = simulate(&reminding, &hour)
            .iter()
            .map(|(m, _)| *m)
            .collect();
        assert_eq!(minutes, [1, 21, 41]);
        // pending_for longer than a flip: it never fires at all.
        let patient = rule(RuleArgs {
            pending_for: Some(TimeDelta::minutes(2)),
            ..RuleArgs::default()
        });
        assert!(simulate(&patient, &hour).is_empty());
    }

    #[test]
    fn critical_alerts_inhibit_and_silences_mute() {
        let critical = rule(RuleArgs {
            name: Some("checkout down".into()),
            severity: Some("critical".into()),
            service: Some("checkout".into()),
            ..RuleArgs::default()
        });
        let high = rule(RuleArgs {
            name: Some("checkout slow".into()),
            service: Some("checkout".into()),
            ..RuleArgs::default()
        });
        let observed = [Observation {
            labels: Labels::new(),
            value: Some(99.0),
        }];
        let none = BTreeMap::new();
        let c = step_alerts(&critical, &observed, &none, at(0));
        let h = step_alerts(&high, &observed, &none, at(0));
        let services = firing_critical_services([(&critical, c.as_slice()), (&high, h.as_slice())]);
        assert_eq!(services, vec!["checkout".to_string()]);
        let groups = BTreeMap::new();
        let inhibited = notify(&high, &h, &groups, &[], &services, at(0));
        assert_eq!(inhibited[0].action, Action::Nothing);
        let paging = notify(&critical, &c, &groups, &[], &services, at(0));
        assert!(
            matches!(&paging[0].action, Action::Queue(n) if n.kind == NotificationKind::Firing)
        );
        let silence = Matchers::parse(&serde_json::json!({"alertname": "checkout down"})).unwrap();
        let silenced = notify(&critical, &c, &groups, &[silence], &services, at(0));
        assert_eq!(silenced[0].action, Action::Nothing);
        assert_eq!(
            c[0].alert.state,
            AlertState::Firing,
            "silenced alerts still change state"
        );
    }

    #[test]
    fn event_alerts_go_quiet_without_a_resolved_notice() {
        let r = RuleArgs {
            name: Some("new issue".into()),
            kind: Some("new_issue".into()),
            ..RuleArgs::default()
        }
        .build()
        .unwrap();
        let fired = Alert {
            state: AlertState::Firing,
            active_since: Some(at(0)),
            fired_at: Some(at(0)),
            resolved_at: None,
            keep_firing_since: None,
            value: Some(1.0),
        };
        let key_labels = labels(&[
            ("alertname", "new issue"),
            ("issue_id", "7"),
            ("severity", "high"),
        ]);
        let remembered = BTreeMap::from([(labels_key(&key_labels), (key_labels, fired))]);
        let updates = step_alerts(&r, &[], &remembered, at(1));
        assert_eq!(updates[0].alert.state, AlertState::Resolved);
        let groups = notify(&r, &updates, &BTreeMap::new(), &[], &[], at(1));
        assert_eq!(groups[0].action, Action::Nothing);
    }
}
