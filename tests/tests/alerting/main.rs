//! Alerting inside Postgres: rules, their alerts' lifecycle, Alertmanager's
//! grouping, silences and inhibition, event rules firing in the capturing
//! transaction, and the notifications the outbox receives. Evaluations run
//! at explicit times (`observe.evaluate_alerts(at)`), over history written
//! straight into the per-minute rollups, so no test sleeps for minutes; the
//! scheduled evaluation under real pg_cron is in `scheduled.rs`.

mod events;
mod lifecycle;
mod metrics;
mod rules;
mod scheduled;
mod seeded;

use pg_observe_tests::{message, TestDb};
use serde_json::Value;
use tokio_postgres::Client;

/// A fixed minute to build history around, far from the wall clock.
pub const T0: &str = "2031-03-01 12:00:00+00";

/// `T0 + minutes`, as SQL.
pub fn at(minutes: i64) -> String {
    format!("'{T0}'::timestamptz + interval '{minutes} minutes'")
}

/// Minutes from T0 to `t`.
pub fn minutes_after_t0(t: chrono::DateTime<chrono::Utc>) -> f64 {
    let t0 = chrono::DateTime::parse_from_str(&format!("{T0}00"), "%Y-%m-%d %H:%M:%S%z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    (t - t0).num_seconds() as f64 / 60.0
}

/// An issue of `service` with nothing counted, returning its id.
pub async fn issue(db: &TestDb, service: &str, level: &str) -> i64 {
    db.client
        .query_one(
            "insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
             values ($1, md5(random()::text), 'message', 'test issue of ' || $1, $2::text::observe.level, now())
             returning id",
            &[&service, &level],
        )
        .await
        .unwrap_or_else(|e| panic!("creating an issue: {}", message(&e)))
        .get(0)
}

/// `events` events of `issue` counted in the minute `minutes` after T0, as
/// the fold writes them.
pub async fn count(db: &TestDb, issue: i64, minutes: i64, events: i64) {
    db.client
        .batch_execute(&format!(
            "insert into observe.issue_counts (issue_id, bucket, environment, release, slot, events, first_seen, last_seen)
             values ({issue}, date_trunc('minute', {m}), 'production', '', 0, {events}, {m}, {m})
             on conflict (issue_id, bucket, environment, release, slot)
             do update set events = observe.issue_counts.events + excluded.events",
            m = at(minutes)
        ))
        .await
        .unwrap_or_else(|e| panic!("counting: {}", message(&e)));
}

/// Evaluates at `T0 + minutes` (plus `seconds`), returning the summary.
pub async fn evaluate(client: &Client, minutes: i64, seconds: i64) -> Value {
    client
        .query_one(
            &format!(
                "select observe.evaluate_alerts({} + interval '{seconds} seconds')",
                at(minutes)
            ),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("evaluating at {minutes} min: {}", message(&e)))
        .get(0)
}

/// The alerts of a rule: (labels, state, value).
pub async fn alerts(db: &TestDb, rule: i64) -> Vec<(Value, String, Option<f64>)> {
    db.client
        .query(
            "select labels, state, value from observe.alerts where rule_id = $1 order by label_key",
            &[&rule],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Notifications of a rule still in the outbox: (kind, not_before, payload).
pub async fn notifications(
    db: &TestDb,
    rule: i64,
) -> Vec<(String, chrono::DateTime<chrono::Utc>, Value)> {
    db.client
        .query(
            "select kind, next_attempt_at, payload from observe.notifications
              where rule_id = $1 order by next_attempt_at, created_at",
            &[&rule],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// A rule from SQL arguments (`name => ...` and the rest), returning its id.
pub async fn rule(db: &TestDb, arguments: &str) -> i64 {
    db.client
        .query_one(
            &format!("select observe.create_alert_rule({arguments})"),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("create_alert_rule({arguments}): {}", message(&e)))
        .get(0)
}
