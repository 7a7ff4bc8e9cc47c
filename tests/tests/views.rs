//! The analyst views (`observe.issues`, `observe.issue_overview`,
//! `observe.recent_errors`, `observe.error_rate`, `observe.releases`). History
//! is made the way capture makes it: queued counts with past capture times,
//! folded.

use chrono::{DateTime, Utc};
use pg_observe_tests::TestDb;
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
    // The overview reads the summary the fold keeps.
    c.batch_execute("select observe.fold_counts()")
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

/// Counts `events` events of `issue` captured `ago` before now, as capture
/// queues them, and folds them.
async fn add_history(client: &Client, issue: i64, ago: &str, events: i64) {
    client
        .execute(
            "insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, level)
             select $1, now() - $2::text::interval, '', '', now() - $2::text::interval, 'error'
               from generate_series(1::bigint, $3)",
            &[&issue, &ago, &events],
        )
        .await
        .unwrap();
    client
        .execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
}

/// An issue with no event yet, first seen `ago` before now.
async fn quiet_issue(client: &Client, title: &str, ago: &str) -> i64 {
    client
        .query_one(
            "insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
             values ('api', md5($1), 'message', $1, 'error', now() - $2::text::interval)
             returning id",
            &[&title, &ago],
        )
        .await
        .unwrap()
        .get(0)
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
    add_history(c, issue, "3 hours", 4).await; // last 24 h
    add_history(c, issue, "30 hours", 7).await; // the 24 h before
    add_history(c, issue, "4 days", 11).await; // last 7 days only
    add_history(c, issue, "10 days", 13).await; // older than any window

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
        add_history(c, issue, "30 hours", before).await;
        if recent > 0 {
            add_history(c, issue, "2 hours", recent).await;
        }
        trends.push((label, windows(c, issue).await.4));
    }
    let quiet = quiet_issue(c, "Trend quiet", "3 days").await;
    add_history(c, quiet, "30 hours", 3).await;
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
        .query_one(
            "select bucket from observe.event_counts where resolution = 'minute' limit 1",
            &[],
        )
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
    let issue = quiet_issue(c, "Old spike", "3 hours").await;
    add_history(c, issue, "2 hours", 5).await;
    let rows: i64 = c
        .query_one("select count(*) from observe.error_rate", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "no series for a service not seen in the last hour");
}

// ---------------------------------------------------------------------------
// Counts at every resolution, and the summary's windows
// ---------------------------------------------------------------------------

/// Events of three issues over ten days, two environments and two releases,
/// queued with their capture times and folded in several folds, as capture
/// would have.
async fn ten_days_of_history(client: &Client) -> Vec<i64> {
    let mut issues = Vec::new();
    for title in ["History A", "History B", "History C"] {
        issues.push(quiet_issue(client, title, "11 days").await);
    }
    for (round, issue) in issues.iter().enumerate() {
        client
            .execute(
                "insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, level)
                 select $1, now() - make_interval(mins => m * 37 + $2),
                        case when m % 3 = 0 then '' else 'production' end,
                        case when m % 5 = 0 then '1.0.0' else '1.1.0' end,
                        now() - make_interval(mins => m * 37 + $2),
                        (array['info', 'error', 'fatal']::observe.level[])[1 + m % 3]
                   from generate_series(0, 389) as m",
                &[issue, &(round as i32)],
            )
            .await
            .unwrap();
        client
            .execute("select observe.fold_counts()", &[])
            .await
            .unwrap();
    }
    issues
}

