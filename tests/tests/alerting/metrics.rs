//! The metrics beyond error counts, each against history written where its
//! producer writes it: health checks' state, browsers' web vitals, log
//! lines (rolled up and not yet), middleware's request counts; and counts
//! still queued behind another session's fold.

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

/// Log lines of `minute` (after T0): (service, environment, level, context)
/// `n` times each, written as `observe.log` writes them.
async fn log_lines(db: &TestDb, minute: i64, lines: &[(&str, &str, &str, &str, i64)]) {
    for (service, environment, level, context, n) in lines {
        db.client
            .execute(
                &format!(
                    "insert into observe.logs (logged_at, level, service, environment, message, context)
                     select {m}, $1::text::observe.level, $2, $3, 'line', $4::text::jsonb
                       from generate_series(1, $5::bigint)",
                    m = at(minute)
                ),
                &[level, service, environment, context, n],
            )
            .await
            .unwrap_or_else(|e| panic!("{}", message(&e)));
    }
}

#[tokio::test]
async fn log_events_count_rolled_up_and_recent_lines_by_service_and_level() {
    let db = TestDb::new().await;
    // Minute -3 is rolled up (behind settled_until), minute -1 is not: both
    // are in a five-minute window evaluated at T0.
    db.client
        .batch_execute(&format!(
            "update observe.log_rollup set settled_until = {settled};
             insert into observe.log_counts (resolution, bucket, service, environment, level, events) values
                 ('minute', {m3}, 'billing', 'production', 'error', 4),
                 ('minute', {m3}, 'billing', 'production', 'info', 100),
                 ('minute', {m3}, 'search', 'production', 'error', 2);",
            settled = at(-2),
            m3 = at(-3)
        ))
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    log_lines(
        &db,
        -1,
        &[
            ("billing", "production", "error", "{}", 2),
            (
                "billing",
                "production",
                "fatal",
                r#"{"route": "/checkout"}"#,
                1,
            ),
            (
                "billing",
                "production",
                "error",
                r#"{"route": "/checkout"}"#,
                1,
            ),
            (
                "billing",
                "staging",
                "error",
                r#"{"route": "/checkout"}"#,
                5,
            ),
            ("search", "production", "warning", "{}", 1),
        ],
    )
    .await;
    let errors = rule(
        &db,
        "'log errors', metric => 'log_events', threshold => 6, level => 'error',
         environment => 'production', group_by => '{service}', window_size => '5 minutes'",
    )
    .await;
    let volume = rule(
        &db,
        "'log volume', metric => 'log_events', threshold => 200, window_size => '5 minutes'",
    )
    .await;
    let checkout = rule(
        &db,
        "'checkout log errors', metric => 'log_events', threshold => 2, level => 'error',
         match => '{\"route\": \"/checkout\"}', group_by => '{environment,level}',
         window_size => '5 minutes'",
    )
    .await;

    evaluate(&db.client, 0, 0).await;
    // billing, production, error or worse: 4 rolled up + 2 + 1 + 1 recent;
    // search's 2 errors stay under 6.
    let fired = firing(&db, errors).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0["service"], "billing");
    assert_eq!(fired[0].2, Some(8.0));
    // Every line counts towards a rule without filters: 106 + 10 < 200.
    assert!(firing(&db, volume).await.is_empty());
    let volume_alerts = alerts(&db, volume).await;
    assert!(
        volume_alerts
            .iter()
            .all(|a| a.2.is_none() || a.2 == Some(116.0)),
        "{volume_alerts:?}"
    );
    // Context matches: staging's 5 errors fire; production has one error
    // and one fatal, each its own label set under 2.
    let fired = firing(&db, checkout).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (&fired[0].0["environment"], &fired[0].0["level"]),
        (&serde_json::json!("staging"), &serde_json::json!("error"))
    );
    assert_eq!(fired[0].2, Some(5.0));

    // Ten minutes on, every line has left the window.
    evaluate(&db.client, 10, 0).await;
    assert!(firing(&db, errors).await.is_empty());
    assert!(firing(&db, checkout).await.is_empty());
    assert!(alerts(&db, errors).await.iter().any(|a| a.1 == "resolved"));
}

