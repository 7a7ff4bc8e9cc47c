//! The SQL capture API: `observe.log_error` in its argument-list and JSON
//! forms, and `observe.log_errors` for batches. All three are SECURITY
//! DEFINER with a pinned search_path: callers need EXECUTE, never a table
//! privilege.

use pg_observe_core::event::{
    batch_len, field_read_bound, field_read_depth, is_known_field, not_a_batch, EventError,
    EventInput, Level, ReadCuts,
};
use pg_observe_core::limits::{precut, Limits};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::{Map, Value};

use crate::capture::capture;
use crate::errors::raise_event_error;
use crate::jsonb::{Node, RawJsonb};
use crate::pgtime::from_pg;
use crate::{server_capture, settings};

/// Records one error event and returns its id. A durable event is stored by
/// the capture worker, surviving the caller's rollback (ARCHITECTURE.md,
/// "Server-side capture").
#[allow(clippy::too_many_arguments)]
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log_error(
    message: Option<&str>,
    level: default!(Option<&str>, "'error'"),
    service: default!(Option<&str>, "NULL"),
    environment: default!(Option<&str>, "NULL"),
    release: default!(Option<&str>, "NULL"),
    exception_type: default!(Option<&str>, "NULL"),
    stack: default!(Option<&str>, "NULL"),
    context: default!(Option<RawJsonb>, "'{}'"),
    fingerprint: default!(Option<Vec<Option<String>>>, "NULL"),
    user_ref: default!(Option<&str>, "NULL"),
    request_id: default!(Option<&str>, "NULL"),
    occurred_at: default!(Option<TimestampWithTimeZone>, "now()"),
    durable: default!(Option<bool>, "false"),
) -> Option<Uuid> {
    let Some(message) = message else {
        raise_event_error(EventError::Missing {
            field: "message".into(),
        });
    };
    let mut event = EventInput::new(message);
    if let Some(level) = level {
        event.level = level
            .parse::<Level>()
            .unwrap_or_else(|e| raise_event_error(e));
    }
    event.service = service.map(str::to_owned);
    event.environment = environment.map(str::to_owned);
    event.release = release.map(str::to_owned);
    event.exception_type = exception_type.map(str::to_owned);
    event.stack = stack.map(str::to_owned);
    if let Some(context) = context {
        let root = context.root();
        if !root.is_object() {
            raise_event_error(EventError::WrongType {
                field: "context".into(),
                expected: "an object",
                found: root.type_name(),
            });
        }
        let limits = settings::limits();
        let read = root.bounded(precut(limits.context_bytes), limits.context_depth);
        event.read_cuts.context = read.report;
        if let Value::Object(map) = read.value {
            event.context = map;
        }
    }
    event.fingerprint = fingerprint_parts(fingerprint);
    event.user_ref = user_ref.map(str::to_owned);
    event.request_id = request_id.map(str::to_owned);
    event.occurred_at = occurred_at.map(from_pg);
    event.durable = durable.unwrap_or(false);
    capture_one(event)
}

/// Captures now, or queues for the capture worker when the event is durable
/// (None when the capture ring had no room).
fn capture_one(event: EventInput) -> Option<Uuid> {
    if event.durable {
        server_capture::durable::capture(event)
    } else {
        Some(capture(event))
    }
}

/// Records one error event given as a JSON object (the form supabase-js
/// `rpc()` sends, including the legacy `log-error` body).
#[pg_extern(
    schema = "observe",
    name = "log_error",
    volatile,
    parallel_unsafe,
    security_definer
)]
#[search_path(pg_catalog, pg_temp)]
fn log_error_json(event: Option<RawJsonb>) -> Option<Uuid> {
    let event = event.unwrap_or_else(|| {
        raise_event_error(EventError::Missing {
            field: "event".into(),
        })
    });
    let input =
        event_input(&event.root(), &settings::limits()).unwrap_or_else(|e| raise_event_error(e));
    capture_one(input)
}

/// Records a JSON array of events, all or nothing; returns how many.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log_errors(events: Option<RawJsonb>) -> i32 {
    let events = events.unwrap_or_else(|| {
        raise_event_error(EventError::Missing {
            field: "events".into(),
        })
    });
    let root = events.root();
    if !root.is_array() {
        raise_event_error(not_a_batch(root.type_name()));
    }
    batch_len(root.len()).unwrap_or_else(|e| raise_event_error(e));
    let limits = settings::limits();
    let mut inputs = Vec::with_capacity(root.len());
    let mut failed = None;
    root.elements(|element| match event_input(&element, &limits) {
        Ok(input) => {
            inputs.push(input);
            true
        }
        Err(source) => {
            failed = Some(EventError::InBatch {
                index: inputs.len(),
                source: Box::new(source),
            });
            false
        }
    });
    if let Some(error) = failed {
        raise_event_error(error);
    }
    let count = inputs.len() as i32;
    for input in inputs {
        capture_one(input);
    }
    count
}

/// The JSON object form of an event, read field by field with each field's
/// bound (`field_read_bound`): a hostile 60 MB field costs its bound, and
/// the first unknown field ends the read (and the event).
fn event_input(root: &Node<'_>, limits: &Limits) -> Result<EventInput, EventError> {
    if !root.is_object() {
        return Err(EventError::WrongType {
            field: "event".into(),
            expected: "an object",
            found: root.type_name(),
        });
    }
    let mut fields = Map::new();
    let mut cuts = ReadCuts::default();
    root.members(|name, value| {
        if !is_known_field(&name) {
            fields.insert(name, Value::Null);
            return false;
        }
        let read = value.bounded(
            field_read_bound(&name, limits),
            field_read_depth(&name, limits),
        );
        match name.as_str() {
            "context" => cuts.context = read.report,
            "request" => cuts.request = read.report,
            _ => {}
        }
        fields.insert(name, read.value);
        true
    });
    let mut input = EventInput::from_json(&Value::Object(fields))?;
    input.read_cuts = cuts;
    Ok(input)
}

/// A SQL `text[]` fingerprint as grouping takes it; a NULL element would
/// otherwise vanish and silently change the grouping.
pub(crate) fn fingerprint_parts(parts: Option<Vec<Option<String>>>) -> Option<Vec<String>> {
    parts.map(|parts| {
        parts
            .into_iter()
            .collect::<Option<Vec<String>>>()
            .unwrap_or_else(|| {
                raise_event_error(EventError::Invalid {
                    field: "fingerprint".into(),
                    problem: "must not contain NULL elements".into(),
                })
            })
    })
}
