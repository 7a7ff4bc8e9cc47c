//! What each metric measured, for every enabled threshold rule of it at
//! once: one statement per metric, reading the rollups (never raw events
//! beyond a rule's `match`), so an evaluation costs in rules and minute
//! buckets, not in stored events. Each statement returns
//! `(rule id, labels, value)`, one row per label set of the rule's
//! `group_by`; `$1` is the evaluation's time. Counts are kept per minute, so
//! a window covers whole minutes: the current one so far, and the
//! `window_size` of minutes before it (evaluated on a minute's boundary, just
//! the `window_size` before it). Counts are the per-minute rollups
//! (`resolution = 'minute'`) plus what is still queued: the evaluator folds
//! first, but while another fold (`tick()`'s) holds the fold's lock its own
//! returns at once, and the events that fold is moving are visible only in
//! the queue until it commits. Log lines not rolled up yet are counted by
//! `observe.log_counts_since()`.
//! Ignored issues count only towards rules that name them (`issue_id`):
//! ignoring an issue is how a team stops it paging.

use std::collections::BTreeMap;

use pg_observe_core::alerting::evaluate::Observation;
use pg_observe_core::alerting::matchers::Labels;
use pg_observe_core::alerting::rule::Metric;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::JsonB;
use serde_json::Value;

/// The enabled threshold rules of the metric (`$2`), each with whether it
/// has a pending or firing alert (`active`), then the earliest minute any of
/// them looks at. Every statement below first reads what that longest window
/// holds, once, through the table's index on time, and only then joins it
/// to the rules: joining rules to a table directly, each with its own range,
/// makes the planner scan the table once per rule.
macro_rules! rules {
    ($condition:literal) => {
        concat!(
            "with rules as materialized (
                 select *, exists (select from observe.alerts a
                                    where a.rule_id = alert_rules.id and a.state in ('pending', 'firing'))
                           as active
                   from observe.alert_rules
                  where enabled and kind = 'threshold' and metric = $2 ",
            $condition,
            "),
             since as (select date_trunc('minute', $1) - max(window_size) as at from rules)"
        )
    };
}

/// Whether `$value` holds for rule `r` by its comparator (a missing
/// threshold compares with zero, as `evaluate` does).
macro_rules! holds {
    ($value:literal) => {
        concat!(
            "case r.comparator
                  when '>' then ",
            $value,
            " > coalesce(r.threshold, 0)
                  when '>=' then ",
            $value,
            " >= coalesce(r.threshold, 0)
                  when '<' then ",
            $value,
            " < coalesce(r.threshold, 0)
                  when '<=' then ",
            $value,
            " <= coalesce(r.threshold, 0)
                  when '=' then ",
            $value,
            " = coalesce(r.threshold, 0)
                  when '!=' then ",
            $value,
            " <> coalesce(r.threshold, 0)
                end"
        )
    };
}

/// The first key of each rule's `match` with its value (`first_pair`), and
/// the distinct such keys (`keys`): what events and log lines are paired
/// with `match` rules by.
macro_rules! first_pairs {
    () => {
        "
first_pair as (
    select r.id, k.key, r.match -> k.key as value
      from rules r
      cross join lateral (select jsonb_object_keys(r.match) as key limit 1) as k),
keys as (select distinct key from first_pair)"
    };
}

