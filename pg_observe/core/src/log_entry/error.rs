use thiserror::Error;

use crate::event::{EventError, EventErrorKind, Shown};

/// Why a log line was refused; each variant names the field, and a batch
/// names the entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogError {
    #[error("log field \"{field}\" is required")]
    Missing { field: String },
    #[error("log field \"{field}\" must be {expected}, got {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("log field \"{field}\" {problem}")]
    Invalid { field: String, problem: String },
    #[error("invalid level {0}: allowed values are debug, info, warning, error, fatal")]
    InvalidLevel(Shown),
    #[error("unknown log field {field}; known fields are {known}")]
    UnknownField { field: Shown, known: String },
    #[error("{0}")]
    Batch(String),
    #[error("entry {index}: {source}")]
    InBatch {
        index: usize,
        #[source]
        source: Box<LogError>,
    },
}

impl LogError {
    /// The SQLSTATE class, as for events: `22004` for a missing value,
    /// `22023` for anything else.
    pub fn kind(&self) -> EventErrorKind {
        match self {
            LogError::Missing { .. } => EventErrorKind::NullValueNotAllowed,
            LogError::InBatch { source, .. } => source.kind(),
            _ => EventErrorKind::InvalidParameterValue,
        }
    }

    pub(crate) fn wrong_type(
        field: &str,
        expected: &'static str,
        value: &serde_json::Value,
    ) -> Self {
        LogError::WrongType {
            field: field.to_owned(),
            expected,
            found: crate::event::json_type_name(value),
        }
    }
}

/// The field checks logs share with events report in events' words; this
/// puts them in a log line's.
impl From<EventError> for LogError {
    fn from(error: EventError) -> Self {
        match error {
            EventError::Missing { field } => LogError::Missing { field },
            EventError::WrongType {
                field,
                expected,
                found,
            } => LogError::WrongType {
                field,
                expected,
                found,
            },
            EventError::Invalid { field, problem } => LogError::Invalid { field, problem },
            EventError::InvalidLevel(shown) => LogError::InvalidLevel(shown),
            EventError::UnknownField { field, known } => LogError::UnknownField { field, known },
            EventError::InBatch { index, source } => LogError::InBatch {
                index,
                source: Box::new(LogError::from(*source)),
            },
            other => LogError::Batch(other.to_string()),
        }
    }
}
