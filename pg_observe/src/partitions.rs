//! Capture makes the partitions of the coming days itself, about once a
//! minute per backend, so events and log lines land in their own day's
//! partition even where nothing runs `observe.maintain()`
//! (ARCHITECTURE.md, "Storage and retention"). The function it calls
//! reports failures instead of raising them and waits for no busy lock: the
//! default partition keeps whatever arrives meanwhile.

use std::cell::Cell;
use std::time::{Duration, Instant};

use pgrx::spi::{SpiClient, SpiResult};

const LOOK_EVERY: Duration = Duration::from_secs(60);

thread_local! {
    static LAST_LOOK: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Whether `create_ahead_now_and_then` would look now: a caller that has
/// no SPI connection open otherwise opens one only then.
pub fn look_due() -> bool {
    let now = Instant::now();
    !LAST_LOOK.with(|last| last.get().is_some_and(|at| now - at < LOOK_EVERY))
}

pub fn create_ahead_now_and_then(client: &mut SpiClient<'_>) -> SpiResult<()> {
    if !look_due() {
        return Ok(());
    }
    let now = Instant::now();
    LAST_LOOK.with(|last| last.set(Some(now)));
    client.update("select observe.create_partitions_ahead()", None, &[])?;
    Ok(())
}
