//! Privileges: nothing in `observe` is open to PUBLIC, tables are under row
//! level security, views run as their caller, SECURITY DEFINER functions pin
//! their search_path, and the three roles (plus Supabase's API roles mapped
//! onto them) can do exactly what they are for.
//!
//! Roles are cluster-wide and outlive the test databases, so every login role
//! here is named after its test and reset at the start of it. Supabase's
//! fixed role names are shared by several tests: they are created when
//! missing, never dropped, and changed only under `SUPABASE_ROLES`.

mod budgets;
mod definer;
mod dispatcher;
mod fields;
mod triage;
mod work;

use pg_observe_tests::{capture_and_read, message, sqlstate, TestDb};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_postgres::Client;

const SUPABASE_ROLES_NAMES: [&str; 3] = ["anon", "authenticated", "service_role"];

/// Serialises the tests that create, grant to or hide Supabase's roles:
/// concurrent GRANTs of one membership can collide on pg_auth_members.
static SUPABASE_ROLES: Mutex<()> = Mutex::const_new(());

/// A login role named `role`, member of exactly `grants` among the
/// observe roles (and of nothing else this file grants), connected to `db`.
async fn login(db: &TestDb, role: &str, grants: &[&str]) -> Client {
    let client = db.connect_as(role).await;
    db.client
        .batch_execute(&format!(
            "set client_min_messages = error;
             revoke observe_writer, observe_reader, observe_admin, observe_dispatcher, observe_prober, observe_ingest from {role};"
        ))
        .await
        .expect("reset memberships");
    for grant in grants {
        db.client
            .batch_execute(&format!("grant {grant} to {role}"))
            .await
            .unwrap_or_else(|e| panic!("grant {grant} to {role}: {e}"));
    }
    client
}

/// Captures one event as the superuser and returns its issue id.
async fn seed_issue(db: &TestDb, text: &str) -> i64 {
    capture_and_read(
        &db.client,
        "select observe.log_error($1, service => 'api', user_ref => 'user-1', release => '1.0.0')",
        &[&text],
        "e.issue_id",
    )
    .await
    .get(0)
}

/// Every table and view of the schema, qualified, from the catalog (so a new
/// relation is covered without editing this file).
async fn relations(db: &TestDb, kinds: &str) -> Vec<String> {
    let names: Vec<String> = db
        .client
        .query(
            "select format('%I.%I', n.nspname, c.relname)
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'observe' and c.relkind = any($1::text::\"char\"[])
                and not c.relispartition
              order by 1",
            &[&format!("{{{kinds}}}")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        !names.is_empty(),
        "no relations of kinds {kinds} found in observe"
    );
    names
}

async fn tables(db: &TestDb) -> Vec<String> {
    relations(db, "r,p").await
}

async fn views(db: &TestDb) -> Vec<String> {
    relations(db, "v,m").await
}

/// A call of every function in the schema with NULL arguments, from the catalog.
async fn every_function_call(db: &TestDb) -> Vec<String> {
    let calls: Vec<String> = db
        .client
        .query(
            "select format('select %I.%I(%s)', n.nspname, p.proname,
                           (select string_agg(format('null::%s', format_type(t, null)), ', ' order by i)
                              from unnest(p.proargtypes::oid[]) with ordinality as a(t, i)))
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where n.nspname = 'observe'
              order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0).replace("(null)", "()"))
        .collect();
    assert!(
        calls.len() >= 11,
        "expected the extension's functions, found {calls:?}"
    );
    calls
}

async fn expect_denied(client: &Client, sql: &str, who: &str) {
    match client.batch_execute(sql).await {
        Ok(()) => panic!("{who} ran `{sql}`, which must be denied"),
        Err(e) => assert_eq!(
            sqlstate(&e),
            "42501",
            "{who}: `{sql}` failed with {}, not 42501",
            message(&e)
        ),
    }
}

