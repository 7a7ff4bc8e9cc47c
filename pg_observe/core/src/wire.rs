//! A processed event as bytes, for the capture ring: a durable
//! `observe.log_error` is validated, scrubbed and grouped in the caller's
//! backend and stored by the capture worker exactly as processed. Grouping
//! travels with it, since it was computed from the unscrubbed stack, which
//! does not travel.

use std::str::FromStr;

use chrono::DateTime;
use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::event::Level;
use crate::fingerprint::{Grouping, GroupingBasis};
use crate::process::{Flag, ProcessedEvent};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed processed event: {0}")]
pub struct WireError(String);

pub fn to_bytes(event: &ProcessedEvent) -> Vec<u8> {
    let value = json!({
        "message": event.message,
        "level": event.level.as_str(),
        "service": event.service,
        "environment": event.environment,
        "release": event.release,
        "exception_type": event.exception_type,
        "stack": event.stack,
        "context": event.context,
        "request": event.request,
        "tags": event.tags,
        "user_ref": event.user_ref,
        "user_hash": event.user_hash,
        "request_id": event.request_id,
        "occurred_at": event.occurred_at.timestamp_micros(),
        "unhandled": event.unhandled,
        "title": event.title,
        "culprit": event.culprit,
        "grouping_basis": event.grouping.basis.as_str(),
        "grouping_hashes": event.grouping.hashes,
        "flags": event.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&value).expect("JSON values serialize")
}

pub fn from_bytes(bytes: &[u8]) -> Result<ProcessedEvent, WireError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| WireError(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| WireError("not an object".into()))?;
    let fields = Fields(object);
    let basis = fields.string("grouping_basis")?;
    let basis = [
        GroupingBasis::Custom,
        GroupingBasis::Stack,
        GroupingBasis::Message,
    ]
    .into_iter()
    .find(|b| b.as_str() == basis)
    .ok_or_else(|| WireError(format!("grouping basis {basis}")))?;
    let hashes = fields.strings("grouping_hashes")?;
    if hashes.is_empty() {
        return Err(WireError("no grouping hash".into()));
    }
    let flags = fields
        .strings("flags")?
        .iter()
        .map(|name| {
            FLAGS
                .into_iter()
                .find(|f| f.as_str() == name)
                .ok_or_else(|| WireError(format!("flag {name}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let occurred_at = object
        .get("occurred_at")
        .and_then(Value::as_i64)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| WireError("occurred_at".into()))?;
    let tags = match object.get("tags") {
        Some(Value::Object(tags)) => tags
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect::<Option<_>>()
            .ok_or_else(|| WireError("tags".into()))?,
        _ => return Err(WireError("tags".into())),
    };
    Ok(ProcessedEvent {
        message: fields.string("message")?,
        level: Level::from_str(&fields.string("level")?).map_err(|e| WireError(e.to_string()))?,
        service: fields.optional("service")?,
        environment: fields.optional("environment")?,
        release: fields.optional("release")?,
        exception_type: fields.optional("exception_type")?,
        stack: fields.optional("stack")?,
        context: object.get("context").cloned().unwrap_or(Value::Null),
        request: object.get("request").cloned().unwrap_or(Value::Null),
        tags,
        user_ref: fields.optional("user_ref")?,
        user_hash: object.get("user_hash").and_then(Value::as_i64),
        request_id: fields.optional("request_id")?,
        occurred_at,
        unhandled: object.get("unhandled").and_then(Value::as_bool),
        title: fields.string("title")?,
        culprit: fields.optional("culprit")?,
        grouping: Grouping { basis, hashes },
        flags,
    })
}

const FLAGS: [Flag; 6] = [
    Flag::MessageTruncated,
    Flag::StackTruncated,
    Flag::ContextTruncated,
    Flag::ContextDepthLimited,
    Flag::RequestTruncated,
    Flag::ClockDrift,
];

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn optional(&self, name: &str) -> Result<Option<String>, WireError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(WireError(name.to_owned())),
        }
    }

    fn string(&self, name: &str) -> Result<String, WireError> {
        self.optional(name)?
            .ok_or_else(|| WireError(name.to_owned()))
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, WireError> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| WireError(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventInput;
    use crate::limits::Limits;
    use crate::process::{process, Pipeline, UserKey};
    use crate::scrub::Scrubber;

    #[test]
    fn processed_events_round_trip() {
        let mut input = EventInput::new("Timeout after 3000ms for alice@example.com");
        input.stack = Some(
            "TypeError: x\n    at getUser (/app/src/users.ts:42:17)\n    at main (/app/main.ts:1:1)"
                .into(),
        );
        input.service = Some("web".into());
        input.release = Some("web@1.2.3".into());
        input.context = json!({"order": 42, "nested": {"a": [1, 2]}})
            .as_object()
            .unwrap()
            .clone();
        input.tags.insert("plan".into(), "pro".into());
        input.user_ref = Some("user-7".into());
        input.unhandled = Some(true);
        // PostgreSQL keeps microseconds, and so does the wire.
        let now = DateTime::from_timestamp(1_800_000_000, 123_456_000).unwrap();
        input.occurred_at = Some(now + chrono::TimeDelta::hours(1));
        let event = process(
            input,
            &Pipeline {
                scrubber: &Scrubber::default(),
                limits: &Limits::default(),
                user_key: &UserKey::new(*b"k"),
                received_at: now,
            },
        )
        .unwrap();
        assert!(!event.flags.is_empty(), "the clock drift flag travels too");
        assert_eq!(from_bytes(&to_bytes(&event)).unwrap(), event);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(from_bytes(b"not json").is_err());
        assert!(from_bytes(b"{}").is_err());
        assert!(from_bytes(b"[1]").is_err());
    }
}
