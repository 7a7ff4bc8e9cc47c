//! The JSON object form of an event, as SDKs post it through supabase-js
//! `rpc()`, and as the platform's existing `log-error` endpoint receives it.
//!
//! Unknown fields are refused rather than ignored: a misspelt `mesage` or
//! `enviroment` would otherwise be dropped without a trace.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::json_type_name;
use super::validate::{MAX_FINGERPRINT_PART, MAX_FINGERPRINT_PARTS, MAX_TAGS, MAX_TAG_VALUE};
use super::{legacy_is_critical, EventError, EventInput, Level, Severity};
use crate::limits::{precut, Limits};

/// Most events one `log_errors` call takes; SDK buffers flush far below it,
/// and it bounds the work one statement can pin.
pub const MAX_BATCH: usize = 1000;

const FIELDS: &[&str] = &[
    "message",
    "level",
    "service",
    "environment",
    "release",
    "exception_type",
    "stack",
    "context",
    "request",
    "tags",
    "fingerprint",
    "user_ref",
    "request_id",
    "occurred_at",
    "unhandled",
    "durable",
];

/// Fields of the `log-error` endpoint's body that are not ours.
const LEGACY_FIELDS: &[&str] = &[
    "error_type",
    "http_status",
    "url",
    "user_agent",
    "session_id",
    "severity",
    "user_id",
    "labels",
    "override_rate_limit",
];

pub fn is_known_field(name: &str) -> bool {
    FIELDS.contains(&name) || LEGACY_FIELDS.contains(&name)
}

/// Enough of any identifier-shaped field (service, level, release…) to tell
/// a valid value from a too long one.
const IDENTIFIER_READ_BOUND: usize = 4 * 1024;

/// How much of a field a reader of untrusted JSON needs to copy: a few times
/// the limit the pipeline applies (the rest would be cut anyway), or enough
/// of an identifier to refuse it. A hostile 60 MB field then costs its bound,
/// not its size.
pub fn field_read_bound(field: &str, limits: &Limits) -> usize {
    match field {
        "message" => precut(limits.message_bytes),
        "stack" => precut(limits.stack_bytes),
        "context" | "request" => precut(limits.context_bytes),
        // Keys and values at their longest, escaped, four bytes a character.
        "tags" | "labels" => MAX_TAGS * (IDENTIFIER_READ_BOUND / 4 + MAX_TAG_VALUE * 4 + 8),
        "fingerprint" => MAX_FINGERPRINT_PARTS * (MAX_FINGERPRINT_PART + 8) + IDENTIFIER_READ_BOUND,
        _ => IDENTIFIER_READ_BOUND,
    }
}

/// How deep a reader needs to follow a field: context and request to the
/// depth the pipeline keeps; every other field is flat (a string, or a map or
/// list of strings).
pub fn field_read_depth(field: &str, limits: &Limits) -> usize {
    match field {
        "context" | "request" => limits.context_depth,
        _ => 2,
    }
}

/// The batch form's refusal of anything but an array.
pub fn not_a_batch(found: &str) -> EventError {
    EventError::Batch(format!(
        "events must be a JSON array of event objects, got {found}"
    ))
}

/// Refuses a batch longer than `MAX_BATCH` before any of it is read.
pub fn batch_len(len: usize) -> Result<(), EventError> {
    if len > MAX_BATCH {
        return Err(EventError::Batch(format!(
            "at most {MAX_BATCH} events per call, got {len}"
        )));
    }
    Ok(())
}

