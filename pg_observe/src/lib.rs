//! pg_observe: error capture, grouping and triage inside PostgreSQL.
//!
//! This crate is the thin pgrx layer: SQL functions, settings and storage.
//! What to store is decided by `pg_observe_core`, which has no Postgres in it.

use pgrx::prelude::*;

mod alerting;
mod capture;
mod catalog_changes;
mod deploy_safety;
mod deploys;
mod direct_insert;
mod errors;
mod grouping;
mod health;
mod jsonb;
mod lifecycle;
mod log_error;
mod logs;
mod maintenance;
mod partitions;
mod pgtime;
mod requests;
mod sentry;
mod server_capture;
mod settings;
mod subtransaction;
#[cfg(any(test, feature = "pg_test"))]
mod tests;
mod version;

::pgrx::pg_module_magic!(name, version);

// The extension's SQL has one home, pg_observe/sql/: the hand-written parts
// of the install script (pulled in below), the frozen install scripts of
// released versions and the upgrade scripts between them (see ARCHITECTURE.md,
// "Versions and upgrades").
/// The `observe` schema. Functions name it with `schema = "observe"`; this
/// declaration is what makes pgrx create it inside the extension script.
#[pg_schema]
mod observe {}

extension_sql_file!(
    "../sql/schema.sql",
    name = "schema",
    requires = [observe, acting_role]
);
extension_sql_file!(
    "../sql/trust.sql",
    name = "trust",
    requires = ["schema", acting_role]
);
extension_sql_file!(
    "../sql/lifecycle.sql",
    name = "lifecycle",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/deploys.sql",
    name = "deploys",
    requires = [
        "schema",
        deploys::deploy_state_after,
        deploys::scrub_payload
    ]
);
extension_sql_file!("../sql/logs.sql", name = "logs", requires = ["schema"]);
extension_sql_file!(
    "../sql/views.sql",
    name = "views",
    requires = ["schema", "deploys", "logs"]
);
extension_sql_file!(
    "../sql/supabase.sql",
    name = "supabase",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/maintenance.sql",
    name = "maintenance",
    requires = ["schema"]
);
extension_sql_file!(
    "../sql/storage.sql",
    name = "storage",
    requires = ["schema", "logs"]
);
extension_sql_file!(
    "../sql/outbox.sql",
    name = "outbox",
    requires = ["schema", "maintenance"]
);
extension_sql_file!(
    "../sql/health.sql",
    name = "health",
    requires = [
        "schema",
        "maintenance",
        health::grade_headers,
        health::check_health_conditions,
        health::evaluate_health_conditions
    ]
);
extension_sql_file!(
    "../sql/ingest.sql",
    name = "ingest",
    requires = [
        "trust",
        acting_role,
        deploys::scrub_payload,
        health::spend_ingest_budget
    ]
);
extension_sql_file!(
    "../sql/alerting.sql",
    name = "alerting",
    requires = [
        "schema",
        "outbox",
        acting_role,
        silence_matches,
        fire_event_rules
    ]
);
extension_sql_file!(
    "../sql/sentry.sql",
    name = "sentry",
    requires = ["schema", "trust"]
);
extension_sql_file!(
    "../sql/deploy_safety.sql",
    name = "deploy_safety",
    requires = [
        "deploys",
        "views",
        "outbox",
        "health",
        "ingest",
        "alerting",
        acting_role,
        deploy_safety::deploy_verdict,
        deploy_safety::evaluate_budgets,
        deploy_safety::lighthouse_budgets,
        deploy_safety::dora_level
    ]
);
extension_sql_file!("../sql/security.sql", name = "security", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
    capture::register();
    server_capture::register();
    pg_observe_core::interrupt::install(check_for_interrupts);
}

/// Lets `statement_timeout` and `pg_cancel_backend()` stop the pure code's
/// long loops (ARCHITECTURE.md, "The capture pipeline").
fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
