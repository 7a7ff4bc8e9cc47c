//! The capture workers' waiting, signals and reloads. pgrx's SIGTERM handler
//! sets `ShutdownRequestPending`, which the workers read themselves: they
//! drain before they exit rather than die at the next interrupt check.

use std::time::Duration;

use pgrx::pg_sys;

pub fn shutdown_requested() -> bool {
    // SAFETY: a flag set by the signal handler, read as a plain load.
    unsafe { pg_sys::ShutdownRequestPending != 0 }
}

pub fn reload_settings_if_asked() {
    // SAFETY: the flag the SIGHUP handler sets; ProcessConfigFile is what
    // PostgreSQL's own workers call when it is.
    unsafe {
        if pg_sys::ConfigReloadPending != 0 {
            pg_sys::ConfigReloadPending = 0;
            pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP);
        }
    }
}

/// Sleeps until the latch is set or `timeout` passes; exits with the
/// postmaster.
pub fn for_latch(timeout: Duration) {
    wait(pg_sys::WL_LATCH_SET, timeout);
    // SAFETY: the process's own latch.
    unsafe { pg_sys::ResetLatch(pg_sys::MyLatch) };
    pgrx::check_for_interrupts!();
}

/// Sleeps for `duration` whatever sets the latch, which stays set for the
/// next `for_latch`: producers that find it set wake nobody; exits with the
/// postmaster.
pub fn sleep(duration: Duration) {
    wait(0, duration);
    pgrx::check_for_interrupts!();
}

/// Waits on the process's own latch for `events` besides the timeout and
/// the postmaster's death.
fn wait(events: u32, timeout: Duration) {
    // SAFETY: the process's own latch, only waited on.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (events | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            timeout.as_millis() as _,
            pg_sys::PG_WAIT_EXTENSION,
        );
    }
}
