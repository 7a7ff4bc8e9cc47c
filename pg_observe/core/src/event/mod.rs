//! An error event as a caller describes it, validated but not yet processed.
//!
//! Both capture forms (the SQL argument list and the JSON object an SDK posts)
//! produce an [`EventInput`]; so will the in-database log hook. Everything
//! downstream sees only this type, which is what keeps one capture path.

mod error;
mod id;
mod json;
mod legacy;
mod level;
mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::limits::JsonLimitReport;

pub use error::{EventError, EventErrorKind, Shown};
pub use id::uuid_v7;
pub use json::{
    batch_len, events_from_json, field_read_bound, field_read_depth, is_known_field, not_a_batch,
    MAX_BATCH,
};
pub use legacy::{legacy_is_critical, Severity};
pub use level::Level;

/// A validated event, before scrubbing, limits and grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInput {
    pub message: String,
    pub level: Level,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub exception_type: Option<String>,
    pub stack: Option<String>,
    pub context: Map<String, Value>,
    /// Request data: url, method, status, user_agent, session_id, headers…
    pub request: Map<String, Value>,
    pub tags: BTreeMap<String, String>,
    pub fingerprint: Option<Vec<String>>,
    pub user_ref: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub unhandled: Option<bool>,
    /// Store through the capture ring, surviving the caller's rollback
    /// (server-side capture; not part of the event itself).
    pub durable: bool,
    /// What a bounded reader cut before the event was built (see
    /// `field_read_bound`), so that the stored event's flags say so.
    pub read_cuts: ReadCuts,
}

/// Cuts made while reading context and request, before the pipeline's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCuts {
    pub context: JsonLimitReport,
    pub request: JsonLimitReport,
}

impl EventInput {
    /// An event with only a message; the other fields take their defaults.
    pub fn new(message: impl Into<String>) -> Self {
        EventInput {
            message: message.into(),
            level: Level::Error,
            service: None,
            environment: None,
            release: None,
            exception_type: None,
            stack: None,
            context: Map::new(),
            request: Map::new(),
            tags: BTreeMap::new(),
            fingerprint: None,
            user_ref: None,
            request_id: None,
            occurred_at: None,
            unhandled: None,
            durable: false,
            read_cuts: ReadCuts::default(),
        }
    }

    /// Checks the fields every capture form shares. The JSON form calls it
    /// too, so the two forms reject exactly the same things.
    pub fn validate(&self) -> Result<(), EventError> {
        validate::event(self)
    }

    /// Parses the JSON object form (including the legacy `log-error` body).
    pub fn from_json(value: &Value) -> Result<Self, EventError> {
        json::event_from_json(value)
    }
}
