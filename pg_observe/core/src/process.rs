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
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::event::{EventError, EventInput, Level};
use crate::fingerprint::{group, Grouping, GroupingInput};
use crate::interrupt;
use crate::limits::{limit_json, precut, truncate_stack, truncate_text, JsonLimitReport, Limits};
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
    /// Keyed hash of the caller's user reference, for counting affected
    /// users without storing the reference a second time; see `UserKey`.
    pub user_hash: Option<i64>,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub unhandled: Option<bool>,
    pub title: String,
    pub culprit: Option<String>,
    pub grouping: Grouping,
    pub flags: Vec<Flag>,
}

/// The per-installation secret that user references are hashed with. An
/// unkeyed hash would let anyone who can read the counts confirm a guessed
/// e-mail address; with a key only the extension's owner holds, the hash
/// tells a reader nothing.
#[derive(Clone)]
pub struct UserKey(Vec<u8>);

impl UserKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        UserKey(secret.into())
    }

    /// The first 8 bytes of HMAC-SHA256(key, reference): stable per
    /// installation, and wide enough that distinct users of one issue
    /// practically never collide.
    pub fn hash(&self, user_ref: &str) -> i64 {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(user_ref.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(bytes)
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserKey(..)")
    }
}

/// What the pipeline needs besides the event: the configuration it runs
/// under and the server's clock.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    pub scrubber: &'a Scrubber,
    pub limits: &'a Limits,
    pub user_key: &'a UserKey,
    pub received_at: DateTime<Utc>,
}

/// Runs the pipeline. Refuses only identifier-shaped fields (service,
/// environment, release) that hold something the scrubber would remove: an
/// identifier cut to `[email]` would silently name another service.
pub fn process(input: EventInput, pipeline: &Pipeline<'_>) -> Result<ProcessedEvent, EventError> {
    let Pipeline {
        scrubber,
        limits,
        user_key,
        received_at,
    } = *pipeline;
    for (field, value) in [
        ("service", &input.service),
        ("environment", &input.environment),
        ("release", &input.release),
    ] {
        if let Some(value) = value {
            refuse_scrubbed(field, value, scrubber)?;
        }
    }
    let mut flags = Vec::new();

    let message = bounded_text(&input.message, limits.message_bytes, scrubber, false);
    if message.truncated {
        flags.push(Flag::MessageTruncated);
    }
    interrupt::check();
    let stack_text = input
        .stack
        .as_deref()
        .map(|s| bounded_text(s, limits.stack_bytes, scrubber, true));
    if stack_text.as_ref().is_some_and(|s| s.truncated) {
        flags.push(Flag::StackTruncated);
    }

    interrupt::check();
    let (context, report, _) =
        bounded_json(input.context, input.read_cuts.context, limits, scrubber);
    if report.truncated {
        flags.push(Flag::ContextTruncated);
    }
    if report.depth_limited {
        flags.push(Flag::ContextDepthLimited);
    }
    let (request, report, _) =
        bounded_json(input.request, input.read_cuts.request, limits, scrubber);
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

    interrupt::check();
    // Parse the untruncated stack (truncation drops the middle frames, which
    // grouping still wants to see) before scrubbing it; see the module doc.
    let parsed = input
        .frames
        .or_else(|| stack_text.as_ref().and_then(|s| stack::parse(&s.raw)))
        .map(|parsed| scrub_frames(parsed, scrubber));
    let exception_type = input
        .exception_type
        .map(|t| scrubber.scrub_text(&t).into_owned())
        .or_else(|| parsed.as_ref().and_then(|s| s.exception_type.clone()));
    interrupt::check();
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
    let user_hash = input.user_ref.as_deref().map(|u| user_key.hash(u));
    let user_ref = input.user_ref.map(|u| scrubber.scrub_text(&u).into_owned());
    let request_id = input
        .request_id
        .map(|r| scrubber.scrub_text(&r).into_owned());

    flags.sort();
    Ok(ProcessedEvent {
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
        request_id,
        occurred_at,
        unhandled: input.unhandled,
        title,
        culprit,
        grouping,
        flags,
    })
}

