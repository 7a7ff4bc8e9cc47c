//! Running one unit of work in a subtransaction of its own, rolled back when
//! it fails (by returning an error or by raising one), as PL/pgSQL's
//! exception blocks do: callers that store many events in one transaction
//! use it so that one bad event loses only itself.

use std::panic::AssertUnwindSafe;

use pg_observe_core::server_error::sqlstates;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::{pg_sys, PgTryBuilder};

/// An error raised inside the subtransaction: its SQLSTATE and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub sqlstate: String,
    pub message: String,
}

impl From<Raised> for String {
    fn from(raised: Raised) -> String {
        raised.message
    }
}

/// Runs `work` in a subtransaction: released when it returns `Ok`, rolled
/// back when it returns `Err` or raises (the raised error becomes `E`).
pub fn in_subtransaction<T, E: From<Raised>>(work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    // SAFETY: the memory context and resource owner are restored on both
    // paths, as every caller of BeginInternalSubTransaction must.
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        let mut work = Some(work);
        PgTryBuilder::new(AssertUnwindSafe(|| {
            let outcome = match work.take() {
                Some(work) => work(),
                None => unreachable!("the work runs once"),
            };
            if outcome.is_ok() {
                pg_sys::ReleaseCurrentSubTransaction();
            } else {
                pg_sys::RollbackAndReleaseCurrentSubTransaction();
            }
            restore(context, owner);
            outcome
        }))
        .catch_others(move |error: CaughtError| {
            restore(context, owner);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            restore(context, owner);
            let report = match &error {
                CaughtError::PostgresError(report)
                | CaughtError::ErrorReport(report)
                | CaughtError::RustPanic {
                    ereport: report, ..
                } => report,
            };
            Err(E::from(Raised {
                sqlstate: sqlstates::text(report.sql_error_code() as i32),
                message: report.message().to_owned(),
            }))
        })
        .execute()
    }
}

/// # Safety
/// `context` and `owner` are what was current before the subtransaction.
unsafe fn restore(context: pg_sys::MemoryContext, owner: pg_sys::ResourceOwner) {
    unsafe {
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
}
