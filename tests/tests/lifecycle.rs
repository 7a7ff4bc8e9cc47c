//! Issue lifecycle: resolve (optionally in a release), ignore (until a time or
//! a count), reopen, regressions, and the activity log that records them.

use pg_observe_tests::{capture_and_read, message, sqlstate, TestDb};
use serde_json::Value;
use tokio_postgres::Client;

async fn log(client: &Client, message: &str, release: Option<&str>) -> i64 {
    capture_and_read(
        client,
        "select observe.log_error($1, service => 'api', release => $2)",
        &[&message, &release],
        "e.issue_id",
    )
    .await
    .get(0)
}

async fn status(client: &Client, issue: i64) -> (String, Option<String>) {
    let row = client
        .query_one(
            "select status::text, regressed_at::text from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn activity(client: &Client, issue: i64) -> Vec<(String, Option<String>)> {
    client
        .query(
            "select kind, reason from observe.issue_activity where issue_id = $1 order by id",
            &[&issue],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn kinds(activity: &[(String, Option<String>)]) -> Vec<&str> {
    activity.iter().map(|(k, _)| k.as_str()).collect()
}

#[tokio::test]
async fn resolved_issues_regress_on_the_next_event() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Order 17 not found", None).await;
    assert_eq!(
        log(c, "Order 99 not found", None).await,
        issue,
        "same issue"
    );

    let resolved: String = c
        .query_one("select (observe.resolve_issue($1)).status::text", &[&issue])
        .await
        .unwrap()
        .get(0);
    assert_eq!(resolved, "resolved");
    assert_eq!(status(c, issue).await, ("resolved".into(), None));

    log(c, "Order 5 not found", None).await;
    let (now, regressed_at) = status(c, issue).await;
    assert_eq!(now, "unresolved");
    assert!(regressed_at.is_some());
    let times: i32 = c
        .query_one(
            "select times_regressed from observe.issues where id = $1",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(times, 1);
    assert_eq!(
        activity(c, issue).await,
        vec![
            ("created".into(), Some("new_issue".into())),
            ("resolved".into(), Some("manual".into())),
            ("regressed".into(), Some("regression".into())),
        ]
    );
    // Counts include every event, before and after resolution.
    let events: i64 = c
        .query_one("select events from observe.issues where id = $1", &[&issue])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 3);
}

#[tokio::test]
async fn resolved_in_release_regresses_only_for_newer_semver_releases() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Cart total mismatch", Some("shop@1.4.0")).await;
    c.execute(
        "select observe.resolve_issue($1, in_release => 'shop@1.5.0')",
        &[&issue],
    )
    .await
    .unwrap();

    for old in ["shop@1.4.0", "shop@1.5.0-rc.2", "shop@1.5.0"] {
        log(c, "Cart total mismatch", Some(old)).await;
        assert_eq!(status(c, issue).await.0, "resolved", "{old} is not newer");
    }
    log(c, "Cart total mismatch", Some("shop@1.10.0")).await;
    assert_eq!(status(c, issue).await.0, "unresolved");
    assert_eq!(
        kinds(&activity(c, issue).await),
        ["created", "resolved", "regressed"]
    );
    let details: Value = c
        .query_one(
            "select details from observe.issue_activity where issue_id = $1 and kind = 'resolved'",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["resolved_in_release"], "shop@1.5.0");
}

#[tokio::test]
async fn non_semver_releases_are_ordered_by_first_seen() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Webhook signature invalid", Some("a1b2c3d")).await;
    // Resolved in a build that has not been seen yet ("the next deploy").
    c.execute("select observe.resolve_issue($1, 'f00dfee')", &[&issue])
        .await
        .unwrap();
    log(c, "Webhook signature invalid", Some("a1b2c3d")).await;
    assert_eq!(
        status(c, issue).await.0,
        "resolved",
        "an older build does not regress"
    );
    log(c, "Webhook signature invalid", Some("f00dfee")).await;
    assert_eq!(
        status(c, issue).await.0,
        "resolved",
        "the fixing build itself does not regress"
    );
    log(c, "Webhook signature invalid", Some("0badc0d")).await;
    assert_eq!(
        status(c, issue).await.0,
        "unresolved",
        "a build first seen later does"
    );
}

#[tokio::test]
async fn ignored_until_n_more_events_wakes_on_the_nth() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Rate limited by upstream", None).await;
    c.execute(
        "select observe.ignore_issue($1, until_count => 3)",
        &[&issue],
    )
    .await
    .unwrap();
    for i in 1..=2 {
        log(c, "Rate limited by upstream", None).await;
        assert_eq!(status(c, issue).await.0, "ignored", "after {i} more");
    }
    log(c, "Rate limited by upstream", None).await;
    assert_eq!(status(c, issue).await.0, "unresolved");
    assert_eq!(
        activity(c, issue).await,
        vec![
            ("created".into(), Some("new_issue".into())),
            ("ignored".into(), Some("manual".into())),
            ("unignored".into(), Some("ignore_count_reached".into())),
        ]
    );
    // Ignoring again starts a fresh count.
    c.execute(
        "select observe.ignore_issue($1, until_count => 2)",
        &[&issue],
    )
    .await
    .unwrap();
    log(c, "Rate limited by upstream", None).await;
    assert_eq!(status(c, issue).await.0, "ignored");
}

