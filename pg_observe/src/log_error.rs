//! The SQL capture API: `observe.log_error` in its argument-list and JSON
//! forms, and `observe.log_errors` for batches. All three are SECURITY
//! DEFINER with a pinned search_path: callers need EXECUTE, never a table
//! privilege.

use pg_observe_core::event::{events_from_json, EventError, EventInput, Level};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

use crate::capture::capture;
use crate::errors::raise_event_error;
use crate::pgtime::from_pg;

/// Records one error event and returns its id.
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
    context: default!(Option<JsonB>, "'{}'"),
    fingerprint: default!(Option<Vec<Option<String>>>, "NULL"),
    user_ref: default!(Option<&str>, "NULL"),
    request_id: default!(Option<&str>, "NULL"),
    occurred_at: default!(Option<TimestampWithTimeZone>, "now()"),
) -> Uuid {
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
    event.context = match context.map(|c| c.0) {
        None => Default::default(),
        Some(Value::Object(map)) => map,
        Some(other) => raise_event_error(EventError::Invalid {
            field: "context".into(),
            problem: format!("must be a JSON object, got {other}"),
        }),
    };
    event.fingerprint = fingerprint_parts(fingerprint);
    event.user_ref = user_ref.map(str::to_owned);
    event.request_id = request_id.map(str::to_owned);
    event.occurred_at = occurred_at.map(from_pg);
    capture(event)
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
fn log_error_json(event: Option<JsonB>) -> Uuid {
    let event = event.unwrap_or_else(|| {
        raise_event_error(EventError::Missing {
            field: "event".into(),
        })
    });
    capture(EventInput::from_json(&event.0).unwrap_or_else(|e| raise_event_error(e)))
}

/// Records a JSON array of events, all or nothing; returns how many.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn log_errors(events: Option<JsonB>) -> i32 {
    let events = events.unwrap_or_else(|| {
        raise_event_error(EventError::Missing {
            field: "events".into(),
        })
    });
    let inputs = events_from_json(&events.0).unwrap_or_else(|e| raise_event_error(e));
    let count = inputs.len() as i32;
    for input in inputs {
        capture(input);
    }
    count
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
