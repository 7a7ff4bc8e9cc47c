//! The launcher: a background worker connected to no database (a worker can
//! connect to one database only) that starts a storing worker for each
//! database with records waiting, wakes the ones running, and discards the
//! records of databases that no longer exist (ARCHITECTURE.md, "Server-side
//! capture"). PostgreSQL restarts it after a crash.

use std::collections::HashMap;
use std::time::Duration;

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus, BgWorkerStartTime,
    DynamicBackgroundWorker, SignalWakeFlags,
};
use pgrx::{pg_guard, pg_sys};

use super::{hook, shared, wait};

pub const LAUNCHER_NAME: &str = "pg_observe capture launcher";
pub const WORKER_NAME: &str = "pg_observe capture worker";
/// Databases served in one round; the others wait for the next.
const DATABASES_PER_ROUND: usize = 64;
const ROUND: Duration = Duration::from_secs(1);
/// The least time between two rounds. Meanwhile the latch stays set, and a
/// producer that finds it set wakes nobody: under a burst of errors the
/// backends raising them send no signal each, and the launcher walks the
/// ring once per gap rather than once per error.
const ROUND_GAP: Duration = Duration::from_millis(20);

/// Registers the launcher; from `_PG_init` while preloading.
pub fn register() {
    BackgroundWorkerBuilder::new(LAUNCHER_NAME)
        .set_type(LAUNCHER_NAME)
        .set_library("pg_observe")
        .set_function("pg_observe_capture_launcher")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

#[pg_guard]
unsafe extern "C-unwind" fn forget_launcher(_code: i32, _arg: pg_sys::Datum) {
    if let Some(shared) = shared::get() {
        shared.launcher_gone();
    }
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn pg_observe_capture_launcher(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    hook::mark_capture_worker();
    let Some(shared) = shared::get() else {
        return;
    };
    // No database: the shared catalogs (pg_database) are all it reads.
    BackgroundWorker::connect_worker_to_spi(None, None);
    shared.become_launcher();
    // SAFETY: registers a #[pg_guard]ed callback for this process's exit.
    unsafe { pg_sys::before_shmem_exit(Some(forget_launcher), pg_sys::Datum::from(0)) };

    let mut workers: HashMap<pg_sys::Oid, DynamicBackgroundWorker> = HashMap::new();
    while !wait::shutdown_requested() {
        wait::reload_settings_if_asked();
        workers.retain(|_, worker| {
            !matches!(
                worker.pid(),
                Err(BackgroundWorkerStatus::Stopped | BackgroundWorkerStatus::PostmasterDied)
            )
        });
        let (databases, _) = shared.waiting(DATABASES_PER_ROUND);
        for database in databases {
            if let Some(worker) = workers.get(&database) {
                if let Ok(pid) = worker.pid() {
                    // SAFETY: a worker's SIGUSR1 handler sets its latch.
                    unsafe { libc::kill(pid, libc::SIGUSR1) };
                }
                continue;
            }
            if !database_exists(database) {
                shared.discard(database);
                continue;
            }
            // No free worker slot (max_worker_processes): the next round
            // tries again, and meanwhile the ring holds the records.
            if let Ok(worker) = start_worker(database) {
                workers.insert(database, worker);
            }
        }
        wait::sleep(ROUND_GAP);
        wait::for_latch(ROUND);
    }
}

fn start_worker(
    database: pg_sys::Oid,
) -> Result<DynamicBackgroundWorker, pgrx::bgworkers::DynamicBackgroundWorkerLoadError> {
    BackgroundWorkerBuilder::new(WORKER_NAME)
        .set_type(WORKER_NAME)
        .set_library("pg_observe")
        .set_function("pg_observe_capture_worker")
        .enable_spi_access()
        .set_argument(Some(pg_sys::Datum::from(database)))
        // SAFETY: this process's id, so that it can watch the worker.
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .set_restart_time(None)
        .load_dynamic()
}

fn database_exists(database: pg_sys::Oid) -> bool {
    BackgroundWorker::transaction(|| {
        // SAFETY: a syscache lookup of a shared catalog, inside a transaction.
        unsafe {
            pg_sys::SearchSysCacheExists(
                pg_sys::SysCacheIdentifier::DATABASEOID as i32,
                pg_sys::Datum::from(database),
                pg_sys::Datum::from(0),
                pg_sys::Datum::from(0),
                pg_sys::Datum::from(0),
            )
        }
    })
}