async fn count(client: &Client, sql: &str, param: i64) -> i64 {
    client
        .query_one(sql, &[&param])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

// ---------------------------------------------------------------------------
// The catalog: what the extension grants and how its objects are declared.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn nothing_in_the_schema_is_granted_to_public() {
    let db = TestDb::new().await;
    // A NULL acl means the built-in default, which for functions includes
    // EXECUTE to PUBLIC; acldefault() makes that visible.
    let rows = db
        .client
        .query(
            "with objects as (
                 select 'schema' as kind, n.nspname::text as name, coalesce(n.nspacl, acldefault('n', n.nspowner)) as acl
                   from pg_namespace n where n.nspname = 'observe'
                 union all
                 select case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'view' else 'table' end,
                        c.oid::regclass::text,
                        coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::\"char\", c.relowner))
                   from pg_class c
                  where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
                 union all
                 select 'function', p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f', p.proowner))
                   from pg_proc p where p.pronamespace = 'observe'::regnamespace
             )
             select o.kind, o.name, a.privilege_type, count(*) over () as objects_with_public
               from objects o, aclexplode(o.acl) a
              where a.grantee = 0
              order by 1, 2, 3",
            &[],
        )
        .await
        .unwrap();
    let granted: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}: {}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2)
            )
        })
        .collect();
    assert!(granted.is_empty(), "granted to PUBLIC: {granted:#?}");

    // The query must actually see the objects it vets.
    let seen: i64 = db.scalar("select (select count(*) from pg_class where relnamespace = 'observe'::regnamespace and relkind in ('r', 'v', 'S'))
                  + (select count(*) from pg_proc where pronamespace = 'observe'::regnamespace)").await;
    assert!(
        seen >= 25,
        "only {seen} relations and functions found in observe"
    );
}

#[tokio::test]
async fn no_type_in_the_schema_is_usable_by_public() {
    let db = TestDb::new().await;
    // Every type that can carry privileges of its own: enums, domains,
    // composites and the row types of tables and views. Array types follow
    // their element type and cannot be granted separately.
    let rows = db
        .client
        .query(
            "select t.oid::regtype::text, count(*) over ()
               from pg_type t, aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) a
              where t.typnamespace = 'observe'::regnamespace
                and not exists (select from pg_type e where e.typarray = t.oid)
                and a.grantee = 0
              order by 1",
            &[],
        )
        .await
        .unwrap();
    let usable: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(
        usable.is_empty(),
        "types with USAGE granted to PUBLIC: {usable:?}"
    );

    let enums: i64 = db.scalar("select count(*) from pg_type where typnamespace = 'observe'::regnamespace and typtype = 'e'").await;
    assert_eq!(
        enums, 2,
        "observe.level and observe.issue_status are vetted"
    );
}

#[tokio::test]
async fn every_table_has_row_level_security() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select c.oid::regclass::text, c.relrowsecurity
               from pg_class c
              where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p')
                and not c.relispartition
              order by 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 7,
        "expected the extension's tables, found {}",
        rows.len()
    );
    let without: Vec<String> = rows
        .iter()
        .filter(|r| !r.get::<_, bool>(1))
        .map(|r| r.get(0))
        .collect();
    assert!(
        without.is_empty(),
        "tables without row level security: {without:?}"
    );
    // Partitions are reached through their parent, whose policies apply;
    // no role may reach one directly.
    let reachable: i64 = db
        .scalar(
            "select count(*) from pg_class c
              cross join (values ('observe_writer'), ('observe_reader'), ('observe_admin'),
                                 ('observe_dispatcher')) as r(role)
              where c.relnamespace = 'observe'::regnamespace and c.relispartition and c.relkind = 'r'
                and has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE')",
        )
        .await;
    assert_eq!(reachable, 0, "a role holds a privilege on a partition");
}

#[tokio::test]
async fn every_view_is_security_invoker() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select c.oid::regclass::text,
                    coalesce((select o.option_value::boolean
                                from pg_options_to_table(c.reloptions) o
                               where o.option_name = 'security_invoker'), false)
               from pg_class c
              where c.relnamespace = 'observe'::regnamespace and c.relkind in ('v', 'm')
              order by 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 4,
        "expected the extension's views, found {}",
        rows.len()
    );
    let definer: Vec<String> = rows
        .iter()
        .filter(|r| !r.get::<_, bool>(1))
        .map(|r| r.get(0))
        .collect();
    assert!(
        definer.is_empty(),
        "views running with their owner's rights: {definer:?}"
    );
}

