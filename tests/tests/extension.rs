//! The extension as a unit: DROP EXTENSION leaves nothing behind but the
//! (cluster-wide) roles, CREATE EXTENSION works again afterwards, and the
//! control file pins the schema.

use pg_observe_tests::{message, sqlstate, TestDb};
use tokio_postgres::Client;

/// Every object in the observe schema, as text that `to_reg*` can look up again.
async fn observe_objects(client: &Client) -> (Vec<String>, Vec<String>, Vec<String>) {
    let list = |sql: &'static str| async move {
        client
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    (
        list("select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'observe'::regnamespace").await,
        list("select t.oid::regtype::text from pg_type t where t.typnamespace = 'observe'::regnamespace").await,
        list("select c.oid::regclass::text from pg_class c where c.relnamespace = 'observe'::regnamespace").await,
    )
}

async fn extension_oid(client: &Client) -> Option<tokio_postgres::types::Oid> {
    client
        .query_opt(
            "select oid from pg_extension where extname = 'pg_observe'",
            &[],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

#[tokio::test]
async fn drop_extension_removes_every_object() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.execute("select observe.log_error('before the drop')", &[])
        .await
        .unwrap();
    let ext = extension_oid(c).await.expect("the extension is installed");
    let (functions, types, relations) = observe_objects(c).await;
    assert!(
        functions.len() >= 11 && types.len() >= 2 && relations.len() >= 12,
        "objects to check exist"
    );
    let members: i64 = c
        .query_one(
            "select count(*) from pg_depend where refclassid = 'pg_extension'::regclass and refobjid = $1",
            &[&ext],
        )
        .await
        .unwrap()
        .get(0);
    assert!(members > 0, "the extension owns its objects");

    c.batch_execute("drop extension pg_observe")
        .await
        .expect("drop extension");

    let left: i64 = c
        .query_one(
            "select count(*) from pg_depend
              where (refclassid = 'pg_extension'::regclass and refobjid = $1)
                 or (classid = 'pg_extension'::regclass and objid = $1)",
            &[&ext],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "pg_depend still references the dropped extension");
    let schema: Option<String> = c
        .query_one("select to_regnamespace('observe')::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(schema, None, "schema observe is gone");
    // Compared as text: to_regprocedure() raises rather than answering NULL
    // when an argument type's schema (observe.issue_status) is gone.
    for function in &functions {
        let found: i64 = c
            .query_one(
                "select count(*) from pg_proc p where p.oid::regprocedure::text = $1",
                &[function],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 0, "function {function} survived the drop");
    }
    for object in types.iter().chain(&relations) {
        let found: Option<String> = c
            .query_one(
                "select coalesce(to_regtype($1)::text, to_regclass($1)::text)",
                &[object],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, None, "{object} survived the drop");
    }
    // Objects elsewhere that name the extension's: policies, triggers, and the
    // roles' privileges recorded in this database.
    let leftovers: i64 = c
        .query_one(
            "select (select count(*) from pg_policy where polname in ('reader_select', 'admin_delete'))
                  + (select count(*) from pg_trigger where tgname like 'issue_groups_%')
                  + (select count(*) from pg_shdepend d join pg_roles r on r.oid = d.refobjid
                      where d.dbid = (select oid from pg_database where datname = current_database())
                        and r.rolname in ('observe_writer', 'observe_reader', 'observe_admin'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        leftovers, 0,
        "policies, triggers or privileges outlived the extension"
    );
}

#[tokio::test]
async fn the_roles_survive_the_drop() {
    let db = TestDb::new().await;
    db.client
        .batch_execute("drop extension pg_observe")
        .await
        .unwrap();
    let roles: Vec<String> = db
        .client
        .query(
            "select rolname::text from pg_roles
              where rolname in ('observe_writer', 'observe_reader', 'observe_admin') order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        roles,
        ["observe_admin", "observe_reader", "observe_writer"],
        "roles are cluster-wide"
    );
    let admin_inherits: bool = db
        .scalar(
            "select pg_has_role('observe_admin', 'observe_writer', 'member')
                and pg_has_role('observe_admin', 'observe_reader', 'member')",
        )
        .await;
    assert!(admin_inherits, "observe_admin keeps its memberships");
}

#[tokio::test]
async fn create_extension_again_works_and_captures() {
    let db = TestDb::new().await;
    let c = &db.client;
    c.execute(
        "select observe.log_error('first life', release => '1.0.0')",
        &[],
    )
    .await
    .unwrap();
    c.batch_execute("drop extension pg_observe; create extension pg_observe;")
        .await
        .expect("drop and create again");

    // A fresh connection: a new backend with nothing cached.
    let fresh = db.connect().await;
    let id: uuid::Uuid = fresh
        .query_one(
            "select observe.log_error('second life', release => '1.0.0')",
            &[],
        )
        .await
        .expect("capture after re-creating the extension")
        .get(0);
    let row = fresh
        .query_one(
            "select (select count(*) from observe.events),
                    (select message from observe.events where id = $1),
                    (select count(*) from observe.issues),
                    (select count(*) from observe.releases where version = '1.0.0')",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "the first life's events are gone");
    assert_eq!(row.get::<_, String>(1), "second life");
    assert_eq!(row.get::<_, i64>(2), 1);
    assert_eq!(row.get::<_, i64>(3), 1, "the release is recorded");

    // The privileges are back too.
    let writer_may_capture: bool = fresh
        .query_one(
            "select has_function_privilege('observe_writer', 'observe.log_error(jsonb)', 'execute')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(writer_may_capture);
}

#[tokio::test]
async fn a_session_that_outlives_its_extension_captures_into_the_new_one() {
    let db = TestDb::new().await;
    let c = &db.client;
    // This backend keeps prepared plans from its first capture, and they must
    // not outlive the objects they describe.
    c.execute(
        "select observe.log_error('first life', release => '2.0.0')",
        &[],
    )
    .await
    .unwrap();
    c.batch_execute("drop extension pg_observe; create extension pg_observe;")
        .await
        .unwrap();
    let id: uuid::Uuid = c
        .query_one(
            "select observe.log_error('second life', release => '2.0.0')",
            &[],
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "capture in the same session after re-creating: {}",
                message(&e)
            )
        })
        .get(0);
    let row = c
        .query_one(
            "select (select count(*) from observe.events where id = $1),
                    (select coalesce(sum(events), 0)::bigint from observe.event_counts where resolution = 'minute'),
                    (select count(*) from observe.releases where service = 'default' and version = '2.0.0')",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "event stored");
    assert_eq!(row.get::<_, i64>(1), 1, "event counted");
    assert_eq!(
        row.get::<_, i64>(2),
        1,
        "release 2.0.0 recorded in the new observe.releases"
    );
}

#[tokio::test]
async fn cached_issue_ids_do_not_outlive_a_recreated_extension() {
    let db = TestDb::new().await;
    let c = &db.client;
    // This backend learns that message A is issue 1.
    c.execute("select observe.log_error('message A')", &[])
        .await
        .unwrap();
    c.batch_execute("drop extension pg_observe; create extension pg_observe;")
        .await
        .unwrap();
    // Identity values start over: in the new installation issue 1 is B.
    c.execute("select observe.log_error('message B')", &[])
        .await
        .unwrap();
    c.execute("select observe.log_error('message A')", &[])
        .await
        .unwrap();
    let rows = c
        .query(
            "select i.title, count(e.id)
               from observe.issues i join observe.events e on e.issue_id = i.id
              group by i.title order by i.title",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![("message A".to_owned(), 1), ("message B".to_owned(), 1)],
        "A must not be attributed to the new issue 1"
    );
}

#[tokio::test]
async fn the_schema_is_pinned_by_the_control_file() {
    let db = TestDb::with_extensions(&[]).await;
    let err = db
        .client
        .batch_execute("create extension pg_observe schema public")
        .await
        .expect_err("CREATE EXTENSION ... SCHEMA public must be refused");
    assert_eq!(sqlstate(&err), "0A000", "{}", message(&err));
    assert!(
        message(&err).contains("must be installed in schema \"pg_catalog\""),
        "{}",
        message(&err)
    );
    let installed: i64 = db
        .scalar("select count(*) from pg_extension where extname = 'pg_observe'")
        .await;
    assert_eq!(installed, 0);
    let in_public: i64 = db.scalar("select count(*) from pg_proc where pronamespace = 'public'::regnamespace and proname = 'log_error'").await;
    assert_eq!(in_public, 0, "nothing was created in public");
}
