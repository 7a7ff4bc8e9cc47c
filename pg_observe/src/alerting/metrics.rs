//! What each metric measured, for every enabled threshold rule of it at
//! once: one statement per metric, reading the rollups (never raw events
//! beyond a rule's `match`), so an evaluation costs in rules and minute
//! buckets, not in stored events. Each statement returns
//! `(rule id, labels, value)`, one row per label set of the rule's
//! `group_by`; `$1` is the evaluation's time. Counts are kept per minute, so
//! a window covers whole minutes: the current one so far, and the
//! `window_size` of minutes before it (evaluated on a minute's boundary, just
//! the `window_size` before it). Ignored issues count only towards rules
//! that name them (`issue_id`): ignoring an issue is how a team stops it
//! paging.

use std::collections::BTreeMap;

use pg_observe_core::alerting::evaluate::Observation;
use pg_observe_core::alerting::matchers::Labels;
use pg_observe_core::alerting::rule::Metric;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::JsonB;
use serde_json::Value;

/// The labels a rule's `group_by` keeps, as JSON, from columns named like
/// them; labels the rule does not group by are left out.
const GROUP_LABELS: &str = "jsonb_strip_nulls(jsonb_build_object(
        'service', case when 'service' = any(r.group_by) then g.service end,
        'environment', case when 'environment' = any(r.group_by) then nullif(c.environment, '') end,
        'level', case when 'level' = any(r.group_by) then g.level::text end,
        'issue_id', case when 'issue_id' = any(r.group_by) then g.id::text end))";

/// Filters every error-event metric shares.
const EVENT_FILTERS: &str = "(r.service is null or g.service = r.service)
    and (r.environment is null or c.environment = r.environment)
    and (r.level is null or g.level >= r.level)
    and (r.issue_id is null or g.id = r.issue_id)
    and (g.status <> 'ignored' or g.id = r.issue_id)";

fn error_events_sql() -> String {
    format!(
        "select r.id, {GROUP_LABELS} as labels, sum(c.events)::float8
           from observe.alert_rules r
           join observe.event_counts c
             on c.bucket >= date_trunc('minute', $1) - r.window_size and c.bucket < $1 and c.slot = 0
           join observe.issue_groups g on g.id = c.issue_id
          where r.enabled and r.kind = 'threshold' and r.metric = $2 and r.match = '{{}}'
            and {EVENT_FILTERS}
          group by r.id, 2"
    )
}

/// Rules with a `match` count the stored events whose tags or context hold
/// it, each standing for `1 / sample_rate` events (flood control).
const MATCHED_EVENTS: &str = "
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then g.service end,
           'environment', case when 'environment' = any(r.group_by) then e.environment end,
           'level', case when 'level' = any(r.group_by) then g.level::text end,
           'issue_id', case when 'issue_id' = any(r.group_by) then g.id::text end)) as labels,
       sum(1 / e.sample_rate)::float8
  from observe.alert_rules r
  join observe.events e on e.received_at >= date_trunc('minute', $1) - r.window_size and e.received_at < $1
  join observe.issue_groups g on g.id = e.issue_id
 where r.enabled and r.kind = 'threshold' and r.metric = $2 and r.match <> '{}'
   and (e.tags @> r.match or e.context @> r.match)
   and (r.service is null or g.service = r.service)
   and (r.environment is null or e.environment = r.environment)
   and (r.level is null or e.level >= r.level)
   and (r.issue_id is null or g.id = r.issue_id)
   and (g.status <> 'ignored' or g.id = r.issue_id)
 group by r.id, 2";