#[tokio::test]
async fn security_definer_functions_pin_search_path() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select p.oid::regprocedure::text,
                    (select substr(c, length('search_path=') + 1)
                       from unnest(p.proconfig) as c where c like 'search_path=%')
               from pg_proc p
              where p.pronamespace = 'observe'::regnamespace and p.prosecdef
              order by 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 10,
        "expected the extension's SECURITY DEFINER functions, found {}",
        rows.len()
    );
    for row in &rows {
        let function: String = row.get(0);
        let path: Option<String> = row.get(1);
        let Some(path) = path else {
            panic!("{function} is SECURITY DEFINER without a pinned search_path");
        };
        let schemas: Vec<String> = path
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .collect();
        assert_eq!(
            schemas.last().map(String::as_str),
            Some("pg_temp"),
            "{function}: pg_temp must come last, or it is searched first (search_path={path})"
        );
        for unsafe_schema in ["public", "$user"] {
            assert!(
                !schemas.iter().any(|s| s == unsafe_schema),
                "{function}: search_path={path} includes the writable {unsafe_schema}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// observe_writer
// ---------------------------------------------------------------------------

#[tokio::test]
async fn writer_can_call_every_capture_form() {
    let db = TestDb::new().await;
    let writer = login(&db, "sec_writer_capture", &["observe_writer"]).await;
    writer
        .query_one(
            "select observe.log_error('text form', service => 'api')",
            &[],
        )
        .await
        .expect("log_error(text, ...) as writer");
    writer
        .query_one(
            "select observe.log_error($1::jsonb)",
            &[&json!({"message": "json form"})],
        )
        .await
        .expect("log_error(jsonb) as writer");
    let stored: i32 = writer
        .query_one(
            "select observe.log_errors($1::jsonb)",
            &[&json!([{"message": "batch one"}, {"message": "batch two"}])],
        )
        .await
        .expect("log_errors(jsonb) as writer")
        .get(0);
    assert_eq!(stored, 2);
    let events: i64 = db.scalar("select count(*) from observe.events").await;
    assert_eq!(
        events, 4,
        "all four events written by the writer are stored"
    );
}

#[tokio::test]
async fn writer_cannot_read_any_table_or_view() {
    let db = TestDb::new().await;
    seed_issue(&db, "something to read").await;
    let writer = login(&db, "sec_writer_read", &["observe_writer"]).await;
    for relation in relations(&db, "r,p,v,m").await {
        expect_denied(
            &writer,
            &format!("select count(*) from {relation}"),
            "writer",
        )
        .await;
    }
}

#[tokio::test]
async fn writer_cannot_triage_or_change_tables() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "not the writer's to resolve").await;
    let writer = login(&db, "sec_writer_triage", &["observe_writer"]).await;
    for sql in [
        format!("select observe.resolve_issue({issue})"),
        format!("select observe.ignore_issue({issue})"),
        format!("select observe.reopen_issue({issue})"),
        "select observe.tick()".to_owned(),
        "select observe.schedule_tick()".to_owned(),
        "select observe.grant_supabase_roles()".to_owned(),
        format!("delete from observe.issue_groups where id = {issue}"),
        "delete from observe.events".to_owned(),
        format!("update observe.issue_groups set status = 'resolved' where id = {issue}"),
    ] {
        expect_denied(&writer, &sql, "writer").await;
    }
    let status: String = db
        .client
        .query_one(
            "select status::text from observe.issue_groups where id = $1",
            &[&issue],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "unresolved");
}

// ---------------------------------------------------------------------------
// observe_reader
// ---------------------------------------------------------------------------

#[tokio::test]
async fn reader_can_read_every_view_and_table_in_full() {
    let db = TestDb::new().await;
    seed_issue(&db, "visible to readers").await;
    let reader = login(&db, "sec_reader_read", &["observe_reader"]).await;
    // Row level security without a matching policy returns no rows rather
    // than an error, so compare with what the superuser sees. Every relation
    // is the reader's but the installation's secrets, the doorbell's
    // configuration, which holds its ring token, and the Sentry project keys.
    let secrets = [
        "observe.installation",
        "observe.dispatch_config",
        "observe.project_keys",
    ];
    for relation in relations(&db, "r,p,v,m").await {
        if secrets.contains(&relation.as_str()) {
            let refused = reader
                .batch_execute(&format!("select * from {relation}"))
                .await
                .expect_err("a reader read a secret");
            assert_eq!(sqlstate(&refused), "42501", "{relation}");
            continue;
        }
        let sql = format!("select count(*) from {relation}");
        let all: i64 = db.client.query_one(&sql, &[]).await.unwrap().get(0);
        let seen: i64 = reader
            .query_one(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("reader: {sql}: {}", message(&e)))
            .get(0);
        assert_eq!(
            seen, all,
            "reader sees {seen} of the {all} rows of {relation}"
        );
    }
    let issues: i64 = reader
        .query_one("select count(*) from observe.issues", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        issues, 1,
        "the seeded issue is visible through observe.issues"
    );
}

#[tokio::test]
async fn reader_cannot_capture_triage_or_write() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "read only").await;
    let reader = login(&db, "sec_reader_write", &["observe_reader"]).await;
    for sql in [
        "select observe.log_error('from a reader')".to_owned(),
        "select observe.log_error('{\"message\": \"from a reader\"}'::jsonb)".to_owned(),
        "select observe.log_errors('[{\"message\": \"from a reader\"}]'::jsonb)".to_owned(),
        format!("select observe.resolve_issue({issue})"),
        "select observe.tick()".to_owned(),
    ] {
        expect_denied(&reader, &sql, "reader").await;
    }
    for table in tables(&db).await {
        expect_denied(
            &reader,
            &format!("insert into {table} default values"),
            "reader",
        )
        .await;
        expect_denied(&reader, &format!("delete from {table}"), "reader").await;
    }
    expect_denied(
        &reader,
        &format!("update observe.issue_groups set title = 'renamed' where id = {issue}"),
        "reader",
    )
    .await;
    // The pure helpers are for readers too.
    let normalized: String = reader
        .query_one("select observe.normalize_message('order 42 failed')", &[])
        .await
        .expect("normalize_message as reader")
        .get(0);
    assert_eq!(normalized, "order <int> failed");
}

