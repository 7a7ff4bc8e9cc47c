//! The one entry point of capture. The SQL functions feed it today; the
//! `emit_log_hook` drain of the roadmap will feed it the same `EventInput`,
//! so scrubbing, limits, grouping, flood control and the issue lifecycle
//! apply identically whatever the source.

mod fold;
mod issue_cache;
mod plans;
mod store;

pub use issue_cache::register;
pub use plans::REOPEN;

use std::collections::HashMap;
use std::hash::Hash;

use chrono::Utc;
use pg_observe_core::event::EventInput;
use pg_observe_core::process::process;
use pgrx::Uuid;

use crate::errors::raise_event_error;
use crate::settings;

/// Validates, processes and stores one event; returns its id.
pub fn capture(mut input: EventInput) -> Uuid {
    if input.service.is_none() {
        input.service = Some(settings::default_service());
    }
    if input.environment.is_none() {
        input.environment = settings::default_environment();
    }
    if input.release.is_none() {
        input.release = settings::default_release();
    }
    if let Err(e) = input.validate() {
        raise_event_error(e);
    }
    let event = process(
        input,
        &settings::scrubber(),
        &settings::limits(),
        Utc::now(),
    );
    store::store(event)
}

/// Bound on each of capture's backend-local maps; past it a map starts over.
const CACHE_ENTRIES: usize = 10_000;

fn bounded_insert<K: Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CACHE_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}