/// An identifier the scrubber would change would silently name something
/// else once scrubbed: it is refused instead.
pub(crate) fn refuse_scrubbed(
    field: &str,
    value: &str,
    scrubber: &Scrubber,
) -> Result<(), EventError> {
    if !scrubber.is_clean_name(value) {
        return Err(EventError::Invalid {
            field: field.to_owned(),
            problem: "must not contain an e-mail address, credential or token".to_owned(),
        });
    }
    Ok(())
}

/// Cut first (to a few times the limit), scrub, then apply the limit: the
/// scrubber never sees more than the precut, however large the input, and a
/// cut through a secret happens far beyond what is kept. `read` is what the
/// caller's reader already cut. Also says whether the value is still the
/// caller's: nothing cut and nothing scrubbed.
pub(crate) fn bounded_json(
    members: Map<String, Value>,
    read: JsonLimitReport,
    limits: &Limits,
    scrubber: &Scrubber,
) -> (Value, JsonLimitReport, bool) {
    let mut value = Value::Object(members);
    let precut = limit_json(
        &mut value,
        precut(limits.context_bytes),
        limits.context_depth,
    );
    let scrubbed = scrubber.scrub_json(&mut value);
    let last = limit_json(&mut value, limits.context_bytes, limits.context_depth);
    let report = JsonLimitReport {
        truncated: read.truncated || precut.truncated || last.truncated,
        depth_limited: read.depth_limited || precut.depth_limited || last.depth_limited,
    };
    let as_given = scrubbed == 0 && report == JsonLimitReport::default();
    (value, report, as_given)
}

pub(crate) struct BoundedText {
    /// Unscrubbed, capped only by the precut.
    raw: String,
    /// Scrubbed, capped only by the precut.
    for_grouping: String,
    /// Scrubbed and truncated to the limit.
    pub(crate) stored: String,
    pub(crate) truncated: bool,
}

/// How far back from the precut a cut may move to land on whitespace, so as
/// not to leave half a word (a token) for the scrubber to miss. Farther back
/// would throw away what the caller sent: `Error: ` and a megabyte of token
/// must keep the token's first kilobytes, cut and flagged.
const WHITESPACE_WINDOW: usize = 256;

