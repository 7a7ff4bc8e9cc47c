//! The analyst views (`observe.issues`, `observe.issue_overview`,
//! `observe.recent_errors`, `observe.error_rate`) and the compaction of old
//! counter rows by `observe.tick()`, which must not change what they show.

use chrono::{DateTime, Utc};
use pg_observe_tests::TestDb;
use serde_json::Value;
use tokio_postgres::Client;

/// A timestamp `ago` before the server's now(), as the server computes it.
async fn server_time(client: &Client, ago: &str) -> DateTime<Utc> {
    client
        .query_one("select now() - $1::text::interval", &[&ago])
        .await
        .unwrap()
        .get(0)
}

/// Captures an event and returns its issue id.
async fn capture(
    client: &Client,
    message: &str,
    environment: Option<&str>,
    release: Option<&str>,
    user_ref: Option<&str>,
    occurred_at: Option<DateTime<Utc>>,
) -> i64 {
    let id: uuid::Uuid = client
        .query_one(
            "select observe.log_error($1, service => 'api', environment => $2, release => $3,
                                      user_ref => $4, occurred_at => coalesce($5, now()))",
            &[&message, &environment, &release, &user_ref, &occurred_at],
        )
        .await
        .unwrap_or_else(|e| panic!("capture {message:?}: {e}"))
        .get(0);
    client
        .query_one("select issue_id from observe.events where id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

async fn simple(client: &Client, message: &str) -> i64 {
    capture(client, message, None, None, None, None).await
}

// ---------------------------------------------------------------------------
// observe.issues
// ---------------------------------------------------------------------------

#[tokio::test]
async fn issues_count_events_and_distinct_users_exactly() {
    let db = TestDb::new().await;
    let c = &db.client;
    let mut issue = 0;
    for user in ["alice", "bob", "alice", "carol", "bob", "alice"] {
        issue = capture(c, "Profile failed to load", None, None, Some(user), None).await;
    }
    // Events without a user count as events, not as users.
    capture(c, "Profile failed to load", None, None, None, None).await;
    let other = simple(c, "Something else entirely").await;
    assert_ne!(issue, other);

    let row = c
        .query_one(
            "select events, users from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 7, "events");
    assert_eq!(row.get::<_, i64>(1), 3, "distinct users");
    let row = c
        .query_one(
            "select events, users from observe.issues where id = $1",
            &[&other],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (1, 0),
        "the other issue"
    );
}

#[tokio::test]
async fn issues_show_first_and_last_release_and_last_seen() {
    let db = TestDb::new().await;
    let c = &db.client;
    let t20 = server_time(c, "20 minutes").await;
    let t10 = server_time(c, "10 minutes").await;
    let t5 = server_time(c, "5 minutes").await;
    let issue = capture(
        c,
        "Checkout timeout",
        None,
        Some("shop@1.0.0"),
        None,
        Some(t10),
    )
    .await;
    capture(
        c,
        "Checkout timeout",
        None,
        Some("shop@1.1.0"),
        None,
        Some(t5),
    )
    .await;
    // A late arrival from an older build that happened earlier: it changes
    // neither the last release nor the last sighting.
    capture(
        c,
        "Checkout timeout",
        None,
        Some("shop@0.9.0"),
        None,
        Some(t20),
    )
    .await;

    let row = c
        .query_one(
            "select first_release, last_release, first_seen, last_seen, events from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "shop@1.0.0",
        "first_release: the release that opened the issue"
    );
    assert_eq!(
        row.get::<_, String>(1),
        "shop@1.1.0",
        "last_release: the release of the latest event"
    );
    assert_eq!(row.get::<_, DateTime<Utc>>(2), t10, "first_seen");
    assert_eq!(row.get::<_, DateTime<Utc>>(3), t5, "last_seen");
    assert_eq!(row.get::<_, i64>(4), 3);
}

#[tokio::test]
async fn last_release_follows_the_latest_event_across_environments() {
    let db = TestDb::new().await;
    let c = &db.client;
    let t3 = server_time(c, "3 minutes").await;
    let t2 = server_time(c, "2 minutes").await;
    // Separate counter rows (one per environment) each keep a last release;
    // the view must pick the one seen last.
    let issue = capture(
        c,
        "Login loop",
        Some("staging"),
        Some("2.0.0"),
        None,
        Some(t2),
    )
    .await;
    capture(
        c,
        "Login loop",
        Some("production"),
        Some("1.9.0"),
        None,
        Some(t3),
    )
    .await;
    let row = c
        .query_one(
            "select last_release, last_seen from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "2.0.0");
    assert_eq!(row.get::<_, DateTime<Utc>>(1), t2);
}

// ---------------------------------------------------------------------------
// observe.issue_overview
// ---------------------------------------------------------------------------

#[tokio::test]
async fn overview_of_a_new_issue() {
    let db = TestDb::new().await;
    let c = &db.client;
    // One statement, so all five land in the same minute (and hour).
    c.batch_execute("select observe.log_error('Fresh failure') from generate_series(1, 5)")
        .await
        .unwrap();
    let issue: i64 = c
        .query_one("select id from observe.issue_groups", &[])
        .await
        .unwrap()
        .get(0);
    let row = c
        .query_one(
            "select events, events_24h, events_7d, events_prev_24h, trend, hourly_24h
               from observe.issue_overview where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 5, "events");
    assert_eq!(row.get::<_, i64>(1), 5, "events_24h");
    assert_eq!(row.get::<_, i64>(2), 5, "events_7d");
    assert_eq!(row.get::<_, i64>(3), 0, "events_prev_24h");
    assert_eq!(row.get::<_, String>(4), "new", "trend");
    let hourly: Vec<i64> = row.get(5);
    assert_eq!(
        hourly.len(),
        24,
        "hourly_24h has one entry per hour: {hourly:?}"
    );
    assert_eq!(
        hourly.iter().sum::<i64>(),
        5,
        "hourly_24h sums to events_24h: {hourly:?}"
    );
    assert_eq!(
        *hourly.last().unwrap(),
        5,
        "fresh events are in the current hour, the last entry: {hourly:?}"
    );
}

/// Adds a counter row as an hourly (compacted) row `ago` before now.
async fn add_counts(client: &Client, issue: i64, ago: &str, events: i64) {
    client
        .execute(
            "insert into observe.issue_counts (issue_id, bucket, slot, events, last_seen)
             values ($1, date_trunc('hour', now() - $2::text::interval), -1, $3, now() - $2::text::interval)",
            &[&issue, &ago, &events],
        )
        .await
        .unwrap();
}

async fn windows(client: &Client, issue: i64) -> (i64, i64, i64, i64, String, Vec<i64>) {
    let row = client
        .query_one(
            "select events, events_24h, events_prev_24h, events_7d, trend, hourly_24h
               from observe.issue_overview where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    )
}

#[tokio::test]
async fn overview_windows_split_history_by_age() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = simple(c, "Long-running trouble").await;
    c.execute(
        "update observe.issue_groups set first_seen = now() - interval '20 days' where id = $1",
        &[&issue],
    )
    .await
    .unwrap();
    add_counts(c, issue, "3 hours", 4).await; // last 24 h
    add_counts(c, issue, "30 hours", 7).await; // the 24 h before
    add_counts(c, issue, "4 days", 11).await; // last 7 days only
    add_counts(c, issue, "10 days", 13).await; // older than any window

    let (events, h24, prev, d7, trend, hourly) = windows(c, issue).await;
    assert_eq!(events, 1 + 4 + 7 + 11 + 13, "events counts everything");
    assert_eq!(h24, 1 + 4, "events_24h");
    assert_eq!(prev, 7, "events_prev_24h");
    assert_eq!(d7, 1 + 4 + 7 + 11, "events_7d");
    assert_eq!(
        trend, "steady",
        "5 in the last 24 h against 7 before is within a factor of 1.5"
    );
    assert_eq!(hourly.len(), 24);
    assert_eq!(hourly.iter().sum::<i64>(), h24, "hourly_24h: {hourly:?}");
    assert_eq!(hourly[23], 1, "current hour, last: {hourly:?}");
    assert_eq!(hourly[20], 4, "three hours ago: {hourly:?}");
}

#[tokio::test]
async fn overview_trend_compares_the_last_two_days() {
    let db = TestDb::new().await;
    let c = &db.client;
    let mut trends = Vec::new();
    // (events in the 24 h before, events in the last 24 h besides the one captured)
    for (label, before, recent) in [("rising", 2, 5), ("steady", 4, 3), ("falling", 10, 2)] {
        let issue = simple(c, &format!("Trend {label}")).await;
        c.execute(
            "update observe.issue_groups set first_seen = now() - interval '3 days' where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
        add_counts(c, issue, "30 hours", before).await;
        if recent > 0 {
            add_counts(c, issue, "2 hours", recent).await;
        }
        trends.push((label, windows(c, issue).await.4));
    }
    let quiet = simple(c, "Trend quiet").await;
    c.execute(
        "update observe.issue_groups set first_seen = now() - interval '3 days' where id = $1;",
        &[&quiet],
    )
    .await
    .unwrap();
    c.execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    c.execute(
        "update observe.issue_counts set bucket = bucket - interval '30 hours' where issue_id = $1",
        &[&quiet],
    )
    .await
    .unwrap();
    trends.push(("quiet", windows(c, quiet).await.4));
    for (expected, actual) in trends {
        assert_eq!(actual, expected);
    }
}

// ---------------------------------------------------------------------------
// observe.recent_errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn recent_errors_are_newest_first_with_their_issue() {
    let db = TestDb::new().await;
    let c = &db.client;
    let t3 = server_time(c, "3 minutes").await;
    let t2 = server_time(c, "2 minutes").await;
    let t1 = server_time(c, "1 minute").await;
    let resolved = capture(c, "Payment declined", None, None, None, Some(t3)).await;
    let open = capture(c, "Image upload failed", None, None, None, Some(t1)).await;
    capture(c, "Payment declined", None, None, None, Some(t2)).await;
    c.execute(
        "select observe.resolve_issue($1, in_release => '9.9.9')",
        &[&resolved],
    )
    .await
    .unwrap();

    let rows = c
        .query("select occurred_at, issue_id, issue_title, issue_status::text from observe.recent_errors", &[])
        .await
        .unwrap();
    let seen: Vec<(DateTime<Utc>, i64, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                t1,
                open,
                "Image upload failed".to_owned(),
                "unresolved".to_owned()
            ),
            (
                t2,
                resolved,
                "Payment declined".to_owned(),
                "resolved".to_owned()
            ),
            (
                t3,
                resolved,
                "Payment declined".to_owned(),
                "resolved".to_owned()
            ),
        ],
        "newest first, each with its issue's title and current status"
    );
}

