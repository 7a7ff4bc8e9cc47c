//! Cancellation for the long loops over input (scrubbing, normalizing,
//! parsing, limiting). They call `check()` as they go; inside PostgreSQL the
//! extension installs CHECK_FOR_INTERRUPTS, so `statement_timeout` and
//! `pg_cancel_backend()` stop a capture within milliseconds by unwinding out
//! of it. Everywhere else (the edge functions, benchmarks, tests) nothing is
//! installed and `check()` costs one atomic load.

use std::sync::OnceLock;

static CHECK: OnceLock<fn()> = OnceLock::new();

/// Installs the check; the first installation wins (one per process).
pub fn install(check: fn()) {
    let _ = CHECK.set(check);
}

/// Runs the installed check, which may unwind to cancel the work.
#[inline]
pub fn check() {
    if let Some(check) = CHECK.get() {
        check();
    }
}
