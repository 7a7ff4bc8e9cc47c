//! Event rules fire in the transaction that records the new issue or the
//! regression: the notification is queued (or withdrawn, on rollback) with
//! the capture itself.

use pg_observe_tests::{message, TestDb};

use super::{notifications, rule};

#[tokio::test]
async fn a_new_issue_queues_its_notification_in_the_capturing_transaction() {
    let db = TestDb::new().await;
    let r = rule(
        &db,
        "'new billing issue', kind => 'new_issue', service => 'billing', group_wait => '0'",
    )
    .await;
    let app = db.connect().await;
    app.batch_execute(
        "begin;
         select observe.log_error('card declined for order 1', service => 'billing');",
    )
    .await
    .unwrap();
    let inside: i64 = app
        .query_one(
            "select count(*) from observe.notifications where rule_id = $1",
            &[&r],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(inside, 1, "queued by the capture itself");
    app.batch_execute("rollback").await.unwrap();
    assert!(
        notifications(&db, r).await.is_empty(),
        "and gone with its rollback"
    );

    app.batch_execute(
        "select observe.log_error('card declined for order 2', service => 'billing')",
    )
    .await
    .unwrap();
    let queued = notifications(&db, r).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, "firing");
    assert!(
        queued[0].2["alerts"][0]["labels"]["issue_id"].is_string(),
        "{}",
        queued[0].2
    );
    // Another service's issue is not this rule's.
    app.batch_execute("select observe.log_error('timeout', service => 'search')")
        .await
        .unwrap();
    assert_eq!(notifications(&db, r).await.len(), 1);
}

#[tokio::test]
async fn a_regression_fires_once_per_issue_per_repeat_interval() {
    let db = TestDb::new().await;
    // The platform's "one alert per fingerprint per 30 minutes".
    let r = rule(
        &db,
        "'regressed', kind => 'regression', group_by => array['issue_id'], group_wait => '0',
         keep_firing_for => '30 minutes', repeat_interval => '30 minutes'",
    )
    .await;
    let capture = "select observe.log_error('stale cache entry', service => 'api')";
    db.client.batch_execute(capture).await.unwrap();
    let issue: i64 = db.scalar("select id from observe.issue_groups").await;
    for _ in 0..3 {
        db.client
            .execute("select observe.resolve_issue($1)", &[&issue])
            .await
            .unwrap();
        db.client.batch_execute(capture).await.unwrap();
    }
    let regressions: i64 = db
        .scalar("select count(*) from observe.issue_activity where kind = 'regressed'")
        .await;
    assert_eq!(regressions, 3);
    let queued = notifications(&db, r).await;
    assert_eq!(
        queued.len(),
        1,
        "three regressions within 30 minutes: one alert"
    );
}

#[tokio::test]
async fn without_event_rules_capture_fires_nothing() {
    let db = TestDb::new().await;
    rule(&db, "'a threshold rule', threshold => 1").await;
    db.client
        .batch_execute(
            "select observe.log_error('x' || i, service => 's' || i) from generate_series(1, 20) i",
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let queued: i64 = db
        .scalar("select count(*) from observe.notifications")
        .await;
    assert_eq!(queued, 0);
}
