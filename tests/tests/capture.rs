//! The capture API: `observe.log_error` (argument list and JSON), and
//! `observe.log_errors`, as applications call them.

use pg_observe_tests::{capture_and_read, message, sqlstate, TestDb};
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn named_arguments_and_defaults() {
    let db = TestDb::new().await;
    let id: Uuid = db
        .client
        .query_one(
            "select observe.log_error('Payment failed for order 42',
                                      level => 'fatal',
                                      service => 'billing',
                                      environment => 'production',
                                      release => 'billing@2.3.1',
                                      exception_type => 'StripeError',
                                      context => '{\"order_id\": 42}',
                                      user_ref => 'user-7',
                                      request_id => 'req-1',
                                      occurred_at => '2026-01-02 03:04:05+00')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let row = db
        .client
        .query_one(
            "select level::text, service, environment, release, exception_type, message, context,
                    user_ref, request_id, occurred_at::text, sample_rate, flags
               from observe.events where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "fatal");
    assert_eq!(row.get::<_, String>(1), "billing");
    assert_eq!(row.get::<_, String>(2), "production");
    assert_eq!(row.get::<_, String>(3), "billing@2.3.1");
    assert_eq!(row.get::<_, String>(4), "StripeError");
    assert_eq!(row.get::<_, String>(5), "Payment failed for order 42");
    assert_eq!(row.get::<_, Value>(6), json!({"order_id": 42}));
    assert_eq!(row.get::<_, String>(7), "user-7");
    assert_eq!(row.get::<_, String>(8), "req-1");
    assert_eq!(row.get::<_, String>(9), "2026-01-02 03:04:05+00");
    assert_eq!(row.get::<_, f32>(10), 1.0);
    assert!(row.get::<_, Vec<String>>(11).is_empty());

    // Only the message is required.
    let row = capture_and_read(
        &db.client,
        "select observe.log_error('just a message')",
        &[],
        "e.level::text, e.service, e.environment, e.context, e.received_at - e.occurred_at < interval '5 seconds'",
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "error");
    assert_eq!(row.get::<_, String>(1), "default");
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert_eq!(row.get::<_, Value>(3), json!({}));
    assert!(row.get::<_, bool>(4));
}

#[tokio::test]
async fn session_settings_label_events_that_do_not() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "set observe.service = 'db-jobs'; set observe.environment = 'staging'; set observe.release = '1.0.0';",
        )
        .await
        .unwrap();
    let row = capture_and_read(
        &db.client,
        "select observe.log_error('nightly job failed')",
        &[],
        "e.service, e.environment, e.release",
    )
    .await;
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        ("db-jobs".into(), "staging".into(), "1.0.0".into())
    );
    let explicit: String = capture_and_read(
        &db.client,
        "select observe.log_error('x', service => 'api')",
        &[],
        "e.service",
    )
    .await
    .get(0);
    assert_eq!(explicit, "api");
}

#[tokio::test]
async fn invalid_levels_are_refused_with_22023_listing_the_allowed_values() {
    let db = TestDb::new().await;
    for level in ["warn", "critical", "", "ERRORS"] {
        let err = db
            .client
            .execute("select observe.log_error('x', level => $1)", &[&level])
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&err), "22023", "{level}");
        assert!(
            message(&err).contains("allowed values are debug, info, warning, error, fatal"),
            "{}",
            message(&err)
        );
    }
    // Case does not matter; the stored level is lowercase.
    let level: String = capture_and_read(
        &db.client,
        "select observe.log_error('x', level => 'WARNING')",
        &[],
        "e.level::text",
    )
    .await
    .get(0);
    assert_eq!(level, "warning");
}

#[tokio::test]
async fn bad_arguments_get_precise_sqlstates() {
    let db = TestDb::new().await;
    let cases = [
        (
            "select observe.log_error(null::text)",
            "22004",
            "\"message\" is required",
        ),
        (
            "select observe.log_error('   ')",
            "22023",
            "\"message\" must not be empty",
        ),
        (
            "select observe.log_error('x', context => '[\"sk_live_51H8abcdEFGHijklMNOP\"]')",
            "22023",
            "\"context\" must be an object, got an array",
        ),
        (
            "select observe.log_error('x', fingerprint => array['a', null])",
            "22023",
            "must not contain NULL",
        ),
        (
            "select observe.log_error('x', environment => 'prod uction')",
            "22023",
            "\"environment\"",
        ),
        (
            "select observe.log_error(null::jsonb)",
            "22004",
            "\"event\" is required",
        ),
        (
            "select observe.log_errors(null)",
            "22004",
            "\"events\" is required",
        ),
    ];
    for (sql, code, text) in cases {
        let err = db.client.execute(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&err), code, "{sql}: {}", message(&err));
        assert!(message(&err).contains(text), "{sql}: {}", message(&err));
        // Errors name the field and its type, never a rejected value.
        assert!(
            !message(&err).contains("sk_live"),
            "{sql}: {}",
            message(&err)
        );
    }
    let stored: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(stored, 0, "refused events must leave nothing behind");
}

