//! The storing worker of one database: takes that database's records out of
//! the ring and stores them through the capture pipeline, a batch in one
//! transaction, and record by record, each in a subtransaction of its own,
//! only when the batch fails, so that one bad event cannot lose the others
//! (ARCHITECTURE.md, "Server-side capture"). It exits when idle, and on
//! SIGTERM once drained. Its own errors are never captured (the hook skips
//! its process); the last one is kept for `observe.capture_stats()`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pg_observe_core::ring::RecordMeta;
use pg_observe_core::server_error::record::{self, Durable, KIND_DURABLE_EVENT, KIND_SERVER_ERROR};
use pg_observe_core::server_error::ServerError;
use pg_observe_core::wire;
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::{pg_guard, pg_sys, Uuid};

use super::shared::Shared;
use super::{hook, settings, shared, wait};
use crate::capture::{self, role_name, writer_of};
use crate::pgtime::from_pg_micros;
use crate::subtransaction::in_subtransaction;

/// Records taken out of the ring at once and stored in one transaction, so
/// one commit (one WAL flush, durable) serves them all.
const BATCH: usize = 500;
/// Records per transaction when a failed batch is stored again record by
/// record, each in a subtransaction: fewer than the 64 subtransaction ids a
/// backend caches, past which every snapshot in the cluster would have to
/// consult pg_subtrans.
const ONE_BY_ONE: usize = 50;
/// How long a worker lets records gather after taking fewer than a batch:
/// under load one commit then serves a hundred records instead of a few,
/// and the worker wakes, commits and waits for its WAL flush four times a
/// second rather than twenty, each time taking a core from the backends
/// (benches/RESULTS.md, §8). Small against the two seconds an error may take
/// to reach its issue.
const GATHER: Duration = Duration::from_millis(250);
/// How long a worker waits for more before it exits; short, because a
/// connected worker makes DROP DATABASE wait for it.
const IDLE_EXIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(250);
/// How long a worker told to stop goes on draining.
const DRAIN: Duration = Duration::from_secs(3);

/// A record as taken out of the ring.
type Record = (RecordMeta, Vec<u8>);

enum Outcome {
    Stored,
    Skipped,
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pg_observe_capture_worker(arg: pg_sys::Datum) {
    let database = pg_sys::Oid::from(arg.value() as u32);
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    hook::mark_capture_worker();
    let Some(shared) = shared::get() else {
        return;
    };
    // SAFETY: connects this worker to its database as the bootstrap
    // superuser (capture writes as the extension's owner would), even to a
    // database that refuses connections.
    unsafe {
        pg_sys::BackgroundWorkerInitializeConnectionByOid(
            database,
            pg_sys::InvalidOid,
            pg_sys::BGWORKER_BYPASS_ALLOWCONN,
        );
        pg_sys::pgstat_report_appname(c"pg_observe capture worker".as_ptr());
        // What it stores must outlive a crash that follows: no asynchronous
        // commit for this worker, whatever the server's default.
        pg_sys::SetConfigOption(
            c"synchronous_commit".as_ptr(),
            c"on".as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_OVERRIDE,
        );
    }
    let mut idle_since = Instant::now();
    let mut stopping_since = None;
    loop {
        wait::reload_settings_if_asked();
        if wait::shutdown_requested() {
            let since = *stopping_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= DRAIN {
                break;
            }
        }
        let mut batch = shared.take(database, BATCH);
        if batch.is_empty() {
            if stopping_since.is_some() || idle_since.elapsed() >= IDLE_EXIT {
                break;
            }
            wait::for_latch(POLL);
            continue;
        }
        if batch.len() < BATCH && stopping_since.is_none() {
            wait::sleep(GATHER);
            batch.extend(shared.take(database, BATCH - batch.len()));
        }
        store_batch(shared, database, &batch);
        idle_since = Instant::now();
    }
}

/// Where a batch is stored: read once per transaction.
struct Target {
    database: String,
    database_allowed: bool,
}

/// The database's name and whether the allow-list admits it; None when
/// pg_observe is not installed there.
fn target(database: pg_sys::Oid) -> Option<Target> {
    // An index lookup in pg_extension: a query here, parsed and planned
    // for every batch, was a third of the worker's time.
    // SAFETY: a catalog lookup by a NUL-terminated name, in a transaction.
    let installed =
        unsafe { pg_sys::get_extension_oid(c"pg_observe".as_ptr(), true) } != pg_sys::InvalidOid;
    if !installed {
        return None;
    }
    // SAFETY: the name of the database this worker is connected to.
    let name = unsafe {
        let name = pg_sys::get_database_name(database);
        if name.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        }
    };
    Some(Target {
        database_allowed: settings::database_allowed(&name),
        database: name,
    })
}