#[tokio::test]
async fn every_resolution_is_exact_after_folds_and_ticks() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issues = ten_days_of_history(c).await;
    let total = 3 * 390;
    c.query_one("select observe.tick()", &[]).await.unwrap();
    for table in ["issue_counts", "service_counts"] {
        let rows = c
            .query(
                &format!(
                    "select resolution, sum(events)::bigint,
                            bool_and(bucket = date_trunc(resolution, bucket, 'UTC'))
                       from observe.{table} group by resolution order by resolution"
                ),
                &[],
            )
            .await
            .unwrap();
        let seen: Vec<(String, i64, bool)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(
            seen,
            [
                ("day".to_owned(), total, true),
                ("hour".to_owned(), total, true),
                ("minute".to_owned(), total, true)
            ],
            "{table}: every resolution counts every event, in buckets of its unit"
        );
    }
    // Each coarser row is the sum of the finer rows inside it.
    let mismatched: i64 = db
        .scalar(
            "select count(*) from (
                select coarse.resolution, coarse.bucket, coarse.issue_id, coarse.environment, coarse.release,
                       coarse.events, sum(fine.events) as inside
                  from observe.issue_counts coarse
                  join observe.issue_counts fine
                    on fine.issue_id = coarse.issue_id and fine.environment = coarse.environment
                   and fine.release = coarse.release
                   and fine.resolution = case coarse.resolution when 'hour' then 'minute' else 'hour' end
                   and date_trunc(coarse.resolution, fine.bucket, 'UTC') = coarse.bucket
                 where coarse.resolution in ('hour', 'day')
                 group by 1, 2, 3, 4, 5, 6) x
              where events <> inside",
        )
        .await;
    assert_eq!(mismatched, 0);
    // By level: what was queued as each level.
    let by_level: Vec<(String, i64)> = c
        .query(
            "select level::text, sum(events)::bigint from observe.service_counts
              where resolution = 'day' group by level order by level",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        by_level,
        [
            ("error".to_owned(), 3 * 130),
            ("fatal".to_owned(), 3 * 130),
            ("info".to_owned(), 3 * 130)
        ]
    );
    let events: i64 = db
        .scalar(&format!(
            "select sum(events)::bigint from observe.issues where id = any(array{issues:?})"
        ))
        .await;
    assert_eq!(events, total);
}

/// The summary's windows as the hourly counts give them for the hour the
/// summary is counted up to (every folded event from the window's first hour
/// on); rows where they differ.
const WINDOWS_DIFFER: &str = "
select count(*)
  from observe.issue_summary s
 cross join observe.fold_state w
 cross join lateral (
        select coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '23 hours'), 0) as h24,
               coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '47 hours'
                                                and c.bucket < w.windows_at - interval '23 hours'), 0) as prev,
               coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '167 hours'), 0) as d7
          from observe.issue_counts c
         where c.issue_id = s.issue_id and c.resolution = 'hour'
       ) h
 where (s.events_24h, s.events_prev_24h, s.events_7d) is distinct from (h.h24, h.prev, h.d7)";

#[tokio::test]
async fn the_summary_windows_roll_forward_exactly() {
    let db = TestDb::new().await;
    let c = &db.client;
    ten_days_of_history(c).await;
    assert_eq!(db.scalar::<i64>(WINDOWS_DIFFER).await, 0, "after the folds");
    let windows: Vec<i64> = c
        .query_one(
            "select array[sum(events_24h), sum(events_prev_24h), sum(events_7d)]::bigint[] from observe.issue_summary",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        windows.iter().all(|&w| w > 0),
        "the history reaches every window: {windows:?}"
    );

    // As if the last fold had been 30 hours ago: the windows as they were
    // then, then a fold now, which must move them forward by 30 hours.
    c.batch_execute(
        "update observe.fold_state set windows_at = windows_at - interval '30 hours';
         update observe.issue_summary s
            set (events_24h, events_prev_24h, events_7d) = (
                select coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '23 hours'), 0),
                       coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '47 hours'
                                                        and c.bucket < w.windows_at - interval '23 hours'), 0),
                       coalesce(sum(c.events) filter (where c.bucket >= w.windows_at - interval '167 hours'), 0)
                  from observe.issue_counts c, observe.fold_state w
                 where c.issue_id = s.issue_id and c.resolution = 'hour');",
    )
    .await
    .unwrap();
    assert_eq!(
        db.scalar::<i64>(WINDOWS_DIFFER).await,
        0,
        "as of 30 hours ago"
    );
    c.execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    let moved: bool = db
        .scalar("select windows_at = date_trunc('hour', now(), 'UTC') from observe.fold_state")
        .await;
    assert!(moved, "the fold moved the windows to this hour");
    assert_eq!(db.scalar::<i64>(WINDOWS_DIFFER).await, 0, "rolled forward");
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
