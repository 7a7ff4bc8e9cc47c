//! Server-side capture, on a cluster that preloads pg_observe
//! (`PG_OBSERVE_PRELOAD_TEST_URL`, started by scripts/test.sh): errors raised
//! inside PostgreSQL reach `observe.issues` after their transactions rolled
//! back, durable `log_error` events survive a rollback, a flood is dropped and
//! counted, the settings change what is stored, and a crash or a restart
//! loses nothing already stored.
//!
//! The tests change cluster-wide settings, kill backends and restart the
//! server, so they run one at a time (`SERIAL`). The capture counters are the
//! cluster's, so tests compare them before and after.

use std::time::Duration;

use pg_observe_tests::{connect, message, preload_cluster_url, sqlstate, TestDb};
use tokio::sync::Mutex;
use tokio_postgres::{Client, Row};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Longest wait for a captured error to be stored; the target is a second.
const STORED_WITHIN: Duration = Duration::from_secs(15);

async fn preload_db() -> TestDb {
    TestDb::on(&preload_cluster_url(), &["pg_observe"]).await
}

/// Runs `sql`, which must fail, and returns its SQLSTATE.
async fn fails(client: &Client, sql: &str) -> String {
    let err = client
        .batch_execute(sql)
        .await
        .expect_err(&format!("`{sql}` succeeded"));
    sqlstate(&err)
}

/// Polls `sql` (one row) until it returns a row, or panics with `what`.
async fn eventually_row(db: &TestDb, sql: &str, what: &str) -> Row {
    let deadline = tokio::time::Instant::now() + STORED_WITHIN;
    loop {
        if let Some(row) = db
            .client
            .query_opt(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)))
        {
            return row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: nothing after {STORED_WITHIN:?}; capture_stats: {:?}",
            stats(&db.client).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The issue of `exception_type` once stored: (title, level, culprit, events).
async fn issue_of(db: &TestDb, exception_type: &str) -> (String, String, Option<String>, i64) {
    let row = eventually_row(
        db,
        &format!(
            "select title, level::text, culprit, events from observe.issues
              where service = 'postgres' and exception_type = '{exception_type}'"
        ),
        exception_type,
    )
    .await;
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    captured: i64,
    dropped: i64,
    stored: i64,
    failed: i64,
    skipped: i64,
    pending: i64,
}

async fn stats(client: &Client) -> Stats {
    let row = client
        .query_one(
            "select captured, dropped, stored, failed, skipped, pending from observe.capture_stats()",
            &[],
        )
        .await
        .expect("capture_stats");
    Stats {
        captured: row.get(0),
        dropped: row.get(1),
        stored: row.get(2),
        failed: row.get(3),
        skipped: row.get(4),
        pending: row.get(5),
    }
}

/// Raises a division by zero and waits until it is stored: every record
/// this database queued before it has then been taken, in ring order, by
/// the database's one worker.
async fn marker(db: &TestDb) {
    let before: i64 = db
        .scalar("select count(*) from observe.events where exception_type = 'division_by_zero'")
        .await;
    assert_eq!(fails(&db.client, "select 1 / 0").await, "22012");
    eventually_row(
        db,
        &format!(
            "select 1 from observe.events where exception_type = 'division_by_zero'
             having count(*) > {before}"
        ),
        "the marker error",
    )
    .await;
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.scalar(sql).await
}

#[tokio::test]
async fn a_unique_violation_is_one_issue_per_constraint_after_rollback() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute(
            "create table users (id int primary key, email text unique, handle text unique);
             insert into users values (1, 'alice@example.com', 'alice')",
        )
        .await
        .unwrap();
    for sql in [
        "begin; insert into users values (2, 'alice@example.com', 'bob')",
        "begin; insert into users values (3, 'alice@example.com', 'carol')",
        "begin; insert into users values (4, 'dave@example.com', 'alice')",
    ] {
        assert_eq!(fails(&db.client, sql).await, "23505");
        db.client.batch_execute("rollback").await.unwrap();
    }
    marker(&db).await;
    let issues: Vec<(String, i64)> = db
        .client
        .query(
            "select title, events from observe.issues
              where exception_type = 'unique_violation' and service = 'postgres' order by title",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        issues,
        vec![
            (
                "unique_violation: duplicate key value violates unique constraint \"users_email_key\""
                    .to_owned(),
                2
            ),
            (
                "unique_violation: duplicate key value violates unique constraint \"users_handle_key\""
                    .to_owned(),
                1
            ),
        ]
    );
    let context: serde_json::Value = db
        .scalar(
            "select context from observe.events where exception_type = 'unique_violation' limit 1",
        )
        .await;
    assert_eq!(context["sqlstate"], "23505");
    assert_eq!(context["database"], db.name.as_str());
    assert_eq!(context["backend_type"], "client backend");
    let stored = context.to_string();
    assert!(!stored.contains("alice@example.com"), "{stored}");
    assert!(
        stored.contains("Key (email)="),
        "the detail is kept, scrubbed: {stored}"
    );
}

