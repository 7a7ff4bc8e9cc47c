//! What deploy verification, DORA and budgets ask Rust: the verdict over the
//! facts `observe.verify_deploy` gathers, DORA's levels, budget checks and
//! the Lighthouse CI import (`pg_observe_core::{verdict, dora,
//! vitals_budget}`). All pure: SQL gathers, Rust decides, SQL stores.

use pg_observe_core::{dora, verdict, vitals_budget};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::errors::invalid;

/// `{verdict, reasons, metrics}` for a deploy's facts under a policy.
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn deploy_verdict(facts: JsonB, policy: JsonB) -> JsonB {
    JsonB(verdict::decide_json(&facts.0, &policy.0).unwrap_or_else(|e| invalid(e)))
}

/// Each budget's status over the p75 of its pages.
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn evaluate_budgets(observations: JsonB) -> JsonB {
    JsonB(vitals_budget::evaluate_json(&observations.0).unwrap_or_else(|e| invalid(e)))
}

/// `{budgets: [{metric, page_pattern, threshold, level, source}], skipped}`
/// from a Lighthouse CI configuration.
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn lighthouse_budgets(config: JsonB) -> JsonB {
    JsonB(
        vitals_budget::import_lighthouse(&config.0)
            .unwrap_or_else(|e| invalid(e))
            .to_json(),
    )
}

/// DORA's performance level (elite, high, medium, low) of a key's value;
/// null for a null value.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn dora_level(key: &str, value: Option<f64>) -> Option<&'static str> {
    let key: dora::Key = key.parse().unwrap_or_else(|e| invalid(e));
    value.map(|v| dora::level(key, v).unwrap_or_else(|e| invalid(e)).as_str())
}
