//! Who is writing: the role the session acts as, and whether it is trusted
//! (ARCHITECTURE.md, "Untrusted writers"). That is PostgreSQL's outer user:
//! what SET ROLE chose (PostgREST acts as anon or authenticated), which
//! SECURITY DEFINER functions, ours included, do not change.

use std::cell::RefCell;
use std::ffi::CStr;

use pg_observe_core::lifecycle::Writer;
use pgrx::prelude::*;

use crate::catalog_changes;

thread_local! {
    /// The last role looked up and what it was found to be, with the
    /// catalog changes seen then (`catalog_changes`), the way PostgreSQL
    /// keeps `superuser_arg`'s answer: a writer's every line asks again.
    static LAST: RefCell<Option<(pg_sys::Oid, u64, WriterRole)>> = const { RefCell::new(None) };
}

#[derive(Clone)]
pub struct WriterRole {
    pub name: String,
    pub trust: Writer,
    /// Whose per-minute budgets an untrusted event spends: the role's own,
    /// or a Sentry project key's (`sentry.rs`).
    pub budget_scope: String,
}

/// The acting role of the current statement and its trust.
pub fn current() -> WriterRole {
    // SAFETY: reads the session's outer user id.
    of(unsafe { pg_sys::GetOuterUserId() })
}

/// `role` as a writer: the capture worker writes on behalf of the role that
/// raised an error (ARCHITECTURE.md, "Server-side capture").
pub fn of(outer: pg_sys::Oid) -> WriterRole {
    let changes = catalog_changes::count();
    let known = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(role, seen, _)| *role == outer && *seen == changes)
            .map(|(_, _, writer)| writer.clone())
    });
    if let Some(writer) = known {
        return writer;
    }
    let writer = look_up(outer);
    LAST.set(Some((outer, changes, writer.clone())));
    writer
}

fn look_up(outer: pg_sys::Oid) -> WriterRole {
    // SAFETY: catalog lookups that report a missing role instead of raising.
    unsafe {
        let untrusted = pg_sys::get_role_oid(c"observe_untrusted".as_ptr(), true);
        let trust = if pg_sys::superuser_arg(outer)
            || untrusted == pg_sys::InvalidOid
            || !pg_sys::is_member_of_role_nosuper(outer, untrusted)
        {
            Writer::Trusted
        } else {
            Writer::Untrusted
        };
        let name = role_name(outer);
        WriterRole {
            budget_scope: name.clone(),
            name,
            trust,
        }
    }
}

pub fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: with noerr, a missing role gives NULL instead of raising.
    let name = unsafe { pg_sys::GetUserNameFromId(role, true) };
    if name.is_null() {
        return format!("oid {}", role.to_u32());
    }
    // SAFETY: a NUL-terminated role name from the catalog.
    unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

/// The role the session acts as, for `issue_activity.actor` and
/// `known_releases.registered_by`: `current_user` as the caller saw it,
/// before any SECURITY DEFINER function (the trigger that records activity
/// is one) switched it.
#[pg_extern(schema = "observe", stable, parallel_safe)]
fn acting_role() -> String {
    // SAFETY: reads the session's outer user id.
    role_name(unsafe { pg_sys::GetOuterUserId() })
}