#[tokio::test]
async fn a_division_by_zero_is_captured_with_its_statement() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    assert_eq!(
        fails(&db.client, "begin; select 10 / (select 0) as ratio").await,
        "22012"
    );
    db.client.batch_execute("rollback").await.unwrap();
    let (title, level, _, events) = issue_of(&db, "division_by_zero").await;
    assert_eq!(
        (title.as_str(), level.as_str(), events),
        ("division_by_zero: division by zero", "error", 1)
    );
    let statement: String = db
        .scalar("select context->>'statement' from observe.events where exception_type = 'division_by_zero'")
        .await;
    assert!(statement.contains("10 / (select 0)"), "{statement}");
}

#[tokio::test]
async fn a_failing_parallel_query_is_one_event_from_its_leader() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    // The workers scan, the leader only gathers: the division by zero is
    // raised in a worker, and the leader raises it again.
    db.client
        .batch_execute(
            "create table readings as select g from generate_series(1, 200000) g;
             analyze readings;
             set max_parallel_workers_per_gather = 2; set parallel_setup_cost = 0;
             set parallel_tuple_cost = 0; set min_parallel_table_scan_size = 0;
             set parallel_leader_participation = off;",
        )
        .await
        .unwrap();
    let query = "select count(*) from readings where 1 / (g - 150000) > 5";
    let plan: Vec<String> = db.column(&format!("explain (costs off) {query}")).await;
    assert!(
        plan.iter().any(|line| line.contains("Gather")),
        "not a parallel plan: {plan:?}"
    );
    assert_eq!(fails(&db.client, query).await, "22012");
    // A later error of another kind, once stored, comes after everything the
    // failing query's processes queued.
    assert_eq!(fails(&db.client, "select 'x'::int").await, "22P02");
    issue_of(&db, "invalid_text_representation").await;
    let events: Vec<String> = db
        .column(
            "select context->>'backend_type' from observe.events
              where exception_type = 'division_by_zero'",
        )
        .await;
    assert_eq!(events, ["client backend"], "the worker's copy is not kept");
    assert_eq!(
        count(&db, "select count(*) from observe.issues where service = 'postgres' and exception_type = 'admin_shutdown'").await,
        0,
        "the workers the leader stopped are not failures"
    );
}

#[tokio::test]
async fn an_rls_denial_is_captured_as_the_role_that_met_it() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    let tenant = db.connect_as("sc_rls_tenant").await;
    db.client
        .batch_execute(
            "create table notes (owner name, body text);
             alter table notes enable row level security;
             create policy own on notes using (owner = current_user) with check (owner = current_user);
             grant select, insert on notes to sc_rls_tenant",
        )
        .await
        .unwrap();
    assert_eq!(
        fails(
            &tenant,
            "begin; insert into notes values ('someone_else', 'hello')"
        )
        .await,
        "42501"
    );
    tenant.batch_execute("rollback").await.unwrap();
    let (title, ..) = issue_of(&db, "insufficient_privilege").await;
    assert!(
        title.contains("new row violates row-level security policy for table \"notes\""),
        "{title}"
    );
    let row = db
        .client
        .query_one(
            "select writer_role::text, context->>'role' from observe.events
              where exception_type = 'insufficient_privilege'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("sc_rls_tenant".to_owned(), "sc_rls_tenant".to_owned()),
        "the role that raised the error is the event's writer"
    );
}

