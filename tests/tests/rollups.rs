//! Request counts (`observe.record_requests`), the error rate they
//! denominate, `observe.top_issues`, affected users by window and the
//! overview's indexed ordering: what alert rules and analysts read.

use pg_observe_tests::{message, sqlstate, TestDb};
use tokio_postgres::Client;

/// Counts `events` events of `issue` captured `ago` before now, as capture
/// queues them, and folds them.
async fn add_history(client: &Client, issue: i64, ago: &str, events: i64, user: Option<&str>) {
    client
        .execute(
            "insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, level, user_hash)
             select $1, now() - $2::text::interval, '', '', now() - $2::text::interval, 'error', hashtext($4)
               from generate_series(1::bigint, $3)",
            &[&issue, &ago, &events, &user],
        )
        .await
        .unwrap();
    client
        .execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
}

async fn issue(client: &Client, service: &str, title: &str) -> i64 {
    client
        .query_one(
            "insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
             values ($1, md5($2), 'message', $2, 'error', now() - interval '30 days')
             returning id",
            &[&service, &title],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn bad_request_counts_are_refused_and_store_nothing() {
    let db = TestDb::new().await;
    for (sql, state, words) in [
        (
            "select observe.record_requests('api', null)",
            "22004",
            "requests is required",
        ),
        (
            "select observe.record_requests('api', 10, null)",
            "22004",
            "errors is required",
        ),
        (
            "select observe.record_requests('api', -1)",
            "22023",
            "must not be negative",
        ),
        (
            "select observe.record_requests('api', 10, 11)",
            "22023",
            "must not exceed requests",
        ),
        (
            "select observe.record_requests('api', 10, at => now() + interval '5 minutes')",
            "22023",
            "more than a minute ahead",
        ),
        (
            "select observe.record_requests('api', 10, environment => 'a b')",
            "22023",
            "environment",
        ),
        (
            "select observe.record_requests('ops@example.com', 10)",
            "22023",
            "service",
        ),
        (
            "select observe.record_requests('api', 10, route => repeat('x', 300))",
            "22023",
            "route",
        ),
    ] {
        let err = db.client.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), state, "{sql}: {}", message(&err));
        assert!(message(&err).contains(words), "{sql}: {}", message(&err));
    }
    let queued: i64 = db
        .scalar("select count(*) from observe.request_queue")
        .await;
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn request_counts_fold_exactly_and_denominate_the_error_rate() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute(
        "select observe.record_requests('api', 100, 4, route => '/users/:id', environment => 'production');
         select observe.record_requests('api', 50, route => '/health', environment => 'production');
         select observe.record_requests('api', 30, 1, route => '/reset/jane@example.com', environment => 'production');
         select observe.log_error('Upstream timeout', service => 'api', environment => 'production')
           from generate_series(1, 9);
         select observe.log_error('Cron failed', service => 'cron');",
    )
    .await
    .unwrap();
    let routes: Vec<String> = c
        .query(
            "select route from observe.request_queue order by route",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        routes.iter().all(|r| !r.contains("jane@example.com")),
        "routes are scrubbed: {routes:?}"
    );

    // Exact with the queues, and the same after they are folded.
    let rate = "select service, environment, sum(events)::bigint, sum(requests)::bigint,
                       sum(request_errors)::bigint, max(rate), count(*) filter (where requests is null)
                  from observe.error_rate group by service, environment order by service";
    type Rate = (
        String,
        Option<String>,
        i64,
        Option<i64>,
        Option<i64>,
        Option<f64>,
        i64,
    );
    let read = || async {
        c.query(rate, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            })
            .collect::<Vec<Rate>>()
    };
    let expected: Vec<Rate> = vec![
        (
            "api".into(),
            Some("production".into()),
            9,
            Some(180),
            Some(5),
            Some(9.0 / 180.0),
            0,
        ),
        ("cron".into(), None, 1, None, None, None, 60),
    ];
    assert_eq!(read().await, expected, "before the fold");
    c.execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    assert_eq!(read().await, expected, "after the fold");
    for resolution in ["minute", "hour", "day"] {
        let row = c
            .query_one(
                "select sum(requests)::bigint, sum(errors)::bigint, count(distinct route)
                   from observe.request_counts where resolution = $1",
                &[&resolution],
            )
            .await
            .unwrap();
        assert_eq!(
            (
                row.get::<_, i64>(0),
                row.get::<_, i64>(1),
                row.get::<_, i64>(2)
            ),
            (180, 5, 3),
            "{resolution}"
        );
    }
}

