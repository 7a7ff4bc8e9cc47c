//! Deploy verification in the real database: verdicts on the fixtures the
//! issue names (healthy, clearly broken, too little traffic, new issue only,
//! budget breach, slow; health down, a regression, worse than the previous
//! deploy), what is stored and alerted, DORA on a known
//! history, rollback targets, budgets and the Lighthouse import.
//!
//! Counts are placed in time the way capture stores them (rows of
//! observe.issue_counts per whole minute), since capture itself stamps events
//! with the time they arrive; errors "now" go through observe.log_error.

use pg_observe_tests::{message, sqlstate, TestDb};
use serde_json::{json, Value};

/// A production deploy that became ready `minutes_ago`.
async fn deploy(db: &TestDb, id: &str, minutes_ago: f64) {
    db.client
        .execute(
            "select observe.record_deploy(deployment_id => $1, environment => 'production',
                    commit_sha => 'abc1234', url => 'web-' || $1 || '.vercel.app',
                    occurred_at => now() - make_interval(secs => $2::float8 * 60))",
            &[&id, &minutes_ago],
        )
        .await
        .unwrap_or_else(|e| panic!("record {id}: {}", message(&e)));
}

/// An issue that existed long before any deploy (its creation backdated).
async fn old_issue(db: &TestDb, title: &str) -> i64 {
    db.client
        .execute(
            "select observe.log_error($1, environment => 'production', service => 'web')",
            &[&title],
        )
        .await
        .unwrap();
    let id: i64 = db
        .client
        .query_one(
            "select id from observe.issue_groups where title = $1",
            &[&title],
        )
        .await
        .unwrap()
        .get(0);
    db.client
        .batch_execute(&format!(
            "select observe.fold_counts();
             update observe.issue_activity set at = now() - interval '1 day' where issue_id = {id};
             delete from observe.issue_counts where issue_id = {id};"
        ))
        .await
        .unwrap();
    id
}

/// `events` error events of `issue` in each of the minutes that end between
/// `from_min` and `to_min` minutes ago (exclusive, inclusive): one row per
/// whole minute, as capture counts them.
async fn counts(db: &TestDb, issue: i64, from_min: i32, to_min: i32, events: i64) {
    db.client
        .execute(
            "insert into observe.issue_counts (issue_id, resolution, bucket, environment, release, events, last_seen)
             select $1, 'minute', date_trunc('minute', now() - make_interval(mins => m)) - interval '1 minute',
                    'production', '', $4, now()
               from generate_series($3, $2 - 1) m",
            &[&issue, &from_min, &to_min, &events],
        )
        .await
        .unwrap();
}

/// `n` page loads (one TTFB beacon each) between `from_min` and `to_min`
/// minutes ago.
async fn page_loads(db: &TestDb, n: i32, from_min: f64, to_min: f64) {
    db.client
        .execute(
            "insert into observe.web_vitals (name, value, rating, page, environment, received_at)
             select 'TTFB', 300, 'good', 'https://shop.example.com/', 'production',
                    now() - make_interval(secs => ($2::float8 - ($2::float8 - $3::float8) * i / $1::int) * 60)
               from generate_series(1, $1::int) i",
            &[&n, &from_min, &to_min],
        )
        .await
        .unwrap();
}

async fn verify(db: &TestDb, id: &str, window: &str) -> Value {
    db.client
        .query_one(
            "select observe.verify_deploy($1, $2::text::interval)",
            &[&id, &window],
        )
        .await
        .unwrap_or_else(|e| panic!("verify {id}: {}", message(&e)))
        .get(0)
}

fn status<'a>(v: &'a Value, check: &str) -> &'a str {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no {check} in {v:#}"))["status"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn healthy_deploy_passes_once_the_window_is_over_and_is_stored() {
    let db = TestDb::new().await;
    let issue = old_issue(&db, "Timeout talking to Stripe").await;
    deploy(&db, "dpl_good", 16.0).await;
    counts(&db, issue, 31, 16, 1).await; // before: 15 events
    counts(&db, issue, 16, 1, 1).await; // after: 15 events
    page_loads(&db, 300, 15.5, 1.5).await;
    let v = verify(&db, "dpl_good", "15 minutes").await;
    assert_eq!(v["verdict"], "pass", "{v:#}");
    assert_eq!(v["metrics"]["after"]["error_events"], 15);
    assert_eq!(v["metrics"]["before"]["error_events"], 15);
    assert_eq!(v["metrics"]["after"]["page_loads"], 300);
    assert_eq!(v["stored"], true);
    let (verdict, notified): (String, bool) = {
        let r = db
            .client
            .query_one(
                "select verdict, notification_id is not null from observe.deploy_verifications",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((verdict.as_str(), notified), ("pass", false));
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.notifications")
            .await,
        0
    );
    // Verifying again replaces the verdict instead of adding one.
    verify(&db, "dpl_good", "15 minutes").await;
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.deploy_verifications")
            .await,
        1
    );
}

