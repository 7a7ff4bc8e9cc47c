//! The metrics beyond error counts, each against history written where its
//! producer writes it: health checks' state, browsers' web vitals.

use pg_observe_tests::{message, sqlstate, TestDb};

use super::{alerts, at, evaluate, rule};

async fn firing(db: &TestDb, rule: i64) -> Vec<(serde_json::Value, String, Option<f64>)> {
    let mut all = alerts(db, rule).await;
    all.retain(|a| a.1 == "firing");
    all
}

#[tokio::test]
async fn health_failures_count_checks_down_now() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.create_health_check('api', 'https://api.example.com/health', environment => 'production');
             select observe.create_health_check('web', 'https://www.example.com/', environment => 'production');
             select observe.create_health_check('docs', 'https://docs.example.com/', environment => 'staging');",
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let any = rule(
        &db,
        "'production down', metric => 'health_failures', threshold => 1, environment => 'production', group_by => '{check}'",
    )
    .await;
    let docs = rule(
        &db,
        "'docs down', metric => 'health_failures', threshold => 1, match => '{\"check\": \"docs\"}'",
    )
    .await;

    evaluate(&db.client, 0, 0).await;
    assert!(
        alerts(&db, any).await.iter().all(|a| a.1 == "inactive"),
        "every check is up"
    );

    db.client
        .batch_execute("update observe.health_checks set up = false where name in ('api', 'docs')")
        .await
        .unwrap();
    evaluate(&db.client, 1, 0).await;
    let fired = firing(&db, any).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0["check"], "api", "docs is staging");
    assert_eq!((fired[0].1.as_str(), fired[0].2), ("firing", Some(1.0)));
    assert_eq!(alerts(&db, docs).await[0].1, "firing");

    db.client
        .batch_execute("update observe.health_checks set up = true")
        .await
        .unwrap();
    evaluate(&db.client, 2, 0).await;
    assert!(firing(&db, any).await.is_empty());
    assert!(alerts(&db, any).await.iter().any(|a| a.1 == "resolved"));
    assert_eq!(alerts(&db, docs).await[0].1, "resolved");
}

#[tokio::test]
async fn web_vital_p75_over_the_window_per_page() {
    let db = TestDb::new().await;
    // 20 LCP beacons on /checkout a minute before: 1..=20 s, so p75 is
    // 15.25 s; /home stays fast; INP on /checkout is not LCP.
    db.client
        .batch_execute(&format!(
            "insert into observe.web_vitals (received_at, name, value, rating, page, environment)
             select {m}, 'LCP', s * 1000, 'poor', '/checkout', 'production' from generate_series(1, 20) s;
             insert into observe.web_vitals (received_at, name, value, rating, page, environment)
             select {m}, 'LCP', 900, 'good', '/home', 'production' from generate_series(1, 20);
             insert into observe.web_vitals (received_at, name, value, rating, page, environment)
             select {m}, 'INP', 90000, 'poor', '/checkout', 'production' from generate_series(1, 5);",
            m = at(-1)
        ))
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let slow = rule(
        &db,
        "'slow LCP', metric => 'web_vital_p75', threshold => 4000, comparator => '>',
         match => '{\"name\": \"LCP\"}', group_by => '{page}', window_size => '10 minutes'",
    )
    .await;

    evaluate(&db.client, 0, 0).await;
    let fired = firing(&db, slow).await;
    assert_eq!(fired.len(), 1, "only /checkout is slow: {fired:?}");
    assert_eq!(fired[0].0["page"], "/checkout");
    assert_eq!((fired[0].1.as_str(), fired[0].2), ("firing", Some(15250.0)));

    // Ten minutes on, the beacons have left the window.
    evaluate(&db.client, 10, 0).await;
    assert!(firing(&db, slow).await.is_empty());
    assert!(alerts(&db, slow).await.iter().any(|a| a.1 == "resolved"));
}

#[tokio::test]
async fn web_vital_rules_name_their_vital() {
    let db = TestDb::new().await;
    for args in [
        "'x', metric => 'web_vital_p75', threshold => 1",
        "'x', metric => 'web_vital_p75', threshold => 1, match => '{\"name\": \"FID\"}'",
    ] {
        let err = db
            .client
            .query_one(&format!("select observe.create_alert_rule({args})"), &[])
            .await
            .unwrap_err();
        let text = message(&err);
        assert!(text.contains("match"), "{text}");
        assert_eq!(sqlstate(&err), "22023", "{text}");
    }
}