#[tokio::test]
async fn a_raise_in_a_trigger_function_is_captured_with_its_frames() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute(
            "create table orders (id int, total numeric);
             create function check_order() returns trigger language plpgsql as $$
             begin
                 if new.total < 0 then
                     raise exception 'order % has a negative total', new.id;
                 end if;
                 return new;
             end $$;
             create trigger orders_check before insert on orders
                 for each row execute function check_order();
             create function place_order(id int, total numeric) returns void language plpgsql as $$
             begin
                 insert into orders values (id, total);
             end $$;",
        )
        .await
        .unwrap();
    for id in [42, 7] {
        assert_eq!(
            fails(&db.client, &format!("begin; select place_order({id}, -1)")).await,
            "P0001"
        );
        db.client.batch_execute("rollback").await.unwrap();
    }
    marker(&db).await;
    let (title, level, culprit, events) = issue_of(&db, "raise_exception").await;
    assert_eq!(title, "raise_exception: order 42 has a negative total");
    assert_eq!(level, "error");
    assert_eq!(culprit.as_deref(), Some("check_order() at RAISE"));
    assert_eq!(events, 2, "both orders are one issue");
    let stack: String = db
        .scalar("select stack from observe.events where exception_type = 'raise_exception' limit 1")
        .await;
    assert!(
        stack.contains("PL/pgSQL function check_order() line 4 at RAISE")
            && stack.contains("PL/pgSQL function place_order(integer,numeric)"),
        "{stack}"
    );
    let basis: String = db
        .scalar("select grouping_basis from observe.issue_groups where exception_type = 'raise_exception'")
        .await;
    assert_eq!(basis, "stack");
}

#[tokio::test]
async fn a_statement_timeout_is_captured() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    assert_eq!(
        fails(
            &db.client,
            "begin; set local statement_timeout = '50ms'; select pg_sleep(5)"
        )
        .await,
        "57014"
    );
    db.client.batch_execute("rollback").await.unwrap();
    let (title, ..) = issue_of(&db, "query_canceled").await;
    assert_eq!(
        title,
        "query_canceled: canceling statement due to statement timeout"
    );
}

#[tokio::test]
async fn a_deadlock_is_captured() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute("create table accounts (id int primary key, balance int); insert into accounts values (1, 0), (2, 0)")
        .await
        .unwrap();
    let (a, b) = (db.connect().await, db.connect().await);
    for client in [&a, &b] {
        client
            .batch_execute("set deadlock_timeout = '100ms'; begin")
            .await
            .unwrap();
    }
    a.batch_execute("update accounts set balance = 1 where id = 1")
        .await
        .unwrap();
    b.batch_execute("update accounts set balance = 1 where id = 2")
        .await
        .unwrap();
    let (first, second) = tokio::join!(
        a.batch_execute("update accounts set balance = 2 where id = 2"),
        b.batch_execute("update accounts set balance = 2 where id = 1"),
    );
    let codes: Vec<String> = [first, second]
        .iter()
        .filter_map(|r| r.as_ref().err().map(sqlstate))
        .collect();
    assert_eq!(
        codes,
        vec!["40P01".to_owned()],
        "one of the two is the victim"
    );
    for client in [&a, &b] {
        client.batch_execute("rollback").await.unwrap();
    }
    let (title, ..) = issue_of(&db, "deadlock_detected").await;
    assert_eq!(title, "deadlock_detected: deadlock detected");
}

#[tokio::test]
async fn a_durable_event_survives_the_rollback_and_a_plain_one_does_not() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    let durable: uuid::Uuid = {
        db.client.batch_execute("begin").await.unwrap();
        let id = db
            .client
            .query_one(
                "select observe.log_error('refund failed for order 9', service => 'billing', durable => true)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        db.client
            .batch_execute(
                "select observe.log_error('refund failed for order 10', service => 'billing');
                 select observe.log_error('{\"message\": \"refund failed for order 11\", \"service\": \"billing\", \"durable\": true}'::jsonb);
                 rollback",
            )
            .await
            .unwrap();
        id
    };
    eventually_row(
        &db,
        &format!("select 1 from observe.events where id = '{durable}'"),
        "the durable event, under the id log_error returned",
    )
    .await;
    eventually_row(
        &db,
        "select 1 from observe.events where message = 'refund failed for order 11'",
        "the durable JSON event",
    )
    .await;
    marker(&db).await;
    assert_eq!(
        count(
            &db,
            "select count(*) from observe.events where message = 'refund failed for order 10'"
        )
        .await,
        0,
        "the plain event was rolled back"
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from observe.issues where service = 'billing'"
        )
        .await,
        1
    );
    // Bad input is refused at once, in the caller's transaction.
    let err = db
        .client
        .batch_execute("select observe.log_error('x', level => 'verbose', durable => true)")
        .await
        .expect_err("a bad level was queued");
    assert_eq!(sqlstate(&err), "22023", "{}", message(&err));
}

