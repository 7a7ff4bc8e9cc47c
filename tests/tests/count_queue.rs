//! The count queue and the per-backend knowledge of unresolved issues that
//! lets most events skip the issue row: whatever another session or a
//! rollback does to an issue, the next event sees it; folding the queue
//! never changes a count; and the queue stays short without a scheduler.
//!
//! Events that flood control does not store, of an issue the session knows
//! to be unresolved, take the one-insert path. Most tests set a flood limit
//! of 1 so that nearly every event does, and assert that some did.

use std::time::{Duration, Instant};

use pg_observe_tests::TestDb;
use tokio_postgres::Client;

async fn log_n(client: &Client, message: &str, service: &str, n: usize) {
    for _ in 0..n {
        client
            .execute(
                "select observe.log_error($1, service => $2)",
                &[&message, &service],
            )
            .await
            .unwrap();
    }
}

/// (issue id, events counted, events stored) of the service's one issue.
async fn issue_of(db: &TestDb, service: &str) -> (i64, i64, i64) {
    let row = db
        .client
        .query_one(
            "select i.id, i.events, (select count(*) from observe.events e where e.issue_id = i.id)
               from observe.issues i where i.service = $1",
            &[&service],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn flooded_session(db: &TestDb) -> Client {
    let client = db.connect().await;
    client
        .batch_execute("set observe.flood_limit = 1")
        .await
        .unwrap();
    client
}

#[tokio::test]
async fn a_resolve_in_another_session_reaches_the_next_event() {
    let db = TestDb::new().await;
    let writer = flooded_session(&db).await;
    log_n(&writer, "Payment 17 declined", "pay", 20).await;
    let (issue, counted, stored) = issue_of(&db, "pay").await;
    assert_eq!(counted, 20);
    assert!(
        stored < counted,
        "some events took the one-insert path: {stored}"
    );

    db.client
        .execute("select observe.resolve_issue($1)", &[&issue])
        .await
        .unwrap();
    log_n(&writer, "Payment 18 declined", "pay", 1).await;
    let row = db
        .client
        .query_one(
            "select status::text, times_regressed, events from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "unresolved",
        "the event regressed it"
    );
    assert_eq!(row.get::<_, i32>(1), 1);
    assert_eq!(row.get::<_, i64>(2), 21);
}

#[tokio::test]
async fn an_ignore_in_another_session_counts_towards_its_condition() {
    let db = TestDb::new().await;
    let writer = flooded_session(&db).await;
    log_n(&writer, "Cache miss for key 5", "cache", 10).await;
    let (issue, _, _) = issue_of(&db, "cache").await;
    db.client
        .execute(
            "select observe.ignore_issue($1, until_count => 3)",
            &[&issue],
        )
        .await
        .unwrap();
    log_n(&writer, "Cache miss for key 6", "cache", 2).await;
    let status = format!("select status::text from observe.issues where id = {issue}");
    assert_eq!(
        db.scalar::<String>(&status).await,
        "ignored",
        "two of three events"
    );
    log_n(&writer, "Cache miss for key 7", "cache", 1).await;
    assert_eq!(
        db.scalar::<String>(&status).await,
        "unresolved",
        "the third wakes it"
    );
}

#[tokio::test]
async fn an_issue_deleted_by_another_session_is_created_again() {
    let db = TestDb::new().await;
    let writer = flooded_session(&db).await;
    log_n(&writer, "Disk quota exceeded on volume 3", "disk", 20).await;
    let (doomed, _, _) = issue_of(&db, "disk").await;
    db.client
        .execute("delete from observe.issue_groups where id = $1", &[&doomed])
        .await
        .unwrap();

    log_n(&writer, "Disk quota exceeded on volume 4", "disk", 5).await;
    let (issue, counted, _) = issue_of(&db, "disk").await;
    assert_ne!(issue, doomed, "a new issue");
    assert_eq!(counted, 5, "counting only the events since the delete");
}

#[tokio::test]
async fn an_issue_created_in_a_rolled_back_transaction_is_created_again() {
    let db = TestDb::new().await;
    let writer = flooded_session(&db).await;
    writer.batch_execute("begin").await.unwrap();
    log_n(&writer, "Lock timeout on table orders", "tx", 5).await;
    writer.batch_execute("rollback").await.unwrap();
    log_n(&writer, "Lock timeout on table orders", "tx", 3).await;
    let (_, counted, _) = issue_of(&db, "tx").await;
    assert_eq!(counted, 3, "the rolled-back issue's id was not reused");

    writer.batch_execute("begin; savepoint s").await.unwrap();
    log_n(&writer, "Lock timeout on table invoices", "sub", 5).await;
    writer.batch_execute("rollback to s").await.unwrap();
    log_n(&writer, "Lock timeout on table invoices", "sub", 3).await;
    writer.batch_execute("commit").await.unwrap();
    let (_, counted, _) = issue_of(&db, "sub").await;
    assert_eq!(counted, 3, "nor after a rollback to a savepoint");
}

#[tokio::test]
async fn folding_changes_no_count_any_view_shows() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.log_error(m, service => 'fold', environment => e, release => r, user_ref => u)
           from (values ('Timeout A', 'production', '1.0.0', 'u1'), ('Timeout A', 'production', '1.0.1', 'u2'),
                        ('Timeout A', 'staging', '1.0.1', 'u1'), ('Crash B', null, null, null),
                        ('Crash B', 'production', '1.0.1', 'u3')) as v(m, e, r, u)",
    )
    .await
    .unwrap();
    let views = [
        "select id, events, users, last_seen::text, last_release from observe.issues
          where service = 'fold' order by id",
        "select id, events_24h, events_7d, hourly_24h from observe.issue_overview
          where service = 'fold' order by id",
        "select version, first_seen::text, last_seen::text, events, issues from observe.releases
          where service = 'fold' order by version",
        "select environment, minute::text, events, issues from observe.error_rate
          where service = 'fold' and events > 0 order by environment, minute",
    ];
    let read = |sql: &'static str| async move {
        c.query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|row| format!("{row:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut before = Vec::new();
    for sql in views {
        before.push(read(sql).await);
    }
    let totals = c
        .query_one(
            "select sum(events)::bigint, sum(users)::bigint from observe.issues where service = 'fold'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(totals.get::<_, i64>(0), 5);
    assert_eq!(totals.get::<_, i64>(1), 3, "A: u1 and u2; B: u3");

    let folded: i64 = db.scalar("select observe.fold_counts()").await;
    assert_eq!(folded, 5);
    let queued: i64 = db.scalar("select count(*) from observe.count_queue").await;
    assert_eq!(queued, 0);
    for (sql, before) in views.iter().zip(before) {
        assert_eq!(read(sql).await, before, "{sql}");
    }
}

#[tokio::test]
async fn the_fold_drops_counts_of_issues_that_no_longer_exist() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, level)
             values (987654321, now(), '', '', now(), 'error')",
        )
        .await
        .unwrap();
    let folded: i64 = db.scalar("select observe.fold_counts()").await;
    assert_eq!(folded, 1, "taken from the queue");
    let kept: i64 = db
        .scalar("select count(*) from observe.issue_counts where issue_id = 987654321")
        .await;
    assert_eq!(kept, 0, "and not counted");
}