// ---------------------------------------------------------------------------
// observe_admin
// ---------------------------------------------------------------------------

#[tokio::test]
async fn admin_can_resolve_ignore_and_reopen() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "admin triage").await;
    let admin = login(&db, "sec_admin_triage", &["observe_admin"]).await;
    for (sql, expected) in [
        (
            "select (observe.resolve_issue($1, in_release => '1.0.1')).status::text",
            "resolved",
        ),
        (
            "select (observe.ignore_issue($1, until_count => 10)).status::text",
            "ignored",
        ),
        (
            "select (observe.reopen_issue($1)).status::text",
            "unresolved",
        ),
    ] {
        let status: String = admin
            .query_one(sql, &[&issue])
            .await
            .unwrap_or_else(|e| panic!("admin: {sql}: {}", message(&e)))
            .get(0);
        assert_eq!(status, expected, "{sql}");
    }
    let actors: Vec<(String, String)> = admin
        .query(
            "select kind, actor from observe.issue_activity where issue_id = $1 and kind <> 'created' order by id",
            &[&issue],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        actors,
        [
            ("resolved", "sec_admin_triage"),
            ("ignored", "sec_admin_triage"),
            ("reopened", "sec_admin_triage")
        ]
        .map(|(k, a)| (k.to_owned(), a.to_owned())),
        "activity names the admin who acted"
    );
    let summary: serde_json::Value = admin
        .query_one("select observe.tick()", &[])
        .await
        .expect("tick as admin")
        .get(0);
    assert_eq!(summary["woken"], 0);
}

#[tokio::test]
async fn admin_can_delete_single_events() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "erasable").await;
    seed_issue(&db, "erasable").await;
    let admin = login(&db, "sec_admin_delete_event", &["observe_admin"]).await;
    let deleted = admin
        .execute(
            "delete from observe.events where id = (select id from observe.events where issue_id = $1 limit 1)",
            &[&issue],
        )
        .await
        .expect("admin deletes an event");
    assert_eq!(deleted, 1);
    assert_eq!(
        count(
            &db.client,
            "select count(*) from observe.events where issue_id = $1",
            issue
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db.client,
            "select count(*) from observe.issue_groups where id = $1",
            issue
        )
        .await,
        1,
        "deleting an event leaves its issue"
    );
}

