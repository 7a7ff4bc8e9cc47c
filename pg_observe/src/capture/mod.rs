//! The one entry point of capture. The SQL functions feed it today; the
//! `emit_log_hook` drain of the roadmap will feed it the same `EventInput`,
//! so scrubbing, limits, grouping, flood control and the issue lifecycle
//! apply identically whatever the source.

mod budgets;
mod error;
mod fold;
mod issue_cache;
mod plans;
mod store;
mod user_key;
mod writer;

pub use error::CaptureError;
pub use issue_cache::installation;
pub use issue_cache::register;
pub use plans::{reopen_args, REOPEN};
pub use writer::current as current_writer;

use std::collections::HashMap;
use std::hash::Hash;

use chrono::Utc;
use pg_observe_core::event::EventInput;
use pg_observe_core::process::{process, Pipeline};
use pgrx::Uuid;

use crate::errors::raise_capture_error;
use crate::settings;

/// Validates, processes and stores one event; returns its id, or raises.
pub fn capture(input: EventInput) -> Uuid {
    try_capture(input).unwrap_or_else(|e| raise_capture_error(e))
}

/// `capture` without raising. An error inside PostgreSQL itself (a failed
/// statement) still aborts the (sub)transaction: callers that must survive
/// those run each event in a subtransaction of their own.
pub fn try_capture(mut input: EventInput) -> Result<Uuid, CaptureError> {
    crate::version::ensure_current()?;
    if input.service.is_none() {
        input.service = Some(settings::default_service());
    }
    if input.environment.is_none() {
        input.environment = settings::default_environment();
    }
    if input.release.is_none() {
        input.release = settings::default_release();
    }
    input.validate()?;
    let writer = writer::current();
    let pipeline = Pipeline {
        scrubber: &*settings::scrubber()?,
        limits: &settings::limits(),
        user_key: &*user_key::user_key()?,
        received_at: Utc::now(),
    };
    let event = process(input, &pipeline)?;
    store::store(event, &writer)
}

/// Spends an untrusted writer's per-minute budgets on something stored
/// besides an event (a log line, a request count); false when a budget is
/// spent, which is counted as a drop like an event's.
pub fn spend_budget(
    client: &mut pgrx::spi::SpiClient<'_>,
    role: &str,
    wanted: pg_observe_core::budget::Amounts,
) -> pgrx::spi::SpiResult<bool> {
    plans::with_plans(client, |client, plans| {
        budgets::spend(client, plans, role, store::backend_slot(), wanted).map(|v| v.is_ok())
    })?
}

/// Bound on each of capture's backend-local maps; past it a map starts over.
const CACHE_ENTRIES: usize = 10_000;

fn bounded_insert<K: Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CACHE_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}
