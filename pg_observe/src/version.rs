//! The library and the database's schema must be the same version. After a
//! new build is installed, a database still at the old version calls the
//! new library until ALTER EXTENSION pg_observe UPDATE runs; capture then
//! refuses, saying so, instead of failing on a table the old schema lacks.
//! And a session that loaded an older library before the upgrade is told to
//! reconnect (ARCHITECTURE.md, "Versions and upgrades").

use std::cell::Cell;

use pgrx::{pg_sys, Spi};

use crate::capture::{installation, CaptureError};
use crate::settings;

const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

thread_local! {
    /// The installation found at this library's version; checked once.
    static VERIFIED: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

pub fn ensure_current() -> Result<(), CaptureError> {
    if settings::superseded() {
        return Err(CaptureError::LibraryUpgraded);
    }
    let current = installation();
    if VERIFIED.with(Cell::get) == current {
        return Ok(());
    }
    let installed = Spi::connect(|client| {
        client
            .select(
                "select extversion::text from pg_extension where extname = 'pg_observe'",
                Some(1),
                &[],
            )?
            .first()
            .get_one::<String>()
    })?
    .unwrap_or_default();
    if installed != LIBRARY_VERSION {
        return Err(CaptureError::SchemaOutdated {
            installed,
            library: LIBRARY_VERSION,
        });
    }
    VERIFIED.with(|verified| verified.set(current));
    Ok(())
}
