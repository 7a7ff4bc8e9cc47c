//! The notification outbox: exactly once towards the provider. Workers never
//! share a claim, a dead worker's lease runs out into a redelivery with the
//! same key, failures back off inside the 24-hour idempotency window and end
//! in dead letter, and the pg_net doorbell rings once per statement when
//! pg_net is there and stays silent when it is not.

use std::collections::HashSet;
use std::time::Duration;

use pg_observe_tests::{install_pg_net_double, message, sqlstate, TestDb};
use tokio_postgres::Client;
use uuid::Uuid;

/// Queues `n` notifications the way the alert evaluator does; returns their
/// ids. (When alert rules land, a rule that fires is the one-line swap.)
async fn enqueue(client: &Client, prefix: &str, n: i32) -> Vec<Uuid> {
    client
        .query(
            "select observe.enqueue_notification(
                        idempotency_key => $1 || '/' || i, kind => 'firing',
                        subject => 'Error rate above 5%',
                        payload => jsonb_build_object('severity', 'critical', 'service', 'billing'),
                        recipients => array['oncall@example.com'])
               from generate_series(1, $2) as i",
            &[&prefix, &n],
        )
        .await
        .unwrap_or_else(|e| panic!("enqueue: {}", message(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn claim(client: &Client, batch: i32, lease: &str) -> Vec<(Uuid, String, i32)> {
    client
        .query(
            "select id, idempotency_key, attempts from observe.claim_notifications($1, $2::text::interval)",
            &[&batch, &lease],
        )
        .await
        .unwrap_or_else(|e| panic!("claim: {}", message(&e)))
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn fail(client: &Client, id: Uuid, retry_after: Option<&str>, permanent: bool) -> String {
    client
        .query_one(
            "select observe.fail_notification($1, 'provider said no', $2::text::interval, $3)",
            &[&id, &retry_after, &permanent],
        )
        .await
        .unwrap_or_else(|e| panic!("fail: {}", message(&e)))
        .get(0)
}

/// Makes every waiting notification due now: the backoff itself is checked
/// by `every_retry_falls_inside_the_idempotency_window`.
async fn skip_backoff(db: &TestDb) {
    db.client
        .batch_execute(
            "update observe.notifications set next_attempt_at = now() where status = 'failed'",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_notification() {
    let db = TestDb::new().await;
    let queued = enqueue(&db.client, "race", 300).await;
    let mut workers = vec![];
    for _ in 0..4 {
        let client = db.connect().await;
        workers.push(tokio::spawn(async move {
            let mut mine = vec![];
            loop {
                let claimed = claim(&client, 7, "5 minutes").await;
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|(id, _, _)| id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut per_worker = vec![];
    for worker in workers {
        let mine = worker.await.unwrap();
        per_worker.push(mine.len());
        for id in mine {
            assert!(seen.insert(id), "notification {id} was claimed twice");
        }
    }
    assert_eq!(
        seen,
        queued.into_iter().collect::<HashSet<_>>(),
        "every notification was claimed once"
    );
    assert!(
        per_worker.iter().filter(|&&n| n > 0).count() >= 2,
        "the workers ran concurrently: {per_worker:?}"
    );
}

#[tokio::test]
async fn a_terminated_worker_leads_to_redelivery_with_the_same_key() {
    let db = TestDb::new().await;
    let [id] = enqueue(&db.client, "crash", 1).await[..] else {
        panic!()
    };
    let worker = db.connect().await;
    let pid: i32 = worker
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let first = claim(&worker, 10, "2 seconds").await;
    assert_eq!(first.len(), 1);
    let terminated: bool = db
        .client
        .query_one("select pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);
    assert!(
        worker.query_one("select 1", &[]).await.is_err(),
        "the worker is gone"
    );

    let other = db.connect().await;
    assert!(
        claim(&other, 10, "1 minute").await.is_empty(),
        "the lease still holds"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let again = claim(&other, 10, "1 minute").await;
    assert_eq!(
        again.len(),
        1,
        "the expired lease made the notification claimable"
    );
    assert_eq!(again[0].0, id);
    assert_eq!(
        again[0].1, first[0].1,
        "redelivered with the same idempotency key"
    );
    assert_eq!(again[0].2, 2, "the lost claim counted as an attempt");
}

#[tokio::test]
async fn permanent_failures_and_exhausted_attempts_end_in_dead_letter() {
    let db = TestDb::new().await;
    let ids = enqueue(&db.client, "dead", 2).await;
    claim(&db.client, 10, "1 minute").await;
    assert_eq!(fail(&db.client, ids[0], None, true).await, "dead");

    let mut last = String::new();
    for attempt in 1..=10 {
        if attempt > 1 {
            skip_backoff(&db).await;
            let claimed = claim(&db.client, 10, "1 minute").await;
            assert_eq!(
                claimed.iter().map(|c| c.0).collect::<Vec<_>>(),
                [ids[1]],
                "attempt {attempt}"
            );
            assert_eq!(claimed[0].2, attempt);
        }
        last = fail(&db.client, ids[1], None, false).await;
        if attempt < 10 {
            assert_eq!(last, "failed", "attempt {attempt} is retried");
        }
    }
    assert_eq!(last, "dead", "the tenth failure is the last");
    skip_backoff(&db).await;
    assert!(
        claim(&db.client, 10, "1 minute").await.is_empty(),
        "dead letters are never claimed"
    );

    let dead: Vec<(Uuid, String)> = db
        .client
        .query(
            "select id, last_error from observe.dead_notifications order by last_error",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0], (ids[0], "provider said no".to_owned()));
    assert_eq!(
        dead[1],
        (
            ids[1],
            "provider said no; gave up after 10 attempts".to_owned()
        )
    );
    let pending: i64 = db.scalar("select observe.pending_notifications()").await;
    assert_eq!(pending, 0);

    // A late report from a dispatcher whose claim ended changes nothing.
    assert_eq!(fail(&db.client, ids[0], None, false).await, "dead");
}

#[tokio::test]
async fn every_retry_falls_inside_the_idempotency_window() {
    let db = TestDb::new().await;
    let [id] = enqueue(&db.client, "window", 1).await[..] else {
        panic!()
    };
    for attempt in 1..=8 {
        if attempt > 1 {
            skip_backoff(&db).await;
        }
        claim(&db.client, 1, "1 minute").await;
        assert_eq!(fail(&db.client, id, None, false).await, "failed");
        let (delay, cap): (f64, f64) = {
            let row = db
                .client
                .query_one(
                    "select extract(epoch from next_attempt_at - updated_at)::float8,
                            least(7200, 30 * 2 ^ (attempts - 1))::float8
                       from observe.notifications where id = $1",
                    &[&id],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert!(
            (0.0..=cap).contains(&delay),
            "attempt {attempt}: delay {delay} s outside [0, {cap}]"
        );
    }

    // The provider's retry-after is honoured, but never past the window.
    skip_backoff(&db).await;
    claim(&db.client, 1, "1 minute").await;
    fail(&db.client, id, Some("30 hours"), false).await;
    let capped: bool = db
        .client
        .query_one(
            "select next_attempt_at = first_attempt_at + interval '23 hours'
                    and next_attempt_at < first_attempt_at + interval '24 hours'
               from observe.notifications where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(capped, "a retry-after past the window is cut to the window");

    // Past the window, nothing is retried: a resend could send twice.
    let [late] = enqueue(&db.client, "late", 1).await[..] else {
        panic!()
    };
    claim(&db.client, 1, "1 minute").await;
    db.client
        .execute(
            "update observe.notifications set first_attempt_at = now() - interval '23 hours' where id = $1",
            &[&late],
        )
        .await
        .unwrap();
    assert_eq!(fail(&db.client, late, None, false).await, "dead");

    // And a lease that runs out past the window ends in dead letter too.
    let [stale] = enqueue(&db.client, "stale", 1).await[..] else {
        panic!()
    };
    claim(&db.client, 1, "1 second").await;
    db.client
        .execute(
            "update observe.notifications set first_attempt_at = now() - interval '23 hours',
                    lease_until = now() - interval '1 second' where id = $1",
            &[&stale],
        )
        .await
        .unwrap();
    assert!(claim(&db.client, 10, "1 minute")
        .await
        .iter()
        .all(|c| c.0 != stale));
    let status: String = db
        .client
        .query_one(
            "select status from observe.notifications where id = $1",
            &[&stale],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "dead");
}

#[tokio::test]
async fn completion_records_the_provider_id_and_delivery_webhooks_only_move_forward() {
    let db = TestDb::new().await;
    let [id] = enqueue(&db.client, "ok", 1).await[..] else {
        panic!()
    };
    claim(&db.client, 1, "1 minute").await;
    db.client
        .execute(
            "select observe.complete_notification($1, 'email-1')",
            &[&id],
        )
        .await
        .unwrap();
    let record = |event: &'static str| {
        let client = &db.client;
        async move {
            client
                .query_one(
                    "select observe.record_delivery('email-1', $1, now())",
                    &[&event],
                )
                .await
                .unwrap()
                .get::<_, bool>(0)
        }
    };
    assert!(record("delivered").await);
    assert!(
        record("delivery_delayed").await,
        "a late delay is acknowledged"
    );
    assert!(record("complained").await);
    let (status, delivery, sent): (String, String, bool) = {
        let row = db
            .client
            .query_one(
                "select status, delivery_status, sent_at is not null and delivered_at is not null
                   from observe.notifications where id = $1",
                &[&id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(
        (status.as_str(), delivery.as_str(), sent),
        ("sent", "complained", true)
    );
    let unknown: bool = db
        .scalar("select observe.record_delivery('email-unknown', 'delivered', now())")
        .await;
    assert!(!unknown);
    assert!(
        enqueue(&db.client, "ok", 1).await == [id],
        "queuing a key again returns the first notification"
    );
}

#[tokio::test]
async fn bad_arguments_get_clear_sqlstates() {
    let db = TestDb::new().await;
    let [id] = enqueue(&db.client, "args", 1).await[..] else {
        panic!()
    };
    let cases: &[(&str, &str)] = &[
        ("select observe.claim_notifications(0)", "22023"),
        ("select observe.claim_notifications(101)", "22023"),
        ("select observe.claim_notifications(null)", "22004"),
        ("select observe.claim_notifications(5, '0 seconds')", "22023"),
        ("select observe.claim_notifications(5, '2 hours')", "22023"),
        ("select observe.complete_notification(gen_random_uuid(), 'email')", "P0002"),
        ("select observe.complete_notification(null, 'email')", "22004"),
        ("select observe.fail_notification(gen_random_uuid(), 'e')", "P0002"),
        ("select observe.fail_notification(null, 'e')", "22004"),
        ("select observe.enqueue_notification(repeat('k', 257), 'firing', 's', '{}')", "22023"),
        ("select observe.enqueue_notification('', 'firing', 's', '{}')", "22023"),
        ("select observe.enqueue_notification(null, 'firing', 's', '{}')", "22004"),
        ("select observe.enqueue_notification('k', 'burning', 's', '{}')", "22023"),
        ("select observe.enqueue_notification('k', 'firing', 's', '[]')", "22023"),
        ("select observe.enqueue_notification('k', 'firing', 's', '{}', array['not an address'])", "22023"),
        ("select observe.enqueue_notification('k', 'firing', 's', '{}',
                 array(select 'a' || i || '@example.com' from generate_series(1, 51) i))", "22023"),
        ("select observe.configure_dispatch('ftp://example.com/x')", "22023"),
        ("select observe.configure_dispatch('https://example.com/x', 'short')", "22023"),
        ("select observe.record_delivery('email', 'opened', now())", "22023"),
        ("select observe.record_delivery(null, 'delivered', now())", "22004"),
    ];
    for (sql, expected) in cases {
        let error = db.client.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&error), *expected, "{sql}: {}", message(&error));
    }
    let error = db
        .client
        .execute(
            "select observe.fail_notification($1, 'e', '-1 minute')",
            &[&id],
        )
        .await
        .expect_err("negative retry_after");
    assert_eq!(sqlstate(&error), "22023");
    let longest: Uuid = db
        .scalar("select observe.enqueue_notification(repeat('k', 256), 'resolved', 's', '{}')")
        .await;
    assert_ne!(
        longest, id,
        "256 characters is the provider's limit, and allowed"
    );
}

async fn rings(db: &TestDb) -> i64 {
    db.scalar("select count(*) from net.double_calls").await
}

#[tokio::test]
async fn the_doorbell_rings_once_per_statement_with_pg_net() {
    install_pg_net_double();
    let db = TestDb::with_extensions(&["pg_observe", "pg_net"]).await;
    db.client
        .batch_execute(
            "select observe.configure_dispatch('http://127.0.0.1:54331/functions/v1/alert-dispatch',
                                               'ring-token-0123456789abcdef')",
        )
        .await
        .unwrap();

    enqueue(&db.client, "one-statement", 3).await;
    assert_eq!(
        rings(&db).await,
        1,
        "three notifications queued by one statement ring once"
    );
    let (url, headers, body, timeout): (String, serde_json::Value, serde_json::Value, i32) = {
        let row = db
            .client
            .query_one(
                "select url, headers, body, timeout_milliseconds from net.double_calls",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3))
    };
    assert_eq!(url, "http://127.0.0.1:54331/functions/v1/alert-dispatch");
    assert_eq!(
        headers,
        serde_json::json!({"Content-Type": "application/json", "Authorization": "Bearer ring-token-0123456789abcdef"}),
        "the ring carries the ring token and nothing else"
    );
    assert_eq!(body, serde_json::json!({"ring": true}));
    assert!(timeout > 0 && timeout <= 30_000);

    enqueue(&db.client, "second-statement", 1).await;
    assert_eq!(rings(&db).await, 2, "the next statement rings again");
    enqueue(&db.client, "second-statement", 1).await;
    assert_eq!(
        rings(&db).await,
        2,
        "a key queued before queues nothing and rings nothing"
    );

    db.client
        .batch_execute(
            "begin;
             select observe.enqueue_notification('rolled-back', 'firing', 's', '{}');
             rollback;",
        )
        .await
        .unwrap();
    assert_eq!(rings(&db).await, 2, "a rolled-back alert rings nothing");

    db.client
        .batch_execute("select observe.configure_dispatch(null)")
        .await
        .unwrap();
    enqueue(&db.client, "unconfigured", 1).await;
    assert_eq!(rings(&db).await, 2, "no URL, no ring");
}

#[tokio::test]
async fn without_pg_net_nothing_breaks() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.configure_dispatch('https://example.com/functions/v1/alert-dispatch')",
        )
        .await
        .unwrap();
    let ids = enqueue(&db.client, "no-net", 2).await;
    assert_eq!(ids.len(), 2);
    let queued: i64 = db
        .scalar("select count(*) from observe.notifications where status = 'queued'")
        .await;
    assert_eq!(queued, 2, "the scheduled drain will deliver them");
}
