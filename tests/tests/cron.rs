//! Scheduling `observe.tick()` with pg_cron. pg_cron runs jobs only from the
//! database named by `cron.database_name` (`observe_cron` on the test
//! cluster, see scripts/cluster.sh), so these tests share that database and
//! must stay re-runnable on one cluster: they create what is missing, add
//! uniquely named issues, and only ever (re)register the same job.

use std::time::{Duration, Instant};

use pg_observe_tests::{cluster_url, connect, eventually, message, sqlstate, TestDb};
use tokio_postgres::Client;

const CRON_DB: &str = "observe_cron";

async fn cron_db() -> Client {
    let client = connect(&format!("{} dbname={CRON_DB}", cluster_url())).await;
    // Two tests may get here at once. Each statement commits on its own (a
    // multi-statement string would be one transaction, committing only after
    // the unlock), so the second one sees the first one's extensions.
    for sql in [
        "select pg_advisory_lock(hashtext('pg_observe cron tests'))",
        "create extension if not exists pg_cron",
        "create extension if not exists pg_observe",
        "select pg_advisory_unlock(hashtext('pg_observe cron tests'))",
    ] {
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("preparing {CRON_DB}: {sql}: {}", message(&e)));
    }
    client
}

/// (job id, command, database) of every job that runs observe.tick() for `CRON_DB`.
async fn tick_jobs(client: &Client) -> Vec<(i64, String, String)> {
    client
        .query(
            "select jobid, command, database from cron.job
              where command ilike '%observe.tick()%' and database = $1 order by jobid",
            &[&CRON_DB],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn schedule_tick_registers_one_job() {
    let c = cron_db().await;
    let first: i64 = c
        .query_one("select observe.schedule_tick()", &[])
        .await
        .unwrap_or_else(|e| panic!("schedule_tick: {}", message(&e)))
        .get(0);
    let jobs = tick_jobs(&c).await;
    assert_eq!(
        jobs,
        vec![(
            first,
            "select observe.tick()".to_owned(),
            CRON_DB.to_owned()
        )],
        "one job, running observe.tick() in {CRON_DB}"
    );
    let row = c
        .query_one(
            "select schedule, active, username::text from cron.job where jobid = $1",
            &[&first],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "* * * * *",
        "every minute by default"
    );
    assert!(row.get::<_, bool>(1), "active");

    let second: i64 = c
        .query_one("select observe.schedule_tick()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(second, first, "calling it again keeps the same job");
    assert_eq!(tick_jobs(&c).await.len(), 1, "and adds no second one");
}

#[tokio::test]
async fn pg_cron_runs_tick_and_wakes_expired_ignores() {
    let started = Instant::now();
    let c = cron_db().await;
    let job: i64 = c
        .query_one("select observe.schedule_tick()", &[])
        .await
        .unwrap()
        .get(0);
    let marker = format!("cron wake-up {}", uuid::Uuid::new_v4());
    let id: uuid::Uuid = c
        .query_one(
            "select observe.log_error($1, service => 'cron-test')",
            &[&marker],
        )
        .await
        .unwrap()
        .get(0);
    let issue: i64 = c
        .query_one("select issue_id from observe.events where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    let ignored_at: chrono::DateTime<chrono::Utc> = c
        .query_one(
            "select (observe.ignore_issue($1, until => clock_timestamp() + interval '2 seconds')).status_changed_at",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);

    // pg_cron fires on minute boundaries: at most a minute, plus the worker's start.
    let woke = eventually(Duration::from_secs(75), || async {
        let row = c
            .query_one(
                "select (select status::text from observe.issue_groups where id = $1),
                        exists (select from observe.issue_activity
                                 where issue_id = $1 and kind = 'unignored' and reason = 'ignore_expired'),
                        exists (select from cron.job_run_details
                                 where jobid = $2 and status = 'succeeded' and start_time >= $3)",
                &[&issue, &job, &ignored_at],
            )
            .await
            .unwrap();
        row.get::<_, String>(0) == "unresolved" && row.get::<_, bool>(1) && row.get::<_, bool>(2)
    })
    .await;
    let waited = started.elapsed();
    let runs: Vec<(String, Option<String>)> = c
        .query(
            "select status, return_message from cron.job_run_details
              where jobid = $1 and start_time >= $2 order by runid",
            &[&job, &ignored_at],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        woke,
        "after {waited:?}: issue {issue} not woken by a succeeded pg_cron run of job {job}; runs since: {runs:?}"
    );
}

#[tokio::test]
async fn schedule_tick_without_pg_cron_says_what_to_do() {
    let db = TestDb::new().await;
    let err = db
        .client
        .query_one("select observe.schedule_tick()", &[])
        .await
        .expect_err("schedule_tick needs pg_cron");
    assert_eq!(sqlstate(&err), "0A000", "{}", message(&err));
    assert!(message(&err).contains("pg_cron"), "{}", message(&err));
    let hint = err
        .as_db_error()
        .and_then(|e| e.hint())
        .unwrap_or_default()
        .to_owned();
    assert!(hint.contains("cron.schedule_in_database"), "hint: {hint:?}");
    assert!(
        hint.contains(&db.name),
        "the hint names this database: {hint:?}"
    );
    assert!(hint.contains("select observe.tick()"), "hint: {hint:?}");
}
