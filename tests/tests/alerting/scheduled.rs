//! Under real pg_cron: `observe.schedule_jobs()` registers the evaluation,
//! and an alert fires from a scheduled evaluation with no test code calling
//! the evaluator, then resolves on its own. pg_cron runs jobs only in the
//! database `cron.database_name` names (`observe_cron` on the test cluster),
//! which the cron tests share; this test uses names of its own there.

use std::time::{Duration, Instant};

use pg_observe_tests::{cluster_url, connect, eventually, message};

#[tokio::test]
async fn a_scheduled_evaluation_fires_an_alert_and_it_resolves_on_its_own() {
    let client = connect(&format!("{} dbname=observe_cron", cluster_url())).await;
    for sql in [
        "select pg_advisory_lock(hashtext('pg_observe cron tests'))",
        "create extension if not exists pg_cron",
        "create extension if not exists pg_observe",
        "select pg_advisory_unlock(hashtext('pg_observe cron tests'))",
    ] {
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("preparing observe_cron: {sql}: {}", message(&e)));
    }
    let service = format!("cron-{}", uuid::Uuid::new_v4().simple());
    let jobs: Vec<String> = client
        .query("select job::text from observe.schedule_jobs()", &[])
        .await
        .unwrap_or_else(|e| panic!("schedule_jobs: {}", message(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        jobs.iter().any(|j| j.starts_with("observe-evaluate-")),
        "{jobs:?}"
    );
    let rule: i64 = client
        .query_one(
            "select observe.create_alert_rule($1, threshold => 3, service => $2, window_size => '1 minute',
                                              group_wait => '0')",
            &[&format!("{service} errors"), &service],
        )
        .await
        .unwrap_or_else(|e| panic!("create_alert_rule: {}", message(&e)))
        .get(0);

    let captured = Instant::now();
    client
        .execute(
            "select observe.log_error('boom ' || i, service => $1) from generate_series(1, 5) as i",
            &[&service],
        )
        .await
        .unwrap();
    let notified = eventually(Duration::from_secs(150), || async {
        client
            .query_one(
                "select count(*) from observe.notifications where rule_id = $1",
                &[&rule],
            )
            .await
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    })
    .await;
    let latency = captured.elapsed();
    assert!(
        notified,
        "no scheduled evaluation queued a notification within 150 s"
    );
    eprintln!("alert latency, capture to notification row: {latency:?}");
    assert!(latency < Duration::from_secs(75), "{latency:?}");

    let resolved = eventually(Duration::from_secs(200), || async {
        client
            .query_one(
                "select count(*) from observe.alerts where rule_id = $1 and state = 'resolved'",
                &[&rule],
            )
            .await
            .map(|r| r.get::<_, i64>(0) == 1)
            .unwrap_or(false)
    })
    .await;
    assert!(resolved, "the alert did not resolve on its own");
    client
        .execute("select observe.delete_alert_rule($1)", &[&rule])
        .await
        .unwrap();
}
