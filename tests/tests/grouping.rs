//! Grouping through the SQL API: normalize_message, fingerprint, and how
//! captured events group into issues.

use pg_observe_tests::TestDb;

#[tokio::test]
async fn normalize_message_replaces_variable_parts() {
    let db = TestDb::new().await;
    let row = db
        .client
        .query_one(
            "select observe.normalize_message('Timeout after 3000ms for user 42'),
                    observe.normalize_message('Timeout after 1500ms for user 7'),
                    observe.normalize_message(null)",
            &[],
        )
        .await
        .unwrap();
    let (a, b): (String, String) = (row.get(0), row.get(1));
    assert_eq!(a, b);
    assert!(!a.contains("3000") && !a.contains("42"), "{a}");
    assert_eq!(row.get::<_, Option<String>>(2), None);
}

#[tokio::test]
async fn fingerprint_is_immutable_and_indexable() {
    let db = TestDb::new().await;
    let c = &db.client;
    // IMMUTABLE is what lets analysts index and group stored messages by it.
    c.batch_execute(
        "create table app_errors (message text);
         create index on app_errors (observe.fingerprint(message));
         insert into app_errors
         select format('User %s not found in tenant %s', i, gen_random_uuid()) from generate_series(1, 100) i
         union all
         select format('Payment %s declined', i) from generate_series(1, 50) i;",
    )
    .await
    .unwrap();
    let groups: i64 = c
        .query_one(
            "select count(distinct observe.fingerprint(message)) from app_errors",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(groups, 2);
    let props = c
        .query_one(
            "select provolatile::text, proparallel::text from pg_proc
              where oid = 'observe.fingerprint(text, text, text, text[])'::regprocedure",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (props.get::<_, String>(0), props.get::<_, String>(1)),
        ("i".into(), "s".into())
    );
}

#[tokio::test]
async fn fingerprint_precedence_custom_then_stack_then_message() {
    let db = TestDb::new().await;
    let c = &db.client;
    let fp =
        |sql: &'static str| async move { c.query_one(sql, &[]).await.unwrap().get::<_, String>(0) };
    let stack_a = "TypeError: x\n    at getUser (/app/src/users.ts:42:17)\n    at main (/app/src/index.ts:3:1)";
    let stack_b = "TypeError: y\n    at getUser (/var/task/src/users.ts:57:3)\n    at main (/var/task/src/index.ts:9:9)";
    let by_stack_a: String = c
        .query_one(
            "select observe.fingerprint('a', 'TypeError', $1)",
            &[&stack_a],
        )
        .await
        .unwrap()
        .get(0);
    let by_stack_b: String = c
        .query_one(
            "select observe.fingerprint('b', 'TypeError', $1)",
            &[&stack_b],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        by_stack_a, by_stack_b,
        "line numbers and deploy paths do not split issues"
    );

    assert_ne!(
        fp("select observe.fingerprint('boom', 'TypeError')").await,
        fp("select observe.fingerprint('boom', 'RangeError')").await
    );
    assert_eq!(
        fp("select observe.fingerprint('one', fingerprint => array['checkout'])").await,
        fp("select observe.fingerprint('two', fingerprint => array['checkout'])").await
    );
    assert_ne!(
        fp("select observe.fingerprint('one', fingerprint => array['{{ default }}', 'eu'])").await,
        fp("select observe.fingerprint('two', fingerprint => array['{{ default }}', 'eu'])").await
    );
}

#[tokio::test]
async fn events_group_into_issues_per_service() {
    let db = TestDb::new().await;
    let c = &db.client;
    for (service, message) in [
        ("api", "User 1 not found"),
        ("api", "User 2 not found"),
        ("api", "User 3 not found"),
        ("web", "User 4 not found"),
        ("api", "Payment declined"),
    ] {
        c.execute(
            "select observe.log_error($1, service => $2)",
            &[&message, &service],
        )
        .await
        .unwrap();
    }
    let rows = c
        .query(
            "select service, title, events from observe.issues order by service, events desc",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("api".into(), "User 1 not found".into(), 3),
            ("api".into(), "Payment declined".into(), 1),
            ("web".into(), "User 4 not found".into(), 1),
        ]
    );
}

