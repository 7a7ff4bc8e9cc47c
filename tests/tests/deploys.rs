//! Deploy records: webhook events merge into observe.deployments whatever
//! their order, replays change nothing, the raw event is kept scrubbed, and
//! the views put deploys next to releases and to the errors around them.

use pg_observe_tests::{message, sqlstate, TestDb};
use serde_json::{json, Value};

async fn record(db: &TestDb, event_id: &str, state: &str, minutes_ago: i32) -> Value {
    db.client
        .query_one(
            "select observe.record_deploy_event(
                        provider => 'vercel', event_id => $1::text, deployment_id => 'dpl_1', state => $2::text,
                        occurred_at => now() - make_interval(mins => $3::int), event_type => 'deployment.' || $2,
                        project => 'web', environment => 'production', url => 'https://web.vercel.app',
                        commit_sha => '3f2a9c1d0e5b', branch => 'main',
                        payload => jsonb_build_object('id', $1::text, 'user', jsonb_build_object('email', 'dev@example.com'),
                                                      'token', 'secret-value'))",
            &[&event_id, &state, &minutes_ago],
        )
        .await
        .unwrap_or_else(|e| panic!("record {event_id}: {}", message(&e)))
        .get(0)
}

#[tokio::test]
async fn out_of_order_and_replayed_events_never_move_a_deploy_backwards() {
    let db = TestDb::new().await;
    let ready = record(&db, "evt_ready", "ready", 10).await;
    assert_eq!(ready["state"], "ready");
    assert_eq!(ready["replayed"], false);
    let late = record(&db, "evt_created", "building", 12).await;
    assert_eq!(
        late["state"], "ready",
        "a late building event does not undo ready"
    );
    let replay = record(&db, "evt_ready", "ready", 10).await;
    assert_eq!(
        replay,
        json!({"deployment": ready["deployment"], "state": "ready", "replayed": true})
    );

    let row = db
        .client
        .query_one(
            "select state, created_at < ready_at, ready_at = finished_at,
                    (select count(*) from observe.deployment_events)
               from observe.deployments",
            &[],
        )
        .await
        .unwrap();
    let (state, created_first, finished, events): (String, bool, bool, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (state.as_str(), created_first, finished, events),
        ("ready", true, true, 2)
    );

    let payload: Value = db
        .scalar("select payload from observe.deployment_events where event_id = 'evt_ready'")
        .await;
    assert_eq!(payload["token"], "[Filtered]", "{payload}");
    assert!(
        !payload.to_string().contains("dev@example.com"),
        "{payload}"
    );

    assert_eq!(
        record(&db, "evt_promoted", "promoted", 5).await["state"],
        "promoted"
    );
    assert_eq!(
        record(&db, "evt_error", "failed", 4).await["state"],
        "failed"
    );
    assert_eq!(
        record(&db, "evt_ready_again", "ready", 3).await["state"],
        "failed",
        "failed is terminal"
    );
}

#[tokio::test]
async fn deploys_meet_releases_and_the_errors_around_them() {
    let db = TestDb::new().await;
    record(&db, "evt_ready", "ready", 10).await;
    db.client
        .batch_execute(
            "select observe.log_error('Timeout after 100ms', service => 'web', environment => 'production',
                                      release => 'web@3f2a9c1', occurred_at => now() - interval '20 minutes');
             select observe.log_error('Cannot read properties of undefined', service => 'web',
                                      environment => 'production', release => 'web@3f2a9c1');
             select observe.log_error('elsewhere', service => 'web', environment => 'staging');",
        )
        .await
        .unwrap();
    let row = db
        .client
        .query_one(
            "select errors_after, new_issues_after, deployed_at is not null from observe.deployments_overview",
            &[],
        )
        .await
        .unwrap();
    let (after, new_after, deployed): (i64, i64, bool) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (after, new_after, deployed),
        (3 - 1, 2, true),
        "staging errors are not production's"
    );

    let release = db
        .client
        .query_one(
            "select deploys, first_deployed_at is not null from observe.releases where version = 'web@3f2a9c1'",
            &[],
        )
        .await
        .unwrap();
    let (deploys, deployed): (i64, bool) = (release.get(0), release.get(1));
    assert_eq!((deploys, deployed), (1, true));
}

#[tokio::test]
async fn bad_deploy_events_get_clear_sqlstates() {
    let db = TestDb::new().await;
    for (sql, expected) in [
        ("select observe.record_deploy_event('netlify', 'e', 'd', 'ready', now())", "22023"),
        ("select observe.record_deploy_event('vercel', 'e', 'd', 'shipped', now())", "22023"),
        ("select observe.record_deploy_event('vercel', null, 'd', 'ready', now())", "22004"),
        ("select observe.record_deploy_event('vercel', 'e', 'd', 'ready', now(), payload => '[1]')", "22023"),
    ] {
        let error = db.client.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&error), expected, "{sql}: {}", message(&error));
    }
}
