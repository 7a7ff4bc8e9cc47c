//! `observe.log_error(..., durable => true)`: the event is validated and
//! processed here, in the caller's backend (so bad input gets its SQLSTATE at
//! once and nothing unscrubbed reaches shared memory), and handed to the
//! capture ring instead of written: the storing worker writes it in a
//! transaction of its own, which the caller's rollback cannot undo.

use pg_observe_core::event::EventInput;
use pg_observe_core::ring::RecordMeta;
use pg_observe_core::server_error::record::{Durable, KIND_DURABLE_EVENT};
use pg_observe_core::wire;
use pgrx::{ereport, pg_sys, PgSqlErrorCode, Uuid};

use super::shared;
use crate::capture::{new_event_id, process_input};
use crate::errors::raise_capture_error;

/// Queues the event for the storing worker; returns the id it will be
/// stored under, or None when the ring had no room (it is then counted as
/// dropped, like any event the ring refuses).
pub fn capture(input: EventInput) -> Option<Uuid> {
    let Some(shared) = shared::get() else {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "durable capture needs pg_observe preloaded: add shared_preload_libraries = 'pg_observe' to postgresql.conf and restart the server"
        );
    };
    let event = process_input(input).unwrap_or_else(|e| raise_capture_error(e));
    let id = new_event_id();
    let bytes = wire::to_bytes(&event);
    let durable = Durable {
        // SAFETY: reads the session's outer user id.
        role: unsafe { pg_sys::GetOuterUserId() }.to_u32(),
        id: *id.as_bytes(),
        event: &bytes,
    };
    let meta = RecordMeta {
        // SAFETY: plain reads of this process's globals.
        database: unsafe { pg_sys::MyDatabaseId }.to_u32(),
        kind: KIND_DURABLE_EVENT,
        enqueued_at: unsafe { pg_sys::GetCurrentTimestamp() },
    };
    shared
        .push(meta, durable.encoded_len(), |out| durable.encode(out))
        .then_some(id)
}
