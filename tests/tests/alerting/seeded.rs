//! The platform's rules as `supabase/seed.sql` writes them: against the
//! seed's own demo data, and the per-fingerprint limit (one alert per issue
//! per 30 minutes) against hours of bursty history.

use std::collections::BTreeSet;

use pg_observe_tests::{message, TestDb};
use serde_json::Value;

use super::{count, evaluate, issue, minutes_after_t0, notifications};

const SEED: &str = include_str!("../../../supabase/seed.sql");

async fn seeded() -> TestDb {
    let db = TestDb::new().await;
    db.client
        .batch_execute(SEED)
        .await
        .unwrap_or_else(|e| panic!("supabase/seed.sql: {}", message(&e)));
    db
}

async fn rule_id(db: &TestDb, name: &str) -> i64 {
    db.client
        .query_one(
            "select id from observe.alert_rules where name = $1",
            &[&name],
        )
        .await
        .unwrap_or_else(|e| panic!("rule {name}: {}", message(&e)))
        .get(0)
}

/// The values of `label` over a rule's alerts in `state`.
async fn labelled(db: &TestDb, rule: &str, state: &str, label: &str) -> BTreeSet<String> {
    db.client
        .query(
            "select a.labels ->> $3 from observe.alerts a join observe.alert_rules r on r.id = a.rule_id
              where r.name = $1 and a.state = $2",
            &[&rule, &state, &label],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_seeded_rules_fire_on_the_demo_data() {
    let db = seeded().await;
    let summary: Value = db
        .client
        .query_one(
            "select observe.evaluate_alerts(now() + interval '1 minute')",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)))
        .get(0);
    assert!(summary["rules"].as_i64().unwrap_or(0) >= 5, "{summary}");

    let spiking = labelled(&db, "error_spike", "firing", "service").await;
    for service in ["billing", "web", "reports", "db"] {
        assert!(
            spiking.contains(service),
            "{service} erred 10+ times: {spiking:?}"
        );
    }
    assert!(
        !spiking.contains("api"),
        "api logged warnings only, and its issue is ignored"
    );
    assert!(
        labelled(&db, "warning_spike", "firing", "service")
            .await
            .iter()
            .all(|s| s != "api"),
        "an ignored issue does not page"
    );
    let stripe = rule_id(&db, "stripe_webhook_failures").await;
    let value: f64 = db
        .client
        .query_one(
            "select value from observe.alerts where rule_id = $1 and state = 'firing'",
            &[&stripe],
        )
        .await
        .unwrap_or_else(|e| panic!("the Stripe rule fired: {}", message(&e)))
        .get(0);
    assert_eq!(value, 4.0, "four tagged webhook failures");

    // One alert per erring issue that is not ignored.
    let erring: i64 = db
        .client
        .query_one(
            "select count(*) from observe.issue_groups where level >= 'error' and status <> 'ignored'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        labelled(&db, "issue_alert", "firing", "issue_id")
            .await
            .len() as i64,
        erring
    );

    // Warnings of services with a critical error spike are inhibited: the
    // spike says it all.
    let warnings = rule_id(&db, "warning_spike").await;
    let queued = notifications(&db, warnings).await;
    assert!(
        queued
            .iter()
            .all(|(_, _, p)| !spiking.contains(p["service"].as_str().unwrap_or(""))),
        "{queued:?}"
    );
    let spike = rule_id(&db, "error_spike").await;
    let queued = notifications(&db, spike).await;
    assert_eq!(queued.len(), spiking.len(), "one e-mail per service");
    assert!(queued.iter().all(|(_, _, p)| p["severity"] == "critical"));
}

/// A small deterministic generator, so the history is irregular but the
/// test repeatable.
fn bursts(minutes: i64) -> Vec<i64> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..minutes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Busy and quiet stretches: errors in about half the minutes,
            // with gaps long enough to resolve now and then.
            match state % 10 {
                0..=4 => 1 + (state % 5) as i64,
                _ => 0,
            }
        })
        .collect()
}

#[tokio::test]
async fn one_alert_per_fingerprint_per_30_minutes() {
    let db = seeded().await;
    let rule = rule_id(&db, "issue_alert").await;
    let checkout = issue(&db, "checkout", "error").await;
    // Three hours of irregular errors, then a long quiet stretch, then one
    // more error.
    let mut history = bursts(180);
    history.extend(std::iter::repeat_n(0, 45));
    history.push(2);
    for (minute, &events) in history.iter().enumerate() {
        if events > 0 {
            count(&db, checkout, minute as i64, events).await;
        }
    }
    for minute in 1..=history.len() as i64 + 1 {
        evaluate(&db.client, minute, 0).await;
    }

    let label = checkout.to_string();
    let sent: Vec<f64> = notifications(&db, rule)
        .await
        .into_iter()
        .filter(|(kind, _, payload)| {
            kind == "firing" && payload["labels"]["issue_id"].as_str() == Some(label.as_str())
        })
        .map(|(_, t, _)| minutes_after_t0(t))
        .collect();
    assert!(!sent.is_empty());
    for pair in sent.windows(2) {
        assert!(
            pair[1] - pair[0] >= 30.0,
            "two alerts within 30 minutes: {sent:?}"
        );
    }
    // Never silent for longer than the limit while the issue errs.
    for (minute, &events) in history.iter().enumerate() {
        if events > 0 {
            let minute = minute as f64;
            assert!(
                sent.iter()
                    .any(|&t| t <= minute + 1.0 && t > minute + 1.0 - 31.0),
                "errors at minute {minute} went unannounced: {sent:?}"
            );
        }
    }
    // The last error came after 45 quiet minutes: announced at once.
    let last = history.len() as f64;
    assert_eq!(sent.last().copied(), Some(last), "{sent:?}");
    assert!(
        notifications(&db, rule)
            .await
            .iter()
            .all(|(kind, _, _)| kind == "firing"),
        "send_resolved is off"
    );
}
