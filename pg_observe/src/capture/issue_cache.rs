//! What a backend remembers about issues between events: which issue a
//! grouping key names, and which issues were unresolved at what level.
//!
//! Why, and when it is forgotten: ARCHITECTURE.md, "What a backend remembers".
//!
//! Invalidation bumps a generation rather than clearing maps, because it runs
//! from PostgreSQL callbacks that may fire in the middle of a statement.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use pg_observe_core::event::Level;
use pgrx::{pg_extern, pg_guard, pg_sys};

use super::bounded_insert;

thread_local! {
    /// (service, grouping hashes) → issue id. Issues are never re-keyed; a
    /// deleted one (or one whose creating transaction rolled back) is noticed
    /// by the statement that reads the issue returning no row.
    static ISSUES: RefCell<HashMap<(String, String), i64>> = RefCell::new(HashMap::new());
    /// Issue id → its level when last read unresolved, and the generation
    /// that read started in.
    static UNRESOLVED: RefCell<HashMap<i64, (Level, u64)>> = RefCell::new(HashMap::new());
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    /// The installation the maps describe: the oid of `observe.issue_groups`.
    /// Issue ids never repeat within one installation (identity values are
    /// not rolled back), but a dropped and re-created extension starts them
    /// over, and then every cached id is wrong.
    static INSTALLATION: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

fn invalidate() {
    GENERATION.with(|generation| generation.set(generation.get() + 1));
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // InvalidOid: the whole relcache was reset (e.g. the invalidation queue
    // overflowed), so this backend may have missed an announcement.
    if relid == pg_sys::InvalidOid || relid == INSTALLATION.with(Cell::get) {
        invalidate();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    if event == pg_sys::XactEvent::XACT_EVENT_ABORT
        || event == pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
    {
        invalidate();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    _sub: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        invalidate();
    }
}

/// Registers the invalidation callbacks; called once, when the library loads.
pub fn register() {
    // SAFETY: called from _PG_init, once per backend; the callbacks are
    // functions with static lifetime.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
        pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}

/// Brings the cache up to date before an event: processes pending
/// invalidations, and forgets everything when the extension was re-created,
/// which it reports, since issue ids then start over.
pub fn refresh() -> bool {
    // SAFETY: AcceptInvalidationMessages may run the callbacks above, which
    // touch only Cells.
    unsafe { pg_sys::AcceptInvalidationMessages() };
    let current = issue_groups_oid();
    let reinstalled = INSTALLATION.with(|installed| installed.replace(current)) != current;
    if reinstalled {
        ISSUES.with(|issues| issues.borrow_mut().clear());
        invalidate();
    }
    reinstalled
}

pub fn issue_id(key: &(String, String)) -> Option<i64> {
    ISSUES.with(|issues| issues.borrow().get(key).copied())
}

pub fn remember_issue(key: (String, String), issue_id: i64) {
    ISSUES.with(|issues| bounded_insert(&mut issues.borrow_mut(), key, issue_id));
}

/// The generation a read of the issue row starts in; what the read finds is
/// remembered under it, so that any invalidation from then on voids it.
pub fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// Whether the issue is known to be unresolved at `level` or above.
pub fn unresolved_at(issue_id: i64, level: Level) -> bool {
    let current = generation();
    UNRESOLVED.with(|known| {
        known
            .borrow()
            .get(&issue_id)
            .is_some_and(|&(known_level, read_in)| read_in == current && known_level >= level)
    })
}

pub fn remember_unresolved(issue_id: i64, level: Level, read_in: u64) {
    UNRESOLVED.with(|known| bounded_insert(&mut known.borrow_mut(), issue_id, (level, read_in)));
}

/// Announces that issues changed: every backend's relcache, this one's
/// included, drops `observe.issue_groups` when the transaction commits, and
/// with it the knowledge above. Called by the `issue_groups_changed` trigger.
#[pg_extern(schema = "observe", volatile, parallel_unsafe)]
fn announce_issue_change() {
    let relid = issue_groups_oid();
    if relid != pg_sys::InvalidOid {
        // SAFETY: queues an invalidation of an existing relation's id.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    }
}

/// The oid of `observe.issue_groups`, or InvalidOid when the extension is
/// not installed in this database.
fn issue_groups_oid() -> pg_sys::Oid {
    // SAFETY: syscache lookups with NUL-terminated names; a missing schema
    // gives InvalidOid, which no relation lives in.
    unsafe {
        let schema = pg_sys::get_namespace_oid(c"observe".as_ptr(), true);
        pg_sys::get_relname_relid(c"issue_groups".as_ptr(), schema)
    }
}
