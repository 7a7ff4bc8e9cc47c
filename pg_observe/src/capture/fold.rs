//! Keeps the count queue short with no scheduler: about once a second each
//! capturing backend folds the queue itself when nothing has for a second
//! (ARCHITECTURE.md, "Counting").

use std::cell::Cell;
use std::time::{Duration, Instant};

use pgrx::pg_sys;
use pgrx::spi::{SpiClient, SpiResult};

use super::plans::Plans;

const LOOK_EVERY: Duration = Duration::from_secs(1);

thread_local! {
    static LAST_LOOK: Cell<Option<Instant>> = const { Cell::new(None) };
}

pub fn fold_if_stale(client: &mut SpiClient<'_>, plans: &Plans) -> SpiResult<()> {
    let now = Instant::now();
    if LAST_LOOK.with(|last| last.get().is_some_and(|at| now - at < LOOK_EVERY)) {
        return Ok(());
    }
    LAST_LOOK.with(|last| last.set(Some(now)));
    // Under REPEATABLE READ or SERIALIZABLE, deleting queue rows another
    // folder deleted after this transaction's snapshot would fail the
    // caller's transaction; some READ COMMITTED caller will fold instead.
    // SAFETY: XactIsoLevel is a plain int that PostgreSQL sets per transaction.
    if unsafe { pg_sys::XactIsoLevel } != pg_sys::XACT_READ_COMMITTED as i32 {
        return Ok(());
    }
    client.update(&plans.fold_if_stale, None, &[])?;
    Ok(())
}
