//! Under real pg_cron: `observe.schedule_jobs()` registers the evaluation,
//! and an alert fires from a scheduled evaluation with no test code calling
//! the evaluator, then resolves on its own. pg_cron runs jobs only in the
//! database `cron.database_name` names (`observe_cron` on the test cluster),
//! which the cron tests share; this test uses names of its own there.
//!
//! The errors are captured once the scheduler has run the evaluation, as in
//! production, where the jobs are in place long before anything breaks; the
//! rule's window of two minutes outlasts one minute the scheduler might skip.
//! Whatever goes wrong, the failure shows the scheduler's runs and the
//! alert's states.

use std::time::{Duration, Instant};

use pg_observe_tests::{cluster_url, connect, eventually, message};
use tokio_postgres::Client;

const EVALUATE_JOB: &str = "observe-evaluate-observe_cron";

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
    assert!(jobs.iter().any(|j| j == EVALUATE_JOB), "{jobs:?}");
    let rule: i64 = client
        .query_one(
            "select observe.create_alert_rule($1, threshold => 3, service => $2, window_size => '2 minutes',
                                              group_wait => '0')",
            &[&format!("{service} errors"), &service],
        )
        .await
        .unwrap_or_else(|e| panic!("create_alert_rule: {}", message(&e)))
        .get(0);
    let scheduled = now(&client).await;

    let mut touched_at = Instant::now();
    let evaluating = eventually(Duration::from_secs(150), || {
        // pg_cron 1.4 reloads its jobs when cron.job's relcache entry is
        // invalidated, but misses the reset that follows an overflow of the
        // invalidation queue (citusdata/pg_cron#362, #406), which the tests
        // creating databases side by side can cause; the scheduler then runs
        // without the job. Touching the job invalidates again, as its users
        // do.
        let touch = touched_at.elapsed() >= Duration::from_secs(45);
        if touch {
            touched_at = Instant::now();
        }
        let (client, scheduled) = (&client, &scheduled);
        async move {
            if touch {
                client
                    .execute(
                        "select cron.alter_job(jobid, active => true) from cron.job where jobname = $1",
                        &[&EVALUATE_JOB],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("touching the job: {}", message(&e)));
            }
            count(
                client,
                "select count(*) from cron.job_run_details d join cron.job j using (jobid)
                  where j.jobname = $1 and d.status = 'succeeded' and d.start_time >= $2::text::timestamptz",
                &[&EVALUATE_JOB, scheduled],
            )
            .await
                > 0
        }
    })
    .await;
    assert!(
        evaluating,
        "pg_cron ran no evaluation within 150 s of scheduling it: {}",
        diagnosis(&client, rule, &scheduled).await
    );

    let captured = Instant::now();
    client
        .execute(
            "select observe.log_error('boom ' || i, service => $1) from generate_series(1, 5) as i",
            &[&service],
        )
        .await
        .unwrap_or_else(|e| panic!("log_error: {}", message(&e)));
    let notified = eventually(Duration::from_secs(150), || async {
        count(
            &client,
            "select count(*) from observe.notifications where rule_id = $1",
            &[&rule],
        )
        .await
            > 0
    })
    .await;
    let latency = captured.elapsed();
    assert!(
        notified,
        "no scheduled evaluation queued a notification within 150 s of the capture: {}",
        diagnosis(&client, rule, &scheduled).await
    );
    eprintln!("alert latency, capture to notification row: {latency:?}");
    assert!(latency < Duration::from_secs(75), "{latency:?}");

    let resolved = eventually(Duration::from_secs(240), || async {
        count(
            &client,
            "select count(*) from observe.alerts where rule_id = $1 and state = 'resolved'",
            &[&rule],
        )
        .await
            == 1
    })
    .await;
    assert!(
        resolved,
        "the alert did not resolve on its own: {}",
        diagnosis(&client, rule, &scheduled).await
    );
    client
        .execute("select observe.delete_alert_rule($1)", &[&rule])
        .await
        .unwrap();
}

async fn now(client: &Client) -> String {
    client
        .query_one("select clock_timestamp()::text", &[])
        .await
        .unwrap()
        .get(0)
}

/// A count; a failing query fails the test with its message instead of
/// reading as "not yet".
async fn count(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> i64 {
    client
        .query_one(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)))
        .get(0)
}

/// The scheduler's runs of pg_observe's jobs since `since` and the rule's
/// alerts, for a failure message.
async fn diagnosis(client: &Client, rule: i64, since: &str) -> String {
    let runs = lines(
        client,
        "select format('%s %s at %s: %s', j.jobname, d.status, d.start_time, d.return_message)
           from cron.job_run_details d join cron.job j using (jobid)
          where j.jobname like 'observe-%' and d.start_time >= $1::text::timestamptz order by d.runid",
        &[&since],
    )
    .await;
    let alerts = lines(
        client,
        "select format('%s %s value %s, active since %s, fired %s, resolved %s, evaluated %s',
                       labels, state, value, active_since, fired_at, resolved_at, evaluated_at)
           from observe.alerts where rule_id = $1",
        &[&rule],
    )
    .await;
    let now = now(client).await;
    format!("now {now}; pg_cron runs since {since}: [{runs}]; alerts: [{alerts}]")
}

/// One text column's rows, joined, or the query's error.
async fn lines(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> String {
    match client.query(sql, params).await {
        Ok(rows) => rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("({})", message(&e)),
    }
}
