//! Definer code never trusts a schema by its name. A role with
//! `observe_admin` and CREATE on the database plants look-alike `cron` and
//! `net` schemas whose functions would record that they ran (and as whom);
//! every entry point of pg_observe that calls into another extension's
//! schema must refuse instead of calling them.

use pg_observe_tests::{message, sqlstate, TestDb};

use super::login;

/// Every call of pg_observe that reaches into pg_cron's or pg_net's schema
/// and refuses when the extension is not installed.
const ENTRY_POINTS: &[&str] = &[
    "select observe.schedule_tick()",
    "select observe.schedule_jobs()",
    "select observe.unschedule_jobs()",
    "select observe.run_health_checks()",
];

/// Calls that would reach pg_net when it is installed, and do their job
/// without it: configuring the doorbell (as the planter, an admin), and
/// queuing a notification, which rings it (as the superuser the alert
/// evaluator runs as: the worst case, were the planted function called).
const SILENT_WITHOUT_PG_NET: &[(&str, bool)] = &[
    (
        "select observe.configure_dispatch('https://example.com/functions/v1/alert-dispatch',
                                           'ring-token-0123456789abcdef')",
        true,
    ),
    (
        "select observe.enqueue_notification('planted-net', 'firing', 'doorbell', '{}')",
        false,
    ),
];

#[tokio::test]
async fn look_alike_cron_and_net_schemas_are_never_called() {
    let db = TestDb::new().await;
    let attacker = login(&db, "sec_planter", &["observe_admin"]).await;
    db.client
        .batch_execute(&format!(
            "grant create on database {} to sec_planter",
            db.name
        ))
        .await
        .unwrap();
    attacker
        .batch_execute(
            "create schema cron;
             create schema net;
             create table cron.calls (who name, superuser boolean);
             grant insert on cron.calls to public;
             create function cron.schedule_in_database(text, text, text, text) returns bigint
                 language sql as $$
                     insert into cron.calls
                     select current_user, rolsuper from pg_roles where rolname = current_user;
                     select 42::bigint $$;
             create function cron.schedule(text, text, text) returns bigint
                 language sql as $$
                     insert into cron.calls
                     select current_user, rolsuper from pg_roles where rolname = current_user;
                     select 42::bigint $$;
             create function cron.unschedule(text) returns boolean
                 language sql as $$
                     insert into cron.calls
                     select current_user, rolsuper from pg_roles where rolname = current_user;
                     select true $$;
             create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
                                           headers jsonb default '{}', timeout_milliseconds integer default 1000)
                 returns bigint
                 language sql as $$
                     insert into cron.calls
                     select current_user, rolsuper from pg_roles where rolname = current_user;
                     select 42::bigint $$;
             create function net.http_get(url text, params jsonb default '{}', headers jsonb default '{}',
                                          timeout_milliseconds integer default 1000)
                 returns bigint
                 language sql as $$
                     insert into cron.calls
                     select current_user, rolsuper from pg_roles where rolname = current_user;
                     select 42::bigint $$;",
        )
        .await
        .unwrap_or_else(|e| panic!("planting look-alike schemas: {}", message(&e)));

    for call in ENTRY_POINTS {
        let refused = attacker
            .batch_execute(call)
            .await
            .expect_err("an entry point called into a look-alike schema");
        assert_eq!(sqlstate(&refused), "0A000", "{call}: {}", message(&refused));
        assert!(
            message(&refused).contains("is not installed"),
            "{call}: {}",
            message(&refused)
        );
    }
    for (call, as_planter) in SILENT_WITHOUT_PG_NET {
        let client = if *as_planter { &attacker } else { &db.client };
        client
            .batch_execute(call)
            .await
            .unwrap_or_else(|e| panic!("{call}: {}", message(&e)));
    }
    let queued: i64 = db
        .scalar("select count(*) from observe.notifications where idempotency_key = 'planted-net'")
        .await;
    assert_eq!(queued, 1, "the notification was queued");
    let calls: i64 = db.scalar("select count(*) from cron.calls").await;
    assert_eq!(calls, 0, "a planted function ran");
}
