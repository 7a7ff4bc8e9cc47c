//! The one entry point of capture. The SQL functions and the server-side
//! capture worker feed it the same `EventInput`, so scrubbing, limits,
//! grouping, flood control and the issue lifecycle apply identically
//! whatever the source.

pub mod budgets;
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
pub use store::{backend_slot, new_event_id, remembered, restore};
pub use writer::{current as current_writer, of as writer_of, role_name, WriterRole};

use std::collections::HashMap;
use std::hash::Hash;

use chrono::Utc;
use pg_observe_core::budget::DropReason;
use pg_observe_core::event::EventInput;
use pg_observe_core::process::{process, Pipeline, ProcessedEvent};
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
pub fn try_capture(input: EventInput) -> Result<Uuid, CaptureError> {
    try_capture_as(input, &writer::current()).map(|captured| captured.id)
}

/// What became of a captured event.
pub struct Captured {
    pub id: Uuid,
    /// The untrusted writer's budget that kept it from being stored (the
    /// drop is counted in `observe.ingest_drops`); flood control's sampling
    /// is not a drop.
    pub dropped: Option<DropReason>,
}

/// `try_capture` on behalf of `writer`, saying whether a budget dropped it:
/// the capture worker writes for the role that raised an error, the Sentry
/// endpoint for a project key, so an untrusted writer's budgets apply.
pub fn try_capture_as(input: EventInput, writer: &WriterRole) -> Result<Captured, CaptureError> {
    let event = process_input(input)?;
    store::store(event, writer, None)
}

/// Validates and processes (bounds, scrubs, groups) an event without
/// storing it: a durable event is processed in the caller's backend.
pub fn process_input(mut input: EventInput) -> Result<ProcessedEvent, CaptureError> {
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
    let pipeline = Pipeline {
        scrubber: &*settings::scrubber()?,
        limits: &settings::limits(),
        user_key: &*user_key::user_key()?,
        received_at: Utc::now(),
    };
    Ok(process(input, &pipeline)?)
}

/// Stores an event `process_input` processed earlier, under the id its
/// caller was given.
pub fn store_processed(
    event: ProcessedEvent,
    writer: &WriterRole,
    id: Uuid,
) -> Result<Uuid, CaptureError> {
    crate::version::ensure_current()?;
    store::store(event, writer, Some(id)).map(|captured| captured.id)
}

/// Takes `events` and `bytes` from the acting role's per-minute budgets when
/// it is an untrusted writer (trusted writers spend nothing); returns the
/// reason when they do not fit, after counting the drop. For the other
/// public writes (web vitals, CSP reports), which store no issue.
pub fn spend_untrusted_budget(
    events: i64,
    bytes: i64,
) -> Result<Option<&'static str>, CaptureError> {
    crate::version::ensure_current()?;
    let writer = writer::current();
    if writer.trust != pg_observe_core::lifecycle::Writer::Untrusted {
        return Ok(None);
    }
    let wanted = pg_observe_core::budget::Amounts {
        new_issues: 0,
        events,
        bytes,
    };
    let verdict = pgrx::spi::Spi::connect_mut(|client| {
        plans::with_plans(client, |client, plans| {
            budgets::spend(
                client,
                plans,
                &writer.budget_scope,
                store::backend_slot(),
                wanted,
            )
        })
    })??;
    Ok(verdict.err().map(|reason| reason.as_str()))
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