#[tokio::test]
async fn recent_errors_cover_only_the_last_24_hours() {
    let db = TestDb::new().await;
    let c = &db.client;
    let two_days_ago = server_time(c, "2 days").await;
    let just_inside = server_time(c, "23 hours 50 minutes").await;
    capture(c, "Stale failure", None, None, None, Some(two_days_ago)).await;
    capture(c, "Recent failure", None, None, None, Some(just_inside)).await;
    capture(c, "Current failure", None, None, None, None).await;

    let stored: i64 = c
        .query_one("select count(*) from observe.events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 3, "all three events are stored");
    let messages: Vec<String> = c
        .query("select message from observe.recent_errors", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(messages, ["Current failure", "Recent failure"]);
}

// ---------------------------------------------------------------------------
// observe.error_rate
// ---------------------------------------------------------------------------

#[tokio::test]
async fn error_rate_has_sixty_zero_filled_minutes_per_service_and_environment() {
    let db = TestDb::new().await;
    let c = &db.client;
    // One statement, so one now(): every event lands in the same minute.
    c.batch_execute(
        "select observe.log_error(m, service => s, environment => e)
           from (values ('A', 'api', 'production'), ('A', 'api', 'production'), ('B', 'api', 'production'),
                        ('A', 'api', 'staging'), ('A', 'api', null), ('A', 'api', null),
                        ('A', 'worker', 'production')) as v(m, s, e)",
    )
    .await
    .unwrap();
    let minute: DateTime<Utc> = c
        .query_one("select bucket from observe.event_counts limit 1", &[])
        .await
        .unwrap()
        .get(0);

    let rows = c
        .query(
            "select service, environment, count(*), count(distinct minute), min(minute), max(minute),
                    sum(events)::bigint, sum(events) filter (where minute = $1)::bigint,
                    max(issues) filter (where minute = $1), count(*) filter (where events = 0)
               from observe.error_rate
              group by service, environment
              order by service, environment nulls last",
            &[&minute],
        )
        .await
        .unwrap();
    type Series = (String, Option<String>, i64, i64, i64, i64, i64);
    let series: Vec<Series> = rows
        .iter()
        .map(|r| {
            let (first, last): (DateTime<Utc>, DateTime<Utc>) = (r.get(4), r.get(5));
            assert_eq!(
                (last - first).num_minutes(),
                59,
                "one hour of minutes: {first}..{last}"
            );
            assert!(last >= minute, "the series reaches the current minute");
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(6),
                r.get::<_, Option<i64>>(7).unwrap_or(0),
                r.get::<_, Option<i64>>(8).unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<Series> = vec![
        ("api".into(), Some("production".into()), 60, 60, 3, 3, 2),
        ("api".into(), Some("staging".into()), 60, 60, 1, 1, 1),
        ("api".into(), None, 60, 60, 2, 2, 1),
        ("worker".into(), Some("production".into()), 60, 60, 1, 1, 1),
    ];
    assert_eq!(
        series, expected,
        "(service, environment, rows, distinct minutes, events, events in the capture minute, issues then)"
    );
    let zero: Vec<i64> = rows.iter().map(|r| r.get(9)).collect();
    assert_eq!(
        zero,
        [59, 59, 59, 59],
        "every other minute is present with 0 events"
    );
}

#[tokio::test]
async fn error_rate_ignores_counts_older_than_an_hour() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = simple(c, "Old spike").await;
    c.execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    c.execute(
        "update observe.issue_counts set bucket = date_trunc('minute', now() - interval '2 hours') where issue_id = $1",
        &[&issue],
    )
    .await
    .unwrap();
    let rows: i64 = c
        .query_one("select count(*) from observe.error_rate", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "no series for a service not seen in the last hour");
}

// ---------------------------------------------------------------------------
// observe.tick(): compaction of old counter rows
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tick_folds_old_counter_rows_into_hourly_rows_without_changing_totals() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = capture(
        c,
        "Counted for a long time",
        Some("production"),
        Some("1.0.0"),
        None,
        None,
    )
    .await;
    // Per-minute rows from several backends' slots, in two hours long past,
    // two environments and two releases, as capture would have left them.
    c.batch_execute(&format!(
        "insert into observe.issue_counts
                (issue_id, bucket, environment, release, slot, events, first_seen, last_seen)
         select {issue}, h + make_interval(mins => m), env, case when m < 30 then '1.0.1' else '1.0.2' end,
                s, m + s + 1, h + make_interval(mins => m, secs => 10), h + make_interval(mins => m, secs => 30)
           from (values (date_trunc('hour', now()) - interval '3 hours'),
                        (date_trunc('hour', now()) - interval '5 hours')) as hours(h),
                (values (''), ('production')) as envs(env),
                generate_series(0, 58, 7) as m,
                generate_series(0, 3) as s;"
    ))
    .await
    .unwrap();

    let snapshot = "select events, last_seen, last_release from observe.issues where id = $1";
    let before = c.query_one(snapshot, &[&issue]).await.unwrap();
    let old_rows: i64 = c
        .query_one(
            "select count(*) from observe.issue_counts where slot >= 0 and bucket < date_trunc('hour', now()) - interval '1 hour'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old_rows, 2 * 2 * 9 * 4);

    let summary: Value = c
        .query_one("select observe.tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["compacted_rows"], old_rows, "{summary}");

    let after = c.query_one(snapshot, &[&issue]).await.unwrap();
    assert_eq!(
        after.get::<_, i64>(0),
        before.get::<_, i64>(0),
        "events unchanged"
    );
    assert_eq!(
        after.get::<_, DateTime<Utc>>(1),
        before.get::<_, DateTime<Utc>>(1),
        "last_seen unchanged"
    );
    assert_eq!(
        after.get::<_, String>(2),
        before.get::<_, String>(2),
        "last_release unchanged"
    );

    let rows = c
        .query(
            "select bucket = date_trunc('hour', bucket), environment, release, slot, events,
                    extract(minute from first_seen)::int, extract(minute from last_seen)::int,
                    bucket < date_trunc('hour', now()) - interval '1 hour'
               from observe.issue_counts where issue_id = $1
              order by bucket, environment, release, slot",
            &[&issue],
        )
        .await
        .unwrap();
    type Hourly = (bool, String, String, i16, i64, i32, i32);
    let hourly: Vec<Hourly> = rows
        .iter()
        .filter(|r| r.get::<_, bool>(7))
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
        .collect();
    // Minutes 0,7,..,56 and slots 0..3 hold m+s+1 events; release 1.0.1 has
    // minutes 0..28, release 1.0.2 minutes 35..56.
    let events = |minutes: std::ops::RangeInclusive<i64>| -> i64 {
        minutes
            .step_by(7)
            .map(|m| (0..4).map(|s| m + s + 1).sum::<i64>())
            .sum()
    };
    let mut expected: Vec<Hourly> = Vec::new();
    for _hour in 0..2 {
        for env in ["", "production"] {
            expected.push((true, env.into(), "1.0.1".into(), -1, events(0..=28), 0, 28));
            expected.push((
                true,
                env.into(),
                "1.0.2".into(),
                -1,
                events(35..=56),
                35,
                56,
            ));
        }
    }
    assert_eq!(
        hourly, expected,
        "one hourly row (slot -1) per hour, environment and release, keeping first and last seen"
    );

    let recent: i64 = c
        .query_one(
            "select count(*) from observe.issue_counts where issue_id = $1 and slot >= 0",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        recent, 1,
        "the current minute's row is left at minute resolution"
    );

    let summary: Value = c
        .query_one("select observe.tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        summary["compacted_rows"], 0,
        "a second tick finds nothing to fold: {summary}"
    );
}

#[tokio::test]
async fn tick_merges_late_rows_into_an_existing_hourly_row() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = simple(c, "Merged counts").await;
    let insert = "insert into observe.issue_counts (issue_id, bucket, slot, events, last_seen)
                  values ($1, date_trunc('hour', now()) - interval '4 hours' + $2::text::interval, $3, $4,
                          date_trunc('hour', now()) - interval '4 hours' + $2::text::interval)";
    c.execute(insert, &[&issue, &"10 minutes", &2i16, &5i64])
        .await
        .unwrap();
    c.query_one("select observe.tick()", &[]).await.unwrap();
    c.execute(insert, &[&issue, &"40 minutes", &3i16, &6i64])
        .await
        .unwrap();
    c.query_one("select observe.tick()", &[]).await.unwrap();

    let rows = c
        .query(
            "select slot, events from observe.issue_counts
              where issue_id = $1 and bucket < date_trunc('hour', now()) - interval '1 hour'",
            &[&issue],
        )
        .await
        .unwrap();
    let hourly: Vec<(i16, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        hourly,
        [(-1, 11)],
        "both ticks' rows end up in one hourly row"
    );
    let events: i64 = c
        .query_one("select events from observe.issues where id = $1", &[&issue])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1 + 5 + 6);
}

// ---------------------------------------------------------------------------
// observe.releases
// ---------------------------------------------------------------------------

#[tokio::test]
async fn releases_list_every_release_with_its_volume_and_first_sighting() {
    let db = TestDb::new().await;
    let c = &db.client;
    for (message, release) in [
        ("Cart total mismatch", Some("shop@1.4.0")),
        ("Cart total mismatch", Some("shop@1.4.0")),
        ("Checkout timed out", Some("shop@1.4.0")),
        ("Cart total mismatch", Some("shop@1.5.0")),
        ("No release at all", None),
    ] {
        capture(c, message, None, release, None, None).await;
    }
    let rows = c
        .query(
            "select service, version, events, issues, first_seen <= last_seen, first_seen > now() - interval '1 minute'
               from observe.releases order by version",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, i64, i64, bool, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("api".into(), "shop@1.4.0".into(), 3, 2, true, true),
            ("api".into(), "shop@1.5.0".into(), 1, 1, true, true),
        ]
    );
    let first_seen_order: bool = c
        .query_one(
            "select (select first_seen from observe.releases where version = 'shop@1.4.0')
                  < (select first_seen from observe.releases where version = 'shop@1.5.0')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        first_seen_order,
        "first_seen is when the release first appeared"
    );
}

#[tokio::test]
async fn a_rolled_back_capture_does_not_stop_its_user_being_counted() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = capture(c, "Quota exceeded", None, None, Some("first-user"), None).await;
    c.batch_execute(
        "begin;
         select observe.log_error('Quota exceeded', service => 'api', user_ref => 'second-user');
         rollback;",
    )
    .await
    .unwrap();
    let users = "select users from observe.issues where id = $1";
    let counted: i64 = c.query_one(users, &[&issue]).await.unwrap().get(0);
    assert_eq!(counted, 1, "the rolled-back user is not counted");
    capture(c, "Quota exceeded", None, None, Some("second-user"), None).await;
    let counted: i64 = c.query_one(users, &[&issue]).await.unwrap().get(0);
    assert_eq!(counted, 2, "once committed, the user counts");
}