#[tokio::test]
async fn json_form_takes_the_same_fields() {
    let db = TestDb::new().await;
    let event = json!({
        "message": "Timeout after 3000ms",
        "level": "warning",
        "service": "web",
        "environment": "preview",
        "release": "web@1.2.0",
        "exception_type": "TimeoutError",
        "context": {"route": "/checkout"},
        "request": {"method": "POST", "url": "https://shop.example.com/checkout"},
        "tags": {"region": "eu-west-1"},
        "fingerprint": ["checkout-timeout"],
        "user_ref": "u-9",
        "request_id": "r-9",
        "occurred_at": "2026-03-04T05:06:07Z",
        "unhandled": true
    });
    let row = capture_and_read(
        &db.client,
        "select observe.log_error($1::jsonb)",
        &[&event],
        "e.level::text, e.service, e.environment, e.release, e.context, e.request, e.tags,
         e.user_ref, e.unhandled, e.occurred_at::text, g.grouping_basis",
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "warning");
    assert_eq!(row.get::<_, String>(1), "web");
    assert_eq!(row.get::<_, String>(2), "preview");
    assert_eq!(row.get::<_, String>(3), "web@1.2.0");
    assert_eq!(row.get::<_, Value>(4), json!({"route": "/checkout"}));
    assert_eq!(row.get::<_, Value>(5)["method"], "POST");
    assert_eq!(row.get::<_, Value>(6), json!({"region": "eu-west-1"}));
    assert_eq!(row.get::<_, String>(7), "u-9");
    assert!(row.get::<_, bool>(8));
    assert_eq!(row.get::<_, String>(9), "2026-03-04 05:06:07+00");
    assert_eq!(row.get::<_, String>(10), "custom");
}

#[tokio::test]
async fn json_wrong_types_name_the_field() {
    let db = TestDb::new().await;
    let cases = [
        (
            json!({"message": 42}),
            "22023",
            "\"message\" must be a string, got a number",
        ),
        (
            json!({"message": "x", "tags": {"k": 1}}),
            "22023",
            "\"tags.k\" must be a string",
        ),
        (
            json!({"message": "x", "occurred_at": "soon"}),
            "22023",
            "\"occurred_at\"",
        ),
        (
            json!({"message": "x", "level": "loud"}),
            "22023",
            "allowed values are debug, info",
        ),
        (
            json!({"message": "x", "mesage": "typo"}),
            "22023",
            "unknown event field \"mesage\"",
        ),
        (
            json!({"level": "error"}),
            "22004",
            "\"message\" is required",
        ),
        (json!([1]), "22023", "\"event\" must be an object"),
    ];
    for (event, code, text) in cases {
        let err = db
            .client
            .execute("select observe.log_error($1::jsonb)", &[&event])
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&err), code, "{event}");
        assert!(message(&err).contains(text), "{event}: {}", message(&err));
    }
}