/// Error events per minute and issue, then summed per service, environment
/// and level without ignored issues, and per issue, each for the window
/// lengths of the rules that read it: rules that neither name an issue nor
/// split by one read the first (a few rows per window), the others read per
/// issue, where an issue a rule names counts even while ignored. Sums are
/// float8 (exact for counts): numeric sums cost more than the joins. A rule
/// split by issue has a label set per issue, thousands per rule, so rules
/// meet only the issues whose events in the window could reach a `>` or
/// `>=` threshold (a label set of such a rule lies within one issue, and
/// its filters only lower the count) unless the rule has alerts to step;
/// those rows are grouped by the labels' values before they become JSON,
/// which is slow to sort, and only those `needed` keeps are made JSON.
const ERROR_EVENTS: &str = concat!(
    rules!("and match = '{}'"),
    ",
counts as materialized (
    select c.issue_id, c.bucket, c.environment, g.service, g.level, g.status, c.events::float8 as events
      from observe.event_counts c
      join observe.issue_groups g on g.id = c.issue_id
     where c.resolution = 'minute' and c.bucket >= (select at from since) and c.bucket < $1),
per_issue as materialized (
    select w.window_size, c.issue_id, c.environment, c.service, c.level, c.status, sum(c.events) as events,
           sum(sum(c.events)) over (partition by w.window_size, c.issue_id) as issue_events
      from (select distinct window_size from rules
             where issue_id is not null or 'issue_id' = any(group_by)) w
      join counts c on c.bucket >= date_trunc('minute', $1) - w.window_size
     group by 1, 2, 3, 4, 5, 6),
per_service as materialized (
    select w.window_size, c.service, c.environment, c.level, sum(c.events) as events
      from (select distinct window_size from rules
             where issue_id is null and not 'issue_id' = any(group_by)) w
      join (select bucket, service, environment, level, sum(events) as events
              from counts
             where status <> 'ignored'
             group by 1, 2, 3, 4) c on c.bucket >= date_trunc('minute', $1) - w.window_size
     group by 1, 2, 3, 4)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then s.service end,
           'environment', case when 'environment' = any(r.group_by) then nullif(s.environment, '') end,
           'level', case when 'level' = any(r.group_by) then s.level::text end)) as labels,
       sum(s.events)::float8
  from rules r
  join per_service s on s.window_size = r.window_size
 where r.issue_id is null and not 'issue_id' = any(r.group_by)
   and (r.service is null or s.service = r.service)
   and (r.environment is null or s.environment = r.environment)
   and (r.level is null or s.level >= r.level)
 group by r.id, 2
union all
select id, jsonb_strip_nulls(jsonb_build_object(
           'service', service, 'environment', environment, 'level', level, 'issue_id', issue_id::text)),
       events::float8
  from (select r.id,
               case when 'service' = any(r.group_by) then p.service end as service,
               case when 'environment' = any(r.group_by) then nullif(p.environment, '') end as environment,
               case when 'level' = any(r.group_by) then p.level::text end as level,
               case when 'issue_id' = any(r.group_by) then p.issue_id end as issue_id,
               sum(p.events) as events
          from rules r
          join per_issue p on p.window_size = r.window_size and (r.issue_id is null or p.issue_id = r.issue_id)
                          and (r.active or r.comparator not in ('>', '>=')
                               or p.issue_events >= coalesce(r.threshold, 0))
         where (r.issue_id is not null or 'issue_id' = any(r.group_by))
           and (r.service is null or p.service = r.service)
           and (r.environment is null or p.environment = r.environment)
           and (r.level is null or p.level >= r.level)
           and (p.status <> 'ignored' or p.issue_id = r.issue_id)
         group by 1, 2, 3, 4, 5, r.active, r.comparator, r.threshold
        having r.active or ",
    holds!("sum(p.events)"),
    ") as per_label_set"
);

/// Rules with a `match` count the stored events whose tags or context hold
/// it, each standing for `1 / sample_rate` events (flood control), read
/// from the events received in the longest window (BRIN on `received_at`).
/// Testing every rule's `match` against every event costs rules times
/// events, so events are first paired with the rules by one key of the
/// `match`: each event's value under each such key (a handful of keys
/// among all rules) meets the rules' values in a hash join. Match values
/// are strings, numbers or booleans (rule.rs refuses others), which an
/// event holds only as that very value under that key. Each event's values
/// are taken once (`valued` is materialized: otherwise the planner pairs
/// every event with every rule first and looks the key up for each pair).
/// An event whose tags and context both hold the value pairs once, through
/// its tags.
const MATCHED_EVENTS: &str = concat!(
    rules!("and match <> '{}'"),
    ",
windowed as materialized (
    select e.issue_id, e.received_at, e.environment, e.level, e.tags, e.context, e.sample_rate
      from observe.events e
     where e.received_at >= (select at from since) and e.received_at < $1),",
    first_pairs!(),
    ",
valued as materialized (
    select e.*, k.key, e.tags -> k.key as tag_value, e.context -> k.key as context_value
      from windowed e cross join keys k),
candidates as materialized (
    select f.id as rule_id, e.*
      from valued e
      join first_pair f on f.key = e.key and f.value = e.tag_value
    union all
    select f.id, e.*
      from valued e
      join first_pair f on f.key = e.key and f.value = e.context_value
     where e.tag_value is distinct from f.value)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then g.service end,
           'environment', case when 'environment' = any(r.group_by) then e.environment end,
           'level', case when 'level' = any(r.group_by) then g.level::text end,
           'issue_id', case when 'issue_id' = any(r.group_by) then g.id::text end)) as labels,
       sum(1 / e.sample_rate)::float8
  from candidates e
  join rules r on r.id = e.rule_id
  join observe.issue_groups g on g.id = e.issue_id
 where e.received_at >= date_trunc('minute', $1) - r.window_size
   and (e.tags @> r.match or e.context @> r.match)
   and (r.service is null or g.service = r.service)
   and (r.environment is null or e.environment = r.environment)
   and (r.level is null or e.level >= r.level)
   and (r.issue_id is null or g.id = r.issue_id)
   and (g.status <> 'ignored' or g.id = r.issue_id)
 group by r.id, 2"
);