#[tokio::test]
async fn ignored_until_a_time_wakes_by_event_or_by_tick() {
    let db = TestDb::new().await;
    let c = &db.client;
    let by_event = log(c, "Slow query on reports", None).await;
    let by_tick = log(c, "Disk almost full", None).await;
    for issue in [by_event, by_tick] {
        c.execute(
            "select observe.ignore_issue($1, until => clock_timestamp() + interval '1 second')",
            &[&issue],
        )
        .await
        .unwrap();
    }
    log(c, "Slow query on reports", None).await;
    assert_eq!(status(c, by_event).await.0, "ignored", "not yet expired");

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    log(c, "Slow query on reports", None).await;
    assert_eq!(status(c, by_event).await.0, "unresolved");
    assert_eq!(
        status(c, by_tick).await.0,
        "ignored",
        "no event, no tick yet"
    );

    let summary: Value = c
        .query_one("select observe.tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["woken"], 1);
    assert_eq!(status(c, by_tick).await.0, "unresolved");
    assert_eq!(
        activity(c, by_tick).await.last().unwrap(),
        &("unignored".to_owned(), Some("ignore_expired".to_owned()))
    );
}

#[tokio::test]
async fn ignored_forever_stays_ignored_and_reopen_returns_it() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Known flaky test noise", None).await;
    c.execute("select observe.ignore_issue($1)", &[&issue])
        .await
        .unwrap();
    for _ in 0..5 {
        log(c, "Known flaky test noise", None).await;
    }
    let summary: Value = c
        .query_one("select observe.tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(summary["woken"], 0);
    assert_eq!(status(c, issue).await.0, "ignored");

    c.execute("select observe.reopen_issue($1)", &[&issue])
        .await
        .unwrap();
    assert_eq!(status(c, issue).await.0, "unresolved");
    // Reopening an unresolved issue is a no-op and records nothing.
    c.execute("select observe.reopen_issue($1)", &[&issue])
        .await
        .unwrap();
    assert_eq!(
        kinds(&activity(c, issue).await),
        ["created", "ignored", "reopened"]
    );
}

#[tokio::test]
async fn lifecycle_functions_refuse_bad_input() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "x", None).await;
    let cases = [
        (
            "select observe.resolve_issue(999999)",
            "P0002",
            "issue 999999 does not exist",
        ),
        (
            "select observe.ignore_issue(999999)",
            "P0002",
            "does not exist",
        ),
        (
            "select observe.reopen_issue(999999)",
            "P0002",
            "does not exist",
        ),
        (
            "select observe.resolve_issue($1, in_release => '  ')",
            "22023",
            "in_release",
        ),
        (
            "select observe.ignore_issue($1, until => now() - interval '1 minute')",
            "22023",
            "must be in the future",
        ),
        (
            "select observe.ignore_issue($1, until_count => 0)",
            "22023",
            "must be positive",
        ),
    ];
    for (sql, code, text) in cases {
        let err = if sql.contains("$1") {
            c.execute(sql, &[&issue]).await.unwrap_err()
        } else {
            c.execute(sql, &[]).await.unwrap_err()
        };
        assert_eq!(sqlstate(&err), code, "{sql}");
        assert!(message(&err).contains(text), "{sql}: {}", message(&err));
    }
    assert_eq!(status(c, issue).await.0, "unresolved");
}

#[tokio::test]
async fn higher_levels_escalate_the_issue_lower_ones_do_not() {
    let db = TestDb::new().await;
    let c = &db.client;
    let level = |sql_level: &'static str| async move {
        capture_and_read(
            c,
            "select observe.log_error('Queue backlog growing', level => $1)",
            &[&sql_level],
            "g.level::text",
        )
        .await
        .get::<_, String>(0)
    };
    assert_eq!(level("warning").await, "warning");
    assert_eq!(level("fatal").await, "fatal");
    assert_eq!(level("info").await, "fatal");
}

#[tokio::test]
async fn admin_updates_are_recorded_too() {
    let db = TestDb::new().await;
    let c = &db.client;
    let issue = log(c, "Manual triage", None).await;
    c.execute(
        "update observe.issue_groups set status = 'resolved', status_reason = 'bulk-close' where id = $1",
        &[&issue],
    )
    .await
    .unwrap();
    assert_eq!(
        activity(c, issue).await.last().unwrap(),
        &("resolved".to_owned(), Some("bulk-close".to_owned()))
    );
}
