//! Sentry SDK projects in SQL: keys that nobody can read back, the same
//! event_id stored once, budgets per project key answered as "rate_limited",
//! refusals with their SQLSTATE, an SDK event joining the issue of the
//! same error logged with its printed stack, and envelopes stored together
//! with an answer each.

use pg_observe_tests::{message, sqlstate, TestDb};
use serde_json::{json, Value};

async fn project(db: &TestDb, name: &str) -> (i64, String) {
    let row = db
        .client
        .query_one(
            "select project_id, public_key from observe.create_project($1)",
            &[&name],
        )
        .await
        .unwrap_or_else(|e| panic!("create_project: {}", message(&e)));
    (row.get(0), row.get(1))
}

/// What `observe.ingest_sentry_envelopes` answers for each envelope, in order.
async fn envelopes(db: &TestDb, envelopes: Value) -> Vec<Value> {
    db.client
        .query(
            "select result from observe.ingest_sentry_envelopes($1) order by envelope",
            &[&envelopes.to_string()],
        )
        .await
        .unwrap_or_else(|e| panic!("ingest_sentry_envelopes: {}", message(&e)))
        .iter()
        .map(|row| row.get::<_, Value>(0))
        .collect()
}

async fn envelope(db: &TestDb, project_id: i64, key: &str, events: Value) -> Value {
    let answers = envelopes(
        db,
        json!([{"project_id": project_id, "public_key": key, "events": events, "items": {"event": 1}}]),
    )
    .await;
    assert_eq!(answers.len(), 1);
    answers[0].clone()
}

async fn issue_of(db: &TestDb, event: uuid::Uuid) -> i64 {
    db.client
        .query_one(
            "select issue_id from observe.events where id = $1",
            &[&event],
        )
        .await
        .unwrap()
        .get(0)
}

fn node_error(event_id: &str) -> Value {
    json!({
        "event_id": event_id,
        "platform": "node",
        "exception": {"values": [{"type": "TypeError", "value": "Cannot read properties of undefined (reading 'id')",
            "mechanism": {"type": "onuncaughtexception", "handled": false},
            "stacktrace": {"frames": [
                {"filename": "/app/src/server.js", "function": "handle", "lineno": 10, "colno": 3, "in_app": true},
                {"filename": "/app/src/users.js", "function": "getUser", "lineno": 42, "colno": 17, "in_app": true}
            ]}}]}
    })
}

const PRINTED: &str = "TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/app/src/users.js:42:17)
    at handle (/app/src/server.js:10:3)";

#[tokio::test]
async fn keys_are_shown_once_and_checked_by_digest() {
    let db = TestDb::new().await;
    let (id, key) = project(&db, "api").await;
    assert_eq!(key.len(), 32);
    let stored: i64 = db
        .scalar(&format!(
            "select count(*) from observe.project_keys where key_prefix = '{}' and key_hash = sha256(convert_to('{key}', 'UTF8'))",
            &key[..8]
        ))
        .await;
    assert_eq!(stored, 1, "only the digest is kept");
    let text: String = db
        .scalar("select string_agg(t::text, ' ') from observe.project_keys t")
        .await;
    assert!(!text.contains(&key), "the key itself is stored nowhere");

    let answer = envelope(
        &db,
        id,
        &key,
        json!([node_error("0a1b2c3d4e5f40718293a4b5c6d7e8f9")]),
    )
    .await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(
        envelope(&db, id, "0".repeat(32).as_str(), json!([])).await["status"],
        "unknown_key"
    );
    assert_eq!(
        envelope(&db, id + 1, &key, json!([])).await["status"],
        "unknown_key"
    );

    let rotated: String = db
        .client
        .query_one(
            "select public_key from observe.rotate_project_key($1)",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        envelope(&db, id, &key, json!([])).await["status"],
        "unknown_key"
    );
    assert_eq!(
        envelope(&db, id, &rotated, json!([])).await["status"],
        "accepted"
    );
    db.client
        .execute("select observe.disable_project($1)", &[&id])
        .await
        .unwrap();
    assert_eq!(
        envelope(&db, id, &rotated, json!([])).await["status"],
        "disabled"
    );
    let refused = db
        .client
        .query_one("select observe.log_sentry_event($1, '{}')", &[&id])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&refused), "55000");
    let missing = db
        .client
        .query_one("select observe.rotate_project_key(999999)", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&missing), "P0002");
}

