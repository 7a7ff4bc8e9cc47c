//! Alerting, computed inside Postgres: rules, the state of their alerts, and
//! when a group of alerts notifies, after Prometheus and Alertmanager
//! (ARCHITECTURE.md, "Alerting"). Everything here is a pure decision over
//! injected facts; `pg_observe/src/alerting/` reads the facts and writes the
//! outcome.
//!
//! * `rule`: what an admin may write, checked when saved;
//! * `state`: one alert's pending / firing / resolved lifecycle;
//! * `group`: when a group of alerts sends a notification;
//! * `matchers`: silences and inhibition;
//! * `evaluate`: one evaluation of one rule, from the above.

pub mod evaluate;
pub mod group;
pub mod matchers;
pub mod rule;
pub mod state;
