//! `observe.evaluate_alerts(at)`: one evaluation of every enabled rule
//! (ARCHITECTURE.md, "Alerting"). It folds the count queue first, so the
//! rollups it reads are exact, and holds an advisory lock, so two
//! evaluations never decide the same thing twice; evaluating again at the
//! same `at` changes nothing.

use pg_observe_core::alerting::evaluate::{
    firing_critical_services, notify, step_alerts, AlertUpdate, Observation,
};
use pg_observe_core::alerting::matchers::Labels;
use pg_observe_core::alerting::rule::{Kind, Metric, Rule};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::json;

use super::rules::load_rules;
use super::{metrics, persist};
use crate::errors::{raise_capture_error, raise_internal};
use crate::pgtime::from_pg;
use crate::settings;

/// Evaluates every enabled alert rule at `at`; returns what it did.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn evaluate_alerts(at: default!(Option<TimestampWithTimeZone>, "now()")) -> JsonB {
    if let Err(e) = crate::version::ensure_current() {
        raise_capture_error(e);
    }
    let at_pg = at.unwrap_or_else(|| {
        Spi::get_one::<TimestampWithTimeZone>("select now()")
            .ok()
            .flatten()
            .expect("now() is a timestamp")
    });
    let at = from_pg(at_pg);
    let result = Spi::connect_mut(|client| -> SpiResult<serde_json::Value> {
        client.update(
            "select pg_advisory_xact_lock(hashtext('observe.evaluate_alerts'))",
            None,
            &[],
        )?;
        client.update("select observe.fold_counts()", None, &[])?;
        let rules = load_rules(client, "true")?;
        let ids: Vec<i64> = rules.iter().map(|(id, _)| *id).collect();
        let mut metrics: Vec<Metric> = rules
            .iter()
            .filter(|(_, r)| r.kind == Kind::Threshold)
            .map(|(_, r)| r.metric)
            .collect();
        metrics.sort_by_key(|m| m.as_str());
        metrics.dedup();
        let mut observed = metrics::observe(client, at_pg, &metrics)?;
        let alerts = persist::load_alerts(client, &ids)?;
        let groups = persist::load_groups(client, &ids)?;
        let silences = persist::load_silences(client, at)?;

        let empty_alerts = persist::RuleAlerts::new();
        let stepped: Vec<(i64, &Rule, Vec<AlertUpdate>)> = rules
            .iter()
            .map(|(id, rule)| {
                let observations = observations(rule, observed.remove(id).unwrap_or_default());
                let remembered = alerts.get(id).unwrap_or(&empty_alerts);
                (*id, rule, step_alerts(rule, &observations, remembered, at))
            })
            .collect();
        let critical = firing_critical_services(
            stepped
                .iter()
                .map(|(_, rule, updates)| (*rule, updates.as_slice())),
        );

        let issue_url = settings::console_url();
        let empty_groups = persist::RuleGroups::new();
        let mut changes = 0;
        let mut queued = 0;
        let mut firing = 0;
        for (id, rule, updates) in &stepped {
            let decided = notify(
                rule,
                updates,
                groups.get(id).unwrap_or(&empty_groups),
                &silences,
                &critical,
                at,
            );
            changes += persist::save_alerts(
                client,
                *id,
                updates,
                alerts.get(id).unwrap_or(&empty_alerts),
                at,
            )?;
            queued += persist::save_groups(
                client,
                *id,
                rule,
                &decided,
                groups.get(id).unwrap_or(&empty_groups),
                updates,
                issue_url.as_deref(),
            )?;
            firing += updates
                .iter()
                .filter(|u| u.alert.state == pg_observe_core::alerting::state::AlertState::Firing)
                .count();
        }
        Ok(json!({
            "at": at.to_rfc3339(),
            "rules": rules.len(),
            "state_changes": changes,
            "firing": firing,
            "notifications_queued": queued,
        }))
    });
    match result {
        Ok(summary) => JsonB(summary),
        Err(e) => raise_internal("evaluating alerts", e),
    }
}

/// The rule's observations, completed: a rule that splits nothing always
/// measures one value, a count of zero when nothing happened, so that a
/// `<` rule can fire on silence.
fn observations(rule: &Rule, mut observations: Vec<Observation>) -> Vec<Observation> {
    let counts = matches!(
        rule.metric,
        Metric::ErrorEvents
            | Metric::LogEvents
            | Metric::AffectedUsers
            | Metric::IssueEvents
            | Metric::HealthFailures
    );
    if rule.kind == Kind::Threshold && rule.group_by.is_empty() && observations.is_empty() && counts
    {
        observations.push(Observation {
            labels: Labels::new(),
            value: Some(0.0),
        });
    }
    observations
}
