use thiserror::Error;

/// Why an event was refused. Every variant names the offending field so a
/// caller posting JSON from a browser can fix the payload without guessing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    #[error("event field \"{field}\" is required")]
    Missing { field: String },
    #[error("event field \"{field}\" must be {expected}, got {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("event field \"{field}\" {problem}")]
    Invalid { field: String, problem: String },
    #[error("invalid level {0}: allowed values are debug, info, warning, error, fatal")]
    InvalidLevel(Shown),
    #[error("invalid severity {0}: allowed values are low, medium, high, critical")]
    InvalidSeverity(Shown),
    #[error("unknown event field {field}; known fields are {known}")]
    UnknownField { field: Shown, known: String },
    #[error("{0}")]
    Batch(String),
    #[error("event {index}: {source}")]
    InBatch {
        index: usize,
        #[source]
        source: Box<EventError>,
    },
}

/// A rejected value as an error message may show it: a short plain word
/// (`"verbose"`, a misspelt field name) is quoted, anything else is only
/// described, since it may be a secret pasted into the wrong field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    pub fn new(value: &str) -> Self {
        let plain = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        Shown(if plain {
            format!("\"{value}\"")
        } else {
            format!(
                "(a value of {} characters, not shown)",
                value.chars().count()
            )
        })
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two SQLSTATE classes these errors map onto; the extension turns them
/// into `22004` and `22023`, the edge functions into HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventErrorKind {
    NullValueNotAllowed,
    InvalidParameterValue,
}

impl EventError {
    pub fn kind(&self) -> EventErrorKind {
        match self {
            EventError::Missing { .. } => EventErrorKind::NullValueNotAllowed,
            EventError::InBatch { source, .. } => source.kind(),
            _ => EventErrorKind::InvalidParameterValue,
        }
    }

    pub(crate) fn missing(field: &str) -> Self {
        EventError::Missing {
            field: field.to_owned(),
        }
    }

    pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> Self {
        EventError::Invalid {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    pub(crate) fn invalid_level(value: &str) -> Self {
        EventError::InvalidLevel(Shown::new(value))
    }

    pub(crate) fn wrong_type(
        field: impl Into<String>,
        expected: &'static str,
        value: &serde_json::Value,
    ) -> Self {
        EventError::WrongType {
            field: field.into(),
            expected,
            found: json_type_name(value),
        }
    }
}

pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
