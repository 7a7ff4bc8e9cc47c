//! The JSON object form of a log line, as `observe.log_batch` takes it.
//! Unknown fields are refused, as for events.

use serde_json::Value;

use super::{LogError, LogInput};
use crate::event::{Level, Shown};
use crate::limits::{precut, Limits};

/// Most lines one `log_batch` call takes, as for `log_errors`.
pub const MAX_BATCH: usize = 1000;

const FIELDS: &[&str] = &[
    "message",
    "level",
    "service",
    "environment",
    "context",
    "request_id",
];

pub fn is_known_field(name: &str) -> bool {
    FIELDS.contains(&name)
}

/// Enough of an identifier-shaped field to tell a valid value from a too
/// long one.
const IDENTIFIER_READ_BOUND: usize = 4 * 1024;

/// How much of a field a reader of untrusted JSON copies (see
/// `event::field_read_bound`).
pub fn field_read_bound(field: &str, limits: &Limits) -> usize {
    match field {
        "message" => precut(limits.message_bytes),
        "context" => precut(limits.context_bytes),
        _ => IDENTIFIER_READ_BOUND,
    }
}

pub fn field_read_depth(field: &str, limits: &Limits) -> usize {
    match field {
        "context" => limits.context_depth,
        _ => 2,
    }
}

pub fn not_a_batch(found: &str) -> LogError {
    LogError::Batch(format!(
        "entries must be a JSON array of log objects, got {found}"
    ))
}

pub fn batch_len(len: usize) -> Result<(), LogError> {
    if len > MAX_BATCH {
        return Err(LogError::Batch(format!(
            "at most {MAX_BATCH} entries per call, got {len}"
        )));
    }
    Ok(())
}

pub(super) fn log_from_json(value: &Value) -> Result<LogInput, LogError> {
    let obj = value
        .as_object()
        .ok_or_else(|| LogError::wrong_type("entry", "an object", value))?;
    if let Some(unknown) = obj.keys().find(|k| !is_known_field(k)) {
        return Err(LogError::UnknownField {
            field: Shown::new(unknown),
            known: FIELDS.join(", "),
        });
    }
    let string = |field: &str| -> Result<Option<String>, LogError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(LogError::wrong_type(field, "a string", other)),
        }
    };
    let message = string("message")?.ok_or_else(|| LogError::Missing {
        field: "message".into(),
    })?;
    let mut line = LogInput::new(message);
    if let Some(level) = string("level")? {
        line.level = level.parse::<Level>()?;
    }
    line.service = string("service")?;
    line.environment = string("environment")?;
    line.request_id = string("request_id")?;
    match obj.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => line.context = map.clone(),
        Some(other) => return Err(LogError::wrong_type("context", "an object", other)),
    }
    line.validate()?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_every_field() {
        let line = LogInput::from_json(&json!({
            "message": "queue drained", "level": "WARNING", "service": "worker",
            "environment": "staging", "context": {"jobs": 3}, "request_id": "r-1"
        }))
        .unwrap();
        assert_eq!(line.level, Level::Warning);
        assert_eq!(line.service.as_deref(), Some("worker"));
        assert_eq!(line.environment.as_deref(), Some("staging"));
        assert_eq!(line.context["jobs"], 3);
        assert_eq!(line.request_id.as_deref(), Some("r-1"));
    }

    #[test]
    fn refuses_unknown_fields_wrong_types_and_levels() {
        let err = LogInput::from_json(&json!({"message": "x", "mesage": "y"})).unwrap_err();
        assert!(
            err.to_string().contains("unknown log field \"mesage\""),
            "{err}"
        );
        let err = LogInput::from_json(&json!({"message": 7})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "log field \"message\" must be a string, got a number"
        );
        let err = LogInput::from_json(&json!({"message": "x", "level": "warn"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("debug, info, warning, error, fatal"),
            "{err}"
        );
        let err = LogInput::from_json(&json!({"message": "x", "context": "auth"})).unwrap_err();
        assert!(
            err.to_string().contains("\"context\" must be an object"),
            "{err}"
        );
        let err = LogInput::from_json(&json!({"level": "info"})).unwrap_err();
        assert_eq!(
            err,
            LogError::Missing {
                field: "message".into()
            }
        );
    }

    #[test]
    fn batches_are_bounded() {
        assert!(batch_len(MAX_BATCH).is_ok());
        assert!(batch_len(MAX_BATCH + 1)
            .unwrap_err()
            .to_string()
            .contains("at most 1000"));
    }
}