#[tokio::test]
async fn deleting_an_issue_removes_everything_that_belongs_to_it() {
    let db = TestDb::new().await;
    let doomed = seed_issue(&db, "erase this issue").await;
    seed_issue(&db, "erase this issue").await;
    let kept = seed_issue(&db, "keep this other one").await;
    // An ignore-until-count leaves counter rows behind as well.
    db.client
        .execute(
            "select observe.ignore_issue($1, until_count => 5)",
            &[&doomed],
        )
        .await
        .unwrap();
    // Folded counts, and then an event still queued.
    db.client
        .execute("select observe.fold_counts()", &[])
        .await
        .unwrap();
    seed_issue(&db, "erase this issue").await;

    let dependents = [
        "select count(*) from observe.events where issue_id = $1",
        "select count(*) from observe.issue_counts where issue_id = $1",
        "select count(*) from observe.count_queue where issue_id = $1",
        "select count(*) from observe.issue_hashes where issue_id = $1",
        "select count(*) from observe.issue_users where issue_id = $1",
        "select count(*) from observe.issue_ignore_counts where issue_id = $1",
    ];
    for sql in dependents {
        assert!(
            count(&db.client, sql, doomed).await > 0,
            "precondition: {sql} has rows"
        );
    }
    let before_kept: Vec<i64> =
        futures::future::join_all(dependents.map(|sql| count(&db.client, sql, kept))).await;

    let admin = login(&db, "sec_admin_delete_issue", &["observe_admin"]).await;
    let deleted = admin
        .execute("delete from observe.issue_groups where id = $1", &[&doomed])
        .await
        .expect("admin deletes an issue");
    assert_eq!(deleted, 1);

    for sql in dependents {
        assert_eq!(
            count(&db.client, sql, doomed).await,
            0,
            "left behind: {sql}"
        );
    }
    let after_kept: Vec<i64> =
        futures::future::join_all(dependents.map(|sql| count(&db.client, sql, kept))).await;
    assert_eq!(
        after_kept, before_kept,
        "the other issue's rows are untouched"
    );
    assert_eq!(
        count(
            &db.client,
            "select count(*) from observe.issues where id = $1",
            doomed
        )
        .await,
        0
    );
    // The history stays, and says who deleted the issue.
    let deletion = db
        .client
        .query_one(
            "select actor, details ->> 'title' from observe.issue_activity
              where issue_id = $1 and kind = 'deleted'",
            &[&doomed],
        )
        .await
        .expect("deleting an issue leaves an activity row");
    assert_eq!(deletion.get::<_, String>(0), "sec_admin_delete_issue");
    assert_eq!(deletion.get::<_, String>(1), "erase this issue");
    assert!(
        count(
            &db.client,
            "select count(*) from observe.issue_activity where issue_id = $1",
            doomed
        )
        .await
            > 1
    );
}

#[tokio::test]
async fn admin_can_read_the_views() {
    let db = TestDb::new().await;
    seed_issue(&db, "admin reads").await;
    let admin = login(&db, "sec_admin_read", &["observe_admin"]).await;
    for view in views(&db).await {
        let sql = format!("select count(*) from {view}");
        let all: i64 = db.client.query_one(&sql, &[]).await.unwrap().get(0);
        let seen: i64 = admin
            .query_one(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("admin: {sql}: {}", message(&e)))
            .get(0);
        assert_eq!(seen, all, "admin sees {seen} of the {all} rows of {view}");
    }
}

