//! Daily partitions of events and logs, retention and `observe.maintain()`:
//! partitions exist ahead of time (made by maintain, or by capture when
//! nothing runs maintain), rows that landed in a default partition move into
//! their own, expired partitions are dropped while the counts stay, and
//! concurrent calls are safe. Time is driven by making old partitions and
//! rows directly.

use std::time::{Duration, Instant};

use pg_observe_tests::{message, sqlstate, TestDb};
use serde_json::Value;

/// The daily partitions of `table`, by the day each holds (YYYYMMDD).
async fn partition_days(db: &TestDb, table: &str) -> Vec<String> {
    db.client
        .query(
            "select substring(c.relname from '_p(\\d{8})$')
               from pg_inherits i join pg_class c on c.oid = i.inhrelid
              where i.inhparent = $1::text::regclass and c.relname ~ '_p\\d{8}$'
              order by 1",
            &[&format!("observe.{table}")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// YYYYMMDD of the UTC day `offset` days from today.
async fn day(db: &TestDb, offset: i32) -> String {
    db.client
        .query_one(
            "select to_char((now() at time zone 'UTC')::date + $1::int, 'YYYYMMDD')",
            &[&offset],
        )
        .await
        .unwrap()
        .get(0)
}

/// Drops a daily partition the way maintain does (it may belong to the
/// extension).
async fn drop_partition(db: &TestDb, name: &str) {
    db.client
        .batch_execute(&format!(
            "do $$ begin
               alter extension pg_observe drop table observe.{name};
             exception when others then null;
             end $$;
             drop table observe.{name};"
        ))
        .await
        .unwrap_or_else(|e| panic!("dropping {name}: {}", message(&e)));
}

async fn maintain(db: &TestDb) -> Value {
    db.scalar("select observe.maintain()").await
}

#[tokio::test]
async fn partitions_exist_from_today_on_and_maintain_makes_missing_ones() {
    let db = TestDb::new().await;
    let mut expected = Vec::new();
    for offset in 0..=3 {
        expected.push(day(&db, offset).await);
    }
    for table in ["events", "logs"] {
        assert_eq!(
            partition_days(&db, table).await,
            expected,
            "{table} after install"
        );
    }
    let tomorrow = day(&db, 1).await;
    drop_partition(&db, &format!("events_p{tomorrow}")).await;
    drop_partition(&db, &format!("logs_p{tomorrow}")).await;
    let summary = maintain(&db).await;
    assert_eq!(summary["skipped"], false, "{summary}");
    let created: Vec<String> =
        serde_json::from_value(summary["partitions_created"].clone()).unwrap();
    assert_eq!(
        created,
        [format!("events_p{tomorrow}"), format!("logs_p{tomorrow}")],
        "{summary}"
    );
    for table in ["events", "logs"] {
        assert_eq!(
            partition_days(&db, table).await,
            expected,
            "{table} after maintain"
        );
    }
    let again = maintain(&db).await;
    assert_eq!(
        again["partitions_created"],
        serde_json::json!([]),
        "{again}"
    );
}

#[tokio::test]
async fn capture_makes_the_coming_days_partitions_when_nothing_else_does() {
    let db = TestDb::new().await;
    for offset in 1..=3 {
        let d = day(&db, offset).await;
        drop_partition(&db, &format!("events_p{d}")).await;
        drop_partition(&db, &format!("logs_p{d}")).await;
    }
    // A new session looks on its first capture.
    let session = db.connect().await;
    session
        .batch_execute("select observe.log_error('partitions, please')")
        .await
        .unwrap();
    let mut expected = Vec::new();
    for offset in 0..=3 {
        expected.push(day(&db, offset).await);
    }
    assert_eq!(partition_days(&db, "events").await, expected);
    assert_eq!(partition_days(&db, "logs").await, expected);
}

#[tokio::test]
async fn every_partition_of_events_compresses_as_its_parent_with_lz4_where_the_server_has_it() {
    let db = TestDb::new().await;
    drop_partition(&db, &format!("events_p{}", day(&db, 2).await)).await;
    db.client
        .batch_execute("select observe.maintain()")
        .await
        .unwrap();
    let server_has_lz4 = db
        .client
        .batch_execute("create temporary table lz4_probe (t text compression lz4)")
        .await
        .is_ok();
    let expected = if server_has_lz4 { "l" } else { "" };
    let rows = db
        .client
        .query(
            "select c.relname::text, a.attname::text, a.attcompression::text
               from pg_class c
               join pg_attribute a on a.attrelid = c.oid
              where (c.oid = 'observe.events'::regclass
                     or c.oid in (select inhrelid from pg_inherits where inhparent = 'observe.events'::regclass))
                and a.attname in ('message', 'stack', 'context', 'request', 'tags')
              order by 1, 2",
            &[],
        )
        .await
        .unwrap();
    let columns: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // The parent, the default partition and today's to the third day's.
    assert!(columns.len() >= 5 * 6, "columns seen: {columns:?}");
    for (relation, column, compression) in &columns {
        assert_eq!(
            compression, expected,
            "{relation}.{column} compresses with {compression:?}"
        );
    }
}

#[tokio::test]
async fn rows_in_a_default_partition_move_into_their_own_day() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.log_error('a day with no partition');
         insert into observe.events (id, issue_id, occurred_at, received_at, level, service, message)
         select gen_random_uuid(), g.id, now() - interval '3 days', now() - interval '3 days' + make_interval(secs => i),
                'error', 'default', 'landed in the default partition ' || i
           from observe.issue_groups g, generate_series(1, 7) as i;
         insert into observe.logs (logged_at, level, service, message)
         select now() - interval '3 days', 'info', 'default', 'old line ' || i from generate_series(1, 4) as i;",
    )
    .await
    .unwrap();
    let in_default: i64 = db
        .scalar("select (select count(*) from observe.events_default) + (select count(*) from observe.logs_default)")
        .await;
    assert_eq!(in_default, 11, "the rows had no partition of their own");

    let summary = maintain(&db).await;
    assert_eq!(summary["rows_rescued"], 11, "{summary}");
    let old = day(&db, -3).await;
    let created: Vec<String> =
        serde_json::from_value(summary["partitions_created"].clone()).unwrap();
    assert!(created.contains(&format!("events_p{old}")), "{summary}");
    assert!(created.contains(&format!("logs_p{old}")), "{summary}");
    let in_default: i64 = db
        .scalar("select (select count(*) from observe.events_default) + (select count(*) from observe.logs_default)")
        .await;
    assert_eq!(in_default, 0);
    let moved: i64 = db
        .scalar(&format!(
            "select (select count(*) from observe.events_p{old}) + (select count(*) from observe.logs_p{old})"
        ))
        .await;
    assert_eq!(moved, 11, "every row is in its day's partition");
    let events: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(events, 8, "nothing lost");
}

#[tokio::test]
async fn retention_drops_whole_days_and_keeps_the_counts() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.log_error('kept for a while', service => 'ret');
         select observe.create_day_partition('observe.events', (now() at time zone 'UTC')::date - 100);
         select observe.create_day_partition('observe.logs', (now() at time zone 'UTC')::date - 20);
         select observe.create_day_partition('observe.logs', (now() at time zone 'UTC')::date - 10);
         insert into observe.events (id, issue_id, occurred_at, received_at, level, service, message)
         select gen_random_uuid(), g.id, now() - interval '100 days', now() - interval '100 days',
                'error', 'ret', 'from long ago'
           from observe.issue_groups g;
         insert into observe.logs (logged_at, level, service, message)
         values (now() - interval '20 days', 'info', 'ret', 'expired line'),
                (now() - interval '10 days', 'info', 'ret', 'kept line');
         -- What the fold counted back then, at every resolution.
         insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, level)
         select g.id, now() - interval '100 days', '', '', now() - interval '100 days', 'error'
           from observe.issue_groups g;
         select observe.fold_counts();",
    )
    .await
    .unwrap();
    let before: i64 = db
        .scalar("select events from observe.issues where service = 'ret'")
        .await;
    assert_eq!(before, 2);

    let summary = maintain(&db).await;
    let dropped: Vec<String> =
        serde_json::from_value(summary["partitions_dropped"].clone()).unwrap();
    assert_eq!(
        dropped,
        [
            format!("events_p{}", day(&db, -100).await),
            format!("logs_p{}", day(&db, -20).await)
        ],
        "{summary}"
    );
    assert_eq!(summary["failed"], serde_json::json!([]), "{summary}");
    assert_eq!(
        db.scalar::<i64>("select count(*) from observe.events")
            .await,
        1
    );
    let logs: Vec<String> = c
        .query("select message from observe.logs", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(logs, ["kept line"]);
    // Minutes are kept 30 days, hours and days 400: the old event is still
    // counted, and so is the total.
    let kept: Vec<(String, i64)> = c
        .query(
            "select resolution, sum(events)::bigint from observe.issue_counts
              where bucket < now() - interval '99 days' group by 1 order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kept, [("day".to_owned(), 1), ("hour".to_owned(), 1)]);
    let after: i64 = db
        .scalar("select events from observe.issues where service = 'ret'")
        .await;
    assert_eq!(after, before, "the issue's count outlives its events");
    assert!(
        summary["expired_rows_deleted"].as_i64().unwrap() >= 2,
        "{summary}"
    );
}

