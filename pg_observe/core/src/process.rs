//! The capture pipeline between "an event arrived" and "write these rows":
//! bound the input, scrub it, then group what was scrubbed. Every capture path
//! (SQL arguments, JSON, and later the log hook) ends here, so a rule lives in
//! one place.
//!
//! Order matters. Scrubbing runs before truncation, because a cut through the
//! middle of an e-mail address or token leaves a fragment no pattern
//! recognises. Grouping runs after scrubbing, so that a secret inside a
//! message (`password=hunter2`) neither splits issues nor reaches the hash.
//! A stack trace is the exception: it is parsed before it is scrubbed, since
//! frame syntax looks like secrets (`s@33.js:1:531` is a Firefox frame, not an
//! e-mail address), and then each frame's parts are scrubbed on their own.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use md5::{Digest, Md5};
use serde_json::Value;

use crate::event::{EventInput, Level};
use crate::fingerprint::{group, Grouping, GroupingInput};
use crate::limits::{limit_json, truncate_stack, truncate_text, Limits};
use crate::scrub::{Scrubber, FILTERED};
use crate::stack;

/// Longest issue title; the full message stays on the event.
pub const MAX_TITLE_BYTES: usize = 256;

/// An event timestamped further ahead than this is a client clock error.
pub const MAX_CLOCK_DRIFT: TimeDelta = TimeDelta::minutes(1);

/// Something the pipeline changed that the caller did not ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    MessageTruncated,
    StackTruncated,
    ContextTruncated,
    ContextDepthLimited,
    RequestTruncated,
    ClockDrift,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::MessageTruncated => "message_truncated",
            Flag::StackTruncated => "stack_truncated",
            Flag::ContextTruncated => "context_truncated",
            Flag::ContextDepthLimited => "context_depth_limited",
            Flag::RequestTruncated => "request_truncated",
            Flag::ClockDrift => "clock_drift",
        }
    }
}

/// An event ready to store: scrubbed, bounded and grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedEvent {
    pub message: String,
    pub level: Level,
    pub service: Option<String>,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub exception_type: Option<String>,
    pub stack: Option<String>,
    pub context: Value,
    pub request: Value,
    pub tags: BTreeMap<String, String>,
    pub user_ref: Option<String>,
    /// Stable hash of the caller's user reference, for counting affected
    /// users without storing the reference a second time.
    pub user_hash: Option<i64>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub unhandled: Option<bool>,
    pub title: String,
    pub culprit: Option<String>,
    pub grouping: Grouping,
    pub flags: Vec<Flag>,
}

/// Runs the pipeline. `received_at` is the server's clock.
pub fn process(
    input: EventInput,
    scrubber: &Scrubber,
    limits: &Limits,
    received_at: DateTime<Utc>,
) -> ProcessedEvent {
    let mut flags = Vec::new();

    let message = bounded_text(&input.message, limits.message_bytes, scrubber, false);
    if message.truncated {
        flags.push(Flag::MessageTruncated);
    }
    let stack_text = input
        .stack
        .as_deref()
        .map(|s| bounded_text(s, limits.stack_bytes, scrubber, true));
    if stack_text.as_ref().is_some_and(|s| s.truncated) {
        flags.push(Flag::StackTruncated);
    }

    let mut context = Value::Object(input.context);
    scrubber.scrub_json(&mut context);
    let report = limit_json(&mut context, limits.context_bytes, limits.context_depth);
    if report.truncated {
        flags.push(Flag::ContextTruncated);
    }
    if report.depth_limited {
        flags.push(Flag::ContextDepthLimited);
    }
    let mut request = Value::Object(input.request);
    scrubber.scrub_json(&mut request);
    let report = limit_json(&mut request, limits.context_bytes, limits.context_depth);
    if report.truncated || report.depth_limited {
        flags.push(Flag::RequestTruncated);
    }

    let tags = input
        .tags
        .into_iter()
        .map(|(key, value)| {
            let value = if scrubber.is_sensitive_key(&key) {
                FILTERED.to_owned()
            } else {
                scrubber.scrub_text(&value).into_owned()
            };
            (key, value)
        })
        .collect();

    // Parse the untruncated stack (truncation drops the middle frames, which
    // grouping still wants to see) before scrubbing it; see the module doc.
    let parsed = stack_text
        .as_ref()
        .and_then(|s| stack::parse(&s.raw))
        .map(|parsed| scrub_frames(parsed, scrubber));
    let exception_type = input
        .exception_type
        .or_else(|| parsed.as_ref().and_then(|s| s.exception_type.clone()));
    let grouping = group(GroupingInput {
        message: &message.for_grouping,
        exception_type: exception_type.as_deref(),
        stack: parsed.as_ref(),
        fingerprint: input.fingerprint.as_deref(),
    });
    let culprit = parsed.as_ref().and_then(|s| {
        s.frames
            .iter()
            .find(|f| f.in_app)
            .or(s.frames.first())
            .map(|f| f.culprit())
    });
    let title = title(exception_type.as_deref(), &message.stored);

    let occurred_at = match input.occurred_at {
        Some(t) if t > received_at + MAX_CLOCK_DRIFT => {
            flags.push(Flag::ClockDrift);
            received_at
        }
        Some(t) => t,
        None => received_at,
    };
    let user_hash = input.user_ref.as_deref().map(user_hash);
    let user_ref = input.user_ref.map(|u| scrubber.scrub_text(&u).into_owned());

    flags.sort();
    ProcessedEvent {
        message: message.stored,
        level: input.level,
        service: input.service,
        environment: input.environment,
        release: input.release,
        exception_type,
        stack: stack_text.map(|s| s.stored),
        context,
        request,
        tags,
        user_ref,
        user_hash,
        request_id: input.request_id,
        occurred_at,
        unhandled: input.unhandled,
        title,
        culprit,
        grouping,
        flags,
    }
}