#[tokio::test]
async fn a_flood_beyond_the_ring_is_dropped_and_counted_and_the_server_stays_healthy() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    let before = stats(&db.client).await;
    // The test cluster's ring holds about a thousand such warnings.
    db.client
        .batch_execute(
            "set observe.capture_min_level = 'warning';
             set client_min_messages = error;
             do $$ begin
                 for i in 1 .. 5000 loop
                     raise warning 'flood %', i;
                 end loop;
             end $$;",
        )
        .await
        .unwrap();
    let after = stats(&db.client).await;
    assert!(
        after.dropped - before.dropped >= 2000,
        "dropped {} of 5000: {after:?}",
        after.dropped - before.dropped
    );
    // Other backends' messages (the FATAL of a backend the previous test's
    // DROP DATABASE ended) may be counted too, but not many.
    let counted = (after.captured - before.captured) + (after.dropped - before.dropped);
    assert!(
        (5000..5020).contains(&counted),
        "every warning was either captured or counted as dropped: {counted}"
    );
    let drained = pg_observe_tests::eventually(Duration::from_secs(60), || async {
        stats(&db.client).await.pending == 0
    })
    .await;
    assert!(drained, "the ring drained: {:?}", stats(&db.client).await);
    let (title, level, _, events) = issue_of(&db, "warning").await;
    assert_eq!(
        (title.as_str(), level.as_str()),
        ("warning: flood 1", "warning")
    );
    assert!(
        events <= after.captured - before.captured && events > 100,
        "{events}"
    );
    db.client
        .batch_execute("reset observe.capture_min_level")
        .await
        .unwrap();
    marker(&db).await;
}

#[tokio::test]
async fn an_error_while_storing_is_counted_once_and_never_captured_again() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute(
            "create function refuse_issue() returns trigger language plpgsql as $$
             begin raise exception 'issues are refused today'; end $$;
             create trigger refuse before insert on observe.issue_groups
                 for each row execute function refuse_issue();",
        )
        .await
        .unwrap();
    let before = stats(&db.client).await;
    assert_eq!(fails(&db.client, "select 1 / 0").await, "22012");
    let failed = pg_observe_tests::eventually(Duration::from_secs(15), || async {
        stats(&db.client).await.failed > before.failed
    })
    .await;
    assert!(
        failed,
        "the storing error is counted: {:?}",
        stats(&db.client).await
    );
    // Give a loop the time to show itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = stats(&db.client).await;
    assert_eq!(
        after.failed - before.failed,
        1,
        "one storing failure, not captured again: {after:?}"
    );
    assert!(after.captured - before.captured < 5, "{after:?}");
    let last_error: String = db
        .scalar("select last_error from observe.capture_stats()")
        .await;
    assert_eq!(last_error, "issues are refused today");
    db.client
        .batch_execute("drop trigger refuse on observe.issue_groups")
        .await
        .unwrap();
    marker(&db).await;
}

#[tokio::test]
async fn an_error_that_cannot_be_stored_loses_none_of_the_errors_stored_with_it() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute(
            "create function refuse_out_of_range() returns trigger language plpgsql as $$
             begin
                 if new.exception_type = 'numeric_value_out_of_range' then
                     raise exception 'this issue is refused';
                 end if;
                 return new;
             end $$;
             create trigger refuse before insert on observe.issue_groups
                 for each row execute function refuse_out_of_range();",
        )
        .await
        .unwrap();
    let before = stats(&db.client).await;
    // Back to back, so that the worker takes them in one batch: the batch
    // fails as a whole, and is stored again record by record.
    assert_eq!(fails(&db.client, "select 1 / 0").await, "22012");
    assert_eq!(fails(&db.client, "select 2147483647 + 1").await, "22003");
    assert_eq!(fails(&db.client, "select 'x'::int").await, "22P02");
    issue_of(&db, "invalid_text_representation").await;
    let after = stats(&db.client).await;
    assert_eq!(after.failed - before.failed, 1, "{after:?}");
    assert_eq!(
        count(
            &db,
            "select count(*) from observe.events
              where exception_type in ('division_by_zero', 'invalid_text_representation')"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from observe.events where exception_type = 'numeric_value_out_of_range'"
        )
        .await,
        0
    );
    db.client
        .batch_execute("drop trigger refuse on observe.issue_groups")
        .await
        .unwrap();
    marker(&db).await;
}

