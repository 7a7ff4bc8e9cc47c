//! Untrusted writers cannot drive triage. An anon event with a made-up
//! newer release used to reopen an issue resolved in an older one, and
//! 1,000 anon events used to end an `ignore_issue(id, until_count => 1000)`.
//! Their events are still counted and stored, with the role that wrote them.

use pg_observe_tests::{message, TestDb};

use super::login;

async fn status(db: &TestDb, issue: i64) -> String {
    db.client
        .query_one(
            "select status::text from observe.issue_groups where id = $1",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0)
}

/// An issue of service billing, first seen in `billing@2.4.0` from a
/// trusted writer, which makes that release known.
async fn billing_issue(db: &TestDb) -> i64 {
    let trusted = login(db, "sec_triage_app", &["observe_writer"]).await;
    trusted
        .batch_execute(
            "select observe.log_error('card declined', service => 'billing', release => 'billing@2.4.0')",
        )
        .await
        .unwrap();
    db.scalar("select id from observe.issue_groups where service = 'billing'")
        .await
}

#[tokio::test]
async fn a_spoofed_release_does_not_reopen_a_resolved_issue() {
    let db = TestDb::new().await;
    let issue = billing_issue(&db).await;
    db.client
        .execute(
            "select observe.resolve_issue($1, in_release => 'billing@2.4.0')",
            &[&issue],
        )
        .await
        .unwrap();
    let anon = login(&db, "sec_triage_anon", &["observe_writer"]).await;
    db.client
        .batch_execute("select observe.set_writer_trust('sec_triage_anon', false)")
        .await
        .unwrap();
    anon.batch_execute(
        "select observe.log_error('card declined', service => 'billing', release => 'billing@99.0.0')",
    )
    .await
    .unwrap();
    assert_eq!(
        status(&db, issue).await,
        "resolved",
        "a made-up release reopened the issue"
    );
    let stored: (String, String) = db
        .client
        .query_one(
            "select release, writer_role::text from observe.events where release = 'billing@99.0.0'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("the event is stored as given");
    assert_eq!(
        stored,
        ("billing@99.0.0".to_owned(), "sec_triage_anon".to_owned())
    );
    let known: i64 = db
        .scalar("select count(*) from observe.known_releases where version = 'billing@99.0.0'")
        .await;
    assert_eq!(known, 0, "an untrusted event made its release known");

    // Once a deploy (or an admin) makes the release known, the same event
    // is a regression.
    db.client
        .batch_execute("select observe.register_release('billing', 'billing@99.0.0')")
        .await
        .unwrap();
    anon.batch_execute(
        "select observe.log_error('card declined', service => 'billing', release => 'billing@99.0.0')",
    )
    .await
    .unwrap();
    assert_eq!(status(&db, issue).await, "unresolved");
    let reason: String = db
        .scalar("select status_reason from observe.issue_groups where service = 'billing'")
        .await;
    assert_eq!(reason, "regression");
}

#[tokio::test]
async fn untrusted_events_do_not_end_an_ignore_by_count() {
    let db = TestDb::new().await;
    let issue = billing_issue(&db).await;
    db.client
        .execute(
            "select observe.ignore_issue($1, until_count => 1000)",
            &[&issue],
        )
        .await
        .unwrap();
    let anon = login(&db, "sec_triage_flood", &["observe_writer"]).await;
    db.client
        .batch_execute("select observe.set_writer_trust('sec_triage_flood', false)")
        .await
        .unwrap();
    anon.batch_execute(
        "select observe.log_error('card declined', service => 'billing') from generate_series(1, 1000)",
    )
    .await
    .unwrap();
    assert_eq!(status(&db, issue).await, "ignored");
    let counted: i64 = db
        .scalar("select events from observe.issues where service = 'billing'")
        .await;
    assert_eq!(
        counted, 1001,
        "the untrusted events are counted all the same"
    );

    // Trusted events still count towards the condition.
    db.client
        .batch_execute(
            "select observe.ignore_issue(id, until_count => 3) from observe.issue_groups",
        )
        .await
        .unwrap();
    let app = login(&db, "sec_triage_app", &["observe_writer"]).await;
    app.batch_execute(
        "select observe.log_error('card declined', service => 'billing') from generate_series(1, 3)",
    )
    .await
    .unwrap();
    assert_eq!(status(&db, issue).await, "unresolved");
}

#[tokio::test]
async fn activity_records_the_acting_role() {
    let db = TestDb::new().await;
    let issue = billing_issue(&db).await;
    // PostgREST logs in as one role and acts as another.
    let admin = login(&db, "sec_triage_authenticator", &[]).await;
    db.client
        .batch_execute(
            "do $$ begin
               if not exists (select from pg_roles where rolname = 'sec_triage_service') then
                 create role sec_triage_service nologin;
               end if;
             end $$;
             grant observe_admin to sec_triage_service;
             grant sec_triage_service to sec_triage_authenticator;",
        )
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "set role sec_triage_service; select observe.resolve_issue({issue});"
        ))
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    let actor: String = db
        .client
        .query_one(
            "select actor from observe.issue_activity where issue_id = $1 and kind = 'resolved'",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        actor, "sec_triage_service",
        "not session_user, not the definer"
    );
}

#[tokio::test]
async fn a_deployed_commit_makes_its_release_known() {
    let db = TestDb::new().await;
    let issue = billing_issue(&db).await;
    db.client
        .execute("select observe.resolve_issue($1)", &[&issue])
        .await
        .unwrap();
    let anon = login(&db, "sec_triage_deployed", &["observe_writer"]).await;
    db.client
        .batch_execute("select observe.set_writer_trust('sec_triage_deployed', false)")
        .await
        .unwrap();
    let event = "select observe.log_error('card declined', service => 'billing', release => 'billing@3f2a9c1')";
    anon.batch_execute(event).await.unwrap();
    assert_eq!(
        status(&db, issue).await,
        "resolved",
        "an undeployed commit regressed it"
    );
    db.client
        .batch_execute(
            "select observe.record_deploy_event('vercel', 'evt-1', 'dpl_1', 'ready', now(),
                                                commit_sha => '3f2a9c1e0b5d4c7a8f9e1d2c3b4a5f6e7d8c9b0a',
                                                environment => 'production')",
        )
        .await
        .unwrap_or_else(|e| panic!("{}", message(&e)));
    anon.batch_execute(event).await.unwrap();
    assert_eq!(
        status(&db, issue).await,
        "unresolved",
        "the deployed release regresses it"
    );
}