/// Users whose events of the rule's issues were counted in the window: last
/// seen in it, first seen before its end (exact when evaluating the present,
/// which is when the last event of a user seen in the window is in it).
/// A user counts once per issue, so the users of each issue are counted
/// once per window length and the rules add those counts up: counting
/// distinct (issue, user) pairs per rule sorts every pair once per rule.
const AFFECTED_USERS: &str = concat!(
    rules!(""),
    ",
windows as (select distinct window_size from rules),
users as materialized (
    select u.issue_id, u.user_hash, max(u.last_seen) as last_seen
      from (select issue_id, user_hash, first_seen, last_seen from observe.issue_users
            union all
            select issue_id, user_hash, counted_at, counted_at from observe.count_queue
             where user_hash is not null) u
     where u.last_seen >= (select at from since) and u.first_seen < $1
     group by 1, 2),
per_issue as materialized (
    select w.window_size, u.issue_id, count(*) as users
      from windows w
      join users u on u.last_seen >= date_trunc('minute', $1) - w.window_size
     group by 1, 2)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then g.service end,
           'level', case when 'level' = any(r.group_by) then g.level::text end,
           'issue_id', case when 'issue_id' = any(r.group_by) then g.id::text end)) as labels,
       sum(u.users)::float8
  from rules r
  join per_issue u on u.window_size = r.window_size
  join observe.issue_groups g on g.id = u.issue_id
 where (r.service is null or g.service = r.service)
   and (r.level is null or g.level >= r.level)
   and (r.issue_id is null or g.id = r.issue_id)
   and (g.status <> 'ignored' or g.id = r.issue_id)
 group by r.id, 2"
);

/// Log lines per service, environment and level (at least the rule's), from
/// the per-minute log counts, read once for the longest window of them all.
const LOG_EVENTS: &str = concat!(
    rules!("and match = '{}'"),
    ",
counts as (select * from observe.log_counts_since((select at from since)))
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then c.service end,
           'environment', case when 'environment' = any(r.group_by) then nullif(c.environment, '') end,
           'level', case when 'level' = any(r.group_by) then c.level::text end)) as labels,
       sum(c.events)::float8
  from rules r
  join counts c on c.bucket >= date_trunc('minute', $1) - r.window_size and c.bucket < $1
 where (r.service is null or c.service = r.service)
   and (r.environment is null or c.environment = r.environment)
   and (r.level is null or c.level >= r.level)
 group by r.id, 2"
);

/// Rules with a `match` count the log lines whose context holds it, read
/// from the longest window's lines (BRIN on `logged_at`), paired with the
/// rules as events are (MATCHED_EVENTS).
const MATCHED_LOG_EVENTS: &str = concat!(
    rules!("and match <> '{}'"),
    ",
windowed as materialized (
    select l.logged_at, l.service, l.environment, l.level, l.context
      from observe.logs l
     where l.logged_at >= (select at from since) and l.logged_at < $1),",
    first_pairs!(),
    ",
valued as materialized (
    select l.*, k.key, l.context -> k.key as value from windowed l cross join keys k),
candidates as materialized (
    select f.id as rule_id, l.*
      from valued l
      join first_pair f on f.key = l.key and f.value = l.value)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then l.service end,
           'environment', case when 'environment' = any(r.group_by) then l.environment end,
           'level', case when 'level' = any(r.group_by) then l.level::text end)) as labels,
       count(*)::float8
  from candidates l
  join rules r on r.id = l.rule_id
 where l.logged_at >= date_trunc('minute', $1) - r.window_size
   and l.context @> r.match
   and (r.service is null or l.service = r.service)
   and (r.environment is null or l.environment = r.environment)
   and (r.level is null or l.level >= r.level)
 group by r.id, 2"
);

