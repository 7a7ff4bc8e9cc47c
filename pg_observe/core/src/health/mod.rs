//! Health-check conditions in Gatus's language (github.com/TwiN/gatus,
//! "Conditions"): `[STATUS] == 200`, `[RESPONSE_TIME] < 300`,
//! `[BODY].status == UP`, `len([BODY].items) > 0`, `[BODY] == pat(*ok*)`,
//! `[STATUS] == any(200, 204)`, `[CERTIFICATE_EXPIRATION] > 48h`,
//! `[HEADER].content-type == pat(*json*)`, `[CONNECTED] == true`.
//!
//! Parsed once where a check is saved (the extension refuses a condition
//! that does not parse, naming the column), evaluated where the response is
//! seen (the health-check edge function, or `observe.run_health_checks()`
//! over pg_net's responses).

mod condition;
mod evaluate;

pub use condition::{Comparator, Condition, ConditionError, Operand, PathStep, Placeholder};
pub use evaluate::{evaluate_all, ConditionResult, Observation};

/// Parses every condition of a check; the error names which one (1-based).
pub fn parse_all(conditions: &[String]) -> Result<Vec<Condition>, (usize, ConditionError)> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| Condition::parse(c).map_err(|e| (i + 1, e)))
        .collect()
}

/// Most conditions a check may have, and the longest one: enough for any
/// real check, and a bound on evaluation work per probe.
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_CONDITION_BYTES: usize = 512;