#[tokio::test]
async fn retention_is_set_by_admins_within_bounds() {
    let db = TestDb::new().await;
    let row: (String, String) = {
        let r = db
            .client
            .query_one(
                "select what, keep::text from observe.set_retention('events', '3 days')",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(row, ("events".to_owned(), "3 days".to_owned()));
    for (sql, state, words) in [
        (
            "select observe.set_retention('metrics', '3 days')",
            "22023",
            "what must be one of logs, events",
        ),
        (
            "select observe.set_retention('hourly_rollups', '2 days')",
            "22023",
            "at least 8 days",
        ),
        (
            "select observe.set_retention('logs', '1 hour')",
            "22023",
            "at least 1 day",
        ),
        (
            "select observe.set_retention('logs', null)",
            "22004",
            "required",
        ),
    ] {
        let err = db.client.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), state, "{sql}: {}", message(&err));
        assert!(message(&err).contains(words), "{sql}: {}", message(&err));
    }
    let writer = db.connect_as("storage_writer").await;
    db.client
        .batch_execute("grant observe_writer, observe_reader to storage_writer")
        .await
        .unwrap();
    for sql in [
        "select observe.set_retention('events', '1 day')",
        "select observe.maintain()",
    ] {
        let err = writer.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }
    // The shorter retention applies at the next run.
    db.client
        .batch_execute("select observe.create_day_partition('observe.events', (now() at time zone 'UTC')::date - 5)")
        .await
        .unwrap();
    let summary = maintain(&db).await;
    assert_eq!(
        summary["partitions_dropped"],
        serde_json::json!([format!("events_p{}", day(&db, -5).await)]),
        "{summary}"
    );
}