#[tokio::test]
async fn a_second_folder_returns_at_once_while_one_is_at_work() {
    let db = TestDb::new().await;
    log_n(&db.client, "Queue me", "lock", 3).await;
    let first = db.connect().await;
    first.batch_execute("begin").await.unwrap();
    let folded: i64 = first
        .query_one("select observe.fold_counts()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(folded, 3);

    log_n(&db.client, "Queue me", "lock", 2).await;
    let second = db.connect().await;
    let started = Instant::now();
    let folded: i64 = second
        .query_one("select observe.fold_counts()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(folded, 0, "the first fold's transaction is still open");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "without waiting"
    );

    first.batch_execute("commit").await.unwrap();
    let folded: i64 = second
        .query_one("select observe.fold_counts()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(folded, 2);
    let (_, counted, _) = issue_of(&db, "lock").await;
    assert_eq!(counted, 5);
}

#[tokio::test]
async fn capture_folds_a_queue_nobody_has_folded_for_a_while() {
    let db = TestDb::new().await;
    let stale = "update observe.fold_state set folded_at = now() - interval '1 minute'";
    let queued = "select count(*) from observe.count_queue";

    db.client.batch_execute(stale).await.unwrap();
    // A fresh session looks at the fold state on its first event.
    let writer = db.connect().await;
    log_n(&writer, "Stale queue", "stale", 1).await;
    assert_eq!(db.scalar::<i64>(queued).await, 0, "folded by capture");
    let recent: bool = db
        .scalar("select folded_at > now() - interval '10 seconds' from observe.fold_state")
        .await;
    assert!(recent);

    db.client.batch_execute(stale).await.unwrap();
    let snapshot = db.connect().await;
    snapshot
        .batch_execute("begin isolation level repeatable read")
        .await
        .unwrap();
    log_n(&snapshot, "Stale queue", "stale", 1).await;
    snapshot.batch_execute("commit").await.unwrap();
    assert_eq!(
        db.scalar::<i64>(queued).await,
        1,
        "not under REPEATABLE READ, where the fold could fail the caller"
    );
    let (_, counted, _) = issue_of(&db, "stale").await;
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn tick_folds_the_queue_first() {
    let db = TestDb::new().await;
    log_n(&db.client, "Fold me on the minute", "tick", 4).await;
    let summary: serde_json::Value = db
        .client
        .query_one("select observe.tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["folded"], 4, "{summary}");
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.count_queue")
            .await,
        0
    );
    let folded: i64 = db
        .scalar("select sum(events)::bigint from observe.issue_counts where resolution = 'minute'")
        .await;
    assert_eq!(folded, 4);
}

#[tokio::test]
async fn truncating_the_issues_empties_their_dependents_and_reaches_cached_sessions() {
    let db = TestDb::new().await;
    let writer = flooded_session(&db).await;
    log_n(&writer, "Session 4 expired", "trunc", 20).await;
    db.client
        .execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    log_n(&writer, "Session 5 expired", "trunc", 3).await;
    db.client
        .batch_execute("truncate observe.issue_groups")
        .await
        .unwrap();
    for table in [
        "issue_hashes",
        "issue_counts",
        "issue_summary",
        "count_queue",
        "issue_users",
        "issue_ignore_counts",
        "events",
        "issue_activity",
    ] {
        let left: i64 = db
            .scalar(&format!("select count(*) from observe.{table}"))
            .await;
        assert_eq!(left, 0, "observe.{table} emptied");
    }

    log_n(&writer, "Session 6 expired", "trunc", 5).await;
    let (_, counted, _) = issue_of(&db, "trunc").await;
    assert_eq!(counted, 5, "the cached session created the issue again");
}