// ---------------------------------------------------------------------------
// No role at all
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_role_without_observe_roles_can_do_nothing() {
    let db = TestDb::new().await;
    seed_issue(&db, "private").await;
    let stranger = login(&db, "sec_stranger", &[]).await;
    for call in every_function_call(&db).await {
        expect_denied(&stranger, &call, "a role without observe roles").await;
    }
    for relation in relations(&db, "r,p,v,m").await {
        expect_denied(
            &stranger,
            &format!("select count(*) from {relation}"),
            "a role without observe roles",
        )
        .await;
    }
    for table in tables(&db).await {
        expect_denied(
            &stranger,
            &format!("insert into {table} default values"),
            "a role without observe roles",
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// Supabase's API roles
// ---------------------------------------------------------------------------

/// Creates Supabase's roles when missing (NOLOGIN, as Supabase has them).
/// Never drops them: other tests, and other test binaries, rely on them.
async fn ensure_supabase_roles(db: &TestDb) {
    for role in SUPABASE_ROLES_NAMES {
        db.client
            .batch_execute(&format!(
                "do $$ begin
                   if not exists (select from pg_roles where rolname = '{role}') then
                     create role {role} nologin;
                   end if;
                 exception when duplicate_object or unique_violation then null;
                 end $$;"
            ))
            .await
            .unwrap_or_else(|e| panic!("create role {role}: {e}"));
    }
}

/// Maps the Supabase roles and returns a login role that is a member of `api_role`.
async fn supabase_login(db: &TestDb, login_role: &str, api_role: &str) -> Client {
    let _guard = SUPABASE_ROLES.lock().await;
    ensure_supabase_roles(db).await;
    db.client
        .batch_execute("set client_min_messages = warning; select observe.grant_supabase_roles();")
        .await
        .expect("grant_supabase_roles");
    let client = login(db, login_role, &[]).await;
    db.client
        .batch_execute(&format!("grant {api_role} to {login_role}"))
        .await
        .expect("grant the API role");
    client
}

#[tokio::test]
async fn grant_supabase_roles_needs_the_supabase_roles() {
    let db = TestDb::new().await;
    let _guard = SUPABASE_ROLES.lock().await;
    ensure_supabase_roles(&db).await;
    // The roles are cluster-wide and may exist because of other tests, so
    // this database is shown a cluster without them: renamed inside a
    // transaction that is never committed, which no other session sees.
    db.client.batch_execute("begin").await.unwrap();
    for role in SUPABASE_ROLES_NAMES {
        db.client
            .batch_execute(&format!(
                "alter role {role} rename to hidden_{role}_{}",
                db.name
            ))
            .await
            .unwrap();
    }
    let err = db
        .client
        .query("select * from observe.grant_supabase_roles()", &[])
        .await
        .expect_err("grant_supabase_roles without Supabase's roles must fail");
    db.client.batch_execute("rollback").await.unwrap();

    assert_eq!(sqlstate(&err), "42704", "{}", message(&err));
    assert_eq!(message(&err), "role \"anon\" does not exist");
    let hint = err
        .as_db_error()
        .and_then(|e| e.hint())
        .unwrap_or_default()
        .to_owned();
    assert!(
        hint.contains("observe_writer") && hint.contains("Supabase"),
        "the hint says what to do instead: {hint:?}"
    );
    let names: i64 = db.scalar("select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')").await;
    assert_eq!(names, 3, "the rename was rolled back");
}

#[tokio::test]
async fn grant_supabase_roles_maps_the_api_roles() {
    let db = TestDb::new().await;
    let _guard = SUPABASE_ROLES.lock().await;
    ensure_supabase_roles(&db).await;
    let rows = db
        .client
        .query(
            "select role::text, granted::text from observe.grant_supabase_roles()",
            &[],
        )
        .await
        .expect("grant_supabase_roles with the roles present");
    let granted: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        granted,
        [
            ("anon", "observe_writer"),
            ("authenticated", "observe_writer"),
            ("service_role", "observe_admin"),
            ("anon", "observe_untrusted")
        ]
        .map(|(r, g)| (r.to_owned(), g.to_owned()))
    );
    let memberships = db
        .client
        .query(
            "select r.rolname::text,
                    pg_has_role(r.oid, 'observe_writer', 'member'),
                    pg_has_role(r.oid, 'observe_reader', 'member'),
                    pg_has_role(r.oid, 'observe_admin', 'member')
               from pg_roles r where r.rolname = any($1) order by 1",
            &[&SUPABASE_ROLES_NAMES.to_vec()],
        )
        .await
        .unwrap();
    let actual: Vec<(String, bool, bool, bool)> = memberships
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        actual,
        vec![
            ("anon".to_owned(), true, false, false),
            ("authenticated".to_owned(), true, false, false),
            ("service_role".to_owned(), true, true, true),
        ],
        "(role, writer, reader, admin): anon and authenticated may only write"
    );
    // A second call changes nothing and still succeeds.
    let again = db
        .client
        .query("select * from observe.grant_supabase_roles()", &[])
        .await
        .unwrap();
    assert_eq!(again.len(), granted.len());
    let trust: Vec<(String, bool)> = db
        .client
        .query(
            "select role_name::text, trusted from observe.writer_trust
              where role_name in ('anon', 'authenticated') order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        trust,
        [
            ("anon".to_owned(), false),
            ("authenticated".to_owned(), true)
        ],
        "anon, the public key, is an untrusted writer"
    );
}

#[tokio::test]
async fn anon_and_authenticated_members_can_capture_but_not_read() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "seen by nobody on the API").await;
    for (login_role, api_role) in [
        ("sec_supabase_anon", "anon"),
        ("sec_supabase_authenticated", "authenticated"),
    ] {
        let client = supabase_login(&db, login_role, api_role).await;
        client
            .query_one(
                "select observe.log_error($1::jsonb)",
                &[&json!({"message": "from the browser"})],
            )
            .await
            .unwrap_or_else(|e| panic!("{api_role} member: log_error: {}", message(&e)));
        for relation in relations(&db, "r,p,v,m").await {
            expect_denied(
                &client,
                &format!("select count(*) from {relation}"),
                api_role,
            )
            .await;
        }
        expect_denied(
            &client,
            &format!("select observe.resolve_issue({issue})"),
            api_role,
        )
        .await;
        expect_denied(&client, "delete from observe.events", api_role).await;
    }
    let captured: i64 = db
        .scalar("select count(*) from observe.events where message = 'from the browser'")
        .await;
    assert_eq!(captured, 2);
}