/// Stores the batch in one transaction; when any record fails, that is
/// rolled back, and the batch is stored again record by record.
fn store_batch(shared: &Shared, database: pg_sys::Oid, batch: &[Record]) {
    // What the store remembers besides the database (flood control's
    // counts, known releases) as it was before the batch, so that a batch
    // rolled back and stored again counts each record once.
    let remembered = capture::remembered();
    if store_together(shared, database, batch) {
        return;
    }
    capture::restore(remembered);
    for records in batch.chunks(ONE_BY_ONE) {
        store_one_by_one(shared, database, records);
    }
}

/// True when every record was stored (or skipped) in one subtransaction,
/// false when one failed and nothing was.
fn store_together(shared: &Shared, database: pg_sys::Oid, batch: &[Record]) -> bool {
    BackgroundWorker::transaction(AssertUnwindSafe(|| {
        let Some(target) = target(database) else {
            skip_all(shared, batch.len());
            return true;
        };
        let outcomes = in_subtransaction(|| {
            batch
                .iter()
                .map(|(meta, payload)| store_record(meta, payload, &target))
                .collect::<Result<Vec<_>, _>>()
        });
        let Ok(outcomes) = outcomes else {
            return false;
        };
        for outcome in outcomes {
            count(shared, outcome);
        }
        stored_now(shared);
        true
    }))
}

fn store_one_by_one(shared: &Shared, database: pg_sys::Oid, records: &[Record]) {
    BackgroundWorker::transaction(AssertUnwindSafe(|| {
        let Some(target) = target(database) else {
            skip_all(shared, records.len());
            return;
        };
        for (meta, payload) in records {
            match in_subtransaction(|| store_record(meta, payload, &target)) {
                Ok(outcome) => count(shared, outcome),
                Err(message) => {
                    // SAFETY: reads the clock.
                    shared
                        .record_error(database, &message, unsafe { pg_sys::GetCurrentTimestamp() });
                    shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        stored_now(shared);
    }));
}

fn skip_all(shared: &Shared, records: usize) {
    shared
        .counters
        .skipped
        .fetch_add(records as u64, Ordering::Relaxed);
}

fn count(shared: &Shared, outcome: Outcome) {
    let counter = match outcome {
        Outcome::Stored => &shared.counters.stored,
        Outcome::Skipped => &shared.counters.skipped,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn stored_now(shared: &Shared) {
    // SAFETY: reads the clock.
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    shared.counters.last_stored_at.store(now, Ordering::Relaxed);
}

fn store_record(meta: &RecordMeta, payload: &[u8], target: &Target) -> Result<Outcome, String> {
    match meta.kind {
        KIND_SERVER_ERROR => {
            if !target.database_allowed {
                return Ok(Outcome::Skipped);
            }
            let record = record::decode(payload).map_err(|e| e.to_string())?;
            let role_oid = pg_sys::Oid::from(record.meta.role);
            let role = role_name(role_oid);
            let session_role = role_name(pg_sys::Oid::from(record.meta.session_role));
            if !settings::role_allowed(&role, &session_role) {
                return Ok(Outcome::Skipped);
            }
            let error = ServerError {
                record,
                database: target.database.clone(),
                role,
                session_role,
                occurred_at: from_pg_micros(meta.enqueued_at),
            };
            capture::try_capture_as(error.into_event(), &writer_of(role_oid))
                .map_err(|e| e.to_string())?;
        }
        KIND_DURABLE_EVENT => {
            let durable = Durable::decode(payload).map_err(|e| e.to_string())?;
            let event = wire::from_bytes(durable.event).map_err(|e| e.to_string())?;
            capture::store_processed(
                event,
                &writer_of(pg_sys::Oid::from(durable.role)),
                Uuid::from_bytes(durable.id),
            )
            .map_err(|e| e.to_string())?;
        }
        other => return Err(format!("capture record of unknown kind {other}")),
    }
    Ok(Outcome::Stored)
}
