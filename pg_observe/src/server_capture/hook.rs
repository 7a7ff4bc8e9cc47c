//! The `emit_log_hook`: copies each message worth capturing into the capture
//! ring (ARCHITECTURE.md, "Server-side capture").
//!
//! It runs inside `errfinish`, possibly in a critical section, while out of
//! memory, or in an aborted transaction, so it reads only memory (the
//! `ErrorData`, globals, settings already parsed), never the catalog; it
//! allocates nothing, never waits beyond the ring's spinlock, and cannot
//! raise or panic: every bound is checked. Names (database, roles) are
//! resolved later by the storing worker.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

use pg_observe_core::ring::RecordMeta;
use pg_observe_core::server_error::echoes::{is_echo, Process};
use pg_observe_core::server_error::record::{
    encode, encoded_len, kept, Field, Meta, FIELDS, KIND_SERVER_ERROR,
};
use pgrx::pg_sys;

use super::{settings, shared};

static mut PREVIOUS: pg_sys::emit_log_hook_type = None;
/// Set while the hook runs: a message raised by the hook itself (it raises
/// none, but what it calls might) is never captured.
static CAPTURING: AtomicBool = AtomicBool::new(false);
/// Set in pg_observe's own workers, whose messages are never captured: an
/// error while storing a captured error must not be captured again.
static IN_CAPTURE_WORKER: AtomicBool = AtomicBool::new(false);

/// Installs the hook; from `_PG_init` while preloading.
pub fn install() {
    // SAFETY: _PG_init runs once, single-threaded, before any message.
    unsafe {
        PREVIOUS = pg_sys::emit_log_hook;
        pg_sys::emit_log_hook = Some(on_emit_log);
    }
}

/// Marks the current process as one of pg_observe's workers.
pub fn mark_capture_worker() {
    IN_CAPTURE_WORKER.store(true, Ordering::Relaxed);
}

unsafe extern "C-unwind" fn on_emit_log(edata: *mut pg_sys::ErrorData) {
    if !CAPTURING.swap(true, Ordering::Relaxed) {
        // SAFETY: PostgreSQL passes the ErrorData being reported.
        if let Some(error) = unsafe { edata.as_ref() } {
            record(error);
        }
        CAPTURING.store(false, Ordering::Relaxed);
    }
    // SAFETY: the hook that was installed before ours, called as PostgreSQL would.
    if let Some(previous) = unsafe { PREVIOUS } {
        unsafe { previous(edata) };
    }
}

fn record(error: &pg_sys::ErrorData) {
    let Some(shared) = shared::get() else {
        return;
    };
    // SAFETY: plain reads of this process's globals.
    let database = unsafe { pg_sys::MyDatabaseId };
    if IN_CAPTURE_WORKER.load(Ordering::Relaxed)
        || database == pg_sys::InvalidOid
        || !settings::capture_server_errors()
        || error.elevel < settings::min_elevel()
        || settings::ignored(error.sqlerrcode)
        || is_echo(process(), error.sqlerrcode)
    {
        return;
    }
    // SAFETY: NUL-terminated strings owned by PostgreSQL for the duration of
    // the report (or NULL); read only up to each field's bound.
    let (texts, meta) = unsafe {
        let backend_type = if pg_sys::MyBgworkerEntry.is_null() {
            pg_sys::GetBackendTypeDesc(pg_sys::MyBackendType)
        } else {
            (*pg_sys::MyBgworkerEntry).bgw_type.as_ptr()
        };
        let texts: [*const c_char; FIELDS] = [
            error.message,
            error.detail,
            error.hint,
            error.context,
            pg_sys::debug_query_string,
            pg_sys::application_name,
            backend_type,
        ];
        let meta = Meta {
            elevel: error.elevel,
            sqlerrcode: error.sqlerrcode,
            role: pg_sys::GetOuterUserId().to_u32(),
            session_role: pg_sys::GetSessionUserId().to_u32(),
            pid: pg_sys::MyProcPid,
            cursor_position: error.cursorpos,
        };
        (texts, meta)
    };
    let mut fields: [&[u8]; FIELDS] = [&[]; FIELDS];
    let mut truncated = 0u32;
    for (index, field) in Field::ALL.into_iter().enumerate() {
        let max_chars = (field == Field::Statement).then(settings::statement_max_chars);
        let bound = field.max_bytes();
        // SAFETY: as above.
        let text = unsafe { bounded(texts[index], bound + 1) };
        let (len, cut) = kept(text, bound, max_chars);
        fields[index] = &text[..len];
        if cut {
            truncated |= 1 << index;
        }
    }
    let record_meta = RecordMeta {
        database: database.to_u32(),
        kind: KIND_SERVER_ERROR,
        // SAFETY: reads the clock.
        enqueued_at: unsafe { pg_sys::GetCurrentTimestamp() },
    };
    let len = encoded_len(&fields.map(<[u8]>::len));
    shared.push(record_meta, len, |out| {
        encode(out, &meta, &fields, truncated)
    });
}

fn process() -> Process {
    // SAFETY: plain reads of this process's globals.
    unsafe {
        if pg_sys::ParallelWorkerNumber >= 0 {
            Process::ParallelWorker
        } else if pg_sys::MyBackendType == pg_sys::BackendType::B_AUTOVAC_WORKER {
            Process::AutovacuumWorker
        } else {
            Process::Other
        }
    }
}

/// The bytes of a C string, at most `max` of them, without reading past its
/// NUL (`strnlen`); empty for NULL.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
unsafe fn bounded<'a>(text: *const c_char, max: usize) -> &'a [u8] {
    if text.is_null() {
        return &[];
    }
    let mut len = 0;
    // SAFETY: every byte read lies at or before the string's NUL.
    while len < max && unsafe { *text.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes just read.
    unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) }
}