#[tokio::test]
async fn service_role_members_can_triage_and_read() {
    let db = TestDb::new().await;
    let issue = seed_issue(&db, "for the service role").await;
    let client = supabase_login(&db, "sec_supabase_service", "service_role").await;
    let status: String = client
        .query_one("select (observe.resolve_issue($1)).status::text", &[&issue])
        .await
        .unwrap_or_else(|e| panic!("service_role member: resolve_issue: {}", message(&e)))
        .get(0);
    assert_eq!(status, "resolved");
    client
        .execute("select observe.ignore_issue($1)", &[&issue])
        .await
        .expect("service_role member: ignore_issue");
    client
        .execute("select observe.reopen_issue($1)", &[&issue])
        .await
        .expect("service_role member: reopen_issue");
    let seen: i64 = client
        .query_one(
            "select count(*) from observe.issues where id = $1 and status = 'unresolved'",
            &[&issue],
        )
        .await
        .expect("service_role member reads observe.issues")
        .get(0);
    assert_eq!(seen, 1);
}

// ---------------------------------------------------------------------------
// How PostgREST calls the capture functions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn postgrest_named_event_argument_works_for_a_writer() {
    let db = TestDb::new().await;
    let writer = login(&db, "sec_postgrest_writer", &["observe_writer"]).await;
    // PostgREST's RPC: the body arrives as one parameter, passed by name.
    let id: uuid::Uuid = writer
        .query_one(
            "select observe.log_error(event => $1::jsonb)",
            &[&json!({"message": "Checkout failed", "level": "warning", "service": "web"})],
        )
        .await
        .unwrap_or_else(|e| panic!("log_error(event => ...) as writer: {}", message(&e)))
        .get(0);
    let row = db
        .client
        .query_one(
            "select message, level::text, service from observe.events where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ),
        (
            "Checkout failed".to_owned(),
            "warning".to_owned(),
            "web".to_owned()
        )
    );
}

#[tokio::test]
async fn named_text_arguments_resolve_to_the_text_form() {
    let db = TestDb::new().await;
    let writer = login(&db, "sec_named_text", &["observe_writer"]).await;
    let id: uuid::Uuid = writer
        .query_one(
            "select observe.log_error(message => 'x', level => 'info')",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("log_error(message => ..., level => ...): {}", message(&e)))
        .get(0);
    let row = db
        .client
        .query_one(
            "select message, level::text from observe.events where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("x".to_owned(), "info".to_owned())
    );
    // The planner shows which overload the call was bound to: the
    // argument-list one, with its defaults filled in.
    let plan: String = db
        .client
        .query("explain (verbose, costs off) select observe.log_error(message => 'x', level => 'info')", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        plan.contains("observe.log_error('x'::text, 'info'::text, NULL::text"),
        "bound to the text form: {plan}"
    );
}
