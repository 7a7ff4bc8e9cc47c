//! The installation's secret for hashing user references
//! (`observe.installation`, readable by the extension's owner only; capture
//! runs as that owner). Read once per backend and installation.

use std::cell::RefCell;
use std::rc::Rc;

use pg_observe_core::process::UserKey;
use pgrx::{pg_sys, Spi};

use super::{issue_cache, CaptureError};

thread_local! {
    static KEY: RefCell<Option<(pg_sys::Oid, Rc<UserKey>)>> = const { RefCell::new(None) };
}

pub fn user_key() -> Result<Rc<UserKey>, CaptureError> {
    let installation = issue_cache::installation();
    if let Some(key) = KEY.with(|cached| {
        cached
            .borrow()
            .as_ref()
            .filter(|(at, _)| *at == installation)
            .map(|(_, key)| Rc::clone(key))
    }) {
        return Ok(key);
    }
    let secret = Spi::connect(|client| {
        client
            .select(
                "select user_hash_key from observe.installation",
                Some(1),
                &[],
            )?
            .first()
            .get_one::<Vec<u8>>()
    })?
    .ok_or_else(|| CaptureError::Corrupt("observe.installation holds no key".into()))?;
    let key = Rc::new(UserKey::new(secret));
    KEY.with(|cached| *cached.borrow_mut() = Some((installation, Rc::clone(&key))));
    Ok(key)
}
