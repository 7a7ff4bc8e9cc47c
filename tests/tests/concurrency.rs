//! Many sessions logging one fingerprint: nobody waits on a hot row, counts
//! stay exact while the queue is folded, and flood control samples storage
//! without losing counts.

use std::time::Duration;

use pg_observe_tests::{connect, TestDb};

const MESSAGE: &str = "Connection reset by peer while reading from upstream 10.0.0.7";

#[tokio::test]
async fn writers_of_one_issue_never_wait_on_each_other() {
    let db = TestDb::new().await;
    // The issue exists (its creation is the one moment writers do meet).
    db.client
        .execute(
            "select observe.log_error($1, service => 'api')",
            &[&MESSAGE],
        )
        .await
        .unwrap();

    let holder = db.connect().await;
    holder.batch_execute("begin").await.unwrap();
    holder
        .execute(
            "select observe.log_error($1, service => 'api')",
            &[&MESSAGE],
        )
        .await
        .unwrap();

    // While that transaction is open with its writes, another session logs
    // the same issue. With any shared hot row it would block; a lock timeout
    // turns blocking into a failure instead of a hang.
    let other = db.connect().await;
    other
        .batch_execute("set lock_timeout = '1s'")
        .await
        .unwrap();
    for _ in 0..20 {
        tokio::time::timeout(
            Duration::from_secs(5),
            other.execute(
                "select observe.log_error($1, service => 'api')",
                &[&MESSAGE],
            ),
        )
        .await
        .expect("second writer must not block")
        .expect("second writer must not hit the lock timeout");
    }
    holder.batch_execute("commit").await.unwrap();

    let events: i64 = db
        .scalar("select events from observe.issues where service = 'api'")
        .await;
    assert_eq!(events, 22);
}

#[tokio::test]
async fn eight_sessions_at_full_speed_keep_exact_counts() {
    let db = TestDb::new().await;
    const SESSIONS: usize = 8;
    const PER_SESSION: usize = 400;
    db.client
        .execute(
            "select observe.log_error($1, service => 'api')",
            &[&MESSAGE],
        )
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for session in 0..SESSIONS {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let client = connect(&url).await;
            let statement = client
                .prepare("select observe.log_error($1, service => 'api', user_ref => $2)")
                .await
                .unwrap();
            for i in 0..PER_SESSION {
                // Variable parts differ per call; the issue must not.
                let message = format!(
                    "Connection reset by peer while reading from upstream 10.0.{session}.{}",
                    i % 250
                );
                let user = format!("user-{}", i % 50);
                client
                    .execute(&statement, &[&message, &user])
                    .await
                    .unwrap();
            }
        }));
    }
    // A folder runs all along, as observe.schedule_fold() would.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let folder = {
        let (url, done) = (db.url.clone(), done.clone());
        tokio::spawn(async move {
            let client = connect(&url).await;
            let mut folded = 0i64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                folded += client
                    .query_one("select observe.fold_counts()", &[])
                    .await
                    .unwrap()
                    .get::<_, i64>(0);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            folded
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let folded_meanwhile = folder.await.unwrap();
    assert!(folded_meanwhile > 0, "the folder ran while sessions wrote");

    let expected = (SESSIONS * PER_SESSION + 1) as i64;
    let totals = "select count(*), sum(events)::bigint, sum(users)::bigint from observe.issues where service = 'api'";
    for phase in ["with events still queued", "after the last fold"] {
        let row = db.client.query_one(totals, &[]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), 1, "one issue, {phase}");
        assert_eq!(row.get::<_, i64>(1), expected, "exact count, {phase}");
        assert_eq!(row.get::<_, i64>(2), 50, "users, {phase}");
        db.client
            .execute("select observe.fold_counts()", &[])
            .await
            .unwrap();
    }
    let queued: i64 = db.scalar("select count(*) from observe.count_queue").await;
    assert_eq!(queued, 0, "a fold empties the queue");
    for table in ["issue_counts", "service_counts"] {
        for resolution in ["minute", "hour", "day"] {
            let folded: i64 = db
                .scalar(&format!(
                    "select sum(events)::bigint from observe.{table} where resolution = '{resolution}'"
                ))
                .await;
            assert_eq!(
                folded, expected,
                "every event is in the folded {table} of every resolution ({resolution})"
            );
        }
    }
    let stored: i64 = db.scalar("select count(*) from observe.events").await;
    assert!(stored >= 100 && stored <= expected, "{stored}");
}