struct BoundedText {
    /// Unscrubbed, capped only by the pre-scrub bound.
    raw: String,
    /// Scrubbed, capped only by the pre-scrub bound.
    for_grouping: String,
    /// Scrubbed and truncated to the limit.
    stored: String,
    truncated: bool,
}

/// Scrubbing is linear but not free, so input far over the limit is cut to a
/// few times the limit first. The cut backs off to whitespace so that it does
/// not leave half a secret for the scrubber to miss; whatever lies near the
/// cut is beyond the final limit anyway.
fn bounded_text(text: &str, limit: usize, scrubber: &Scrubber, is_stack: bool) -> BoundedText {
    let text: Cow<'_, str> = if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    };
    let precap = limit.saturating_mul(4);
    let (capped, precapped) = if text.len() > precap {
        let mut end = precap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = text[..end].rfind(char::is_whitespace).unwrap_or(end);
        (&text[..cut], true)
    } else {
        (&text[..], false)
    };
    let scrubbed = scrubber.scrub_text(capped);
    let stored = if is_stack {
        truncate_stack(&scrubbed, limit)
    } else {
        truncate_text(&scrubbed, limit)
    };
    let truncated = precapped || matches!(stored, Cow::Owned(_));
    BoundedText {
        stored: stored.into_owned(),
        for_grouping: scrubbed.into_owned(),
        raw: capped.to_owned(),
        truncated,
    }
}

/// Scrubs what a frame names: a function, module or file name can carry a
/// secret (a token in a URL's query, credentials in its authority).
fn scrub_frames(mut parsed: stack::Stack, scrubber: &Scrubber) -> stack::Stack {
    let scrub = |field: &mut Option<String>| {
        if let Some(clean) = field.as_deref().and_then(|f| owned(scrubber.scrub_text(f))) {
            *field = Some(clean);
        }
    };
    scrub(&mut parsed.exception_type);
    for frame in &mut parsed.frames {
        scrub(&mut frame.function);
        scrub(&mut frame.module);
        scrub(&mut frame.filename);
    }
    parsed
}

fn owned(text: Cow<'_, str>) -> Option<String> {
    match text {
        Cow::Borrowed(_) => None,
        Cow::Owned(text) => Some(text),
    }
}

fn title(exception_type: Option<&str>, message: &str) -> String {
    let first_line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let first_line = first_line.trim();
    let full = match exception_type {
        Some(t) if !first_line.starts_with(t) => format!("{t}: {first_line}"),
        _ => first_line.to_owned(),
    };
    truncate_text(&full, MAX_TITLE_BYTES).into_owned()
}

