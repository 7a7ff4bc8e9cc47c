//! A budget for untrusted writers. Flood control is per issue, so an
//! untrusted writer varying the service or the message used to create an
//! issue per event: one `log_errors` call as anon with 1,000 distinct
//! services made 1,000 issues, and 200 maximum-size events stored 39 MB.

use pg_observe_tests::{message, TestDb};
use tokio_postgres::Client;

use super::login;

/// A login role that may capture, marked untrusted as
/// `grant_supabase_roles()` marks anon.
async fn untrusted_writer(db: &TestDb, role: &str) -> Client {
    let client = login(db, role, &["observe_writer"]).await;
    db.client
        .execute("select observe.set_writer_trust($1, false)", &[&role])
        .await
        .unwrap_or_else(|e| panic!("marking {role} untrusted: {}", message(&e)));
    client
}

async fn drops(db: &TestDb, role: &str, reason: &str) -> i64 {
    db.client
        .query_one(
            "select coalesce(sum(events), 0)::bigint from observe.ingest_drops
              where role = $1 and reason = $2",
            &[&role, &reason],
        )
        .await
        .unwrap()
        .get(0)
}

const THOUSAND_SERVICES: &str = "
    select observe.log_errors(jsonb_agg(jsonb_build_object('message', 'boom', 'service', 'svc-' || i)))
      from generate_series(1, 1000) as i";

#[tokio::test]
async fn an_untrusted_writer_cannot_create_an_issue_per_event() {
    let db = TestDb::new().await;
    let anon = untrusted_writer(&db, "sec_budget_issues").await;
    anon.batch_execute(THOUSAND_SERVICES)
        .await
        .unwrap_or_else(|e| panic!("the batch itself succeeds: {}", message(&e)));
    let issues: i64 = db.scalar("select count(*) from observe.issue_groups").await;
    let budget: i32 = db
        .scalar("select new_issues_per_minute from observe.ingest_budgets where scope = 'default'")
        .await;
    assert_eq!(
        issues,
        i64::from(budget),
        "issues beyond the budget were created"
    );
    assert_eq!(
        drops(&db, "sec_budget_issues", "new_issue_budget").await,
        1000 - i64::from(budget),
        "every event beyond the budget shows in observe.ingest_drops"
    );
    let stored: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(stored, i64::from(budget), "dropped events are not stored");
}

#[tokio::test]
async fn a_trusted_writer_is_not_budgeted() {
    let db = TestDb::new().await;
    let trusted = login(&db, "sec_budget_trusted", &["observe_writer"]).await;
    trusted.batch_execute(THOUSAND_SERVICES).await.unwrap();
    let issues: i64 = db.scalar("select count(*) from observe.issue_groups").await;
    assert_eq!(issues, 1000);
    let dropped: i64 = db.scalar("select count(*) from observe.ingest_drops").await;
    assert_eq!(dropped, 0);
}

#[tokio::test]
async fn an_untrusted_writer_cannot_store_megabytes_a_minute() {
    let db = TestDb::new().await;
    let anon = untrusted_writer(&db, "sec_budget_bytes").await;
    // 200 events of maximum size, all of one issue: a few of them fill the
    // byte budget long before flood control would sample.
    anon.batch_execute(
        "select observe.log_error('big',
                                  stack => repeat(E'    at f (/app/a.js:1:1)\\n', 3000),
                                  context => jsonb_build_object('blob', repeat('x', 70000)))
           from generate_series(1, 200)",
    )
    .await
    .unwrap_or_else(|e| panic!("{}", message(&e)));
    let budget: i64 = db
        .scalar("select bytes_per_minute from observe.ingest_budgets where scope = 'default'")
        .await;
    let stored: i64 = db
        .scalar(
            "select coalesce(sum(octet_length(message) + coalesce(octet_length(stack), 0)
                                 + octet_length(context::text) + octet_length(request::text)), 0)::bigint
               from observe.events",
        )
        .await;
    assert!(stored <= budget, "stored {stored} bytes, budget {budget}");
    assert!(
        stored > budget / 2,
        "the budget is used, not refused outright: {stored}"
    );
    assert!(drops(&db, "sec_budget_bytes", "byte_budget").await > 100);
    // Counted all the same: the issue knows it happened 200 times.
    let events: i64 = db.scalar("select events from observe.issues").await;
    assert_eq!(events, 200);
}

#[tokio::test]
async fn budgets_are_settings_per_role_and_in_total() {
    let db = TestDb::new().await;
    let first = untrusted_writer(&db, "sec_budget_first").await;
    let second = untrusted_writer(&db, "sec_budget_second").await;
    db.client
        .batch_execute(
            "select observe.set_ingest_budget('sec_budget_first', new_issues_per_minute => 10);
             select observe.set_ingest_budget('*', new_issues_per_minute => 15);",
        )
        .await
        .unwrap();
    first.batch_execute(THOUSAND_SERVICES).await.unwrap();
    second
        .batch_execute(
            "select observe.log_errors(jsonb_agg(jsonb_build_object('message', 'other', 'service', 'b-' || i)))
               from generate_series(1, 50) as i",
        )
        .await
        .unwrap();
    let per_role: Vec<(String, i64)> = db
        .client
        .query(
            "select writer_role::text, count(distinct issue_id) from observe.events
              group by 1 order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        per_role,
        [
            ("sec_budget_first".to_owned(), 10),
            ("sec_budget_second".to_owned(), 5)
        ],
        "the first role's own budget, then the total, bound the second"
    );
    let refused = db
        .client
        .batch_execute("select observe.set_ingest_budget('no_such_role_anywhere', 1)")
        .await
        .unwrap_err();
    assert_eq!(pg_observe_tests::sqlstate(&refused), "22023");
}
