//! Event rules (`new_issue`, `regression`) fire in the transaction that
//! records the new issue or the regression: the `issue_activity` trigger
//! calls `observe.fire_event_rules`, which fires one alert per rule and issue
//! and lets its group queue (or extend) a notification at once. The
//! scheduled evaluation lets those alerts go quiet afterwards.

use pg_observe_core::alerting::evaluate::{
    firing_critical_services, labels_key, notify, place, AlertUpdate,
};
use pg_observe_core::alerting::matchers::Labels;
use pg_observe_core::alerting::rule::Kind;
use pg_observe_core::alerting::state::{step, Alert};
use pg_observe_core::event::Level;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;

use super::persist;
use super::rules::load_rules;
use crate::errors::raise_internal;
use crate::settings;

/// Fires the enabled event rules that match an issue just created or
/// regressed. Called by trigger; granted to no role.
#[pg_extern(schema = "observe", volatile, parallel_unsafe)]
fn fire_event_rules(issue_id: i64, activity: &str) -> i32 {
    let kind = match activity {
        "created" => Kind::NewIssue,
        "regressed" => Kind::Regression,
        _ => return 0,
    };
    let result = Spi::connect_mut(|client| -> SpiResult<i32> {
        let rules = load_rules(client, &format!("kind = '{}'", kind.as_str()))?;
        if rules.is_empty() {
            return Ok(0);
        }
        let Some(issue) = client
            .update(
                "select service, level::text from observe.issue_groups where id = $1",
                Some(1),
                &[issue_id.into()],
            )?
            .next()
        else {
            return Ok(0);
        };
        let service: String = issue.get(1)?.unwrap_or_default();
        let level: Level = issue
            .get::<String>(2)?
            .and_then(|l| l.parse().ok())
            .unwrap_or(Level::Error);
        let now = chrono::Utc::now();
        let ids: Vec<i64> = rules.iter().map(|(id, _)| *id).collect();
        let alerts = persist::load_alerts(client, &ids)?;
        let groups = persist::load_groups(client, &ids)?;
        let silences = persist::load_silences(client, now)?;
        let critical_services: Vec<String> = client
            .update(
                "select distinct a.labels ->> 'service' from observe.alerts a
                   join observe.alert_rules r on r.id = a.rule_id
                  where a.state = 'firing' and r.severity = 'critical' and a.labels ? 'service'",
                None,
                &[],
            )?
            .filter_map(|row| row.get::<String>(1).ok().flatten())
            .collect();
        let issue_url = settings::console_url();
        let mut fired = 0;
        for (id, rule) in &rules {
            let filters = &rule.filters;
            if filters.service.as_ref().is_some_and(|s| *s != service)
                || filters.level.is_some_and(|l| level < l)
                || filters.issue_id.is_some_and(|i| i != issue_id)
            {
                continue;
            }
            let mut observed = Labels::new();
            observed.insert("issue_id".into(), issue_id.to_string());
            observed.insert("service".into(), service.clone());
            observed.insert("level".into(), level.as_str().into());
            observed.retain(|k, _| k == "issue_id" || rule.group_by.contains(k));
            let (labels, group_labels) = place(rule, &observed);
            let key = labels_key(&labels);
            let remembered = alerts.get(id).cloned().unwrap_or_default();
            let previous = remembered.get(&key).map_or(Alert::NEW, |(_, a)| *a);
            let (alert, change) = step(&previous, true, Some(1.0), now, &rule.timing);
            let group_key = labels_key(&group_labels);
            // The group's other alerts, as remembered, plus this one.
            let mut updates: Vec<AlertUpdate> = remembered
                .iter()
                .filter(|(k, _)| **k != key)
                .map(|(k, (l, a))| {
                    let mut observed = l.clone();
                    observed.retain(|name, _| rule.group_by.contains(name));
                    let (_, g) = place(rule, &observed);
                    AlertUpdate {
                        key: k.clone(),
                        labels: l.clone(),
                        group_key: labels_key(&g),
                        group_labels: g,
                        alert: *a,
                        change: None,
                    }
                })
                .filter(|u| u.group_key == group_key)
                .collect();
            updates.push(AlertUpdate {
                key,
                labels,
                group_key,
                group_labels,
                alert,
                change,
            });
            let critical = {
                let mut services = critical_services.clone();
                services.extend(firing_critical_services([(rule, updates.as_slice())]));
                services
            };
            let rule_groups = groups.get(id).cloned().unwrap_or_default();
            let decided: Vec<_> = notify(rule, &updates, &rule_groups, &silences, &critical, now)
                .into_iter()
                .filter(|g| g.key == updates.last().map_or("", |u| u.group_key.as_str()))
                .collect();
            let this = updates.split_off(updates.len() - 1);
            persist::save_alerts(client, *id, &this, now)?;
            updates.extend(this);
            persist::save_groups(client, *id, rule, &decided, &updates, issue_url.as_deref())?;
            fired += 1;
        }
        Ok(fired)
    });
    result.unwrap_or_else(|e| raise_internal("firing event rules", e))
}