#[tokio::test]
async fn error_rate_is_failed_over_total_requests_and_silent_without_requests() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(&format!(
            "insert into observe.request_counts (resolution, bucket, service, environment, route, requests, errors) values
                 ('minute', {m2}, 'api', 'production', '/checkout', 100, 10),
                 ('minute', {m1}, 'api', 'production', '/checkout', 100, 2),
                 ('minute', {m1}, 'api', 'production', '/home', 300, 3),
                 ('minute', {m1}, 'api', 'staging', '/checkout', 10, 9),
                 ('minute', {m1}, 'web', 'production', '', 50, 0),
                 ('minute', {old}, 'web', 'production', '', 10, 10);",
            m2 = at(-2),
            m1 = at(-1),
            old = at(-30)
        ))
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let per_service = rule(
        &db,
        "'error rate high', metric => 'error_rate', comparator => '>', threshold => 0.05,
         environment => 'production', group_by => '{service}', window_size => '5 minutes'",
    )
    .await;
    let per_route = rule(
        &db,
        "'api routes', metric => 'error_rate', comparator => '>', threshold => 0.05,
         service => 'api', environment => 'production', group_by => '{route}',
         window_size => '5 minutes'",
    )
    .await;
    let checkout = rule(
        &db,
        "'checkout', metric => 'error_rate', comparator => '>', threshold => 0.5,
         match => '{\"route\": \"/checkout\"}', group_by => '{environment}',
         window_size => '5 minutes'",
    )
    .await;
    // Holds for every measured rate, so its alerts show each service's value.
    let every_service = rule(
        &db,
        "'every rate', metric => 'error_rate', comparator => '>=', threshold => 0,
         environment => 'production', group_by => '{service}', window_size => '5 minutes'",
    )
    .await;
    // Would fire on a rate of zero; a service with no requests has none.
    let ghost = rule(
        &db,
        "'ghost', metric => 'error_rate', comparator => '<', threshold => 1, service => 'ghost'",
    )
    .await;

    evaluate(&db.client, 0, 0).await;
    // api in production: 15 of 500; web: 0 of 50 (its old failures are
    // outside the window).
    assert!(firing(&db, per_service).await.is_empty());
    let values: Vec<_> = firing(&db, every_service)
        .await
        .into_iter()
        .map(|a| (a.0["service"].as_str().unwrap().to_owned(), a.2))
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values.iter().all(|(s, v)| match (s.as_str(), v) {
            ("api", Some(v)) => (v - 0.03).abs() < 1e-9,
            ("web", Some(v)) => *v == 0.0,
            _ => false,
        }),
        "{values:?}"
    );
    // /checkout: 12 of 200 = 0.06; /home: 0.01.
    let fired = firing(&db, per_route).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0["route"], "/checkout");
    assert!((fired[0].2.unwrap() - 0.06).abs() < 1e-9, "{fired:?}");
    // /checkout in staging: 9 of 10.
    let fired = firing(&db, checkout).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0["environment"], "staging");
    assert!(
        alerts(&db, ghost).await.is_empty(),
        "no requests, no observation"
    );

    // Ten minutes on, no request is in the window: nothing is measured, so
    // nothing fires.
    evaluate(&db.client, 10, 0).await;
    assert!(firing(&db, per_route).await.is_empty());
    assert!(firing(&db, checkout).await.is_empty());
    assert!(alerts(&db, ghost).await.is_empty());
}

#[tokio::test]
async fn log_and_request_rules_refuse_filters_they_cannot_apply() {
    let db = TestDb::new().await;
    for (args, argument) in [
        (
            "'x', metric => 'log_events', threshold => 1, issue_id => 1",
            "issue_id",
        ),
        (
            "'x', metric => 'error_rate', threshold => 0.1, level => 'error'",
            "level",
        ),
        (
            "'x', metric => 'error_rate', threshold => 0.1, match => '{\"webhook\": \"stripe\"}'",
            "match",
        ),
    ] {
        let err = db
            .client
            .query_one(&format!("select observe.create_alert_rule({args})"), &[])
            .await
            .unwrap_err();
        let text = message(&err);
        assert!(text.contains(argument), "{text}");
        assert_eq!(sqlstate(&err), "22023", "{text}");
    }
}

#[tokio::test]
async fn counts_still_queued_behind_another_fold_are_observed() {
    let db = TestDb::new().await;
    let errors = rule(
        &db,
        "'queued errors', threshold => 3, service => 'queued', window_size => '5 minutes'",
    )
    .await;
    // Another session holds the fold's lock, as tick() does while it folds:
    // the evaluator's own fold returns at once and the events stay queued.
    let folder = db.connect().await;
    folder
        .batch_execute("begin; select pg_advisory_xact_lock(hashtext('observe.fold_counts'))")
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    db.client
        .batch_execute(
            "select observe.log_error('boom ' || i, service => 'queued', user_ref => 'user-' || i)
               from generate_series(1, 4) as i",
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let users = rule(
        &db,
        "'queued users', metric => 'affected_users', threshold => 4, service => 'queued',
         window_size => '5 minutes'",
    )
    .await;
    db.client
        .batch_execute("select observe.evaluate_alerts(now() + interval '1 second')")
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let queued: i64 = db.scalar("select count(*) from observe.count_queue").await;
    assert_eq!(queued, 4, "the fold's lock kept the events queued");
    let fired = firing(&db, errors).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].2, Some(4.0));
    let fired = firing(&db, users).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].2, Some(4.0));
    folder.batch_execute("rollback").await.unwrap();
}

#[tokio::test]
async fn context_matches_compare_numbers_and_booleans_by_type() {
    let db = TestDb::new().await;
    let orders = rule(
        &db,
        "'order 42 retried', threshold => 2, window_size => '10 minutes',
         match => '{\"order_id\": 42, \"retried\": true}'",
    )
    .await;
    for context in [
        r#"{"order_id": 42, "retried": true, "attempt": 1}"#,
        r#"{"order_id": 42, "retried": true, "attempt": 2}"#,
        r#"{"order_id": 42, "retried": true, "attempt": 3}"#,
        // A string is not the number, nor false true.
        r#"{"order_id": "42", "retried": true}"#,
        r#"{"order_id": 42, "retried": false}"#,
        r#"{"order_id": 43, "retried": true}"#,
    ] {
        db.client
            .execute(
                "select observe.log_error('payment retry failed', service => 'billing', context => $1::text::jsonb)",
                &[&context],
            )
            .await
            .unwrap_or_else(|e| panic!("log_error: {}", message(&e)));
    }
    db.client
        .query_one(
            "select observe.evaluate_alerts(now() + interval '1 minute')",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("evaluating: {}", message(&e)));
    let fired = firing(&db, orders).await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0].2,
        Some(3.0),
        "the three events whose context holds both values"
    );
}
