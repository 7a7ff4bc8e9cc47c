//! Fixtures for the integration tests: every test gets a database of its own
//! with the extension freshly created, on a cluster `scripts/test.sh`
//! starts, so tests run in parallel without seeing each other's issues. The
//! server-side capture tests use a second cluster, which preloads pg_observe.

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// Connection string of the test cluster's superuser, from the environment.
pub fn cluster_url() -> String {
    std::env::var("PG_OBSERVE_TEST_URL").expect(
        "PG_OBSERVE_TEST_URL is not set: run the integration tests through scripts/test.sh, \
         which starts the PostgreSQL 15 cluster they need",
    )
}

/// Connection string of the superuser of the cluster that preloads
/// pg_observe (`shared_preload_libraries = 'pg_cron,pg_observe'`), for the
/// server-side capture tests.
pub fn preload_cluster_url() -> String {
    std::env::var("PG_OBSERVE_PRELOAD_TEST_URL").expect(
        "PG_OBSERVE_PRELOAD_TEST_URL is not set: the server-side capture tests need a cluster \
         started with shared_preload_libraries = 'pg_cron,pg_observe'; run them through \
         scripts/test.sh, which starts it",
    )
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    tokio::spawn(async move {
        // The connection ends when the client is dropped; errors surface
        // through the client's futures.
        let _ = connection.await;
    });
    client
}

/// A database holding a fresh `CREATE EXTENSION pg_observe`, dropped when the
/// test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
    /// The superuser's connection string of the cluster the database is on.
    pub cluster: String,
    /// Superuser connection to the test database.
    pub client: Client,
}

impl TestDb {
    pub async fn new() -> TestDb {
        Self::with_extensions(&["pg_observe"]).await
    }

    pub async fn with_extensions(extensions: &[&str]) -> TestDb {
        Self::on(&cluster_url(), extensions).await
    }

    /// A database on the cluster at `cluster` holding `extensions`.
    pub async fn on(cluster: &str, extensions: &[&str]) -> TestDb {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(cluster).await;
        admin
            .batch_execute(&format!("create database {name}"))
            .await
            .expect("create test database");
        let url = format!("{cluster} dbname={name}");
        let client = connect(&url).await;
        for ext in extensions {
            client
                .batch_execute(&format!("create extension {ext}"))
                .await
                .unwrap_or_else(|e| panic!("create extension {ext}: {}", message(&e)));
        }
        TestDb {
            name,
            url,
            cluster: cluster.to_owned(),
            client,
        }
    }

    /// A database with nothing installed, for tests that install a
    /// particular version themselves.
    pub async fn empty() -> TestDb {
        Self::with_extensions(&[]).await
    }

    /// The single value of a one-row, one-column query without parameters.
    pub async fn scalar<T: tokio_postgres::types::FromSqlOwned>(&self, sql: &str) -> T {
        self.client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)))
            .get(0)
    }

    /// The first column of every row of a query without parameters.
    pub async fn column<T: tokio_postgres::types::FromSqlOwned>(&self, sql: &str) -> Vec<T> {
        self.client
            .query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)))
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// Another superuser connection to the same database.
    pub async fn connect(&self) -> Client {
        connect(&self.url).await
    }

    /// A connection as `role` (a login role is created on first use).
    pub async fn connect_as(&self, role: &str) -> Client {
        self.client
            .batch_execute(&format!(
                "do $$ begin
                   if not exists (select from pg_roles where rolname = '{role}') then
                     create role {role} login;
                   end if;
                 end $$;
                 alter role {role} login;
                 grant connect on database {db} to {role};",
                db = self.name
            ))
            .await
            .expect("create login role");
        connect(&format!("{} user={role}", self.url)).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let cluster = self.cluster.clone();
        // Dropping needs the test's connections closed; a short-lived thread
        // with its own runtime does it without blocking the test runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = connect(&cluster).await;
                let _ = admin
                    .batch_execute(&format!("drop database if exists {name} with (force)"))
                    .await;
            });
        })
        .join();
    }
}

/// What the extension defines in the catalog of the connected database, one
/// sorted line per fact, independent of oids and creation order (see
/// `tests/sql/catalog.sql`).
pub async fn catalog(client: &Client) -> Vec<String> {
    client
        .query(include_str!("../sql/catalog.sql"), &[])
        .await
        .unwrap_or_else(|e| panic!("reading the catalog: {}", message(&e)))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The SQLSTATE of a failed statement, for asserting on error classes.
pub fn sqlstate(error: &tokio_postgres::Error) -> String {
    error
        .code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| panic!("not a database error: {error}"))
}

/// The server's message of a failed statement.
pub fn message(error: &tokio_postgres::Error) -> String {
    error
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| error.to_string())
}

/// Polls `check` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs a capture call (a statement returning the event id), then reads
/// `columns` of that event in a second statement: a statement cannot see rows
/// that a volatile function it calls has inserted.
pub async fn capture_and_read(
    client: &Client,
    capture_sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    columns: &str,
) -> tokio_postgres::Row {
    let id: uuid::Uuid = client
        .query_one(capture_sql, params)
        .await
        .unwrap_or_else(|e| panic!("{capture_sql}: {e}"))
        .get(0);
    client
        .query_one(
            &format!(
                "select {columns} from observe.events e
                   join observe.issue_groups g on g.id = e.issue_id
                  where e.id = $1"
            ),
            &[&id],
        )
        .await
        .unwrap_or_else(|e| panic!("reading event {id}: {e}"))
}

/// Installs the test double of pg_net's SQL surface (tests/fixtures/
/// pg_net_double): pg_net itself is not packaged for this PostgreSQL.
pub fn install_pg_net_double() {
    let output = std::process::Command::new("pg_config")
        .arg("--sharedir")
        .output()
        .expect("pg_config");
    let extension_dir = format!(
        "{}/extension",
        String::from_utf8(output.stdout).unwrap().trim()
    );
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pg_net_double");
    for file in ["pg_net.control", "pg_net--0.0.0-double.sql"] {
        let wanted = std::fs::read(format!("{fixtures}/{file}")).unwrap();
        let target = format!("{extension_dir}/{file}");
        if std::fs::read(&target).ok().as_ref() != Some(&wanted) {
            std::fs::write(&target, &wanted)
                .unwrap_or_else(|e| panic!("installing the pg_net double into {target}: {e}"));
        }
    }
}