fn user_hash(user_ref: &str) -> i64 {
    let digest = Md5::digest(user_ref.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(input: EventInput) -> ProcessedEvent {
        process(input, &Scrubber::default(), &Limits::default(), now())
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn pii_never_reaches_the_stored_event_or_splits_issues() {
        let mut a = EventInput::new("login failed for alice@example.com password=hunter2");
        a.context = json!({"password": "hunter2", "note": "mail bob@example.com"})
            .as_object()
            .unwrap()
            .clone();
        a.request = json!({"session_id": "s-1"}).as_object().unwrap().clone();
        a.user_ref = Some("alice@example.com".into());
        let b = EventInput::new("login failed for carol@example.org password=swordfish");
        let (a, b) = (run(a), run(b));
        let stored =
            serde_json::to_string(&(&a.message, &a.context, &a.request, &a.user_ref)).unwrap();
        for secret in ["alice@example.com", "hunter2", "bob@example.com", "s-1"] {
            assert!(!stored.contains(secret), "{secret} leaked: {stored}");
        }
        assert_eq!(a.grouping, b.grouping);
        assert!(
            a.user_hash.is_some()
                && a.user_hash
                    != run(EventInput {
                        user_ref: Some("carol@example.org".into()),
                        ..EventInput::new("x")
                    })
                    .user_hash
        );
    }

    #[test]
    fn oversized_fields_are_truncated_and_flagged_never_refused() {
        let mut input = EventInput::new("x".repeat(100_000));
        input.stack = Some("    at f (/app/a.js:1:1)\n".repeat(20_000));
        input.context = json!({"blob": "y".repeat(200_000)})
            .as_object()
            .unwrap()
            .clone();
        let event = run(input);
        let limits = Limits::default();
        assert!(event.message.len() <= limits.message_bytes);
        assert!(event.stack.as_ref().unwrap().len() <= limits.stack_bytes);
        assert!(serde_json::to_string(&event.context).unwrap().len() <= limits.context_bytes);
        assert_eq!(
            event.flags,
            vec![
                Flag::MessageTruncated,
                Flag::StackTruncated,
                Flag::ContextTruncated
            ]
        );
    }

    #[test]
    fn deep_context_is_cut_at_the_depth_limit() {
        let mut deep = json!("leaf");
        for _ in 0..50 {
            deep = json!({ "d": deep });
        }
        let mut input = EventInput::new("x");
        input.context = deep.as_object().unwrap().clone();
        assert!(run(input).flags.contains(&Flag::ContextDepthLimited));
    }

    #[test]
    fn small_events_pass_unflagged() {
        let mut input = EventInput::new("TypeError: boom");
        input.exception_type = Some("TypeError".into());
        let event = run(input);
        assert!(event.flags.is_empty());
        assert_eq!(event.title, "TypeError: boom");
        assert_eq!(event.occurred_at, now());
    }

    #[test]
    fn future_timestamps_are_clamped_past_ones_kept() {
        let mut future = EventInput::new("x");
        future.occurred_at = Some(now() + TimeDelta::hours(2));
        let event = run(future);
        assert_eq!(event.occurred_at, now());
        assert_eq!(event.flags, vec![Flag::ClockDrift]);
        let mut past = EventInput::new("x");
        past.occurred_at = Some(now() - TimeDelta::hours(2));
        assert_eq!(run(past).occurred_at, now() - TimeDelta::hours(2));
    }

    #[test]
    fn titles_prefix_the_type_once_and_use_the_first_line() {
        assert_eq!(title(Some("ValueError"), "bad\nmore"), "ValueError: bad");
        assert_eq!(title(Some("TypeError"), "TypeError: x"), "TypeError: x");
        assert_eq!(title(None, "\n  second line"), "second line");
        assert!(title(None, &"z".repeat(1000)).len() <= MAX_TITLE_BYTES);
    }

    #[test]
    fn nul_bytes_cannot_reach_postgres_text() {
        let event = run(EventInput::new("a\0b"));
        assert_eq!(event.message, "a\u{FFFD}b");
    }

    #[test]
    fn the_stack_supplies_type_culprit_and_grouping() {
        let mut input = EventInput::new("Cannot read properties of undefined (reading 'id')");
        input.stack = Some(
            "TypeError: Cannot read properties of undefined (reading 'id')\n    at getUser (/app/src/users.ts:42:17)\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)".into(),
        );
        let event = run(input);
        assert_eq!(event.exception_type.as_deref(), Some("TypeError"));
        assert!(event.culprit.as_deref().unwrap().contains("getUser"));
        assert_eq!(
            event.grouping.basis,
            crate::fingerprint::GroupingBasis::Stack
        );
    }
}
