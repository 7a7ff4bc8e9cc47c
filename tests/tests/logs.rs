//! Structured logs: `observe.log` and `observe.log_batch` (levels, defaults,
//! scrubbing, limits, all-or-nothing batches, roles, untrusted budgets) and
//! their counts, which are exact whenever they are read: rolled up from
//! minutes no transaction can still write into, plus the lines after.

use pg_observe_tests::{message, sqlstate, TestDb};
use serde_json::Value;
use tokio_postgres::Client;

async fn lines(
    client: &Client,
) -> Vec<(String, String, Option<String>, String, Value, Vec<String>)> {
    client
        .query(
            "select level::text, service, environment, message, context, flags
               from observe.logs order by message",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect()
}

async fn stored(db: &TestDb) -> i64 {
    db.scalar("select count(*) from observe.logs").await
}

#[tokio::test]
async fn log_takes_the_levels_and_defaults_of_log_error() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.log('a: started');
         select observe.log('b: slow', level => 'WARNING', service => 'worker', environment => 'staging',
                            context => '{\"ms\": 1200}', request_id => 'req-9');
         set observe.service = 'billing';
         set observe.environment = 'production';
         select observe.log('c: from the session defaults', 'error');",
    )
    .await
    .unwrap();
    assert_eq!(
        lines(c).await,
        vec![
            (
                "info".into(),
                "default".into(),
                None,
                "a: started".into(),
                Value::Object(Default::default()),
                vec![]
            ),
            (
                "warning".into(),
                "worker".into(),
                Some("staging".into()),
                "b: slow".into(),
                serde_json::json!({"ms": 1200}),
                vec![]
            ),
            (
                "error".into(),
                "billing".into(),
                Some("production".into()),
                "c: from the session defaults".into(),
                Value::Object(Default::default()),
                vec![]
            ),
        ]
    );
    let request_id: String = db
        .scalar("select request_id from observe.logs where message = 'b: slow'")
        .await;
    assert_eq!(request_id, "req-9");
}

#[tokio::test]
async fn log_scrubs_and_bounds_like_log_error() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.log('login for jane@example.com with token=hunter2secret',
                            context => '{\"password\": \"pw-1\", \"user\": {\"email\": \"joe@example.org\"}}');
         select observe.log(repeat('word ', 5000));",
    )
    .await
    .unwrap();
    let (message, context): (String, Value) = {
        let row = c
            .query_one(
                "select message, context from observe.logs where message like 'login%'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    for secret in ["jane@example.com", "hunter2secret"] {
        assert!(!message.contains(secret), "{message}");
    }
    let context = context.to_string();
    assert!(
        !context.contains("pw-1") && !context.contains("joe@example.org"),
        "{context}"
    );
    let row = c
        .query_one(
            "select octet_length(message), flags from observe.logs where message like 'word%'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i32>(0) <= 8192);
    assert_eq!(row.get::<_, Vec<String>>(1), ["message_truncated"]);
}

#[tokio::test]
async fn bad_lines_are_refused_with_their_sqlstate_and_store_nothing() {
    let db = TestDb::new().await;
    for (sql, state, words) in [
        ("select observe.log(null)", "22004", "\"message\" is required"),
        ("select observe.log('  ')", "22023", "\"message\" must not be empty"),
        ("select observe.log('x', level => 'warn')", "22023", "debug, info, warning, error, fatal"),
        ("select observe.log('x', service => 'a\nb')", "22023", "\"service\""),
        ("select observe.log('x', service => 'ops@example.com')", "22023", "\"service\""),
        ("select observe.log('x', environment => 'prod uction')", "22023", "\"environment\""),
        ("select observe.log('x', context => '[1]')", "22023", "\"context\" must be an object"),
        ("select observe.log_batch(null)", "22004", "\"entries\" is required"),
        ("select observe.log_batch('{}')", "22023", "must be a JSON array"),
        (
            "select observe.log_batch(jsonb_agg(jsonb_build_object('message', i))) from generate_series(1, 1001) i",
            "22023",
            "at most 1000 entries",
        ),
        (
            "select observe.log_batch('[{\"message\": \"ok\"}, {\"message\": \"ok\", \"levl\": \"info\"}]')",
            "22023",
            "entry 1: unknown log field \"levl\"",
        ),
        (
            "select observe.log_batch('[{\"message\": \"ok\"}, {\"message\": \"ok\"}, {\"level\": \"info\"}]')",
            "22004",
            "entry 2: log field \"message\" is required",
        ),
        (
            "select observe.log_batch('[{\"message\": \"ok\"}, {\"message\": \"x\", \"environment\": \"a/b\"}]')",
            "22023",
            "entry 1: log field \"environment\"",
        ),
    ] {
        let err = db.client.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), state, "{sql}: {}", message(&err));
        assert!(message(&err).contains(words), "{sql}: {}", message(&err));
    }
    assert_eq!(stored(&db).await, 0, "nothing of a refused call is stored");
}