/// Failed requests over requests, as middleware reported them, per service,
/// environment and route (`match` `{"route": …}` picks one). A label set
/// with no requests in the window is no observation: its rate is unknown,
/// not zero.
const ERROR_RATE: &str = concat!(
    rules!(""),
    ",
counts as materialized (
    select service, environment, route, bucket, requests, errors
      from observe.request_counts
     where resolution = 'minute' and bucket >= (select at from since) and bucket < $1
    union all
    select service, environment, route, date_trunc('minute', at, 'UTC'), requests, errors
      from observe.request_queue
     where at >= (select at from since) and at < $1)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'service', case when 'service' = any(r.group_by) then c.service end,
           'environment', case when 'environment' = any(r.group_by) then nullif(c.environment, '') end,
           'route', case when 'route' = any(r.group_by) then nullif(c.route, '') end)) as labels,
       sum(c.errors)::float8 / sum(c.requests)
  from rules r
  join counts c on c.bucket >= date_trunc('minute', $1) - r.window_size
 where (r.service is null or c.service = r.service)
   and (r.environment is null or c.environment = r.environment)
   and (r.match ->> 'route' is null or c.route = r.match ->> 'route')
 group by r.id, 2
having sum(c.requests) > 0"
);

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
const WEB_VITAL_P75: &str = concat!(
    rules!(""),
    ",
windowed as materialized (
    select v.received_at, v.name, v.value, v.page, v.release, v.device, v.environment
      from observe.web_vitals v
     where v.received_at >= (select at from since) and v.received_at < $1)
select r.id, jsonb_strip_nulls(jsonb_build_object(
           'page', case when 'page' = any(r.group_by) then v.page end,
           'metric_name', case when 'metric_name' = any(r.group_by) then v.name end,
           'environment', case when 'environment' = any(r.group_by) then v.environment end)) as labels,
       percentile_cont(0.75) within group (order by v.value)
  from rules r
  join windowed v on v.received_at >= date_trunc('minute', $1) - r.window_size
 where v.name = r.match ->> 'name'
   and (r.match ->> 'page' is null or v.page = r.match ->> 'page')
   and (r.match ->> 'release' is null or v.release = r.match ->> 'release')
   and (r.match ->> 'device' is null or v.device = r.match ->> 'device')
   and (r.environment is null or v.environment = r.environment)
 group by r.id, 2"
);

/// Only the label sets a decision needs leave the statement: a rule split by
/// issue or route observes every one of them each time, and stepping
/// thousands of quiet label sets decides nothing. Needed are the label sets
/// whose condition holds (by the rule's comparator, so a `<` rule keeps its
/// low values) and those of the rule's pending or firing alerts, whose value
/// a change of state records. One left out steps as it would have: not
/// holding, an inactive or resolved alert stays as it is (a remembered one
/// still steps, as unobserved). A rule that splits nothing keeps its one
/// label set: `evaluate` completes a missing one with a zero, which may hold.
fn needed(statement: &str) -> String {
    let holds = holds!("o.value");
    format!(
        "select o.rule_id, o.labels, o.value
           from ({statement}) as o (rule_id, labels, value)
           join observe.alert_rules r on r.id = o.rule_id
          where r.group_by = '{{}}'
             or {holds}
             or exists (select from observe.alerts a
                         where a.rule_id = o.rule_id and a.state in ('pending', 'firing')
                           and a.labels @> o.labels)"
    )
}

/// Every threshold rule's observations, by rule id.
pub fn observe(
    client: &mut SpiClient<'_>,
    at: TimestampWithTimeZone,
    metrics: &[Metric],
) -> SpiResult<BTreeMap<i64, Vec<Observation>>> {
    let mut observed: BTreeMap<i64, Vec<Observation>> = BTreeMap::new();
    let mut run = |client: &mut SpiClient<'_>, sql: &str, metric: Metric| -> SpiResult<()> {
        for row in client.update(&needed(sql), None, &[at.into(), metric.as_str().into()])? {
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
                run(client, ERROR_EVENTS, metric)?;
                run(client, MATCHED_EVENTS, metric)?;
            }
            Metric::AffectedUsers => run(client, AFFECTED_USERS, metric)?,
            Metric::HealthFailures => run(client, HEALTH_FAILURES, metric)?,
            Metric::WebVitalP75 => run(client, WEB_VITAL_P75, metric)?,
            Metric::LogEvents => {
                run(client, LOG_EVENTS, metric)?;
                run(client, MATCHED_LOG_EVENTS, metric)?;
            }
            Metric::ErrorRate => run(client, ERROR_RATE, metric)?,
        }
    }
    Ok(observed)
}
