//! observe_dispatcher, the alert-dispatch function's role, may claim and
//! settle notifications, record delivery webhooks and count what is
//! pending: nothing else, not even a read of the outbox.

use pg_observe_tests::{message, sqlstate, TestDb};
use uuid::Uuid;

use super::login;

const WORKER_API: [&str; 5] = [
    "observe.claim_notifications(integer,interval)",
    "observe.complete_notification(uuid,text)",
    "observe.fail_notification(uuid,text,interval,boolean)",
    "observe.pending_notifications()",
    "observe.record_delivery(text,text,timestamp with time zone)",
];

#[tokio::test]
async fn the_dispatcher_may_call_the_worker_api_and_nothing_else() {
    let db = TestDb::new().await;
    let dispatcher = login(&db, "sec_dispatcher", &["observe_dispatcher"]).await;

    let executable: Vec<String> = db
        .client
        .query(
            "select replace(p.oid::regprocedure::text, ', ', ',') from pg_proc p
              where p.pronamespace = 'observe'::regnamespace
                and has_function_privilege('sec_dispatcher', p.oid, 'EXECUTE')
              order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(executable, WORKER_API);
    let readable: i64 = db
        .scalar(
            "select count(*) from pg_class c
              where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'v', 'm', 'p')
                and (has_table_privilege('sec_dispatcher', c.oid, 'SELECT')
                     or has_table_privilege('sec_dispatcher', c.oid, 'INSERT')
                     or has_table_privilege('sec_dispatcher', c.oid, 'UPDATE')
                     or has_table_privilege('sec_dispatcher', c.oid, 'DELETE'))",
        )
        .await;
    assert_eq!(readable, 0, "no table or view is open to the dispatcher");

    // The worker API works for it, end to end.
    let ids: Vec<Uuid> = db
        .client
        .query(
            "select observe.enqueue_notification('sec/' || i, 'firing', 's', '{}') from generate_series(1, 2) i",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let claimed = dispatcher
        .query("select id from observe.claim_notifications(10)", &[])
        .await
        .unwrap_or_else(|e| panic!("claim as dispatcher: {}", message(&e)));
    assert_eq!(claimed.len(), 2);
    dispatcher
        .execute(
            "select observe.complete_notification($1, 'email-sec')",
            &[&ids[0]],
        )
        .await
        .unwrap();
    let status: String = dispatcher
        .query_one("select observe.fail_notification($1, 'boom')", &[&ids[1]])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "failed");
    let matched: bool = dispatcher
        .query_one(
            "select observe.record_delivery('email-sec', 'delivered', now())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(matched);
    let pending: i64 = dispatcher
        .query_one("select observe.pending_notifications()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 1);

    for refused in [
        "select * from observe.notifications",
        "select * from observe.dead_notifications",
        "select * from observe.dispatch_config",
        "select observe.enqueue_notification('sec/3', 'firing', 's', '{}')",
        "select observe.configure_dispatch('https://example.com/x')",
        "select observe.log_error('x')",
        "select * from observe.issues",
        "select observe.record_deploy_event('vercel', 'e', 'd', 'ready', now())",
    ] {
        let error = dispatcher.batch_execute(refused).await.expect_err(refused);
        assert_eq!(sqlstate(&error), "42501", "{refused}: {}", message(&error));
    }
}
