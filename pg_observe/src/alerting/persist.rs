//! Reading and writing what the alert decisions need between evaluations:
//! alerts, groups, silences, and the outbox rows groups queue, change or
//! withdraw. Shared by the scheduled evaluation and the event rules' trigger.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pg_observe_core::alerting::evaluate::{AlertUpdate, GroupUpdate};
use pg_observe_core::alerting::group::{Action, GroupState, Notification, NotificationKind};
use pg_observe_core::alerting::matchers::{Labels, Matchers};
use pg_observe_core::alerting::rule::Rule;
use pg_observe_core::alerting::state::{Alert, AlertState};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::{JsonB, Uuid};
use serde_json::{json, Map, Value};

use crate::pgtime::{from_pg, to_pg};

pub type RuleAlerts = BTreeMap<String, (Labels, Alert)>;
pub type RuleGroups = BTreeMap<String, (Labels, GroupState)>;

fn labels_of(value: Option<JsonB>) -> Labels {
    match value.map(|j| j.0) {
        Some(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect(),
        _ => Labels::new(),
    }
}

fn labels_json(labels: &Labels) -> JsonB {
    JsonB(Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    ))
}

fn time(value: Option<TimestampWithTimeZone>) -> Option<DateTime<Utc>> {
    value.map(from_pg)
}

/// The remembered alerts of the given rules (all rules when `rules` is
/// none), by rule and key.
pub fn load_alerts(
    client: &mut SpiClient<'_>,
    rules: &[i64],
) -> SpiResult<BTreeMap<i64, RuleAlerts>> {
    let mut alerts: BTreeMap<i64, RuleAlerts> = BTreeMap::new();
    for row in client.update(
        "select rule_id, label_key, labels, state, value, active_since, fired_at, resolved_at, keep_firing_since
           from observe.alerts where rule_id = any($1)",
        None,
        &[rules.to_vec().into()],
    )? {
        let rule: i64 = row.get(1)?.unwrap_or_default();
        let key: String = row.get(2)?.unwrap_or_default();
        let state = row
            .get::<String>(4)?
            .and_then(|s| s.parse::<AlertState>().ok())
            .unwrap_or(AlertState::Inactive);
        let alert = Alert {
            state,
            value: row.get(5)?,
            active_since: time(row.get(6)?),
            fired_at: time(row.get(7)?),
            resolved_at: time(row.get(8)?),
            keep_firing_since: time(row.get(9)?),
        };
        alerts
            .entry(rule)
            .or_default()
            .insert(key, (labels_of(row.get(3)?), alert));
    }
    Ok(alerts)
}

pub fn load_groups(
    client: &mut SpiClient<'_>,
    rules: &[i64],
) -> SpiResult<BTreeMap<i64, RuleGroups>> {
    let mut groups: BTreeMap<i64, RuleGroups> = BTreeMap::new();
    for row in client.update(
        "select rule_id, group_key, labels, episode_since, sent, pending
           from observe.alert_groups where rule_id = any($1)",
        None,
        &[rules.to_vec().into()],
    )? {
        let rule: i64 = row.get(1)?.unwrap_or_default();
        let key: String = row.get(2)?.unwrap_or_default();
        let state = GroupState {
            episode_since: time(row.get(4)?),
            sent: row.get::<JsonB>(5)?.and_then(|j| notification_from(&j.0)),
            pending: row.get::<JsonB>(6)?.and_then(|j| notification_from(&j.0)),
        };
        groups
            .entry(rule)
            .or_default()
            .insert(key, (labels_of(row.get(3)?), state));
    }
    Ok(groups)
}

/// Silences in force at `at`.
pub fn load_silences(client: &mut SpiClient<'_>, at: DateTime<Utc>) -> SpiResult<Vec<Matchers>> {
    let mut silences = Vec::new();
    for row in client.update(
        "select matchers from observe.silences where starts_at <= $1 and ends_at > $1",
        None,
        &[to_pg(at).into()],
    )? {
        if let Some(matchers) = row
            .get::<JsonB>(1)?
            .and_then(|j| Matchers::parse(&j.0).ok())
        {
            silences.push(matchers);
        }
    }
    Ok(silences)
}

fn notification_json(n: &Notification) -> Value {
    json!({
        "kind": n.kind.as_str(),
        "firing": n.firing,
        "resolved": n.resolved,
        "not_before": n.not_before.to_rfc3339(),
    })
}

