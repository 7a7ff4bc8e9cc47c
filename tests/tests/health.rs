//! Health checks through pg_net (`observe.run_health_checks()`), with the
//! test double of pg_net's SQL surface (tests/fixtures/pg_net_double:
//! `net.http_get` records the request; the test writes the response into
//! `net._http_response` as pg_net's worker would). Thresholds and
//! transitions, and what cannot be evaluated without the certificate.

use pg_observe_tests::{install_pg_net_double, message, sqlstate, TestDb};

#[tokio::test]
async fn pg_net_runs_due_checks_and_the_next_run_records_them() {
    install_pg_net_double();
    let db = TestDb::with_extensions(&["pg_observe", "pg_net"]).await;
    db.client
        .batch_execute(
            "select observe.create_health_check('api', 'https://api.example.com/health',
                 array['[STATUS] == 200', '[BODY].status == UP', '[CERTIFICATE_EXPIRATION] > 48h'],
                 request_headers => '{\"x-probe\": \"pg_net\"}', failure_threshold => 2, success_threshold => 1);
             select observe.create_health_check('post-only', 'https://api.example.com/hook', method => 'POST');",
        )
        .await
        .unwrap();
    let first: serde_json::Value = db.scalar("select observe.run_health_checks()").await;
    assert_eq!(
        first,
        serde_json::json!({"collected": 0, "issued": 1}),
        "pg_net sends GET checks only"
    );
    let (url, headers, timeout): (String, serde_json::Value, i32) = {
        let row = db
            .client
            .query_one(
                "select url, headers, timeout_milliseconds from net.double_calls",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(url, "https://api.example.com/health");
    assert_eq!(headers, serde_json::json!({"x-probe": "pg_net"}));
    assert_eq!(timeout, 10_000);

    let respond = |status: i32, body: &str| {
        format!(
            "insert into net._http_response (id, status_code, headers, content, timed_out, created)
             select request_id, {status}, '{{\"Content-Type\": \"application/json\"}}', '{body}', false,
                    sent_at + interval '120 milliseconds'
               from observe.health_probes;
             update observe.health_checks set next_run_at = now();"
        )
    };
    let mut states = vec![];
    for (status, body) in [
        (503, r#"{"status": "DOWN"}"#),
        (503, r#"{"status": "DOWN"}"#),
        (200, r#"{"status": "UP"}"#),
    ] {
        db.client
            .batch_execute(&respond(status, body))
            .await
            .unwrap();
        db.client
            .batch_execute("select observe.run_health_checks()")
            .await
            .unwrap();
        let up: bool = db
            .scalar("select up from observe.health_status where name = 'api'")
            .await;
        states.push(up);
    }
    assert_eq!(
        states,
        [true, false, true],
        "down after 2 failures, up after 1 success"
    );
    let transitions: i64 = db
        .scalar("select count(*) from observe.health_transitions")
        .await;
    assert_eq!(transitions, 2);
    let row = db
        .client
        .query_one(
            "select status_code, response_time_ms, grade, conditions, source
               from observe.health_results order by checked_at desc limit 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), Some(200));
    assert!(
        (row.get::<_, f64>(1) - 120.0).abs() < 1.0,
        "issued to stored"
    );
    assert_eq!(
        row.get::<_, String>(2),
        "F",
        "pg_net's response headers are graded too"
    );
    let conditions: serde_json::Value = row.get(3);
    assert_eq!(conditions[0]["success"], serde_json::json!(true));
    assert_eq!(conditions[1]["success"], serde_json::json!(true));
    assert_eq!(
        conditions[2]["success"],
        serde_json::Value::Null,
        "the certificate cannot be evaluated through pg_net"
    );
    assert_eq!(row.get::<_, String>(4), "pg_net");
}

#[tokio::test]
async fn checks_are_refused_with_the_column_of_a_bad_condition() {
    let db = TestDb::new().await;
    let refused = db
        .client
        .batch_execute("select observe.create_health_check('x', 'https://x.example', array['[STATUS] == 200', 'len([BODY] > 1'])")
        .await
        .expect_err("a bad condition was saved");
    assert_eq!(sqlstate(&refused), "22023");
    assert!(
        message(&refused).contains("condition 2") && message(&refused).contains("column 4"),
        "{}",
        message(&refused)
    );
    let refused = db
        .client
        .batch_execute("select observe.create_health_check('x', 'http://x.example', array['[CERTIFICATE_EXPIRATION] > 48h'])")
        .await
        .expect_err("a certificate condition on plain HTTP");
    assert_eq!(sqlstate(&refused), "22023");
    let missing = db
        .client
        .batch_execute("select observe.update_health_check(42, name => 'y')")
        .await
        .expect_err("unknown check");
    assert_eq!(sqlstate(&missing), "P0002");
    let without_net = db
        .client
        .batch_execute("select observe.run_health_checks()")
        .await
        .expect_err("pg_net is not installed");
    assert_eq!(sqlstate(&without_net), "0A000");
}
