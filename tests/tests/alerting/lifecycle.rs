//! Alerts through their lifecycle at explicit evaluation times, and what
//! their groups queue: every transition, group_wait / group_interval /
//! repeat_interval, silences, inhibition, a flapping metric, idempotent and
//! concurrent evaluations.

use pg_observe_tests::TestDb;

use super::{alerts, at, count, evaluate, issue, minutes_after_t0, notifications, rule};

#[tokio::test]
async fn a_threshold_alert_fires_notifies_after_group_wait_and_resolves() {
    let db = TestDb::new().await;
    let billing = issue(&db, "billing", "error").await;
    let r = rule(
        &db,
        "'billing errors', threshold => 10, service => 'billing', severity => 'critical'",
    )
    .await;
    count(&db, billing, 0, 12).await;

    let summary = evaluate(&db.client, 1, 0).await;
    assert_eq!(summary["state_changes"], 1, "{summary}");
    let fired = alerts(&db, r).await;
    assert_eq!((fired[0].1.as_str(), fired[0].2), ("firing", Some(12.0)));
    let queued = notifications(&db, r).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, "firing");
    assert_eq!(
        minutes_after_t0(queued[0].1),
        1.5,
        "group_wait (30 s) after it fired"
    );
    let payload = &queued[0].2;
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["service"], "billing");
    assert_eq!(payload["metric"], "error_events");
    assert_eq!(payload["value"], 12.0);
    assert_eq!(payload["alerts"].as_array().unwrap().len(), 1);

    // The same evaluation again changes and queues nothing.
    let again = evaluate(&db.client, 1, 0).await;
    assert_eq!(
        (
            again["state_changes"].as_i64(),
            again["notifications_queued"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(notifications(&db, r).await.len(), 1);

    // Once the window holds fewer than 10 events it resolves, and the group
    // says so after group_interval.
    evaluate(&db.client, 7, 0).await;
    assert_eq!(alerts(&db, r).await[0].1, "resolved");
    let queued = notifications(&db, r).await;
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[1].0, "resolved");
    assert_eq!(minutes_after_t0(queued[1].1), 7.0);
    let transitions: Vec<(String, String)> = db
        .client
        .query(
            "select from_state, to_state from observe.alert_events where rule_id = $1 order by id",
            &[&r],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        transitions,
        [
            ("inactive".into(), "firing".into()),
            ("firing".into(), "resolved".into())
        ]
    );
}

#[tokio::test]
async fn pending_for_and_keep_firing_for_shape_every_transition() {
    let db = TestDb::new().await;
    let api = issue(&db, "api", "error").await;
    let r = rule(
        &db,
        "'api errors', threshold => 5, window_size => '1 minute', pending_for => '2 minutes', keep_firing_for => '2 minutes'",
    )
    .await;
    let mut states = Vec::new();
    // Above the threshold for minutes 0..4, then quiet.
    for minute in 0..10 {
        if minute < 4 {
            count(&db, api, minute, 9).await;
        }
        evaluate(&db.client, minute + 1, 0).await;
        states.push(alerts(&db, r).await[0].1.clone());
    }
    assert_eq!(
        states,
        [
            "pending", "pending", "firing", "firing", // pending_for 2 min, then firing
            "firing", "firing", // keep_firing_for rides out 2 quiet minutes
            "resolved", "resolved", "resolved", "resolved",
        ]
    );
    // A blip shorter than pending_for never fires and never notifies.
    let blip = rule(
        &db,
        "'api blip', threshold => 5, window_size => '1 minute', pending_for => '5 minutes'",
    )
    .await;
    count(&db, api, 20, 9).await;
    evaluate(&db.client, 21, 0).await;
    evaluate(&db.client, 22, 0).await;
    assert_eq!(alerts(&db, blip).await[0].1, "inactive");
    assert!(notifications(&db, blip).await.is_empty());
}

#[tokio::test]
async fn group_by_splits_a_rule_into_an_alert_and_a_group_per_service() {
    let db = TestDb::new().await;
    let billing = issue(&db, "billing", "error").await;
    let auth = issue(&db, "auth", "error").await;
    let search = issue(&db, "search", "error").await;
    let r = rule(
        &db,
        "'errors by service', threshold => 10, group_by => array['service']",
    )
    .await;
    count(&db, billing, 0, 11).await;
    count(&db, auth, 0, 30).await;
    count(&db, search, 0, 2).await;
    evaluate(&db.client, 1, 0).await;
    let firing: Vec<String> = alerts(&db, r)
        .await
        .into_iter()
        .filter(|(_, state, _)| state == "firing")
        .map(|(labels, _, _)| labels["service"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(firing, ["auth", "billing"]);
    let queued = notifications(&db, r).await;
    assert_eq!(queued.len(), 2, "one notification per group");
    let groups: i64 = db
        .scalar("select count(*) from observe.alert_groups where pending is not null")
        .await;
    assert_eq!(groups, 2);
}

/// A rule split by issue meets only the issues whose events could reach
/// its threshold (metrics.rs): the bound must never hide a label set that
/// holds, nor the firing alert that has to resolve, nor a `<` rule's quiet
/// issues.
#[tokio::test]
async fn rules_split_by_issue_see_every_issue_that_decides_something() {
    let db = TestDb::new().await;
    let steady = issue(&db, "billing", "error").await;
    let split = issue(&db, "billing", "error").await;
    let quiet = issue(&db, "billing", "error").await;
    let per_issue = rule(
        &db,
        "'per issue in production', metric => 'issue_events', comparator => '>', threshold => 5,
         environment => 'production', group_by => array['issue_id']",
    )
    .await;
    let rare = rule(
        &db,
        "'rare issues', metric => 'issue_events', comparator => '<', threshold => 2,
         group_by => array['issue_id']",
    )
    .await;
    count(&db, steady, 0, 6).await;
    // Eight events in all, more than the threshold, but four in production.
    count(&db, split, 0, 4).await;
    db.client
        .batch_execute(&format!(
            "insert into observe.issue_counts (issue_id, resolution, bucket, environment, release, events, first_seen, last_seen)
             values ({split}, 'minute', date_trunc('minute', {m}), 'staging', '', 4, {m}, {m})",
            m = at(0)
        ))
        .await
        .unwrap();
    count(&db, quiet, 0, 1).await;

    evaluate(&db.client, 1, 0).await;
    let states = |alerts: Vec<(serde_json::Value, String, Option<f64>)>| -> Vec<(String, String, Option<f64>)> {
        alerts
            .into_iter()
            .map(|(labels, state, value)| (labels["issue_id"].as_str().unwrap().to_owned(), state, value))
            .collect()
    };
    assert_eq!(
        states(alerts(&db, per_issue).await),
        [(steady.to_string(), "firing".to_owned(), Some(6.0))]
    );
    assert_eq!(
        states(alerts(&db, rare).await),
        [(quiet.to_string(), "firing".to_owned(), Some(1.0))]
    );

    // Three events later on: the firing alert resolves with the value that
    // resolved it, although its issue can no longer reach the threshold.
    count(&db, steady, 4, 3).await;
    evaluate(&db.client, 7, 0).await;
    assert_eq!(
        states(alerts(&db, per_issue).await),
        [(steady.to_string(), "resolved".to_owned(), Some(3.0))]
    );
}
#[tokio::test]
async fn an_alert_that_resolves_before_group_wait_is_never_sent() {
    let db = TestDb::new().await;
    let api = issue(&db, "api", "error").await;
    let r = rule(
        &db,
        "'short lived', threshold => 5, window_size => '1 minute', group_wait => '5 minutes'",
    )
    .await;
    count(&db, api, 0, 9).await;
    evaluate(&db.client, 0, 30).await;
    assert_eq!(
        notifications(&db, r).await.len(),
        1,
        "queued for after group_wait"
    );
    evaluate(&db.client, 2, 0).await;
    assert_eq!(alerts(&db, r).await[0].1, "resolved");
    assert!(
        notifications(&db, r).await.is_empty(),
        "withdrawn before its time came"
    );
    evaluate(&db.client, 20, 0).await;
    assert!(
        notifications(&db, r).await.is_empty(),
        "and no resolved notice follows"
    );
}

#[tokio::test]
async fn an_unchanged_firing_group_repeats_after_repeat_interval() {
    let db = TestDb::new().await;
    let api = issue(&db, "api", "error").await;
    let r = rule(
        &db,
        "'steady', threshold => 1, window_size => '1 minute', repeat_interval => '30 minutes'",
    )
    .await;
    for minute in 0..70 {
        count(&db, api, minute, 3).await;
    }
    for minute in (1..70).step_by(5) {
        evaluate(&db.client, minute, 0).await;
    }
    let queued: Vec<f64> = notifications(&db, r)
        .await
        .iter()
        .map(|n| minutes_after_t0(n.1))
        .collect();
    assert_eq!(
        queued,
        [1.5, 36.0, 66.0],
        "every repeat_interval after the last, at the evaluation that sees it due"
    );
}

#[tokio::test]
async fn a_flapping_metric_pages_within_what_its_timing_promises() {
    let db = TestDb::new().await;
    let api = issue(&db, "api", "error").await;
    // keep_firing_for longer than the flip: one page for the hour.
    let steady = rule(
        &db,
        "'flapping, kept firing', threshold => 5, window_size => '1 minute', keep_firing_for => '2 minutes'",
    )
    .await;
    // pending_for longer than the flip: never pages.
    let patient = rule(
        &db,
        "'flapping, pending', threshold => 5, window_size => '1 minute', pending_for => '2 minutes'",
    )
    .await;
    for minute in 0..60 {
        if minute % 2 == 0 {
            count(&db, api, minute, 9).await;
        }
        evaluate(&db.client, minute + 1, 0).await;
    }
    assert_eq!(
        notifications(&db, steady).await.len(),
        1,
        "one page for an hour of flapping"
    );
    assert!(notifications(&db, patient).await.is_empty());
}

#[tokio::test]
async fn silenced_alerts_change_state_but_queue_nothing() {
    let db = TestDb::new().await;
    let billing = issue(&db, "billing", "error").await;
    let r = rule(
        &db,
        "'billing errors', threshold => 10, service => 'billing'",
    )
    .await;
    let silence: uuid::Uuid = db
        .client
        .query_one(
            &format!(
                "select observe.silence('{{\"service\": \"billing\"}}', {} , 'maintenance window')",
                at(60)
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    count(&db, billing, 0, 50).await;
    evaluate(&db.client, 1, 0).await;
    assert_eq!(alerts(&db, r).await[0].1, "firing");
    assert!(notifications(&db, r).await.is_empty(), "silenced");
    let active: bool = db
        .scalar("select silenced from observe.active_alerts")
        .await;
    assert!(active);
    // Ending the silence lets the still-firing alert through.
    db.client
        .execute(
            "update observe.silences set ends_at = $2::text::timestamptz where id = $1",
            &[&silence, &"2031-03-01 12:01:30+00"],
        )
        .await
        .unwrap();
    count(&db, billing, 2, 50).await;
    evaluate(&db.client, 3, 0).await;
    assert_eq!(notifications(&db, r).await.len(), 1);
}

#[tokio::test]
async fn a_firing_critical_alert_inhibits_lesser_alerts_of_its_service() {
    let db = TestDb::new().await;
    let checkout = issue(&db, "checkout", "fatal").await;
    let down = rule(
        &db,
        "'checkout down', threshold => 10, service => 'checkout', severity => 'critical'",
    )
    .await;
    let noisy = rule(
        &db,
        "'checkout noisy', threshold => 5, service => 'checkout', severity => 'medium'",
    )
    .await;
    count(&db, checkout, 0, 40).await;
    evaluate(&db.client, 1, 0).await;
    assert_eq!(alerts(&db, noisy).await[0].1, "firing");
    assert_eq!(notifications(&db, down).await.len(), 1);
    assert!(
        notifications(&db, noisy).await.is_empty(),
        "inhibited by the critical alert"
    );
}

#[tokio::test]
async fn concurrent_evaluations_never_queue_twice() {
    let db = TestDb::new().await;
    let billing = issue(&db, "billing", "error").await;
    let r = rule(
        &db,
        "'billing errors', threshold => 10, group_by => array['service']",
    )
    .await;
    count(&db, billing, 0, 12).await;
    let sessions = futures::future::join_all((0..4).map(|_| db.connect())).await;
    futures::future::join_all(sessions.iter().map(|client| evaluate(client, 1, 0))).await;
    assert_eq!(notifications(&db, r).await.len(), 1);
    let firing: i64 = db
        .scalar("select count(*) from observe.alert_events where to_state = 'firing'")
        .await;
    assert_eq!(firing, 1);
}
