//! Every field that can carry a secret goes through the scrubber, or is
//! refused when it names something (service, environment, release); user
//! references are counted by a keyed hash; errors never echo what they
//! refuse.

use pg_observe_tests::{message, sqlstate, TestDb};

use super::login;

const SECRETS: &[&str] = &[
    "someone@example.com",
    "hunter2",
    "sk_live",
    "owner@example.com",
    "123-45-6789",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} keeps {secret}: {text}");
    }
}

#[tokio::test]
async fn identifier_fields_holding_secrets_are_refused_without_echo() {
    let db = TestDb::new().await;
    for sql in [
        "select observe.log_error('boom', service => 'owner@example.com')",
        "select observe.log_error('boom', release => 'token=hunter2')",
        "select observe.log_error('{\"message\": \"boom\", \"environment\": \"sk_live_51H8abcdEFGHijklMNOPqrst\"}'::jsonb)",
        "select observe.log_error('boom', level => 'password=hunter2')",
        "select observe.log_error('{\"message\": \"x\", \"someone@example.com\": 1}'::jsonb)",
    ] {
        let err = db.client.batch_execute(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "22023", "{sql}: {}", message(&err));
        assert_clean(sql, &message(&err));
    }
}

#[tokio::test]
async fn free_text_fields_are_scrubbed_everywhere_they_are_copied() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.log_error('boom',
                                      exception_type => 'someone@example.com password=hunter2',
                                      request_id => 'Bearer sk_live_51H8abcdEFGHijklMNOPqrst')",
        )
        .await
        .unwrap();
    let stored: String = db
        .scalar(
            "select concat_ws(' | ', e.exception_type, e.request_id, g.title, g.exception_type,
                              (select string_agg(details::text, ' ') from observe.issue_activity))
               from observe.events e join observe.issue_groups g on g.id = e.issue_id",
        )
        .await;
    assert_clean("events, issues and activity", &stored);
}

#[tokio::test]
async fn postgres_key_details_are_scrubbed_by_column_name() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.log_error('duplicate key value violates unique constraint \"people_ssn_key\" \
              DETAIL: Key (ssn)=(123-45-6789) already exists.');
             select observe.log_error('duplicate key value violates unique constraint \"keys_pkey\" \
              DETAIL: Key (tenant, api_key)=(acme, sk_live_51H8abcdEFGHijklMNOPqrst) already exists.');",
        )
        .await
        .unwrap();
    let messages: String = db
        .scalar("select string_agg(message, ' ') from observe.events")
        .await;
    assert_clean("messages", &messages);
    assert!(
        messages.contains("Key (tenant, api_key)=(acme, "),
        "{messages}"
    );
}

#[tokio::test]
async fn a_reader_cannot_confirm_a_guessed_user() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "select observe.log_error('boom', user_ref => 'alice@example.com');
             select observe.fold_counts();",
        )
        .await
        .unwrap();
    let reader = login(&db, "sec_fields_reader", &["observe_reader"]).await;
    // The unkeyed hash 0.1.0 stored: the first 8 bytes of md5(reference).
    let guessed: i64 = reader
        .query_one(
            "select count(*) from observe.issue_users
              where user_hash = ('x' || left(md5('alice@example.com'), 16))::bit(64)::bigint",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        guessed, 0,
        "the stored hash confirms a guessed e-mail address"
    );
    let users: i64 = reader
        .query_one("select users from observe.issues", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1, "users are still counted");
    let key = reader
        .batch_execute("select * from observe.installation")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&key), "42501");
}