/// Reloads the configuration and gives the processes a moment to read it.
async fn reload(admin: &Client) {
    admin
        .batch_execute("select pg_reload_conf()")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn reset_allow_lists(admin: &Client) {
    for reset in [
        "alter system reset observe.capture_databases",
        "alter system reset observe.capture_roles",
    ] {
        admin.batch_execute(reset).await.unwrap();
    }
    reload(admin).await;
}

#[tokio::test]
async fn settings_change_what_is_captured() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    db.client
        .batch_execute(
            "create table t (id int primary key); insert into t values (1);
             create function warn() returns void language plpgsql as $$
             begin raise warning 'low disk space on %', 'pg_wal'; end $$;",
        )
        .await
        .unwrap();
    let session_cases = [
        (
            "set observe.capture_server_errors = off",
            "insert into t values (1)",
        ),
        (
            "set observe.capture_min_level = 'fatal'",
            "insert into t values (1)",
        ),
        (
            "set observe.capture_ignore_sqlstates = '23505'",
            "insert into t values (1)",
        ),
        (
            "set observe.capture_ignore_sqlstates = '57014, 23'",
            "insert into t values (1)",
        ),
    ];
    for (setting, failing) in session_cases {
        db.client
            .batch_execute(&format!("reset all; {setting}"))
            .await
            .unwrap();
        assert_eq!(fails(&db.client, failing).await, "23505", "{setting}");
    }
    // Warnings are below the default level, and captured once it is lowered.
    db.client
        .batch_execute("reset all; select warn(); set observe.capture_min_level = 'warning'; select warn(); reset all")
        .await
        .unwrap();
    let err = db
        .client
        .batch_execute("set observe.capture_ignore_sqlstates = '23505, unique_violation'")
        .await
        .expect_err("a condition name is not a SQLSTATE");
    assert_eq!(sqlstate(&err), "22023", "{}", message(&err));
    // Stored before the allow-lists below change: the worker applies them
    // when it stores, which may be tens of milliseconds after the warning.
    eventually_row(
        &db,
        "select 1 from observe.events where exception_type = 'warning'",
        "the warning",
    )
    .await;

    // The allow-lists are the cluster's, applied by the storing worker.
    let admin = connect(&preload_cluster_url()).await;
    let stats_before = stats(&db.client).await;
    for allow in [
        "alter system set observe.capture_databases = 'postgres, some_other_db'",
        "alter system set observe.capture_roles = 'some_other_role'",
    ] {
        admin.batch_execute(allow).await.unwrap();
        reload(&admin).await;
        assert_eq!(
            fails(&db.client, "insert into t values (1)").await,
            "23505",
            "{allow}"
        );
        let skipped = pg_observe_tests::eventually(Duration::from_secs(15), || async {
            let now = stats(&db.client).await;
            now.pending == 0 && now.skipped > stats_before.skipped
        })
        .await;
        assert!(skipped, "{allow}: {:?}", stats(&db.client).await);
        reset_allow_lists(&admin).await;
    }
    admin
        .batch_execute(&format!(
            "alter system set observe.capture_databases = '{}'",
            db.name
        ))
        .await
        .unwrap();
    reload(&admin).await;
    marker(&db).await;
    reset_allow_lists(&admin).await;

    assert_eq!(
        count(
            &db,
            "select count(*) from observe.events where exception_type = 'unique_violation'"
        )
        .await,
        0,
        "off, a higher level, ignored codes and classes, and the allow-lists each kept the violation out"
    );
    let warnings: Vec<String> = db
        .client
        .query(
            "select message from observe.events where exception_type = 'warning'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(warnings, vec!["low disk space on pg_wal".to_owned()]);
}

#[tokio::test]
async fn databases_without_the_extension_are_skipped_and_many_are_served() {
    let _serial = SERIAL.lock().await;
    let (a, b) = (preload_db().await, preload_db().await);
    let bare = TestDb::on(&preload_cluster_url(), &[]).await;
    let before = stats(&a.client).await;
    assert_eq!(fails(&bare.client, "select 1 / 0").await, "22012");
    marker(&a).await;
    marker(&b).await;
    let skipped = pg_observe_tests::eventually(Duration::from_secs(15), || async {
        stats(&a.client).await.skipped > before.skipped
    })
    .await;
    assert!(skipped, "{:?}", stats(&a.client).await);
    let workers: Vec<String> = a
        .client
        .query(
            "select backend_type from pg_stat_activity where backend_type like 'pg_observe%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        workers.contains(&"pg_observe capture launcher".to_owned()),
        "{workers:?}"
    );
}

/// The directory of the preload cluster, for the tests that restart it.
fn preload_pgdir() -> String {
    std::env::var("PG_OBSERVE_PRELOAD_PGDIR").expect(
        "PG_OBSERVE_PRELOAD_PGDIR is not set: the restart test needs the preload cluster's \
         directory; run it through scripts/test.sh",
    )
}

fn preload_port() -> String {
    let url = preload_cluster_url();
    url.split_whitespace()
        .find_map(|part| part.strip_prefix("port="))
        .unwrap_or("5432")
        .to_owned()
}

/// Connects once the server accepts connections again.
async fn reconnect(url: &str) -> Client {
    for _ in 0..120 {
        if let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await
        {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            if client.batch_execute("select 1").await.is_ok() {
                return client;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server did not come back: {url}");
}

/// What must survive: the stored events, as "event id, issue id" lines
/// (read through the issues view, so their issues must read too).
async fn stored(client: &Client) -> Vec<String> {
    client
        .query(
            "select format('%s %s', e.id, e.issue_id)
               from observe.events e join observe.issues i on i.id = e.issue_id
              order by e.id",
            &[],
        )
        .await
        .expect("reading what was stored")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn survives(db: &TestDb, interruption: impl std::future::Future<Output = ()>) {
    for sql in ["select 1 / 0", "select 'x'::int"] {
        fails(&db.client, sql).await;
    }
    marker(db).await;
    let kept = stored(&db.client).await;
    assert!(kept.len() >= 3, "{kept:?}");
    interruption.await;
    let client = reconnect(&db.url).await;
    let after = stored(&client).await;
    // The interruption may add events (a backend's FATAL when the server
    // stops it is captured too) but loses none.
    let lost: Vec<&String> = kept.iter().filter(|line| !after.contains(line)).collect();
    assert!(lost.is_empty(), "lost or changed: {lost:?}");
    let launcher = pg_observe_tests::eventually(Duration::from_secs(15), || async {
        client
            .query_one(
                "select launcher_pid is not null from observe.capture_stats()",
                &[],
            )
            .await
            .is_ok_and(|r| r.get(0))
    })
    .await;
    assert!(launcher, "the launcher came back");
    fails(&client, "select 1 / 0").await;
    let deadline = tokio::time::Instant::now() + STORED_WITHIN;
    while stored(&client).await.len() == after.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing stored after the interruption"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_backend_loses_nothing_stored_and_capture_comes_back() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    let victim = db.connect().await;
    let pid: i32 = victim
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    survives(&db, async {
        let sleeping =
            tokio::spawn(async move { victim.batch_execute("select pg_sleep(30)").await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -9 {pid}");
        assert!(sleeping.await.unwrap().is_err(), "the backend died");
    })
    .await;
}

#[tokio::test]
async fn a_restart_loses_nothing_stored_and_capture_comes_back() {
    let _serial = SERIAL.lock().await;
    let db = preload_db().await;
    survives(&db, async {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let status = std::process::Command::new(format!("{root}/scripts/cluster.sh"))
            .arg("restart")
            .env("PGDIR", preload_pgdir())
            .env("PGPORT", preload_port())
            .status()
            .expect("running scripts/cluster.sh restart");
        assert!(status.success(), "scripts/cluster.sh restart");
    })
    .await;
}
