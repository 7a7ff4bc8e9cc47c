//! The database connection: `DATABASE_URL`, else `SUPABASE_DB_URL` (URL or
//! `key=value` form). TLS is used when the server offers it (`sslmode`
//! prefer, the default) and required with `sslmode=require`, as Supabase's
//! pooler expects.

use std::time::Duration;

use postgres::{Client, Config};
use postgres_native_tls::MakeTlsConnector;

use crate::error::CliError;

pub fn connect() -> Result<Client, CliError> {
    let url = std::env::var("DATABASE_URL")
        .or_else(|_| std::env::var("SUPABASE_DB_URL"))
        .map_err(|_| {
            CliError::Config(
                "set DATABASE_URL (or SUPABASE_DB_URL) to the database pg_observe is installed in"
                    .into(),
            )
        })?;
    let mut config: Config = url
        .parse()
        .map_err(|e| CliError::Config(format!("DATABASE_URL does not parse: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name("pg-observe");
    let tls = native_tls::TlsConnector::new()
        .map_err(|e| CliError::DbUnreachable(format!("TLS setup: {e}")))?;
    config
        .connect(MakeTlsConnector::new(tls))
        .map_err(|e| match e.as_db_error() {
            Some(_) => CliError::from(e),
            None => CliError::DbUnreachable(e.to_string()),
        })
}

/// The one JSON value of a one-row query.
pub fn json(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<serde_json::Value, CliError> {
    Ok(client.query_one(sql, params)?.get(0))
}