#[tokio::test]
async fn an_sdk_event_joins_the_issue_of_its_printed_stack_and_is_stored_once() {
    let db = TestDb::new().await;
    let (id, key) = project(&db, "api").await;
    let first = envelope(
        &db,
        id,
        &key,
        json!([node_error("9ec79c33ec9942ab8353589fcb2e04dc")]),
    )
    .await;
    let again = envelope(
        &db,
        id,
        &key,
        json!([node_error("9ec79c33-ec99-42ab-8353-589fcb2e04dc")]),
    )
    .await;
    assert_eq!(
        first["ids"], again["ids"],
        "the same event_id is the same event"
    );
    let events: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(events, 1);
    let items: i64 = event_items(&db).await;
    assert_eq!(items, 2, "both deliveries are counted as items");

    let row = db
        .client
        .query_one(
            "select e.issue_id, i.culprit, e.unhandled, e.exception_type
               from observe.events e join observe.issues i on i.id = e.issue_id",
            &[],
        )
        .await
        .unwrap();
    let issue: i64 = row.get(0);
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("getUser (users.js)")
    );
    assert_eq!(row.get::<_, Option<bool>>(2), Some(true));
    let printed: uuid::Uuid = db
        .client
        .query_one(
            "select observe.log_error('x', service => 'api', stack => $1)",
            &[&PRINTED],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(issue_of(&db, printed).await, issue);

    let direct: uuid::Uuid = db
        .client
        .query_one(
            "select observe.log_sentry_event($1, $2::text::jsonb)",
            &[
                &id,
                &node_error("11111111222233334444555555555555").to_string(),
            ],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        issue_of(&db, direct).await,
        issue,
        "log_sentry_event maps the same way"
    );
    let bad = db
        .client
        .query_one(
            "select observe.log_sentry_event($1, '{\"level\": \"loud\"}')",
            &[&id],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&bad), "22023");
    assert!(message(&bad).contains("invalid level"), "{}", message(&bad));
}