#[tokio::test]
async fn log_batch_stores_every_line_and_says_how_many() {
    let db = TestDb::new().await;
    let count: i32 = db
        .scalar(
            "select observe.log_batch('[{\"message\": \"one\"},
                                        {\"message\": \"two\", \"level\": \"debug\", \"service\": \"web\",
                                         \"context\": {\"k\": \"v\"}, \"request_id\": \"r\"},
                                        {\"message\": \"three\", \"environment\": \"preview\"}]')",
        )
        .await;
    assert_eq!(count, 3);
    let seen: Vec<(String, String, Option<String>)> = db
        .client
        .query(
            "select message, level::text, environment from observe.logs order by message",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("one".into(), "info".into(), None),
            ("three".into(), "info".into(), Some("preview".into())),
            ("two".into(), "debug".into(), None),
        ]
    );
}

#[tokio::test]
async fn writers_log_and_readers_read() {
    let db = TestDb::new().await;
    let writer = db.connect_as("logs_writer").await;
    let reader = db.connect_as("logs_reader").await;
    db.client
        .batch_execute("grant observe_writer to logs_writer; grant observe_reader to logs_reader;")
        .await
        .unwrap();
    writer
        .batch_execute(
            "select observe.log('from a writer');
             select observe.log_batch('[{\"message\": \"batched\"}]');",
        )
        .await
        .unwrap();
    let err = writer
        .batch_execute("select * from observe.logs")
        .await
        .expect_err("a writer read logs");
    assert_eq!(sqlstate(&err), "42501");
    let writer_role: String = db
        .scalar("select string_agg(distinct writer_role, ',') from observe.logs")
        .await;
    assert_eq!(writer_role, "logs_writer");

    let seen: i64 = reader
        .query_one("select count(*) from observe.logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 2);
    for sql in [
        "select observe.log('from a reader')",
        "select observe.log_batch('[]')",
    ] {
        let err = reader.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }
}

#[tokio::test]
async fn an_untrusted_writer_logs_within_its_budget() {
    let db = TestDb::new().await;
    let anon = db.connect_as("logs_anon").await;
    db.client
        .batch_execute(
            "grant observe_writer to logs_anon;
             select observe.set_writer_trust('logs_anon', false);
             select observe.set_ingest_budget('logs_anon', events_per_minute => 2);",
        )
        .await
        .unwrap();
    let accepted: i32 = anon
        .query_one(
            "select observe.log_batch('[{\"message\": \"1\"}, {\"message\": \"2\"}, {\"message\": \"3\"}]')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(accepted, 3, "the call succeeds");
    assert_eq!(
        stored(&db).await,
        2,
        "the line beyond the budget is not stored"
    );
    let dropped: i64 = db
        .scalar("select sum(events)::bigint from observe.ingest_drops where role = 'logs_anon'")
        .await;
    assert_eq!(dropped, 1, "and is counted as dropped");
    // The batch wrote what it took once, at its end: the next call sees it.
    anon.execute("select observe.log('4')", &[]).await.unwrap();
    assert_eq!(
        stored(&db).await,
        2,
        "the budget stays spent after the batch"
    );
    let used: i64 = db
        .scalar("select sum(events)::bigint from observe.ingest_usage where scope = 'logs_anon'")
        .await;
    assert_eq!(used, 2);
}

/// A session keeps its writer's trust between lines (capture/writer.rs), but
/// a change made elsewhere applies from the writer's next transaction.
#[tokio::test]
async fn a_change_of_trust_applies_to_the_writers_next_line() {
    let db = TestDb::new().await;
    let app = db.connect_as("logs_turncoat").await;
    let trust =
        |trusted: bool| format!("select observe.set_writer_trust('logs_turncoat', {trusted})");
    db.client
        .batch_execute(
            "grant observe_writer to logs_turncoat;
             select observe.set_writer_trust('logs_turncoat', true);
             select observe.set_ingest_budget('logs_turncoat', events_per_minute => 1);",
        )
        .await
        .unwrap();
    let log = |message: &'static str| {
        let app = &app;
        async move {
            app.execute("select observe.log($1)", &[&message])
                .await
                .unwrap()
        }
    };
    log("trusted 1").await;
    log("trusted 2").await;
    assert_eq!(stored(&db).await, 2, "no budget for a trusted writer");
    db.client.batch_execute(&trust(false)).await.unwrap();
    log("untrusted 1").await;
    log("untrusted 2").await;
    assert_eq!(stored(&db).await, 3, "one line a minute once untrusted");
    db.client.batch_execute(&trust(true)).await.unwrap();
    log("trusted again").await;
    assert_eq!(stored(&db).await, 4, "trusted again");
}

/// Per-minute counts of log lines from `since` on, as the evaluator reads them.
const COUNTS_SINCE: &str = "select coalesce(sum(events), 0)::bigint
                              from observe.log_counts_since(now() - interval '3 hours')";

#[tokio::test]
async fn log_counts_are_exact_before_and_after_the_rollup_at_every_resolution() {
    let db = TestDb::new().await;
    let c = &db.client;
    // Lines written over the last two hours (as if earlier), then some now.
    c.batch_execute(
        "update observe.log_rollup set settled_until = date_trunc('minute', now() - interval '3 hours', 'UTC');
         insert into observe.logs (logged_at, level, service, environment, message)
         select now() - make_interval(mins => m), (array['info', 'warning', 'error']::observe.level[])[1 + m % 3],
                case when m % 2 = 0 then 'api' else 'worker' end,
                case when m % 4 = 0 then 'production' end, 'line ' || m
           from generate_series(1, 120) as m;
         select observe.log('now ' || i, service => 'api') from generate_series(1, 5) as i;",
    )
    .await
    .unwrap();
    let total: i64 = db.scalar("select count(*) from observe.logs").await;
    assert_eq!(total, 125);
    assert_eq!(
        db.scalar::<i64>(COUNTS_SINCE).await,
        total,
        "before the rollup"
    );

    let summary: Value = db.scalar("select observe.maintain()").await;
    assert!(
        summary["log_minutes_rolled_up"].as_i64().unwrap() >= 120,
        "{summary}"
    );
    assert_eq!(
        db.scalar::<i64>(COUNTS_SINCE).await,
        total,
        "after the rollup"
    );
    for resolution in ["minute", "hour", "day"] {
        let rolled: i64 = db
            .scalar(&format!(
                "select coalesce(sum(events), 0)::bigint from observe.log_counts where resolution = '{resolution}'"
            ))
            .await;
        let before: i64 = db
            .scalar("select count(*) from observe.logs where logged_at < (select settled_until from observe.log_rollup)")
            .await;
        assert_eq!(
            rolled, before,
            "{resolution}: every line before settled_until"
        );
    }
    // By level and service, as the lines say.
    let differ: i64 = db
        .scalar(
            "select count(*) from (
                select service, coalesce(environment, '') as environment, level, count(*) as n
                  from observe.logs group by 1, 2, 3) l
              full join (select service, environment, level, sum(events) as n
                           from observe.log_counts_since(now() - interval '3 hours') group by 1, 2, 3) c
                using (service, environment, level)
             where l.n is distinct from c.n",
        )
        .await;
    assert_eq!(differ, 0);
    let volume: i64 = db
        .scalar("select sum(events)::bigint from observe.log_volume")
        .await;
    assert_eq!(
        volume, total,
        "log_volume counts every line of the last 24 hours"
    );
}

#[tokio::test]
async fn an_open_transaction_holds_the_rollup_back_and_its_lines_still_count() {
    let db = TestDb::new().await;
    let writer = db.connect().await;
    writer
        .batch_execute("begin; select observe.log('written in a long transaction');")
        .await
        .unwrap();
    let started: chrono::DateTime<chrono::Utc> =
        writer.query_one("select now()", &[]).await.unwrap().get(0);
    db.client
        .batch_execute("update observe.log_rollup set settled_until = date_trunc('minute', now() - interval '1 hour', 'UTC')")
        .await
        .unwrap();
    db.client
        .query_one("select observe.maintain()", &[])
        .await
        .unwrap();
    let settled: chrono::DateTime<chrono::Utc> = db
        .scalar("select settled_until from observe.log_rollup")
        .await;
    assert!(
        settled <= started,
        "settled {settled} past a transaction that began {started}"
    );
    assert_eq!(
        db.scalar::<i64>(COUNTS_SINCE).await,
        0,
        "nothing committed yet"
    );
    writer.batch_execute("commit").await.unwrap();
    assert_eq!(
        db.scalar::<i64>(COUNTS_SINCE).await,
        1,
        "the late commit counts"
    );
    db.client
        .query_one("select observe.maintain()", &[])
        .await
        .unwrap();
    assert_eq!(
        db.scalar::<i64>(COUNTS_SINCE).await,
        1,
        "once, after the next rollup too"
    );
}

/// The partition (table name) each line of `service` is in, by message.
async fn partitions_of(db: &TestDb, service: &str) -> Vec<(String, String)> {
    db.client
        .query(
            "select message, tableoid::regclass::text from observe.logs
              where service = $1 order by message",
            &[&service],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_line_goes_to_its_days_partition_else_the_default_and_its_indexes_find_it() {
    let db = TestDb::new().await;
    let c = &db.client;
    let today: String = db
        .scalar("select 'observe.logs_p' || to_char(now() at time zone 'UTC', 'YYYYMMDD')")
        .await;
    // An index of the user's own on a plain column is kept up to date.
    c.batch_execute(
        "create index logs_service_idx on observe.logs (service);
         select observe.log('in the day', service => 'routing');",
    )
    .await
    .unwrap();
    assert_eq!(
        partitions_of(&db, "routing").await,
        [("in the day".to_owned(), today.clone())]
    );
    c.batch_execute(&format!(
        "alter table observe.logs detach partition {today};
         select observe.log('without a day', service => 'routing');"
    ))
    .await
    .unwrap();
    assert_eq!(
        partitions_of(&db, "routing").await,
        [(
            "without a day".to_owned(),
            "observe.logs_default".to_owned()
        )]
    );
    c.batch_execute("set enable_seqscan = off; set enable_bitmapscan = off")
        .await
        .unwrap();
    for (table, message) in [
        (today.as_str(), "in the day"),
        ("observe.logs_default", "without a day"),
    ] {
        let query = format!("select message from {table} where service = 'routing'");
        let plan: Vec<String> = db.column(&format!("explain {query}")).await;
        assert!(plan.iter().any(|l| l.contains("Index")), "{plan:?}");
        assert_eq!(db.column::<String>(&query).await, [message], "{table}");
    }
}

#[tokio::test]
async fn a_table_changed_by_its_owner_gets_the_executors_insert() {
    let db = TestDb::new().await;
    let c = &db.client;
    // A trigger, a column with a default, and a unique index: none of which
    // the direct insert knows, all of which the INSERT honours.
    c.batch_execute(
        "create table public.seen (message text);
         create function public.remember() returns trigger language plpgsql as
           $$ begin insert into public.seen values (new.message); return new; end $$;
         create trigger remember after insert on observe.logs
           for each row execute function public.remember();
         alter table observe.logs add column region text not null default 'eu-west-1';
         create unique index logs_request_once on observe.logs (request_id, logged_at);
         select observe.log('with a trigger', request_id => 'req-1',
                            context => '{\"order_id\": 42, \"paid\": true}');",
    )
    .await
    .unwrap();
    let seen: Vec<String> = db.column("select message from public.seen").await;
    assert_eq!(seen, ["with a trigger"]);
    let (region, context): (String, Value) = {
        let row = c
            .query_one(
                "select region, context from observe.logs where message = 'with a trigger'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(region, "eu-west-1");
    assert_eq!(context, serde_json::json!({"order_id": 42, "paid": true}));
    let twice = c
        .batch_execute("begin; select observe.log('again', request_id => 'req-1'); select observe.log('again', request_id => 'req-1')")
        .await
        .expect_err("the unique index refuses the second line of the transaction");
    assert_eq!(sqlstate(&twice), "23505", "{}", message(&twice));
}

/// The direct insert keeps the enum values it has read (direct_insert.rs);
/// a label renamed since is read afresh, and refused as an INSERT refuses it.
#[tokio::test]
async fn a_renamed_level_is_read_afresh() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute("select observe.log('before', 'warning')")
        .await
        .unwrap();
    c.batch_execute("alter type observe.level rename value 'warning' to 'warn'")
        .await
        .unwrap();
    let refused = c
        .batch_execute("select observe.log('after', 'warning')")
        .await
        .expect_err("no label 'warning' any more");
    assert_eq!(sqlstate(&refused), "22P02", "{}", message(&refused));
    let levels: Vec<String> = db
        .column("select level::text from observe.logs order by message")
        .await;
    assert_eq!(levels, ["warn"]);
}

#[tokio::test]
async fn a_read_only_transaction_refuses_a_line_as_it_refuses_an_insert() {
    let db = TestDb::new().await;
    let refused = db
        .client
        .batch_execute("begin read only; select observe.log('while reading')")
        .await
        .expect_err("a read-only transaction writes nothing");
    assert_eq!(sqlstate(&refused), "25006", "{}", message(&refused));
    db.client.batch_execute("rollback").await.unwrap();
    assert_eq!(stored(&db).await, 0);
}

/// `observe.log` stores a context that processing would keep without
/// converting it (pg_observe_core::as_given); `observe.log_batch` always
/// converts. Both must store the same thing for every context, at and
/// around each limit.
#[tokio::test]
async fn a_context_is_stored_as_log_batch_would_store_it() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute("set observe.max_context_bytes = 256; set observe.max_context_depth = 2")
        .await
        .unwrap();
    // `{"s":"…"}` is 8 bytes around the string.
    let sized = |n: usize| serde_json::json!({ "s": "x".repeat(n) }).to_string();
    let contexts = [
        "{}".to_owned(),
        r#"{"order_id": 42, "items": 3, "total": 19.99, "paid": true, "coupon": null}"#.to_owned(),
        sized(248),
        sized(249),
        format!(r#"{{"n": 1, "s": "{}"}}"#, "x".repeat(230)),
        r#"{"a": {"b": 1}}"#.to_owned(),
        r#"{"a": {"b": {"c": 1}}}"#.to_owned(),
        r#"{"password": "[Filtered]", "token": null}"#.to_owned(),
        r#"{"password": "hunter2", "apiKey": {"id": 1}}"#.to_owned(),
        r#"{"jane@example.com": "x", "note": "mail bob@example.org"}"#.to_owned(),
        r#"{"auth": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZw"}"#.to_owned(),
        r#"{"q": "\"quoted\" \\ \n \u0001 é ✓"}"#.to_owned(),
        format!(r#"{{"ns": [{}]}}"#, vec!["1"; 120].join(",")),
    ];
    for (i, context) in contexts.iter().enumerate() {
        c.execute(
            "select observe.log('single ' || $1::text, context => $2::text::jsonb)",
            &[&i.to_string(), context],
        )
        .await
        .unwrap_or_else(|e| panic!("{context}: {}", message(&e)));
        c.execute(
            "select observe.log_batch(jsonb_build_array(jsonb_build_object(
                 'message', 'batch ' || $1::text, 'context', $2::text::jsonb)))",
            &[&i.to_string(), context],
        )
        .await
        .unwrap_or_else(|e| panic!("{context}: {}", message(&e)));
    }
    let rows = c
        .query(
            "select s.message, s.context::text, s.flags, b.context::text, b.flags
               from observe.logs s
               join observe.logs b on b.message = 'batch ' || substr(s.message, 8)
              where s.message like 'single %'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), contexts.len());
    for row in rows {
        // As text: serde cannot hold every number jsonb can (1e400).
        let (single, batch): ((String, Vec<String>), (String, Vec<String>)) =
            ((row.get(1), row.get(2)), (row.get(3), row.get(4)));
        assert_eq!(single, batch, "{}", row.get::<_, String>(0));
    }
    // Clean ones are the caller's, to the last digit of a number no f64
    // holds; the long one is cut.
    let exact = r#"{"big": 12345678901234567890123, "tiny": 1e-300, "huge": 1e400}"#;
    c.execute(
        "select observe.log('exact', context => $1::text::jsonb)",
        &[&exact],
    )
    .await
    .unwrap();
    for (message, context) in [("single 1", contexts[1].as_str()), ("exact", exact)] {
        let kept: bool = c
            .query_one(
                "select context = $2::text::jsonb from observe.logs where message = $1",
                &[&message, &context],
            )
            .await
            .unwrap()
            .get(0);
        assert!(kept, "{context}");
    }
    let cut: Vec<String> = db
        .scalar("select flags from observe.logs where message = 'single 3'")
        .await;
    assert_eq!(cut, ["context_truncated"]);
}