/// Text is cut to a few times its limit first (`limits::precut`); scrubbing
/// and parsing see only that.
pub(crate) fn bounded_text(
    text: &str,
    limit: usize,
    scrubber: &Scrubber,
    is_stack: bool,
) -> BoundedText {
    let text: Cow<'_, str> = if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    };
    let precut = precut(limit);
    let (capped, precapped) = if text.len() > precut {
        let mut end = precut;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let window_start = end.saturating_sub(WHITESPACE_WINDOW);
        let cut = text[window_start..end]
            .rfind(char::is_whitespace)
            .map_or(end, |at| window_start + at);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(input: EventInput) -> ProcessedEvent {
        try_run(input).expect("a valid event")
    }

    fn try_run(input: EventInput) -> Result<ProcessedEvent, EventError> {
        process(
            input,
            &Pipeline {
                scrubber: &Scrubber::default(),
                limits: &Limits::default(),
                user_key: &UserKey::new(*b"test key"),
                received_at: now(),
            },
        )
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

    #[test]
    fn identifiers_holding_secrets_are_refused_without_echoing_them() {
        for (field, mutate) in [
            (
                "service",
                Box::new(|e: &mut EventInput| e.service = Some("owner@example.com".into()))
                    as Box<dyn Fn(&mut EventInput)>,
            ),
            (
                "release",
                Box::new(|e: &mut EventInput| e.release = Some("token=hunter2".into())),
            ),
            (
                "environment",
                Box::new(|e: &mut EventInput| {
                    e.environment = Some("sk_live_51H8abcdEFGHijklMNOPqrstUVwx".into())
                }),
            ),
        ] {
            let mut input = EventInput::new("boom");
            mutate(&mut input);
            let err = try_run(input).unwrap_err().to_string();
            assert!(err.contains(&format!("\"{field}\"")), "{err}");
            for secret in ["owner@example.com", "hunter2", "sk_live"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }

    #[test]
    fn free_text_identifiers_are_scrubbed() {
        let mut input = EventInput::new("boom");
        input.exception_type = Some("someone@example.com password=hunter2".into());
        input.request_id = Some("Bearer sk_live_51H8abcdEFGHijklMNOP".into());
        let event = run(input);
        let stored = format!(
            "{:?} {:?} {}",
            event.exception_type, event.request_id, event.title
        );
        for secret in ["someone@example.com", "hunter2", "sk_live"] {
            assert!(!stored.contains(secret), "{stored}");
        }
    }

    #[test]
    fn a_huge_token_after_a_word_is_cut_not_dropped() {
        let token = "x".repeat(1 << 20);
        let event = run(EventInput::new(format!("Error: {token}")));
        assert!(
            event.message.starts_with("Error: xxxx"),
            "{}",
            &event.message[..20]
        );
        assert!(event.message.len() > Limits::default().message_bytes / 2);
        assert!(event.flags.contains(&Flag::MessageTruncated));

        let mut input = EventInput::new("frame");
        input.stack = Some(format!("    at f (https://x/{token}.js:1:2)"));
        let event = run(input);
        let stored = event.stack.unwrap();
        assert!(
            stored.len() > Limits::default().stack_bytes / 2,
            "{}",
            stored.len()
        );
        assert!(event.flags.contains(&Flag::StackTruncated));
    }

    #[test]
    fn context_deeper_than_any_limit_is_limited_not_refused() {
        // Deeper than serde_json's parser allows (128), deep enough to show
        // the limit applies at any depth.
        let mut deep = json!("leaf");
        for _ in 0..300 {
            deep = json!({ "d": deep });
        }
        let mut input = EventInput::new("x");
        input.context = deep.as_object().unwrap().clone();
        let event = run(input);
        assert!(event.flags.contains(&Flag::ContextDepthLimited));
        // serde_json drops recursively; the stored value is shallow.
        assert!(serde_json::to_string(&event.context).unwrap().len() < 1_000);
    }

    #[test]
    fn huge_context_is_cut_before_it_is_scrubbed() {
        // Every member holds something to scrub; scrubbing 8 MB of them would
        // take seconds, cutting first takes milliseconds.
        let members: Map<String, Value> = (0..200_000)
            .map(|i| {
                (
                    format!("k{i}"),
                    json!(format!("mail user{i}@example.com now")),
                )
            })
            .collect();
        let mut input = EventInput::new("x");
        input.context = members;
        let started = std::time::Instant::now();
        let event = run(input);
        let elapsed = started.elapsed();
        assert!(event.flags.contains(&Flag::ContextTruncated));
        assert!(!serde_json::to_string(&event.context)
            .unwrap()
            .contains("@example.com"));
        assert!(elapsed.as_millis() < 2_000, "{elapsed:?}");
    }

    #[test]
    fn read_cuts_are_flagged() {
        let mut input = EventInput::new("x");
        input.read_cuts.context.truncated = true;
        input.read_cuts.request.depth_limited = true;
        let event = run(input);
        assert_eq!(
            event.flags,
            vec![Flag::ContextTruncated, Flag::RequestTruncated]
        );
    }

    #[test]
    fn user_hashes_are_keyed() {
        let a = UserKey::new(*b"installation a");
        let b = UserKey::new(*b"installation b");
        assert_eq!(a.hash("alice@example.com"), a.hash("alice@example.com"));
        assert_ne!(a.hash("alice@example.com"), b.hash("alice@example.com"));
        assert_ne!(a.hash("alice@example.com"), a.hash("bob@example.com"));
    }
}
