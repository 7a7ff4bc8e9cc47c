//! Messages that are not a failure of their own, which server-side capture
//! skips whatever its settings (ARCHITECTURE.md, "Server-side capture"):
//!
//! * everything a parallel worker reports: its leader raises the worker's
//!   error again (context "parallel worker") and is captured there, and the
//!   other workers the leader then stops end with FATAL `admin_shutdown`;
//!   capturing them would turn one failing parallel query into several events
//!   and a second, meaningless issue;
//! * autovacuum cancelling itself (`query_canceled`, "canceling autovacuum
//!   task") to let a conflicting lock through: routine on any busy database.
//!   Its other errors (a corrupt page, a failing index function) are kept.

use super::sqlstates::pack;

/// The kind of process a message comes from, as far as this decision goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    ParallelWorker,
    AutovacuumWorker,
    Other,
}

/// Whether a message with `sqlerrcode` (PostgreSQL's packed SQLSTATE) from
/// `process` echoes or is routine, and is not captured.
pub fn is_echo(process: Process, sqlerrcode: i32) -> bool {
    match process {
        Process::ParallelWorker => true,
        Process::AutovacuumWorker => sqlerrcode == pack(b"57014"),
        Process::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parallel_workers_messages_are_its_leaders() {
        for code in [b"22012", b"57P01", b"53200"] {
            assert!(is_echo(Process::ParallelWorker, pack(code)));
        }
    }

    #[test]
    fn autovacuum_yielding_to_a_lock_is_routine_its_failures_are_not() {
        assert!(is_echo(Process::AutovacuumWorker, pack(b"57014")));
        for code in [b"XX001", b"22012", b"57P01"] {
            assert!(!is_echo(Process::AutovacuumWorker, pack(code)));
        }
    }

    #[test]
    fn any_other_process_reports_its_own_failures_including_cancels() {
        for code in [b"57014", b"22012", b"57P01"] {
            assert!(!is_echo(Process::Other, pack(code)));
        }
    }
}