/// Users whose events of the rule's issues were counted in the window.
const AFFECTED_USERS: &str = "
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then g.service end,
           'level', case when 'level' = any(r.group_by) then g.level::text end,
           'issue_id', case when 'issue_id' = any(r.group_by) then g.id::text end)) as labels,
       count(distinct (u.issue_id, u.user_hash))::float8
  from observe.alert_rules r
  join observe.issue_users u on u.first_seen >= date_trunc('minute', $1) - r.window_size and u.first_seen < $1
  join observe.issue_groups g on g.id = u.issue_id
 where r.enabled and r.kind = 'threshold' and r.metric = 'affected_users'
   and (r.service is null or g.service = r.service)
   and (r.level is null or g.level >= r.level)
   and (r.issue_id is null or g.id = r.issue_id)
   and (g.status <> 'ignored' or g.id = r.issue_id)
 group by r.id, 2";

/// Health checks down now (the window does not apply: a check is up or down
/// by its own thresholds), optionally one check by `match` `{"check": name}`.
const HEALTH_FAILURES: &str = "
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'check', case when 'check' = any(r.group_by) then c.name end,
           'environment', case when 'environment' = any(r.group_by) then c.environment end)) as labels,
       (count(*) filter (where not c.up))::float8
  from observe.alert_rules r
  join observe.health_checks c on c.enabled
 where r.enabled and r.kind = 'threshold' and r.metric = $2
   and (r.environment is null or c.environment = r.environment)
   and (r.match ->> 'check' is null or c.name = r.match ->> 'check')
 group by r.id, 2";

/// The 75th percentile of one web vital (`match` `{"name": "LCP"}`, and
/// optionally `page`, `release`, `device`) over the window, as browsers
/// reported it through the ingest endpoint.
const WEB_VITAL_P75: &str = "
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'page', case when 'page' = any(r.group_by) then v.page end,
           'metric_name', case when 'metric_name' = any(r.group_by) then v.name end,
           'environment', case when 'environment' = any(r.group_by) then v.environment end)) as labels,
       percentile_cont(0.75) within group (order by v.value)
  from observe.alert_rules r
  join observe.web_vitals v
    on v.received_at >= date_trunc('minute', $1) - r.window_size and v.received_at < $1
 where r.enabled and r.kind = 'threshold' and r.metric = $2
   and v.name = r.match ->> 'name'
   and (r.match ->> 'page' is null or v.page = r.match ->> 'page')
   and (r.match ->> 'release' is null or v.release = r.match ->> 'release')
   and (r.match ->> 'device' is null or v.device = r.match ->> 'device')
   and (r.environment is null or v.environment = r.environment)
 group by r.id, 2";

/// Every threshold rule's observations, by rule id.
pub fn observe(
    client: &mut SpiClient<'_>,
    at: TimestampWithTimeZone,
    metrics: &[Metric],
) -> SpiResult<BTreeMap<i64, Vec<Observation>>> {
    let mut observed: BTreeMap<i64, Vec<Observation>> = BTreeMap::new();
    let mut run = |client: &mut SpiClient<'_>, sql: &str, metric: Metric| -> SpiResult<()> {
        for row in client.update(sql, None, &[at.into(), metric.as_str().into()])? {
            let Some(rule) = row.get::<i64>(1)? else {
                continue;
            };
            let labels = match row.get::<JsonB>(2)?.map(|j| j.0) {
                Some(Value::Object(map)) => map
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
                    .collect(),
                _ => Labels::new(),
            };
            observed.entry(rule).or_default().push(Observation {
                labels,
                value: row.get::<f64>(3)?,
            });
        }
        Ok(())
    };
    for &metric in metrics {
        match metric {
            Metric::ErrorEvents | Metric::IssueEvents => {
                run(client, &error_events_sql(), metric)?;
                run(client, MATCHED_EVENTS, metric)?;
            }
            Metric::AffectedUsers => run(client, AFFECTED_USERS, metric)?,
            Metric::HealthFailures => run(client, HEALTH_FAILURES, metric)?,
            Metric::WebVitalP75 => run(client, WEB_VITAL_P75, metric)?,
            Metric::LogEvents | Metric::ErrorRate => {}
        }
    }
    Ok(observed)
}