fn notification_from(value: &Value) -> Option<Notification> {
    let keys = |field: &str| -> BTreeSet<String> {
        value
            .get(field)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(Notification {
        kind: match value.get("kind")?.as_str()? {
            "resolved" => NotificationKind::Resolved,
            _ => NotificationKind::Firing,
        },
        firing: keys("firing"),
        resolved: keys("resolved"),
        not_before: DateTime::parse_from_rfc3339(value.get("not_before")?.as_str()?)
            .ok()?
            .with_timezone(&Utc),
    })
}

/// Writes the alerts as they now are, and their changes of state.
pub fn save_alerts(
    client: &mut SpiClient<'_>,
    rule_id: i64,
    updates: &[AlertUpdate],
    at: DateTime<Utc>,
) -> SpiResult<usize> {
    let mut changes = 0;
    for update in updates {
        let a = &update.alert;
        let id = client
            .update(
                "insert into observe.alerts as a
                        (rule_id, labels, label_key, group_key, state, value, active_since, fired_at,
                         resolved_at, keep_firing_since, evaluated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 on conflict (rule_id, label_key) do update
                    set group_key = excluded.group_key, state = excluded.state, value = excluded.value,
                        active_since = excluded.active_since, fired_at = excluded.fired_at,
                        resolved_at = excluded.resolved_at, keep_firing_since = excluded.keep_firing_since,
                        evaluated_at = excluded.evaluated_at
                 returning id",
                Some(1),
                &[
                    rule_id.into(),
                    labels_json(&update.labels).into(),
                    update.key.as_str().into(),
                    update.group_key.as_str().into(),
                    a.state.as_str().into(),
                    a.value.into(),
                    a.active_since.map(to_pg).into(),
                    a.fired_at.map(to_pg).into(),
                    a.resolved_at.map(to_pg).into(),
                    a.keep_firing_since.map(to_pg).into(),
                    to_pg(at).into(),
                ],
            )?
            .first()
            .get_one::<i64>()?;
        if let (Some(change), Some(id)) = (update.change, id) {
            changes += 1;
            client.update(
                "insert into observe.alert_events (alert_id, rule_id, labels, from_state, to_state, value, at)
                 values ($1, $2, $3, $4, $5, $6, $7)",
                None,
                &[
                    id.into(),
                    rule_id.into(),
                    labels_json(&update.labels).into(),
                    change.from.as_str().into(),
                    change.to.as_str().into(),
                    change.value.into(),
                    to_pg(change.at).into(),
                ],
            )?;
        }
    }
    Ok(changes)
}

/// What a notification of a group says, for the e-mail (edge/src/email.rs
/// renders it): the rule, its severity, labels and annotations, the metric
/// with its window and value, the alerts, and links.
fn payload(
    rule_id: i64,
    rule: &Rule,
    group_labels: &Labels,
    notification: &Notification,
    alerts: &BTreeMap<&str, &AlertUpdate>,
    issue_url: Option<&str>,
) -> Value {
    let listed: Vec<&AlertUpdate> = notification
        .firing
        .iter()
        .chain(&notification.resolved)
        .filter_map(|key| alerts.get(key.as_str()).copied())
        .collect();
    let mut labels = pg_observe_core::alerting::evaluate::base_labels(rule);
    labels.extend(group_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let value = listed.iter().filter_map(|a| a.alert.value).reduce(f64::max);
    let mut links = Map::new();
    if let Some(runbook) = rule.annotations.get("runbook_url") {
        links.insert("runbook".into(), runbook.clone());
    }
    if let (Some(base), Some(issue)) = (issue_url, labels.get("issue_id")) {
        links.insert(
            "issue".into(),
            Value::String(format!("{}/issues/{issue}", base.trim_end_matches('/'))),
        );
    }
    json!({
        "rule": rule.name,
        "rule_id": rule_id,
        "severity": rule.severity.as_str(),
        "service": labels.get("service"),
        "environment": labels.get("environment"),
        "labels": labels,
        "annotations": rule.annotations,
        "metric": rule.metric.as_str(),
        "window": humantime(rule.window),
        "comparator": rule.comparator.as_str(),
        "threshold": rule.threshold,
        "value": value,
        "alerts": listed.iter().map(|a| json!({
            "labels": a.labels,
            "state": a.alert.state.as_str(),
            "value": a.alert.value,
            "started_at": a.alert.fired_at.or(a.alert.active_since).map(|t| t.to_rfc3339()),
            "ended_at": a.alert.resolved_at.map(|t| t.to_rfc3339()),
        })).collect::<Vec<_>>(),
        "links": links,
    })
}

fn humantime(delta: chrono::TimeDelta) -> String {
    let seconds = delta.num_seconds();
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Writes each group's state and carries out its decision on the outbox.
/// Returns how many notifications were queued.
pub fn save_groups(
    client: &mut SpiClient<'_>,
    rule_id: i64,
    rule: &Rule,
    groups: &[GroupUpdate],
    alerts: &[AlertUpdate],
    issue_url: Option<&str>,
) -> SpiResult<usize> {
    let by_key: BTreeMap<&str, &AlertUpdate> = alerts.iter().map(|a| (a.key.as_str(), a)).collect();
    let mut queued = 0;
    for group in groups {
        let pending_id = client
            .update(
                "select pending_notification from observe.alert_groups where rule_id = $1 and group_key = $2",
                Some(1),
                &[rule_id.into(), group.key.as_str().into()],
            )?
            .first()
            .get_one::<Uuid>()
            .unwrap_or(None);
        let mut pending_notification = pending_id;
        match &group.action {
            Action::Nothing => {}
            Action::Cancel => {
                if let Some(id) = pending_id {
                    client.update(
                        "delete from observe.notifications where id = $1 and status = 'queued' and attempts = 0",
                        None,
                        &[id.into()],
                    )?;
                }
                pending_notification = None;
            }
            Action::Queue(n) | Action::Replace(n) => {
                let payload = payload(rule_id, rule, &group.labels, n, &by_key, issue_url);
                let subject = rule
                    .annotations
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or(&rule.name)
                    .to_owned();
                let replaced = match (&group.action, pending_id) {
                    (Action::Replace(_), Some(id)) => {
                        !client
                            .update(
                                "update observe.notifications
                                    set kind = $2, subject = $3, payload = $4, next_attempt_at = $5, updated_at = now()
                                  where id = $1 and status = 'queued' and attempts = 0",
                                None,
                                &[
                                    id.into(),
                                    n.kind.as_str().into(),
                                    subject.as_str().into(),
                                    JsonB(payload.clone()).into(),
                                    to_pg(n.not_before).into(),
                                ],
                            )?
                            .is_empty()
                    }
                    _ => false,
                };
                if !replaced {
                    // Stable for one decision, so evaluating again at the
                    // same time queues it once (the outbox's key is unique).
                    let key = format!(
                        "alert/{rule_id}/{:x}/{}/{}",
                        md5_of(&group.key),
                        n.kind.as_str(),
                        n.not_before.timestamp_micros()
                    );
                    pending_notification = client
                        .update(
                            "select observe.enqueue_notification($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            Some(1),
                            &[
                                key.into(),
                                n.kind.as_str().into(),
                                subject.into(),
                                JsonB(payload).into(),
                                rule.recipients.clone().into(),
                                rule_id.into(),
                                group.key.as_str().into(),
                                labels_json(&group.labels).into(),
                                to_pg(n.not_before).into(),
                            ],
                        )?
                        .first()
                        .get_one::<Uuid>()?;
                    queued += 1;
                }
            }
        }
        client.update(
            "insert into observe.alert_groups as g
                    (rule_id, group_key, labels, episode_since, sent, pending, pending_notification, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, now())
             on conflict (rule_id, group_key) do update
                set labels = excluded.labels, episode_since = excluded.episode_since, sent = excluded.sent,
                    pending = excluded.pending, pending_notification = excluded.pending_notification,
                    updated_at = now()",
            None,
            &[
                rule_id.into(),
                group.key.as_str().into(),
                labels_json(&group.labels).into(),
                group.state.episode_since.map(to_pg).into(),
                group.state.sent.as_ref().map(|n| JsonB(notification_json(n))).into(),
                group.state.pending.as_ref().map(|n| JsonB(notification_json(n))).into(),
                group.state.pending.as_ref().and(pending_notification).into(),
            ],
        )?;
    }
    Ok(queued)
}

fn md5_of(text: &str) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(text.as_bytes()).into())
}
