//! What the health checks and the ingest endpoint ask Rust: header grading
//! (`pg_observe_core::headers`), the checks' conditions
//! (`pg_observe_core::health`: refused at save time with their column,
//! evaluated over pg_net's responses), and the untrusted writers' budgets for
//! the public writes that store no event.

use pg_observe_core::headers::grade_json;
use pg_observe_core::health::{evaluate_all, parse_all, Observation, MAX_CONDITIONS};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

use crate::errors::{invalid, raise_capture_error};

/// `{score, grade, findings: [{id, severity, header, message}]}` for a
/// response's headers (`{name: value | [values]}`, names in any case).
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn grade_headers(headers: JsonB) -> JsonB {
    // The error names the header and the JSON type, never the value.
    JsonB(grade_json(&headers.0).unwrap_or_else(|e| invalid(e)))
}

/// The conditions as stored (trimmed), or 22023 naming the condition and
/// the column where it stopped parsing.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn check_health_conditions(conditions: Option<Vec<Option<String>>>) -> Vec<String> {
    let conditions: Vec<String> = conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.unwrap_or_else(|| invalid("a condition must not be null")))
        .collect();
    if conditions.is_empty() || conditions.len() > MAX_CONDITIONS {
        invalid(format!(
            "a health check has 1 to {MAX_CONDITIONS} conditions, got {}",
            conditions.len()
        ));
    }
    match parse_all(&conditions) {
        Ok(parsed) => parsed.into_iter().map(|c| c.source).collect(),
        Err((index, e)) => invalid(format!(
            "condition {index} ({}) {e}",
            conditions[index - 1].chars().take(80).collect::<String>()
        )),
    }
}

/// Each condition's result (`[{condition, success, actual}]`, success null
/// when it cannot be evaluated without the TLS certificate) for a response
/// pg_net received; `status` null means no response.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn evaluate_health_conditions(
    conditions: Vec<Option<String>>,
    status: Option<i32>,
    response_time_ms: Option<f64>,
    body: Option<&str>,
    headers: Option<JsonB>,
) -> JsonB {
    let conditions: Vec<String> = conditions.into_iter().flatten().collect();
    let parsed = parse_all(&conditions).unwrap_or_else(|(index, e)| {
        invalid(format!("stored condition {index} no longer parses: {e}"))
    });
    let headers = match headers.map(|h| h.0) {
        Some(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.to_ascii_lowercase(), s)),
                _ => None,
            })
            .collect(),
        _ => Default::default(),
    };
    let seen = Observation {
        connected: status.is_some(),
        status: status.and_then(|s| u16::try_from(s).ok()),
        response_time_ms,
        body: body.unwrap_or(""),
        headers,
        certificate_expires_in_ms: None,
    };
    JsonB(Value::Array(
        evaluate_all(&parsed, &seen)
            .iter()
            .map(|r| r.to_json())
            .collect(),
    ))
}

/// Null when the acting role may write `events` rows of `bytes` now (or is
/// trusted); else the budget that is spent (`event_budget`, `byte_budget`),
/// the drop already counted in `observe.ingest_drops`.
#[pg_extern(schema = "observe", volatile, parallel_unsafe)]
fn spend_ingest_budget(events: i32, bytes: i64) -> Option<&'static str> {
    crate::capture::spend_untrusted_budget(events.into(), bytes)
        .unwrap_or_else(|e| raise_capture_error(e))
}
