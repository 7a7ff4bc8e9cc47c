//! Server-side capture: every message PostgreSQL raises at or above a level,
//! and durable `log_error` events, reach `observe.issues` through a
//! shared-memory ring that survives the raising transaction's rollback
//! (ARCHITECTURE.md, "Server-side capture").
//!
//! `hook` writes the ring inside `emit_log_hook`; `shared` is the ring in
//! shared memory; `launcher` starts one storing `worker` per database with
//! records waiting; `durable` queues a processed `log_error` event; `stats`
//! is `observe.capture_stats()`; `settings` the `observe.capture_*` settings.

pub mod durable;
mod hook;
mod launcher;
mod settings;
mod shared;
mod stats;
mod wait;
mod worker;

use pgrx::pg_sys;

/// Defines the settings, and with `shared_preload_libraries` reserves the
/// ring, installs the hook and registers the launcher.
pub fn register() {
    settings::register();
    // SAFETY: a flag PostgreSQL sets while it loads preloaded libraries.
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        settings::register_ring_size();
        shared::request();
        hook::install();
        launcher::register();
    }
}