#[tokio::test]
async fn legacy_log_error_bodies_are_accepted_unchanged() {
    let db = TestDb::new().await;
    // Exactly what the platform's log-error endpoint receives today.
    let body = json!({
        "error_type": "api",
        "message": "Upstream returned 503",
        "stack": "Error: Upstream returned 503\n    at callBilling (/app/src/billing.ts:10:5)",
        "context": "billing",
        "http_status": 503,
        "url": "https://app.example.com/api/invoices",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "session_id": "sess-abc",
        "unhandled": true,
        "user_id": "3f1c2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
        "labels": {"plan": "team"},
        "override_rate_limit": false
    });
    let row = capture_and_read(
        &db.client,
        "select observe.log_error($1::jsonb)",
        &[&body],
        "e.level::text, e.exception_type, e.request, e.tags, e.user_ref, e.unhandled",
    )
    .await;
    // No severity given: 5xx + unhandled is critical under the endpoint's rule.
    assert_eq!(row.get::<_, String>(0), "fatal");
    assert_eq!(row.get::<_, String>(1), "api");
    let request: Value = row.get(2);
    assert_eq!(request["status"], 503);
    assert_eq!(request["url"], "https://app.example.com/api/invoices");
    assert_eq!(request["user_agent"], "Mozilla/5.0 (X11; Linux x86_64)");
    // A session id is a bearer credential: scrubbed like a cookie.
    assert_eq!(request["session_id"], "[Filtered]");
    let tags: Value = row.get(3);
    assert_eq!(tags["area"], "billing");
    assert_eq!(tags["plan"], "team");
    assert_eq!(tags["error_type"], "api");
    assert_eq!(
        row.get::<_, String>(4),
        "3f1c2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert!(row.get::<_, bool>(5));

    for (severity, level) in [
        ("low", "info"),
        ("medium", "warning"),
        ("high", "error"),
        ("critical", "fatal"),
    ] {
        let got: String = capture_and_read(
            &db.client,
            "select observe.log_error($1::jsonb)",
            &[&json!({"message": "m", "severity": severity, "context": "search"})],
            "e.level::text",
        )
        .await
        .get(0);
        assert_eq!(got, level, "{severity}");
    }
}

#[tokio::test]
async fn batches_are_all_or_nothing() {
    let db = TestDb::new().await;
    let ok = json!([{"message": "a"}, {"message": "b", "level": "info"}, {"message": "c"}]);
    let n: i32 = db
        .client
        .query_one("select observe.log_errors($1::jsonb)", &[&ok])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);

    let bad = json!([{"message": "d"}, {"message": "e"}, {"message": "f", "level": "nope"}]);
    let err = db
        .client
        .execute("select observe.log_errors($1::jsonb)", &[&bad])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    assert!(message(&err).starts_with("event 2: "), "{}", message(&err));
    let err = db
        .client
        .execute("select observe.log_errors('{\"message\": \"x\"}')", &[])
        .await
        .unwrap_err();
    assert!(
        message(&err).contains("must be a JSON array"),
        "{}",
        message(&err)
    );

    let stored: Vec<String> = db
        .client
        .query("select message from observe.events order by message", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, ["a", "b", "c"]);
    let empty: i32 = db.scalar("select observe.log_errors('[]')").await;
    assert_eq!(empty, 0);
}

#[tokio::test]
async fn plpgsql_exception_handlers_capture_sqlerrm_sqlstate_and_context() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            r#"
            create table accounts (id int primary key, email text unique);
            insert into accounts values (1, 'a@example.com');

            create function open_account(p_id int, p_email text) returns boolean
            language plpgsql as $$
            declare
                ctx text;
            begin
                insert into accounts values (p_id, p_email);
                return true;
            exception when others then
                get stacked diagnostics ctx = pg_exception_context;
                perform observe.log_error(sqlerrm,
                                          exception_type => sqlstate,
                                          stack => ctx,
                                          service => 'accounts',
                                          context => jsonb_build_object('id', p_id));
                return false;
            end
            $$;
            "#,
        )
        .await
        .unwrap();
    for (id, email) in [
        (1, "b@example.com"),
        (2, "a@example.com"),
        (3, "c@example.com"),
    ] {
        let ok: bool = db
            .client
            .query_one("select open_account($1, $2)", &[&id, &email])
            .await
            .unwrap()
            .get(0);
        assert_eq!(ok, id == 3, "{id}");
    }
    let rows = db
        .client
        .query(
            "select exception_type, message, stack from observe.events where service = 'accounts' order by occurred_at, id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.get::<_, String>(0), "23505");
        assert!(row
            .get::<_, String>(1)
            .starts_with("duplicate key value violates unique constraint"));
        assert!(row
            .get::<_, String>(2)
            .contains("PL/pgSQL function open_account(integer,text)"));
    }
    // Different constraints are different problems.
    let issues: i64 = db
        .scalar("select count(*) from observe.issues where service = 'accounts'")
        .await;
    assert_eq!(issues, 2);
}

/// Without `shared_preload_libraries = 'pg_observe'` (this cluster preloads
/// only pg_cron), capture works and durable capture says what to add.
#[tokio::test]
async fn durable_capture_without_the_preload_names_the_setting() {
    let db = TestDb::new().await;
    for sql in [
        "select observe.log_error('x', durable => true)",
        "select observe.log_error('{\"message\": \"x\", \"durable\": true}'::jsonb)",
    ] {
        let err = db
            .client
            .batch_execute(sql)
            .await
            .expect_err("durable capture without the preload");
        assert_eq!(sqlstate(&err), "55000", "{sql}");
        assert!(
            message(&err).contains("shared_preload_libraries = 'pg_observe'"),
            "{}",
            message(&err)
        );
    }
    let preloaded: bool = db
        .scalar("select preloaded from observe.capture_stats()")
        .await;
    assert!(!preloaded);
    let stored: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(stored, 0);
}