#[tokio::test]
async fn clearly_broken_deploy_fails_early_and_alerts_once_through_the_outbox() {
    let db = TestDb::new().await;
    old_issue(&db, "Cannot read properties of undefined (reading 'total')").await;
    let issue: i64 = db.scalar("select id from observe.issue_groups").await;
    counts(&db, issue, 20, 3, 1).await;
    deploy(&db, "dpl_bad", 2.0).await;
    for _ in 0..60 {
        db.client
            .execute(
                "select observe.log_error('Cannot read properties of undefined (reading ''total'')',
                                          environment => 'production', service => 'web')",
                &[],
            )
            .await
            .unwrap();
    }
    let v = verify(&db, "dpl_bad", "15 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "errors_vs_before"), "fail");
    assert_eq!(
        v["metrics"]["complete"], false,
        "failed before the window ended"
    );
    assert_eq!(v["stored"], true);
    let n: Value = db
        .scalar(
            "select jsonb_build_object('subject', subject, 'kind', kind, 'labels', payload->'labels',
                                       'summary', payload->'annotations'->>'summary')
               from observe.notifications",
        )
        .await;
    assert_eq!(
        n["subject"],
        "[CRITICAL][production] Deploy dpl_bad failed verification"
    );
    assert_eq!(n["labels"]["deployment_id"], "dpl_bad");
    assert!(n["summary"].as_str().unwrap().contains("rose"), "{n:#}");
    // A second verification keeps one alert.
    let again = verify(&db, "dpl_bad", "15 minutes").await;
    assert_eq!(again["verdict"], "fail");
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.notifications")
            .await,
        1
    );
    let stored: Value = db
        .scalar("select to_jsonb(s) from observe.deploy_status s where deployment_id = 'dpl_bad'")
        .await;
    assert_eq!(stored["verdict"], "fail");
}

/// Counts per minute cannot be split, so each minute belongs to the window it
/// ends in: errors in the minute a deploy went live count after it, and a
/// window that is over counts nothing from the minute it ended in.
#[tokio::test]
async fn a_minute_of_counts_belongs_to_the_window_it_ends_in() {
    let db = TestDb::new().await;
    let issue = old_issue(&db, "Timeout talking to Stripe").await;
    deploy(&db, "dpl_edge", 16.0).await;
    db.client
        .batch_execute(&format!(
            "insert into observe.issue_counts (issue_id, resolution, bucket, environment, release, events, last_seen)
             values ({issue}, 'minute', date_trunc('minute', now() - interval '16 minutes'), 'production', '', 3, now()),
                    ({issue}, 'minute', date_trunc('minute', now() - interval '1 minute'), 'production', '', 5, now()),
                    ({issue}, 'minute', date_trunc('minute', now() - interval '17 minutes'), 'production', '', 7, now())"
        ))
        .await
        .unwrap();
    let v = verify(&db, "dpl_edge", "15 minutes").await;
    assert_eq!(v["metrics"]["complete"], true, "{v:#}");
    assert_eq!(v["metrics"]["after"]["error_events"], 3, "{v:#}");
    assert_eq!(v["metrics"]["before"]["error_events"], 7, "{v:#}");
    assert_eq!(
        v["metrics"]["after"]["seconds"].as_f64(),
        Some(900.0),
        "{v:#}"
    );
    assert_eq!(
        v["metrics"]["before"]["seconds"].as_f64(),
        Some(900.0),
        "{v:#}"
    );

    // Open, the window also counts the minute in progress.
    db.client
        .execute(
            "select observe.log_error('Timeout talking to Stripe', environment => 'production',
                                      service => 'web')",
            &[],
        )
        .await
        .unwrap();
    let v = verify(&db, "dpl_edge", "20 minutes").await;
    assert_eq!(v["metrics"]["complete"], false, "{v:#}");
    assert_eq!(v["metrics"]["after"]["error_events"], 3 + 5 + 1, "{v:#}");
}