pub(super) fn event_from_json(value: &Value) -> Result<EventInput, EventError> {
    let obj = value
        .as_object()
        .ok_or_else(|| EventError::wrong_type("event", "an object", value))?;
    if let Some(unknown) = obj.keys().find(|k| !is_known_field(k)) {
        return Err(EventError::UnknownField {
            field: super::error::Shown::new(unknown),
            known: [FIELDS, LEGACY_FIELDS].concat().join(", "),
        });
    }
    let fields = Fields(obj);

    let message = fields
        .string("message")?
        .ok_or_else(|| EventError::missing("message"))?;
    let mut event = EventInput::new(message);
    event.service = fields.string("service")?;
    event.environment = fields.string("environment")?;
    event.release = fields.string("release")?;
    event.stack = fields.string("stack")?;
    event.request_id = fields.string("request_id")?;
    event.fingerprint = fields.string_array("fingerprint")?;
    event.occurred_at = fields.timestamp("occurred_at")?;
    event.unhandled = fields.boolean("unhandled")?;
    event.durable = fields.boolean("durable")?.unwrap_or(false);
    event.request = fields.object("request")?.unwrap_or_default();

    // `labels` is the endpoint's name for tags; explicit tags win a clash.
    event.tags = fields.string_map("labels")?;
    event.tags.extend(fields.string_map("tags")?);

    let error_type = fields.string("error_type")?;
    event.exception_type = fields.string("exception_type")?.or(error_type.clone());
    event.user_ref = fields.string("user_ref")?.or(fields.string("user_id")?);

    // The endpoint's `context` was a string naming the app area; ours is an
    // object of details. The JSON type tells which one a caller meant.
    let mut area = None;
    match obj.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => event.context = map.clone(),
        Some(Value::String(s)) => area = Some(s.clone()),
        Some(other) => {
            return Err(EventError::wrong_type(
                "context",
                "an object (or a string naming the area)",
                other,
            ))
        }
    }

    let http_status = fields.http_status()?;
    for (field, key) in [
        ("url", "url"),
        ("user_agent", "user_agent"),
        ("session_id", "session_id"),
    ] {
        if let Some(v) = fields.string(field)? {
            event.request.entry(key).or_insert(Value::String(v));
        }
    }
    if let Some(status) = http_status {
        event.request.entry("status").or_insert(Value::from(status));
    }

    let severity = fields
        .string("severity")?
        .map(|s| s.parse::<Severity>())
        .transpose()?;
    event.level = match (fields.string("level")?, severity) {
        (Some(level), _) => level.parse::<Level>()?,
        (None, Some(severity)) => severity.level(),
        (None, None)
            if legacy_is_critical(
                area.as_deref(),
                error_type.as_deref(),
                http_status,
                event.unhandled.unwrap_or(false),
            ) =>
        {
            Level::Fatal
        }
        (None, None) => Level::Error,
    };

    // Legacy facts without a field of their own stay queryable as tags.
    for (key, value) in [
        ("area", area),
        ("error_type", error_type),
        ("severity", severity.map(|s| s.as_str().to_owned())),
    ] {
        if let Some(value) = value {
            event.tags.entry(key.to_owned()).or_insert(value);
        }
    }
    if fields.boolean("override_rate_limit")? == Some(true) {
        event
            .tags
            .entry("override_rate_limit".to_owned())
            .or_insert_with(|| "true".to_owned());
    }

    event.validate()?;
    Ok(event)
}

/// Parses the array form `observe.log_errors(jsonb)` takes. All or nothing:
/// the first bad element fails the whole batch, naming its index.
pub fn events_from_json(value: &Value) -> Result<Vec<EventInput>, EventError> {
    let items = value
        .as_array()
        .ok_or_else(|| not_a_batch(json_type_name(value)))?;
    batch_len(items.len())?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            EventInput::from_json(item).map_err(|source| EventError::InBatch {
                index,
                source: Box::new(source),
            })
        })
        .collect()
}