#[tokio::test]
async fn sessions_racing_to_create_one_issue_all_succeed() {
    let db = TestDb::new().await;
    const SESSIONS: usize = 8;
    const ROUNDS: usize = 25;
    let mut clients = Vec::new();
    for _ in 0..SESSIONS {
        clients.push(std::sync::Arc::new(db.connect().await));
    }
    // Each round is a fingerprint nobody has seen; all sessions are released
    // together, so most of them find no issue and try to create it at once.
    for round in 0..ROUNDS {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(SESSIONS));
        let mut tasks = Vec::new();
        for client in &clients {
            let (client, barrier) = (client.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                client
                    .execute(
                        "select observe.log_error($1, exception_type => $2, service => 'race')",
                        &[&"Deadline exceeded", &format!("RaceError{round}")],
                    )
                    .await
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {}", pg_observe_tests::message(&e)));
        }
    }
    let row = db
        .client
        .query_one(
            "select count(*), min(events), max(events) from observe.issues where service = 'race'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), ROUNDS as i64, "one issue per round");
    assert_eq!(row.get::<_, i64>(1), SESSIONS as i64);
    assert_eq!(row.get::<_, i64>(2), SESSIONS as i64);
}

#[tokio::test]
async fn flood_control_samples_storage_but_counts_exactly() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.batch_execute("set observe.flood_limit = 20")
        .await
        .unwrap();
    const EVENTS: i64 = 2_000;
    for i in 0..EVENTS {
        c.execute(
            "select observe.log_error($1, service => 'worker')",
            &[&format!("Job {i} exceeded its memory budget")],
        )
        .await
        .unwrap();
    }
    // All in well under a minute on any machine this runs on; if the minute
    // rolled over, the second minute starts a fresh budget, which the bounds
    // below still allow for.
    let row = c
        .query_one(
            "select (select events from observe.issues where service = 'worker'),
                    count(*),
                    count(*) filter (where sample_rate = 1),
                    coalesce(sum(1 / sample_rate), 0)::float8,
                    min(sample_rate)::float8
               from observe.events where service = 'worker'",
            &[],
        )
        .await
        .unwrap();
    let (counted, stored, full_rate): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let (estimate, min_rate): (f64, f64) = (row.get(3), row.get(4));
    assert_eq!(counted, EVENTS, "counts are exact");
    // limit * (1 + ln(n / limit)) ≈ 112 expected per minute; allow noise and a
    // minute boundary.
    assert!((20..=400).contains(&stored), "stored {stored}");
    assert!(
        (20..=40).contains(&full_rate),
        "stored at rate 1: {full_rate}"
    );
    assert!(min_rate < 0.05, "min rate {min_rate}");
    // Horvitz–Thompson: sum(1/rate) estimates the events stood for; its
    // standard deviation here is about 16%, so 60% is a 3.8-sigma bound.
    assert!(
        (estimate - EVENTS as f64).abs() < EVENTS as f64 * 0.6,
        "estimate {estimate}"
    );

    c.batch_execute("set observe.flood_limit = 0")
        .await
        .unwrap();
    for _ in 0..50 {
        c.execute(
            "select observe.log_error('Job 1 exceeded its memory budget', service => 'worker')",
            &[],
        )
        .await
        .unwrap();
    }
    let after: i64 = c
        .query_one(
            "select count(*) from observe.events where service = 'worker'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, stored + 50, "a limit of 0 stores everything");
}