#[tokio::test]
async fn stack_issues_get_culprit_and_survive_frames_changing_sides() {
    let db = TestDb::new().await;
    let c = &db.client;
    let v1 = "Error: boom\n    at handler (/app/src/api/orders.ts:10:5)\n    at dispatch (/app/node_modules/express/lib/router/layer.js:95:5)";
    // The same code with the router copied into the app: every frame is in-app now.
    let v2 = "Error: boom\n    at handler (/app/src/api/orders.ts:12:5)\n    at dispatch (/app/src/lib/router/layer.js:95:5)";
    for stack in [v1, v2] {
        c.execute("select observe.log_error('boom', stack => $1)", &[&stack])
            .await
            .unwrap();
    }
    let rows = c
        .query(
            "select culprit, events, grouping_basis from observe.issues",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the all-frames hash keeps one issue");
    assert!(rows[0].get::<_, String>(0).contains("handler"));
    assert_eq!(rows[0].get::<_, i64>(1), 2);
    assert_eq!(rows[0].get::<_, String>(2), "stack");
    let hashes: i64 = c
        .query_one("select count(*) from observe.issue_hashes", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        hashes >= 2,
        "the issue answers to every variant it has seen"
    );
}

/// Frames whose syntax looks like a secret survive capture: the stack is
/// parsed before it is scrubbed, so `s@33.js:1:531` (React Native on iOS)
/// is a frame, not an e-mail address, in the stored text and the culprit.
#[tokio::test]
async fn frames_that_look_like_addresses_keep_their_stack() {
    let db = TestDb::new().await;
    let stack = "TypeError: undefined is not an object (evaluating 'e.id')\n\
                 s@33.js:1:531\n\
                 value@index.android.bundle:12:1917\n\
                 forEach@[native code]";
    let row = pg_observe_tests::capture_and_read(
        &db.client,
        "select observe.log_error('undefined is not an object', service => 'mobile', stack => $1)",
        &[&stack],
        "e.stack, g.culprit, g.grouping_basis, e.exception_type",
    )
    .await;
    let (stored, culprit): (String, String) = (row.get(0), row.get(1));
    assert!(
        stored.contains("s@33.js:1:531") && stored.contains("value@index.android.bundle:12:1917"),
        "{stored}"
    );
    // A bare `33.js` reads as a runtime file; the bundle is the app's.
    assert_eq!(culprit, "value (index.android.bundle)");
    assert_eq!(row.get::<_, String>(2), "stack");
    assert_eq!(row.get::<_, String>(3), "TypeError");
}

/// A `blob:` URL gets a fresh UUID on every page load; events of the same
/// code from two loads are one issue with one culprit.
#[tokio::test]
async fn blob_urls_group_stably_across_page_loads() {
    let db = TestDb::new().await;
    for load in [
        "abfc40e9-4742-44ed-9dcd-af8f99a29379",
        "0d6ce5b2-1f0e-4a8e-9c0b-5f3f4a2f7e11",
    ] {
        let stack = format!(
            "Error: worker failed\n    at crunch (blob:https://app.example.com/{load}:14:9)\n    \
             at onmessage (blob:https://app.example.com/{load}:3:5)"
        );
        db.client
            .execute(
                "select observe.log_error('worker failed', service => 'web', stack => $1)",
                &[&stack],
            )
            .await
            .unwrap();
    }
    let rows = db
        .client
        .query(
            "select count(*)::bigint, max(culprit) from observe.issues where service = 'web'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 1, "one issue for both page loads");
    let culprit: String = rows[0].get(1);
    assert!(!culprit.contains("abfc40e9"), "{culprit}");
}
