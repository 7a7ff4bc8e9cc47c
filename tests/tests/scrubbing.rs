//! PII scrubbing, size limits and their settings, end to end: what a caller
//! sends versus what the tables hold.

use pg_observe_tests::{capture_and_read, message, sqlstate, TestDb};
use serde_json::{json, Value};

const SECRETS: &[&str] = &[
    "alice@example.com",
    "hunter2",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "sk_live_51H8xYzAbCdEfGhIjKlMnOpQr",
    "4242 4242 4242 4242",
    "s3cr3t-pa55",
];

#[tokio::test]
async fn nothing_sensitive_reaches_any_table() {
    let db = TestDb::new().await;
    let event = json!({
        "message": "Login failed for alice@example.com with password=hunter2",
        "stack": "Error: charge failed\n    at charge (/app/pay.ts:1:1)\nAuthorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "context": {
            "card": "4242 4242 4242 4242",
            "stripe": {"api_key": "sk_live_51H8xYzAbCdEfGhIjKlMnOpQr"},
            "order_id": 1234567812345678u64,
            "note": "customer alice@example.com called"
        },
        "request": {"url": "https://u:s3cr3t-pa55@api.example.com/v1?token=abc", "headers": {"Cookie": "sid=1"}},
        "tags": {"password": "hunter2"},
        "user_ref": "alice@example.com"
    });
    db.client
        .execute("select observe.log_error($1::jsonb)", &[&event])
        .await
        .unwrap();
    // Every text column of every table, as one string.
    let dump: String = db
        .scalar(
            "select concat_ws(' ',
                (select string_agg(to_jsonb(e)::text, ' ') from observe.events e),
                (select string_agg(to_jsonb(g)::text, ' ') from observe.issue_groups g),
                (select string_agg(to_jsonb(a)::text, ' ') from observe.issue_activity a))",
        )
        .await;
    for secret in SECRETS {
        assert!(!dump.contains(secret), "{secret} leaked into {dump}");
    }
    // Harmless data survives: a Luhn-invalid 16-digit order id is not a card.
    assert!(dump.contains("1234567812345678"), "{dump}");
    assert!(
        dump.contains("[Filtered]") && dump.contains("[email]"),
        "{dump}"
    );
}

#[tokio::test]
async fn oversized_input_is_truncated_and_flagged_not_refused() {
    let db = TestDb::new().await;
    let big_context = json!({"rows": (0..5000).map(|i| json!({"i": i, "v": "x".repeat(20)})).collect::<Vec<_>>()});
    let row = capture_and_read(
        &db.client,
        "select observe.log_error(repeat('word ', 5000), stack => repeat(E'    at f (/app/a.js:1:1)\\n', 5000), context => $1)",
        &[&big_context],
        "octet_length(e.message), octet_length(e.stack), e.context, e.flags",
    )
    .await;
    assert!(row.get::<_, i32>(0) <= 8192);
    assert!(row.get::<_, i32>(1) <= 65536);
    // The limit applies to compact JSON; jsonb's text output adds spaces.
    let context = serde_json::to_string(&row.get::<_, Value>(2)).unwrap();
    assert!(context.len() <= 65536, "{}", context.len());
    assert!(
        context.len() > 60_000,
        "trimmed to the limit, not far below it"
    );
    assert_eq!(
        row.get::<_, Vec<String>>(3),
        ["message_truncated", "stack_truncated", "context_truncated"]
    );

    // Limits are settings.
    db.client
        .batch_execute("set observe.max_message_bytes = '1kB'")
        .await
        .unwrap();
    let len: i32 = capture_and_read(
        &db.client,
        "select observe.log_error(repeat('a', 5000))",
        &[],
        "octet_length(e.message)",
    )
    .await
    .get(0);
    assert!(len <= 1024, "{len}");
}

#[tokio::test]
async fn extra_keys_patterns_and_ip_addresses_are_settings() {
    let db = TestDb::new().await;
    let c = &db.client;
    let stored = |msg: &'static str, ctx: Value| async move {
        capture_and_read(
            c,
            "select observe.log_error($1, context => $2)",
            &[&msg, &ctx],
            "e.message, e.context",
        )
        .await
    };
    let row = stored(
        "ticket ACME-123456 from 10.1.2.3",
        json!({"tenant_ref": "t1", "plan": "pro"}),
    )
    .await;
    assert_eq!(row.get::<_, String>(0), "ticket ACME-123456 from 10.1.2.3");
    assert_eq!(row.get::<_, Value>(1)["tenant_ref"], "t1");

    c.batch_execute(
        "set observe.scrub_keys = 'tenant_ref, internal_note';
         set observe.scrub_pattern = 'ACME-[0-9]{6}';
         set observe.scrub_ip_addresses = on;",
    )
    .await
    .unwrap();
    let row = stored(
        "ticket ACME-123456 from 10.1.2.3",
        json!({"tenantRef": "t1", "plan": "pro"}),
    )
    .await;
    let message: String = row.get(0);
    assert!(
        !message.contains("ACME-123456") && !message.contains("10.1.2.3"),
        "{message}"
    );
    let context: Value = row.get(1);
    assert_eq!(context["tenantRef"], "[Filtered]");
    assert_eq!(context["plan"], "pro");
}

#[tokio::test]
async fn invalid_scrub_patterns_are_refused_when_set() {
    let db = TestDb::new().await;
    // Load the library first so the setting is known and checked.
    db.client
        .execute("select observe.normalize_message('x')", &[])
        .await
        .unwrap();
    let err = db
        .client
        .batch_execute("set observe.scrub_pattern = '([unclosed'")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22023", "{}", message(&err));
    assert!(
        message(&err).contains("observe.scrub_pattern"),
        "{}",
        message(&err)
    );
}

#[tokio::test]
async fn applications_cannot_turn_scrubbing_off() {
    let db = TestDb::new().await;
    let app = db.connect_as("scrub_test_app").await;
    db.client
        .batch_execute("grant observe_writer to scrub_test_app")
        .await
        .unwrap();
    app.execute("select observe.log_error('x')", &[])
        .await
        .unwrap();
    for setting in [
        "set observe.scrub_ip_addresses = off",
        "set observe.scrub_pattern = 'x'",
        "set observe.max_message_bytes = 1048576",
        "set observe.flood_limit = 0",
    ] {
        let err = app.batch_execute(setting).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42501", "{setting}: {}", message(&err));
    }
    // Labels are the application's to set.
    app.batch_execute("set observe.service = 'mobile'")
        .await
        .unwrap();
}