/// Typed, null-tolerant accessors: JSON `null` means "not given".
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &str) -> Result<Option<String>, EventError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EventError::wrong_type(field, "a string", other)),
        }
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>, EventError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(EventError::wrong_type(field, "a boolean", other)),
        }
    }

    fn object(&self, field: &str) -> Result<Option<Map<String, Value>>, EventError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map.clone())),
            Some(other) => Err(EventError::wrong_type(field, "an object", other)),
        }
    }

    fn string_array(&self, field: &str) -> Result<Option<Vec<String>>, EventError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| EventError::wrong_type(field, "an array of strings", value))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(EventError::wrong_type(
                    format!("{field}[{i}]"),
                    "a string",
                    other,
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn string_map(
        &self,
        field: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, EventError> {
        let Some(map) = self.object(field)? else {
            return Ok(Default::default());
        };
        map.into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(EventError::wrong_type(
                    format!("{field}.{k}"),
                    "a string",
                    &other,
                )),
            })
            .collect()
    }

    fn timestamp(&self, field: &str) -> Result<Option<DateTime<Utc>>, EventError> {
        let expected = "an RFC 3339 timestamp or seconds since the Unix epoch";
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| EventError::invalid(field, format!("must be {expected}: {e}"))),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|secs| secs.is_finite())
                .and_then(|secs| DateTime::from_timestamp_micros((secs * 1e6).round() as i64))
                .map(Some)
                .ok_or_else(|| EventError::invalid(field, format!("must be {expected}"))),
            Some(other) => Err(EventError::wrong_type(field, expected, other)),
        }
    }

    fn http_status(&self) -> Result<Option<i64>, EventError> {
        let Some(value) = self.get("http_status") else {
            return Ok(None);
        };
        value
            .as_i64()
            .filter(|s| (100..=599).contains(s))
            .map(Some)
            .ok_or_else(|| {
                if value.is_number() {
                    EventError::invalid("http_status", "must be an HTTP status code (100-599)")
                } else {
                    EventError::wrong_type("http_status", "a number", value)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventErrorKind;

    fn parse(value: Value) -> Result<EventInput, EventError> {
        EventInput::from_json(&value)
    }

    #[test]
    fn parses_every_native_field() {
        let event = parse(json!({
            "message": "Timeout after 3000ms",
            "level": "warning",
            "service": "api",
            "environment": "staging",
            "release": "api@1.4.2",
            "exception_type": "TimeoutError",
            "stack": "TimeoutError: x\n    at f (/app/a.js:1:1)",
            "context": {"order_id": 42},
            "request": {"method": "POST"},
            "tags": {"region": "eu"},
            "fingerprint": ["{{ default }}", "checkout"],
            "user_ref": "u-1",
            "request_id": "req-9",
            "occurred_at": "2026-11-01T10:00:00.5+01:00",
            "unhandled": true,
            "durable": true
        }))
        .unwrap();
        assert_eq!(event.level, Level::Warning);
        assert_eq!(event.service.as_deref(), Some("api"));
        assert_eq!(event.context["order_id"], 42);
        assert_eq!(event.request["method"], "POST");
        assert_eq!(event.tags["region"], "eu");
        assert_eq!(event.fingerprint.as_ref().unwrap().len(), 2);
        assert_eq!(
            event.occurred_at.unwrap().to_rfc3339(),
            "2026-11-01T09:00:00.500+00:00"
        );
        assert_eq!(event.unhandled, Some(true));
        assert!(event.durable);
    }

    #[test]
    fn maps_the_legacy_log_error_body() {
        let event = parse(json!({
            "error_type": "network",
            "message": "fetch failed",
            "stack": "TypeError: fetch failed",
            "context": "billing",
            "http_status": 503,
            "url": "https://app.example.com/checkout",
            "user_agent": "Mozilla/5.0",
            "session_id": "s-123",
            "unhandled": false,
            "severity": "high",
            "user_id": "6f1c2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a5b",
            "labels": {"plan": "pro"},
            "override_rate_limit": true
        }))
        .unwrap();
        assert_eq!(event.level, Level::Error);
        assert_eq!(event.exception_type.as_deref(), Some("network"));
        assert_eq!(event.request["status"], 503);
        assert_eq!(event.request["url"], "https://app.example.com/checkout");
        assert_eq!(event.request["user_agent"], "Mozilla/5.0");
        assert_eq!(event.request["session_id"], "s-123");
        assert_eq!(
            event.user_ref.as_deref(),
            Some("6f1c2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a5b")
        );
        for (k, v) in [
            ("plan", "pro"),
            ("area", "billing"),
            ("error_type", "network"),
            ("severity", "high"),
            ("override_rate_limit", "true"),
        ] {
            assert_eq!(event.tags[k], v, "{k}");
        }
    }

    #[test]
    fn legacy_events_without_severity_use_the_criticality_rule() {
        let critical = parse(json!({"message": "x", "context": "auth"})).unwrap();
        assert_eq!(critical.level, Level::Fatal);
        let unhandled_5xx =
            parse(json!({"message": "x", "http_status": 500, "unhandled": true})).unwrap();
        assert_eq!(unhandled_5xx.level, Level::Fatal);
        let plain = parse(json!({"message": "x", "context": "search"})).unwrap();
        assert_eq!(plain.level, Level::Error);
        let explicit = parse(json!({"message": "x", "context": "auth", "level": "info"})).unwrap();
        assert_eq!(explicit.level, Level::Info);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let table = [
            (
                json!({"message": 1}),
                "\"message\" must be a string, got a number",
            ),
            (
                json!({"message": "x", "level": 3}),
                "\"level\" must be a string",
            ),
            (
                json!({"message": "x", "context": [1]}),
                "\"context\" must be an object",
            ),
            (
                json!({"message": "x", "tags": {"a": 1}}),
                "\"tags.a\" must be a string",
            ),
            (
                json!({"message": "x", "fingerprint": ["a", 2]}),
                "\"fingerprint[1]\" must be a string",
            ),
            (
                json!({"message": "x", "unhandled": "yes"}),
                "\"unhandled\" must be a boolean",
            ),
            (
                json!({"message": "x", "http_status": "500"}),
                "\"http_status\" must be a number",
            ),
            (
                json!({"message": "x", "http_status": 1000}),
                "\"http_status\" must be an HTTP status",
            ),
            (
                json!({"message": "x", "occurred_at": "yesterday"}),
                "\"occurred_at\" must be an RFC 3339",
            ),
            (
                json!({"message": "x", "mesage": "typo"}),
                "unknown event field \"mesage\"",
            ),
            (
                json!({"message": "x", "level": "warn"}),
                "allowed values are debug, info, warning, error, fatal",
            ),
            (
                json!({"message": "x", "severity": "urgent"}),
                "allowed values are low, medium, high, critical",
            ),
            (
                json!("just a string"),
                "\"event\" must be an object, got a string",
            ),
        ];
        for (input, expected) in table {
            let err = parse(input.clone()).unwrap_err();
            assert!(err.to_string().contains(expected), "{input}: {err}");
            assert_eq!(err.kind(), EventErrorKind::InvalidParameterValue, "{input}");
        }
    }

    #[test]
    fn a_missing_or_null_message_is_a_null_value_error() {
        for input in [json!({}), json!({"message": null})] {
            let err = parse(input).unwrap_err();
            assert_eq!(err.to_string(), "event field \"message\" is required");
            assert_eq!(err.kind(), EventErrorKind::NullValueNotAllowed);
        }
    }

    #[test]
    fn nulls_mean_not_given() {
        let event =
            parse(json!({"message": "x", "service": null, "context": null, "tags": null})).unwrap();
        assert_eq!(event, EventInput::new("x"));
    }

    #[test]
    fn epoch_seconds_are_accepted() {
        let event = parse(json!({"message": "x", "occurred_at": 1_700_000_000.25})).unwrap();
        assert_eq!(
            event.occurred_at.unwrap().timestamp_micros(),
            1_700_000_000_250_000
        );
    }

    #[test]
    fn batches_are_all_or_nothing_and_name_the_bad_index() {
        let ok = events_from_json(&json!([{"message": "a"}, {"message": "b"}])).unwrap();
        assert_eq!(ok.len(), 2);
        let err = events_from_json(&json!([{"message": "a"}, {"level": "error"}])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "event 1: event field \"message\" is required"
        );
        assert_eq!(err.kind(), EventErrorKind::NullValueNotAllowed);
        assert!(events_from_json(&json!({"message": "a"})).is_err());
        let too_many = Value::Array(vec![json!({"message": "a"}); MAX_BATCH + 1]);
        assert!(events_from_json(&too_many)
            .unwrap_err()
            .to_string()
            .contains("at most 1000"));
    }
}
