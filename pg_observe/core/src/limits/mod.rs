//! Size limits applied to captured errors before they are stored.
//!
//! Everything here is about size only: NUL bytes and other characters
//! Postgres cannot store are handled where text is normalised, not here, so
//! that a limit never changes a character it keeps.
//!
//! Inputs can be several megabytes; the functions look at the part they keep
//! (plus, for stack traces, one byte scan to count the omitted lines), not at
//! the whole input, and never panic, whatever the limits.

mod json;
pub mod read_cost;
mod text;

pub(crate) use json::string_len;
pub use json::{limit_json, JsonLimitReport, DEPTH_MARKER, MAX_SUPPORTED_DEPTH};
pub use text::{truncate_stack, truncate_text};

const ELLIPSIS: &str = "…";

/// Default of [`Limits::message_bytes`], and of `observe.max_message_bytes`.
/// A longer message is cut by [`truncate_text`].
pub const DEFAULT_MESSAGE_BYTES: usize = 8 * 1024;

/// Default of [`Limits::stack_bytes`], and of `observe.max_stack_bytes`. A
/// longer stack trace loses its middle lines ([`truncate_stack`]).
pub const DEFAULT_STACK_BYTES: usize = 64 * 1024;

/// Default of [`Limits::context_bytes`], and of `observe.max_context_bytes`:
/// the largest serialized context, and separately request, object
/// ([`limit_json`]).
pub const DEFAULT_CONTEXT_BYTES: usize = 64 * 1024;

/// Default of [`Limits::context_depth`], and of `observe.max_context_depth`:
/// the deepest nesting kept in context and request objects ([`limit_json`]).
pub const DEFAULT_CONTEXT_DEPTH: usize = 10;

/// Input is cut to this many times its limit before anything else reads it
/// (scrubbing, parsing, normalizing): what lies beyond is cut after
/// scrubbing anyway, and a cut far from the final one cannot leave half a
/// secret in what is kept.
pub const PRECUT_FACTOR: usize = 4;

/// How much of an input whose final limit is `limit` is worth reading.
pub fn precut(limit: usize) -> usize {
    limit.saturating_mul(PRECUT_FACTOR)
}

/// Size limits; the defaults follow Sentry's message cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub message_bytes: usize,
    pub stack_bytes: usize,
    pub context_bytes: usize,
    pub context_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: DEFAULT_MESSAGE_BYTES,
            stack_bytes: DEFAULT_STACK_BYTES,
            context_bytes: DEFAULT_CONTEXT_BYTES,
            context_depth: DEFAULT_CONTEXT_DEPTH,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::{json, Value};

    use super::*;

    fn size(value: &Value) -> usize {
        serde_json::to_string(value).unwrap().len()
    }

    #[test]
    fn limits_are_fast_on_multi_megabyte_input() {
        let big = "frame line\n".repeat(800_000);
        let mut value = json!({
            "items": (0..100_000).map(|i| json!({"id": i, "text": "x".repeat(100)})).collect::<Vec<_>>(),
            "blob": big.clone(),
        });
        let started = Instant::now();
        assert!(truncate_text(&big, 8192).len() <= 8192);
        assert!(truncate_stack(&big, 8192).len() <= 8192);
        let report = limit_json(&mut value, 65_536, 10);
        let elapsed = started.elapsed();
        assert!(report.truncated);
        assert!(size(&value) <= 65_536);
        // Generous even for an unoptimised build; a quadratic walk takes minutes.
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    }
}