#[tokio::test]
async fn top_issues_ranks_by_events_in_the_window() {
    let db = TestDb::new().await;
    let c = &db.client;
    let steady = issue(c, "api", "Steady").await;
    let spike = issue(c, "api", "Spike").await;
    let old = issue(c, "worker", "Old").await;
    add_history(c, steady, "30 hours", 10, Some("u1")).await;
    add_history(c, steady, "2 hours", 10, Some("u2")).await;
    add_history(c, spike, "20 minutes", 15, Some("u3")).await;
    add_history(c, spike, "5 minutes", 1, Some("u4")).await;
    add_history(c, old, "3 days", 40, Some("u5")).await;

    type Top = (i64, i64, i64, i64, i64, String);
    let top = |window: &'static str, max: i32| async move {
        c.query(
            "select id, events, previous_events, users, total_events, trend from observe.top_issues($1::text::interval, $2)",
            &[&window, &max],
        )
        .await
        .unwrap_or_else(|e| panic!("top_issues({window}): {}", message(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect::<Vec<Top>>()
    };
    assert_eq!(
        top("24 hours", 20).await,
        vec![
            (spike, 16, 0, 2, 16, "rising".to_owned()),
            (steady, 10, 10, 1, 20, "steady".to_owned()),
        ],
        "the summary's 24 hours"
    );
    assert_eq!(top("24 hours", 1).await.len(), 1, "max_issues");
    assert_eq!(
        top("7 days", 20)
            .await
            .iter()
            .map(|t| (t.0, t.1))
            .collect::<Vec<_>>(),
        [(old, 40), (steady, 20), (spike, 16)],
        "the summary's 7 days"
    );
    assert_eq!(
        top("3 hours", 20)
            .await
            .iter()
            .map(|t| (t.0, t.1, t.3))
            .collect::<Vec<_>>(),
        [(spike, 16, 2), (steady, 10, 1)],
        "hourly counts"
    );
    assert_eq!(
        top("10 minutes", 20)
            .await
            .iter()
            .map(|t| (t.0, t.1))
            .collect::<Vec<_>>(),
        [(spike, 1)],
        "per-minute counts"
    );
    for (sql, state) in [
        ("select * from observe.top_issues('0 hours')", "22023"),
        ("select * from observe.top_issues('1 day', 0)", "22023"),
        ("select * from observe.top_issues(null)", "22004"),
    ] {
        let err = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), state, "{sql}: {}", message(&err));
    }
}

#[tokio::test]
async fn affected_users_have_a_last_seen_the_fold_moves() {
    let db = TestDb::new().await;
    let c = &db.client;
    let id = issue(c, "api", "Users").await;
    add_history(c, id, "3 days", 2, Some("alice")).await;
    add_history(c, id, "2 days", 1, Some("bob")).await;
    add_history(c, id, "10 minutes", 1, Some("alice")).await;
    let in_window: i64 = c
        .query_one(
            "select count(*) from observe.issue_users where issue_id = $1 and last_seen >= now() - interval '1 day'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_window, 1, "alice came back, bob did not");
    let row = c
        .query_one(
            "select count(*), min(first_seen) < now() - interval '71 hours' from observe.issue_users where issue_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert!(row.get::<_, bool>(1), "first_seen stays the first sighting");
}

#[tokio::test]
async fn the_overview_orders_by_its_indexed_counts() {
    let db = TestDb::new().await;
    let c = &db.client;
    let mut ids = Vec::new();
    for (n, title) in [(3, "Three"), (9, "Nine"), (1, "One"), (5, "Five")] {
        let id = issue(c, "api", title).await;
        add_history(c, id, "2 days", 2 * n, None).await;
        add_history(c, id, "1 hour", 10 - n, None).await;
        ids.push(id);
    }
    let by_total: Vec<String> = c
        .query(
            "select title from observe.issue_overview order by events desc limit 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(by_total, ["Nine", "Five"]);
    let by_day: Vec<String> = c
        .query(
            "select title from observe.issue_overview order by events_24h desc limit 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(by_day, ["One", "Three"]);
    let plan: String = c
        .query(
            "explain select id from observe.issue_overview order by events desc limit 20",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("issue_summary_events_idx"), "{plan}");
}