#[tokio::test]
async fn a_second_maintain_returns_at_once_while_one_runs() {
    let db = TestDb::new().await;
    let first = db.connect().await;
    first
        .batch_execute("begin; select observe.maintain();")
        .await
        .unwrap();
    let second = db.connect().await;
    let started = Instant::now();
    let summary: Value = second
        .query_one("select observe.maintain()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["skipped"], true, "{summary}");
    assert!(started.elapsed() < Duration::from_secs(2));
    first.batch_execute("commit").await.unwrap();
    let summary: Value = second
        .query_one("select observe.maintain()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["skipped"], false, "{summary}");
}

#[tokio::test]
async fn maintain_runs_safely_beside_itself_and_capture() {
    let db = TestDb::new().await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let client = pg_observe_tests::connect(&url).await;
            let mut captured = 0i64;
            for round in 0..25 {
                let sql = match (worker + round) % 3 {
                    0 => "select observe.maintain()",
                    1 => "select observe.log_error('busy ' || (random() * 3)::int, service => 'busy')",
                    _ => "select observe.log('busy', service => 'busy')",
                };
                client
                    .batch_execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)));
                captured += i64::from((worker + round) % 3 != 0);
            }
            captured
        }));
    }
    let mut captured = 0;
    for task in tasks {
        captured += task.await.unwrap();
    }
    let events: i64 = db
        .scalar(
            "select coalesce(sum(events), 0)::bigint from observe.issues where service = 'busy'",
        )
        .await;
    let logs: i64 = db
        .scalar("select count(*) from observe.logs where service = 'busy'")
        .await;
    assert_eq!(events + logs, captured, "every capture counted");
}

#[tokio::test]
async fn health_results_follow_their_retention() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.create_health_check('api', 'https://api.example.com/health');
             insert into observe.health_results (check_id, checked_at, success, conditions, source)
             select c.id, now() - d * interval '1 day', true, '[]', 'edge'
               from observe.health_checks c, (values (31), (29), (8)) as v(d);
             select observe.set_retention('health_results', '10 days');",
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    maintain(&db).await;
    let kept: Vec<i64> = db
        .client
        .query(
            "select extract(day from now() - checked_at)::bigint from observe.health_results",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept, [8], "kept as long as observe.retention says");
}
