//! A count of the changes to the catalogs whose facts pg_observe keeps per
//! backend: roles and memberships (the writer's trust), types and enum
//! labels (the direct insert's labels). A cache remembers the count it was
//! filled at and is stale once the count has moved, the way PostgreSQL's own
//! caches are kept: syscache callbacks, which also run when every cache is
//! reset. A committed change elsewhere is seen at the next transaction.

use std::cell::Cell;
use std::ffi::c_int;

use pgrx::pg_sys;

thread_local! {
    static CHANGES: Cell<u64> = const { Cell::new(0) };
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

/// The changes seen so far in this backend.
pub fn count() -> u64 {
    if !WATCHING.replace(true) {
        for cache in [
            pg_sys::SysCacheIdentifier::AUTHOID,
            pg_sys::SysCacheIdentifier::AUTHMEMMEMROLE,
            pg_sys::SysCacheIdentifier::TYPEOID,
            pg_sys::SysCacheIdentifier::ENUMOID,
        ] {
            // SAFETY: registers, once per backend, a callback that only
            // counts (PostgreSQL keeps a few dozen slots).
            unsafe {
                pg_sys::CacheRegisterSyscacheCallback(
                    cache as c_int,
                    Some(changed),
                    pg_sys::Datum::from(0),
                )
            };
        }
    }
    CHANGES.get()
}

unsafe extern "C-unwind" fn changed(_: pg_sys::Datum, _: c_int, _: u32) {
    CHANGES.set(CHANGES.get().wrapping_add(1));
}
