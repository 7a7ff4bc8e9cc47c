//! Grouping as SQL functions, for analysts and for re-grouping stored data.
//! They see exactly what they are given: capture fingerprints an event after
//! scrubbing it, so for a message holding PII the stored issue's fingerprint
//! is that of the scrubbed text.

use pg_observe_core::fingerprint::{group, GroupingInput};
use pg_observe_core::normalize;
use pg_observe_core::stack;
use pgrx::prelude::*;

use crate::log_error::fingerprint_parts;

/// Replaces the variable parts of a message (numbers, ids, addresses,
/// timestamps, quoted values…) with placeholders such as `<int>`.
#[pg_extern(schema = "observe", immutable, parallel_safe, strict)]
fn normalize_message(message: &str) -> String {
    normalize::normalize_message(message).into_owned()
}

/// The grouping fingerprint of an error: explicit fingerprint, else in-app
/// stack frames, else exception type plus the normalized message.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn fingerprint(
    message: Option<&str>,
    exception_type: default!(Option<&str>, "NULL"),
    stack: default!(Option<&str>, "NULL"),
    fingerprint: default!(Option<Vec<Option<String>>>, "NULL"),
) -> Option<String> {
    if message.is_none() && stack.is_none() && fingerprint.is_none() {
        return None;
    }
    let parts = fingerprint_parts(fingerprint);
    let parsed = stack.and_then(stack::parse);
    let grouping = group(GroupingInput {
        message: message.unwrap_or(""),
        exception_type,
        stack: parsed.as_ref(),
        fingerprint: parts.as_deref(),
    });
    Some(grouping.primary().to_owned())
}