#[tokio::test]
async fn too_little_traffic_is_inconclusive_and_an_open_window_is_not_stored() {
    let db = TestDb::new().await;
    deploy(&db, "dpl_quiet", 16.0).await;
    page_loads(&db, 12, 15.0, 2.0).await;
    let v = verify(&db, "dpl_quiet", "15 minutes").await;
    assert_eq!(v["verdict"], "inconclusive", "{v:#}");
    assert_eq!(status(&v, "traffic"), "inconclusive");
    assert!(v["reasons"]
        .to_string()
        .contains("too little traffic: 12 page loads"));

    deploy(&db, "dpl_fresh", 1.0).await;
    page_loads(&db, 500, 0.9, 0.1).await;
    let v = verify(&db, "dpl_fresh", "15 minutes").await;
    assert_eq!(v["verdict"], "inconclusive");
    assert_eq!(v["reasons"][0]["check"], "window");
    assert_eq!(v["stored"], false);
    assert_eq!(
        db.scalar::<i64>(
            "select count(*) from observe.deploy_verifications where deployment_id = 'dpl_fresh'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_new_issue_alone_fails_the_deploy() {
    let db = TestDb::new().await;
    deploy(&db, "dpl_new_issue", 1.0).await;
    page_loads(&db, 500, 0.9, 0.1).await;
    db.client
        .execute(
            "select observe.log_error('TypeError: cart.items is not iterable', environment => 'production',
                                      service => 'web', exception_type => 'TypeError')",
            &[],
        )
        .await
        .unwrap();
    let v = verify(&db, "dpl_new_issue", "15 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "new_issues"), "fail");
    assert_eq!(status(&v, "errors_vs_before"), "inconclusive");
    assert_eq!(
        v["metrics"]["new_issues"][0]["title"],
        "TypeError: cart.items is not iterable"
    );
    // A policy tolerating one new issue only warns.
    db.client
        .batch_execute("select observe.set_deploy_policy('production', max_new_issues => 1)")
        .await
        .unwrap();
    let v = verify(&db, "dpl_new_issue", "15 minutes").await;
    assert_eq!(status(&v, "new_issues"), "warn");
}

#[tokio::test]
async fn budget_breach_and_slow_requests_fail() {
    let db = TestDb::new().await;
    deploy(&db, "dpl_slow", 16.0).await;
    page_loads(&db, 200, 15.0, 2.0).await;
    db.client
        .batch_execute(
            "select observe.create_budget('LCP', 2500, page_pattern => '^https://shop\\.example\\.com/',
                                          environment => 'production');
             insert into observe.web_vitals (name, value, rating, page, environment, received_at)
             select 'LCP', 3000 + 20 * i, 'poor', 'https://shop.example.com/checkout', 'production',
                    now() - interval '10 minutes'
               from generate_series(1, 50) i;",
        )
        .await
        .unwrap();
    let v = verify(&db, "dpl_slow", "15 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "budgets"), "fail");
    assert_eq!(status(&v, "latency"), "skipped");

    // The same budget on its own, over the last week.
    let b: Value = db.scalar("select observe.check_budgets()").await;
    assert_eq!(b["passed"], false, "{b:#}");
    assert_eq!(b["budgets"][0]["status"], "fail");
    assert_eq!(b["budgets"][0]["page"], "https://shop.example.com/checkout");
    let b: Value = db
        .scalar("select observe.check_budgets(release => 'web@2.0.0')")
        .await;
    assert_eq!(b["budgets"][0]["status"], "no_data");

    // Latency middleware reports: p95 well above 500 ms fails.
    db.client
        .batch_execute(
            "select observe.record_latencies(array(select 200 + i * 5 from generate_series(1, 200) i)::float8[],
                                             service => 'web', environment => 'production',
                                             at => now() - interval '5 minutes')",
        )
        .await
        .unwrap();
    let v = verify(&db, "dpl_slow", "15 minutes").await;
    assert_eq!(status(&v, "latency"), "fail", "{v:#}");
    let p95 = v["metrics"]["after"]["latency_p95_ms"].as_f64().unwrap();
    assert!((1140.0..=1160.0).contains(&p95), "{p95}");
}

/// The facts gathered from health checks, issue regressions and the
/// previous deploy's own first window, each failing a deploy the counts
/// before it alone would pass.
#[tokio::test]
async fn health_down_a_regression_or_a_worse_rate_than_the_previous_deploy_fails() {
    let db = TestDb::new().await;
    let issue = old_issue(&db, "Timeout talking to Stripe").await;
    deploy(&db, "dpl_prev", 60.0).await;
    deploy(&db, "dpl_now", 16.0).await;
    counts(&db, issue, 60, 45, 1).await; // the previous deploy's window: 15
    counts(&db, issue, 31, 1, 3).await; // before and after this one: 45 each
    page_loads(&db, 300, 15.5, 1.5).await;
    let v = verify(&db, "dpl_now", "15 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "errors_vs_before"), "pass");
    assert_eq!(status(&v, "errors_vs_previous"), "fail");
    assert_eq!(v["metrics"]["previous"]["deployment_id"], "dpl_prev");

    // As many errors as the previous deploy: only the health check fails.
    db.client
        .batch_execute(&format!(
            "delete from observe.issue_counts where issue_id = {issue};
             select observe.create_health_check('checkout', 'https://shop.example.com/checkout',
                                                environment => 'production');
             update observe.health_checks set up = false where name = 'checkout';"
        ))
        .await
        .unwrap();
    counts(&db, issue, 60, 45, 1).await;
    counts(&db, issue, 31, 1, 1).await;
    let v = verify(&db, "dpl_now", "15 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "errors_vs_previous"), "pass");
    assert_eq!(status(&v, "health"), "fail");
    assert!(v["reasons"].to_string().contains("checkout"), "{v:#}");
    db.client
        .batch_execute("select observe.set_deploy_policy('production', health_gate => false)")
        .await
        .unwrap();
    assert_eq!(
        verify(&db, "dpl_now", "15 minutes").await["verdict"],
        "pass"
    );

    // An issue resolved before the deploy coming back after it (now: past
    // the 15-minute window, so a longer one, still open, which a failure
    // does not wait for).
    db.client
        .batch_execute(&format!(
            "select observe.resolve_issue({issue});
             select observe.log_error('Timeout talking to Stripe', environment => 'production',
                                      service => 'web');"
        ))
        .await
        .unwrap();
    let v = verify(&db, "dpl_now", "20 minutes").await;
    assert_eq!(v["verdict"], "fail", "{v:#}");
    assert_eq!(status(&v, "regressions"), "fail");
    assert_eq!(
        v["metrics"]["regressions"][0]["title"],
        "Timeout talking to Stripe"
    );
}

#[tokio::test]
async fn refusals_name_the_problem() {
    let db = TestDb::new().await;
    let e = db
        .client
        .query_one("select observe.verify_deploy('dpl_missing')", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "P0002");
    db.client
        .batch_execute(
            "select observe.record_deploy_event('vercel', 'e1', 'dpl_building', 'building', now(),
                                                environment => 'production')",
        )
        .await
        .unwrap();
    let e = db
        .client
        .query_one("select observe.verify_deploy('dpl_building')", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "55000");
    assert!(message(&e).contains("not serving yet (state building)"));
    let e = db
        .client
        .query_one("select observe.record_latencies(array[-1]::float8[])", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
    // Readers see verdicts but may not verify (it writes).
    let reader = db.connect_as("deploy_reader").await;
    db.client
        .batch_execute("grant observe_reader to deploy_reader")
        .await
        .unwrap();
    let e = reader
        .query_one("select observe.verify_deploy('dpl_building')", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501");
    reader
        .query("select * from observe.dora", &[])
        .await
        .expect("readers read DORA");
}

/// A history with known answers: production deploys 20, 15, 10, 5 and 2
/// days ago (lead times 2 h, 26 h, 3 h, 5 h, 1 h), the 15-day one failed
/// its verification and was rolled back after 30 minutes, the 5-day one
/// was rolled back after 2 hours; a deploy 60 days ago (lead time 10 days)
/// failed and was restored by the next healthy deploy 40 days later.
#[tokio::test]
async fn dora_on_a_known_history() {
    let db = TestDb::new().await;
    // Minutes to restore are compared to a tenth: the fixtures' statements
    // each have their own now().
    let history = [
        ("d6", 60.0 * 24.0, 240.0, Some("fail")),
        ("d1", 20.0 * 24.0, 2.0, Some("pass")),
        ("d2", 15.0 * 24.0, 26.0, Some("fail")),
        ("d3", 10.0 * 24.0, 3.0, Some("pass")),
        ("d4", 5.0 * 24.0, 5.0, None),
        ("d5", 2.0 * 24.0, 1.0, Some("pass")),
    ];
    for (id, hours_ago, lead_hours, verdict) in history {
        db.client
            .execute(
                "select observe.record_deploy($1, 'production', commit_sha => 'c0ffee' || $1,
                        occurred_at => now() - make_interval(hours => $2::int),
                        committed_at => now() - make_interval(hours => $2::int) - make_interval(hours => $3::int))",
                &[&id, &(hours_ago as i32), &(lead_hours as i32)],
            )
            .await
            .unwrap();
        if let Some(verdict) = verdict {
            db.client
                .execute(
                    "insert into observe.deploy_verifications
                            (deployment, deployment_id, environment, verdict, reasons, metrics, window_size,
                             window_start, window_end, policy, verified_at)
                     select d.id, d.deployment_id, d.environment, $2, '[]', '{}', '15 minutes',
                            d.ready_at, d.ready_at + interval '15 minutes', '{}', d.ready_at + interval '15 minutes'
                       from observe.deployments d where d.deployment_id = $1",
                    &[&id, &verdict],
                )
                .await
                .unwrap();
        }
    }
    db.client
        .batch_execute(
            "select observe.record_rollback('d1', 'd2', 'errors', now() - interval '15 days' + interval '30 minutes');
             select observe.record_rollback('d3', 'd4', 'slow', now() - interval '5 days' + interval '2 hours');
             select observe.record_deploy('s1', 'staging', occurred_at => now() - interval '3 days');",
        )
        .await
        .unwrap();
    let rows = db
        .client
        .query(
            "select environment, period, deployments, deploys_per_day::float8, deployment_frequency_level,
                    extract(epoch from lead_time)::float8 / 3600, lead_time_level,
                    change_failures, change_failure_rate::float8, change_failure_rate_level,
                    restores, round(extract(epoch from time_to_restore) / 60, 1)::float8, time_to_restore_level
               from observe.dora order by environment, period",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!([
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, i64>(2),
                r.get::<_, f64>(3),
                r.get::<_, String>(4),
                r.get::<_, Option<f64>>(5),
                r.get::<_, Option<String>>(6),
                r.get::<_, i64>(7),
                r.get::<_, Option<f64>>(8),
                r.get::<_, Option<String>>(9),
                r.get::<_, i64>(10),
                r.get::<_, Option<f64>>(11),
                r.get::<_, Option<String>>(12)
            ])
        })
        .collect();
    assert_eq!(
        got,
        vec![
            json!([
                "production",
                "30d",
                5,
                0.167,
                "high",
                3.0,
                "elite",
                2,
                0.4,
                "low",
                2,
                75.0,
                "high"
            ]),
            json!([
                "production",
                "90d",
                6,
                0.067,
                "medium",
                4.0,
                "elite",
                3,
                0.5,
                "low",
                3,
                120.0,
                "high"
            ]),
            json!([
                "staging", "30d", 1, 0.033, "medium", null, null, 0, 0.0, "elite", 0, null, null
            ]),
            json!(["staging", "90d", 1, 0.011, "low", null, null, 0, 0.0, "elite", 0, null, null]),
        ]
    );

    // Rolling back from d5 goes to the latest healthy live deploy: d3, live
    // again since its rollback 5 days ago, not d1.
    let target: String = db
        .scalar("select deployment_id from observe.rollback_target('production', 'd5')")
        .await;
    assert_eq!(target, "d3");
    let none: i64 = db
        .scalar("select count(*) from observe.rollback_target('staging', 's1')")
        .await;
    assert_eq!(none, 0, "staging has no verified deploy to go back to");
    let live: String = db
        .scalar("select deployment_id from observe.live_deploy('production')")
        .await;
    assert_eq!(live, "d5");
}