#[tokio::test]
async fn a_project_key_spends_its_own_budget_and_hears_when_it_is_spent() {
    let db = TestDb::new().await;
    let (a, key_a) = project(&db, "a").await;
    let (b, key_b) = project(&db, "b").await;
    db.client
        .execute(
            "select observe.set_project_budget($1, events_per_minute => 2)",
            &[&a],
        )
        .await
        .unwrap();
    let message_event = |i: i32| json!([{"message": format!("hello {i}")}]);
    let mut answers = Vec::new();
    for i in 0..3 {
        answers.push(envelope(&db, a, &key_a, message_event(i)).await);
    }
    assert_eq!(answers[0]["status"], "accepted");
    assert_eq!(answers[1]["status"], "accepted");
    assert_eq!(answers[2]["status"], "rate_limited");
    assert_eq!(answers[2]["reason"], "event_budget");
    let retry = answers[2]["retry_after"].as_i64().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        envelope(&db, b, &key_b, message_event(9)).await["status"],
        "accepted",
        "another project's key has its own budget"
    );
    let drops: i64 = db
        .client
        .query_one(
            "select coalesce(sum(events), 0)::bigint from observe.ingest_drops where role = $1",
            &[&format!("project:{a}")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(drops, 1);
}

#[tokio::test]
async fn a_batch_spends_each_projects_budget_once_per_admitted_event_and_a_failed_envelope_gives_back_what_it_took(
) {
    let db = TestDb::new().await;
    let (a, key_a) = project(&db, "a").await;
    let (b, key_b) = project(&db, "b").await;
    for (id, events) in [(a, 3), (b, 1)] {
        db.client
            .execute(
                "select observe.set_project_budget($1, events_per_minute => $2)",
                &[&id, &events],
            )
            .await
            .unwrap();
    }
    let to = |id: i64, key: &str, events: Value| json!({"project_id": id, "public_key": key, "events": events, "items": {"event": 1}});
    let fine = |text: &str| json!({"message": text});
    let answers = envelopes(
        &db,
        json!([
            to(a, &key_a, json!([fine("a1")])),
            // Stores one event, then fails on the next: rolled back, and
            // the event it stored no longer counts against the budget.
            to(
                a,
                &key_a,
                json!([fine("a2"), {"message": "bad", "level": "loud"}])
            ),
            to(a, &key_a, json!([fine("a3")])),
            to(b, &key_b, json!([fine("b1")])),
            to(a, &key_a, json!([fine("a4")])),
            to(a, &key_a, json!([fine("a5")])),
            to(b, &key_b, json!([fine("b2")])),
        ]),
    )
    .await;
    assert_eq!(
        statuses(&answers),
        [
            "accepted",
            "failed",
            "accepted",
            "accepted",
            "accepted",
            "rate_limited",
            "rate_limited"
        ],
        "{answers:?}"
    );
    let used: Vec<(String, i64)> = db
        .client
        .query(
            "select scope, sum(events)::bigint from observe.ingest_usage group by scope order by scope",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        used,
        [
            ("*".to_owned(), 4),
            (format!("project:{a}"), 3),
            (format!("project:{b}"), 1)
        ],
        "what the batch admitted, written once it ended"
    );
    let dropped: i64 = db
        .scalar("select coalesce(sum(events), 0)::bigint from observe.ingest_drops")
        .await;
    assert_eq!(dropped, 2);
    let next = envelope(&db, a, &key_a, json!([fine("a6")])).await;
    assert_eq!(
        next["status"], "rate_limited",
        "the next call reads what the batch wrote: {next}"
    );
}

#[tokio::test]
async fn envelopes_stored_together_are_answered_each_and_a_bad_one_fails_alone() {
    let db = TestDb::new().await;
    let (id, key) = project(&db, "api").await;
    let one = |events: Value| json!({"project_id": id, "public_key": key, "events": events, "items": {"event": 1}});
    let answers = envelopes(
        &db,
        json!([
            one(json!([node_error("aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa")])),
            one(json!([{"message": "bad", "level": "loud"}])),
            {"project_id": id, "public_key": "0".repeat(32), "events": [{"message": "x"}]},
            one(json!([{"message": "fine"}])),
            one(json!([node_error("aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa")])),
            one(json!([{"message": "bad items"}])).as_object().map(|o| {
                let mut o = o.clone();
                o.insert("items".into(), json!({"Event": 1}));
                Value::Object(o)
            }).unwrap(),
        ]),
    )
    .await;
    assert_eq!(
        statuses(&answers),
        [
            "accepted",
            "failed",
            "unknown_key",
            "accepted",
            "accepted",
            "failed"
        ],
        "{answers:?}"
    );
    assert_eq!(answers[1]["sqlstate"], "22023");
    assert!(
        answers[1]["message"]
            .as_str()
            .unwrap()
            .contains("invalid level"),
        "{}",
        answers[1]
    );
    assert_eq!(answers[5]["sqlstate"], "22023");
    assert_eq!(
        answers[0]["ids"], answers[4]["ids"],
        "the same event_id twice in one batch is stored once"
    );
    let stored: Vec<String> = db
        .client
        .query("select message from observe.events order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().any(|m| m == "fine"), "{stored:?}");
    assert!(!stored.iter().any(|m| m.contains("bad")), "{stored:?}");
    let items: i64 = event_items(&db).await;
    assert_eq!(items, 3, "the accepted envelopes' items only");

    let too_many = db
        .client
        .query(
            "select * from observe.ingest_sentry_envelopes($1)",
            &[&Value::Array(vec![one(json!([])); 51]).to_string()],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&too_many), "22023");
}

/// Each answer's status word, in envelope order.
fn statuses(answers: &[Value]) -> Vec<&str> {
    answers
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect()
}

/// Event items counted for every project, whether stored or not.
async fn event_items(db: &TestDb) -> i64 {
    db.scalar("select sum(items)::bigint from observe.sentry_items where item_type = 'event'")
        .await
}
