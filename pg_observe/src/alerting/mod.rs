//! Alerting in the database: rules, their evaluation, event rules fired in
//! the capturing transaction, and silences. The decisions are
//! `pg_observe_core::alerting`'s; this reads their facts and writes their
//! outcome (ARCHITECTURE.md, "Alerting").

mod evaluate;
mod events;
mod metrics;
mod persist;
mod rules;
mod silences;