#[tokio::test]
async fn lighthouse_assertions_import_as_budgets() {
    let db = TestDb::new().await;
    let config = json!({"ci": {"assert": {"assertions": {
        "categories:performance": ["error", {"minScore": 0.9}],
        "server-response-time": ["warn", {"maxNumericValue": 600}],
        "total-blocking-time": ["error", {"maxNumericValue": 200}]
    }}}});
    let r: Value = db
        .client
        .query_one(
            "select observe.import_lighthouse_budgets($1, 'production')",
            &[&config],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(r["created"].as_array().unwrap().len(), 4, "{r:#}");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1);
    let rows: Vec<(String, i64, String)> = db
        .client
        .query(
            "select metric, round(threshold * 1000)::int8, level from observe.budgets order by metric",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("CLS".into(), 100, "error".into()),
            ("FCP".into(), 1_800_000, "error".into()),
            ("LCP".into(), 2_500_000, "error".into()),
            ("TTFB".into(), 600_000, "warn".into()),
        ]
    );
    // Importing again replaces, not duplicates.
    let r: Value = db
        .client
        .query_one(
            "select observe.import_lighthouse_budgets($1, 'production')",
            &[&config],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(r["replaced"], 4);
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.budgets")
            .await,
        4
    );
    let e = db
        .client
        .query_one(
            "select observe.import_lighthouse_budgets('{\"ci\": {}}', 'production')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "22023");
}
