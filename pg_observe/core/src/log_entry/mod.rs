//! A structured log line (`observe.log`, `observe.log_batch`): the same
//! levels, defaults, identifier rules, scrubbing and size limits as an error
//! event's message and context, with none of its grouping. Log lines are
//! stored and counted, never grouped into issues.

mod error;
mod json;

use serde_json::{Map, Value};

pub use error::LogError;
pub use json::{
    batch_len, field_read_bound, field_read_depth, is_known_field, not_a_batch, MAX_BATCH,
};

use crate::event::{environment, identifier, Level, MAX_IDENTIFIER, MAX_SERVICE};
use crate::limits::{JsonLimitReport, Limits};
use crate::process::{bounded_json, bounded_text, refuse_scrubbed, Flag};
use crate::scrub::Scrubber;

/// A log line as the caller gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogInput {
    pub message: String,
    pub level: Level,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub context: Map<String, Value>,
    pub request_id: Option<String>,
    /// What a bounded reader cut from the context before the line was built.
    pub context_cut: JsonLimitReport,
}

/// A log line ready to store: scrubbed and bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedLog {
    pub message: String,
    pub level: Level,
    pub service: String,
    pub environment: Option<String>,
    pub context: Value,
    /// The context is the caller's, neither cut nor scrubbed: a caller that
    /// holds it in its stored form may store that instead.
    pub context_as_given: bool,
    pub request_id: Option<String>,
    pub flags: Vec<Flag>,
}

impl LogInput {
    /// A line with only a message, at level info.
    pub fn new(message: impl Into<String>) -> Self {
        LogInput {
            message: message.into(),
            level: Level::Info,
            service: None,
            environment: None,
            context: Map::new(),
            request_id: None,
            context_cut: JsonLimitReport::default(),
        }
    }

    /// The JSON object form, one element of `observe.log_batch`.
    pub fn from_json(value: &Value) -> Result<Self, LogError> {
        json::log_from_json(value)
    }

    pub fn validate(&self) -> Result<(), LogError> {
        if self.message.trim().is_empty() {
            return Err(LogError::Invalid {
                field: "message".into(),
                problem: "must not be empty".into(),
            });
        }
        if let Some(service) = &self.service {
            identifier("service", service, MAX_SERVICE)?;
        }
        if let Some(env) = &self.environment {
            environment(env)?;
        }
        if let Some(request_id) = &self.request_id {
            identifier("request_id", request_id, MAX_IDENTIFIER)?;
        }
        Ok(())
    }
}

/// Scrubs and bounds a validated line whose service default has been
/// applied (`default_service` for one that names none).
pub fn process_log(
    input: LogInput,
    default_service: &str,
    scrubber: &Scrubber,
    limits: &Limits,
) -> Result<ProcessedLog, LogError> {
    input.validate()?;
    let service = input.service.unwrap_or_else(|| default_service.to_owned());
    refuse_scrubbed("service", &service, scrubber)?;
    if let Some(env) = &input.environment {
        refuse_scrubbed("environment", env, scrubber)?;
    }
    let mut flags = Vec::new();
    let message = bounded_text(&input.message, limits.message_bytes, scrubber, false);
    if message.truncated {
        flags.push(Flag::MessageTruncated);
    }
    let (context, report, context_as_given) =
        bounded_json(input.context, input.context_cut, limits, scrubber);
    if report.truncated {
        flags.push(Flag::ContextTruncated);
    }
    if report.depth_limited {
        flags.push(Flag::ContextDepthLimited);
    }
    Ok(ProcessedLog {
        message: message.stored,
        level: input.level,
        service,
        environment: input.environment,
        context,
        context_as_given,
        request_id: input
            .request_id
            .map(|r| scrubber.scrub_text(&r).into_owned()),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scrub::ScrubConfig;

    fn scrubber() -> Scrubber {
        Scrubber::new(&ScrubConfig::default()).unwrap()
    }

    fn process(input: LogInput) -> Result<ProcessedLog, LogError> {
        process_log(input, "default", &scrubber(), &Limits::default())
    }

    #[test]
    fn defaults_to_info_and_the_default_service() {
        let line = process(LogInput::new("cache warmed")).unwrap();
        assert_eq!(line.level, Level::Info);
        assert_eq!(line.service, "default");
        assert_eq!(line.environment, None);
        assert_eq!(line.context, json!({}));
        assert!(line.flags.is_empty());
    }

    #[test]
    fn a_context_neither_cut_nor_scrubbed_is_as_given() {
        let with = |context: Value, limits: &Limits| {
            let mut input = LogInput::new("checkout");
            input.context = context.as_object().unwrap().clone();
            process_log(input, "default", &scrubber(), limits).unwrap()
        };
        let clean = json!({"order_id": 42, "items": [1, 2], "note": "fine"});
        let line = with(clean.clone(), &Limits::default());
        assert!(line.context_as_given);
        assert_eq!(line.context, clean);
        assert!(!with(json!({"password": "pw"}), &Limits::default()).context_as_given);
        assert!(
            !with(json!({"note": "mail bob@example.com"}), &Limits::default()).context_as_given
        );
        let small = Limits {
            context_bytes: 16,
            ..Limits::default()
        };
        assert!(!with(clean, &small).context_as_given);
    }

    #[test]
    fn scrubs_message_context_and_request_id() {
        let mut input = LogInput::new("login for jane@example.com with token=hunter2secret");
        input.context = json!({"password": "pw", "user": {"email": "joe@example.org"}})
            .as_object()
            .unwrap()
            .clone();
        input.request_id = Some("req-jane@example.com".into());
        let line = process(input).unwrap();
        assert!(
            !line.message.contains("jane@example.com"),
            "{}",
            line.message
        );
        assert!(!line.message.contains("hunter2secret"), "{}", line.message);
        let context = line.context.to_string();
        assert!(
            !context.contains("\"pw\"") && !context.contains("joe@example.org"),
            "{context}"
        );
        assert!(!line.request_id.unwrap().contains("jane@"));
    }

    #[test]
    fn truncates_oversized_message_and_context_and_flags_them() {
        let limits = Limits {
            message_bytes: 256,
            context_bytes: 256,
            ..Limits::default()
        };
        let mut input = LogInput::new("word ".repeat(1000));
        input.context = json!({"blob": "x".repeat(5000)})
            .as_object()
            .unwrap()
            .clone();
        let line = process_log(input, "default", &scrubber(), &limits).unwrap();
        assert!(line.message.len() <= 256);
        assert!(line.context.to_string().len() <= 256);
        assert_eq!(line.flags, [Flag::MessageTruncated, Flag::ContextTruncated]);
    }

    #[test]
    fn refuses_bad_identifiers_naming_the_field() {
        for (field, mutate) in [
            (
                "message",
                Box::new(|l: &mut LogInput| l.message = " ".into()) as Box<dyn Fn(&mut LogInput)>,
            ),
            (
                "service",
                Box::new(|l: &mut LogInput| l.service = Some("a\nb".into())),
            ),
            (
                "service",
                Box::new(|l: &mut LogInput| l.service = Some("ops@example.com".into())),
            ),
            (
                "environment",
                Box::new(|l: &mut LogInput| l.environment = Some("prod uction".into())),
            ),
            (
                "request_id",
                Box::new(|l: &mut LogInput| l.request_id = Some("x".repeat(257))),
            ),
        ] {
            let mut input = LogInput::new("hello");
            mutate(&mut input);
            let err = process(input).expect_err(field);
            assert!(
                err.to_string()
                    .starts_with(&format!("log field \"{field}\"")),
                "{err}"
            );
        }
    }
}
