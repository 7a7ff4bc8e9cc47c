//! Upgrading equals installing: `ALTER EXTENSION pg_observe UPDATE` from
//! every released version leaves the same catalog as a fresh
//! `CREATE EXTENSION`, and the events captured before the upgrade are still
//! there, counted and grouped as before.

use pg_observe_tests::{catalog, message, sqlstate, TestDb};
use tokio_postgres::Client;

/// Versions whose frozen install script is in `pg_observe/sql/`.
const RELEASED: &[&str] = &["0.1.0"];

/// The version this build installs.
const CURRENT: &str = env!("CARGO_PKG_VERSION");

/// Captures through the API every released version has: named arguments,
/// the JSON forms, a batch, a PL/pgSQL stack, triage, and counts both
/// folded and still queued.
async fn capture_history(client: &Client) {
    client
        .batch_execute(
            "select observe.log_error(format('Timeout after %sms for order %s', 100 * i, i),
                                      service => 'billing', environment => 'production',
                                      release => 'billing@2.3.0', user_ref => 'user-' || (i % 3))
               from generate_series(1, 12) as i;
             select observe.log_error('{\"message\": \"Cannot read properties of undefined\",
                                        \"service\": \"web\", \"stack\": \"TypeError: x\\n    at getUser (/app/src/users.ts:42:17)\",
                                        \"tags\": {\"plan\": \"pro\"}}'::jsonb);
             select observe.log_errors('[{\"message\": \"quota exceeded\", \"service\": \"api\"},
                                         {\"message\": \"quota exceeded\", \"service\": \"api\", \"level\": \"fatal\"}]');
             select observe.fold_counts();
             select observe.log_error('Timeout after 900ms for order 77', service => 'billing',
                                      release => 'billing@2.3.1');
             select observe.log_error('relation \"orders\" does not exist', service => 'db',
                                      stack => E'PL/pgSQL function billing.charge(bigint) line 4 at SQL statement');
             select observe.resolve_issue(id, in_release => 'billing@2.4.0')
               from observe.issue_groups where service = 'billing';
             select observe.ignore_issue(id, until_count => 100)
               from observe.issue_groups where service = 'api';",
        )
        .await
        .unwrap_or_else(|e| panic!("capturing with the old version: {}", message(&e)));
}

/// What an analyst sees, in columns every version has.
async fn observed(client: &Client) -> Vec<String> {
    client
        .query(
            "select format('%s %s %s %s %s %s %s %s', service, fingerprint, title, level, status,
                           events, users, coalesce(resolved_in_release, '-'))
               from observe.issues order by service, fingerprint",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .chain(
            client
                .query(
                    "select format('events=%s activity=%s', (select count(*) from observe.events),
                                   (select count(*) from observe.issue_activity))",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0)),
        )
        .collect()
}

/// Lines of `left` missing from `right`.
fn difference<'a>(left: &'a [String], right: &[String]) -> Vec<&'a str> {
    left.iter()
        .filter(|l| !right.contains(l))
        .map(String::as_str)
        .collect()
}

fn listing(lines: &[&str]) -> String {
    if lines.is_empty() {
        "(none)".to_owned()
    } else {
        lines.join("\n  ")
    }
}

#[tokio::test]
async fn upgrading_from_every_released_version_equals_a_fresh_install() {
    let fresh = TestDb::new().await;
    let expected = catalog(&fresh.client).await;
    assert!(expected.len() > 100, "the catalog query sees the extension");

    for &version in RELEASED {
        let db = TestDb::empty().await;
        db.client
            .batch_execute(&format!("create extension pg_observe version '{version}'"))
            .await
            .unwrap_or_else(|e| panic!("installing {version}: {}", message(&e)));
        capture_history(&db.client).await;
        let before = observed(&db.client).await;

        db.client
            .batch_execute("alter extension pg_observe update")
            .await
            .unwrap_or_else(|e| panic!("upgrading from {version}: {}", message(&e)));
        let installed: String = db
            .scalar("select extversion from pg_extension where extname = 'pg_observe'")
            .await;
        assert_eq!(
            installed, CURRENT,
            "ALTER EXTENSION UPDATE reaches {CURRENT}"
        );

        let upgraded = catalog(&db.client).await;
        let missing = difference(&expected, &upgraded);
        let extra = difference(&upgraded, &expected);
        assert!(
            missing.is_empty() && extra.is_empty(),
            "upgrading from {version} differs from a fresh install of {CURRENT}:\n\
             only in the fresh install:\n  {}\nonly after the upgrade:\n  {}",
            listing(&missing),
            listing(&extra)
        );
        assert_eq!(
            observed(&db.client).await,
            before,
            "events captured with {version} read the same after the upgrade"
        );

        // The session that captured before the upgrade has the old library
        // loaded as well; it is told to reconnect rather than capture with
        // settings the new library cannot see.
        let stale = db
            .client
            .batch_execute("select observe.log_error('from a stale session')")
            .await
            .expect_err("a session holding the old library captured");
        assert_eq!(sqlstate(&stale), "55000", "{}", message(&stale));

        // A new session captures with the new library, into the old issues.
        let session = db.connect().await;
        let issues_before: i64 = db.scalar("select count(*) from observe.issue_groups").await;
        session
            .batch_execute(
                "select observe.log_error('Timeout after 5ms for order 5', service => 'billing',
                                          release => 'billing@2.3.0')",
            )
            .await
            .unwrap_or_else(|e| panic!("capturing after the upgrade: {}", message(&e)));
        let issues_after: i64 = db.scalar("select count(*) from observe.issue_groups").await;
        assert_eq!(
            issues_before, issues_after,
            "the event joined its old issue"
        );
    }
}

/// Right after a new build is installed, a database still at the old
/// version calls the new library; it refuses to capture and says what to do,
/// instead of failing on whatever the old schema lacks.
#[tokio::test]
async fn a_database_at_another_version_is_told_to_upgrade() {
    let db = TestDb::new().await;
    db.client
        .batch_execute("update pg_extension set extversion = '0.1.0' where extname = 'pg_observe'")
        .await
        .unwrap();
    // A session that has not verified the version yet.
    let session = db.connect().await;
    let err = session
        .batch_execute("select observe.log_error('after installing a new build')")
        .await
        .expect_err("captured into a schema of another version");
    assert_eq!(sqlstate(&err), "55000");
    assert!(
        message(&err).contains("ALTER EXTENSION pg_observe UPDATE"),
        "{}",
        message(&err)
    );
    let stored: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(stored, 0);
}
