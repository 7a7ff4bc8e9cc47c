//! What `observe.record_deploy_event` asks Rust: how a deploy's state merges
//! (`pg_observe_core::deploy`, shared with the edge functions) and how a
//! provider's raw event is scrubbed before it is kept (the same scrubber,
//! with the same settings, as captured events).

use pg_observe_core::deploy::DeployState;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::errors::{invalid, raise_internal};

/// The state of a deploy in `current` (null: a new deploy) after an event
/// saying `incoming`.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn deploy_state_after(current: Option<&str>, incoming: &str) -> &'static str {
    let incoming = parse(incoming);
    match current {
        None => incoming.as_str(),
        Some(current) => parse(current).merge(incoming).as_str(),
    }
}

fn parse(state: &str) -> DeployState {
    state.parse().unwrap_or_else(|e| invalid(e))
}

/// A provider's payload with the values a captured event would lose
/// (credentials, e-mail addresses, values under sensitive keys) scrubbed.
#[pg_extern(schema = "observe", stable, parallel_safe, strict)]
fn scrub_payload(payload: JsonB) -> JsonB {
    let scrubber = crate::settings::scrubber().unwrap_or_else(|e| raise_internal("scrubber", e));
    let JsonB(mut value) = payload;
    scrubber.scrub_json(&mut value);
    JsonB(value)
}
