use pg_observe_core::event::EventError;
use pg_observe_core::scrub::ScrubConfigError;
use pgrx::spi::SpiError;

/// Why an event was not captured. `try_capture` returns it, so that a caller
/// storing a batch in the background can skip one bad event; `capture`
/// raises it at the SQL boundary with its SQLSTATE (`errors::raise_capture_error`).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The event itself: a missing message, a wrong type, a malformed field.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Only an extra key list can fail here (patterns are checked when set);
    /// refusing the capture beats storing it under weaker scrubbing.
    #[error("invalid observe.scrub_keys or observe.scrub_pattern: {0}")]
    Settings(#[from] ScrubConfigError),
    /// The event's issue was created or deleted by a transaction this one's
    /// snapshot cannot see; retrying the transaction succeeds.
    #[error("pg_observe: a concurrent transaction {0} the event's issue; retry the transaction")]
    Concurrent(&'static str),
    #[error("pg_observe: storing event: {0}")]
    Storage(#[from] SpiError),
    /// This session loaded an older pg_observe library before the extension
    /// was upgraded (see `settings::ensure_current_library`).
    #[error("pg_observe was upgraded while this session was open; reconnect to capture")]
    LibraryUpgraded,
    /// The database's pg_observe is another version than this library.
    #[error("pg_observe's library is {library} but this database has pg_observe {installed}: run ALTER EXTENSION pg_observe UPDATE")]
    SchemaOutdated {
        installed: String,
        library: &'static str,
    },
    /// A stored value that capture cannot read back: a bug, not bad input.
    #[error("pg_observe: reading issue: {0}")]
    Corrupt(String),
}
