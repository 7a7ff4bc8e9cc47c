//! The lifecycle's vocabulary as SQL sees it: the trigger that records
//! `issue_activity` asks Rust for the kind of each change, so the words
//! live in `pg_observe_core::lifecycle` only.

use pg_observe_core::lifecycle::{ActivityKind, IssueStatus};
use pgrx::prelude::*;

use crate::errors::raise_internal;

/// The `issue_activity.kind` of a status change of an existing issue.
#[pg_extern(schema = "observe", immutable, parallel_safe)]
fn activity_kind(from_status: &str, to_status: &str, reason: Option<&str>) -> &'static str {
    let status = |s: &str| {
        s.parse::<IssueStatus>()
            .unwrap_or_else(|e| raise_internal("activity kind", e))
    };
    ActivityKind::of_change(status(from_status), status(to_status), reason).as_str()
}
