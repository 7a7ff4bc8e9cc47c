//! `observe.capture_stats()`: how server-side capture is doing, as one row
//! (README, "Server-side capture"). The counters are the cluster's, since
//! the server started; a storing error names its message only to callers in
//! its own database (or superusers), since it may quote that database's data.

use std::sync::atomic::Ordering;

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;

use super::shared;

/// Captured, dropped, stored, failed, skipped and pending records, the
/// ring's use, how long the oldest pending record has waited, and the last
/// storing error.
// pgrx reads the row's columns from the signature itself, so they cannot
// move into a type alias.
#[allow(clippy::type_complexity)]
#[pg_extern(schema = "observe", volatile)]
fn capture_stats() -> TableIterator<
    'static,
    (
        name!(preloaded, bool),
        name!(captured, i64),
        name!(dropped, i64),
        name!(stored, i64),
        name!(failed, i64),
        name!(skipped, i64),
        name!(pending, i64),
        name!(ring_bytes, i64),
        name!(ring_used_bytes, i64),
        name!(worker_lag, Interval),
        name!(last_stored_at, Option<TimestampWithTimeZone>),
        name!(last_error, Option<String>),
        name!(last_error_at, Option<TimestampWithTimeZone>),
        name!(launcher_pid, Option<i32>),
    ),
> {
    let Some(shared) = shared::get() else {
        return TableIterator::once((
            false,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            Interval::from_micros(0),
            None,
            None,
            None,
            None,
        ));
    };
    let counters = &shared.counters;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed) as i64;
    let captured = load(&counters.captured);
    let (_, oldest) = shared.waiting(0);
    // SAFETY: reads the clock and this session's database and role.
    let (now, database, superuser) = unsafe {
        (
            pg_sys::GetCurrentTimestamp(),
            pg_sys::MyDatabaseId,
            pg_sys::superuser(),
        )
    };
    let timestamp = |micros: i64| {
        (micros != 0)
            .then(|| TimestampWithTimeZone::try_from(micros).ok())
            .flatten()
    };
    let last_error = shared.last_error().map(|(in_database, message)| {
        if in_database == database || superuser {
            message
        } else {
            "(a storing error in another database)".to_owned()
        }
    });
    let launcher = shared.launcher_pid.load(Ordering::Relaxed);
    TableIterator::once((
        true,
        captured,
        load(&counters.dropped),
        load(&counters.stored),
        load(&counters.failed),
        load(&counters.skipped),
        captured - load(&counters.taken),
        shared.ring_bytes() as i64,
        shared.used_bytes() as i64,
        Interval::from_micros(oldest.map_or(0, |at| (now - at).max(0))),
        timestamp(counters.last_stored_at.load(Ordering::Relaxed)),
        last_error,
        timestamp(counters.last_error_at.load(Ordering::Relaxed)),
        (launcher != 0).then_some(launcher as i32),
    ))
}
