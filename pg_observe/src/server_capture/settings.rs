//! The `observe.capture_*` settings (README, "Server-side capture"). What the
//! log hook reads (on/off, level, ignored SQLSTATEs, statement length) is
//! `SUSET`: reloadable, settable per database or role, and per session by a
//! superuser, never by the application whose errors are captured. The
//! allow-lists are applied by the storing worker, so they are cluster-wide
//! (`SIGHUP`). The ring's size fixes shared memory, so it needs a restart.
//!
//! The hook runs inside `errfinish` and must not allocate, so the ignore
//! list is parsed when it is set, into a fixed array the hook only reads.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr, CString};

use pg_observe_core::server_error::elevel;
use pg_observe_core::server_error::record::MAX_STATEMENT_CHARS;
use pg_observe_core::server_error::sqlstates::{self, Pattern, MAX_PATTERNS};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};
use pgrx::{pg_guard, pg_sys};

static CAPTURE_SERVER_ERRORS: GucSetting<bool> = GucSetting::<bool>::new(true);
static MIN_LEVEL: GucSetting<MinLevel> = GucSetting::<MinLevel>::new(MinLevel::Error);
static IGNORE_SQLSTATES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static DATABASES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static STATEMENT_MAX: GucSetting<i32> = GucSetting::<i32>::new(1024);
static RING_SIZE_KB: GucSetting<i32> = GucSetting::<i32>::new(4096);

#[derive(Clone, Copy, PartialEq, Eq, Debug, PostgresGucEnum)]
pub enum MinLevel {
    #[name = c"debug"]
    Debug,
    #[name = c"info"]
    Info,
    #[name = c"notice"]
    Notice,
    #[name = c"warning"]
    Warning,
    #[name = c"error"]
    Error,
    #[name = c"fatal"]
    Fatal,
    #[name = c"panic"]
    Panic,
}

impl MinLevel {
    fn elevel(self) -> i32 {
        match self {
            MinLevel::Debug => elevel::DEBUG5,
            MinLevel::Info => elevel::INFO,
            MinLevel::Notice => elevel::NOTICE,
            MinLevel::Warning => elevel::WARNING,
            MinLevel::Error => elevel::ERROR,
            MinLevel::Fatal => elevel::FATAL,
            MinLevel::Panic => elevel::PANIC,
        }
    }
}

thread_local! {
    /// The ignore list as the hook matches it: the first `IGNORED_LEN`.
    static IGNORED: Cell<[Pattern; MAX_PATTERNS]> = const { Cell::new([Pattern::EMPTY; MAX_PATTERNS]) };
    static IGNORED_LEN: Cell<usize> = const { Cell::new(0) };
}

pub fn register() {
    GucRegistry::define_bool_guc(
        c"observe.capture_server_errors",
        c"Capture messages PostgreSQL raises (needs shared_preload_libraries = 'pg_observe').",
        c"",
        &CAPTURE_SERVER_ERRORS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"observe.capture_min_level",
        c"Least severe message level captured.",
        c"Messages below log_min_messages never reach the hook.",
        &MIN_LEVEL,
        GucContext::Suset,
        GucFlags::default(),
    );
    // SAFETY: both hooks are #[pg_guard]ed; the assign hook only parses.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"observe.capture_ignore_sqlstates",
            c"SQLSTATEs or two-character classes never captured, comma-separated.",
            c"For example 57014,40001 or 57.",
            &IGNORE_SQLSTATES,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_ignore_sqlstates),
            Some(assign_ignore_sqlstates),
            None,
        );
    }
    GucRegistry::define_string_guc(
        c"observe.capture_databases",
        c"Databases whose errors are captured, comma-separated; empty captures all.",
        c"",
        &DATABASES,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"observe.capture_roles",
        c"Roles whose errors are captured (the acting or the login role), comma-separated; empty captures all.",
        c"",
        &ROLES,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"observe.capture_statement_max",
        c"Characters of the failing statement kept with a captured error.",
        c"0 keeps no statement.",
        &STATEMENT_MAX,
        0,
        MAX_STATEMENT_CHARS as i32,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// Defines `observe.capture_ring_size`, which only a preloaded library can:
/// it sizes shared memory, reserved once at server start.
pub fn register_ring_size() {
    GucRegistry::define_int_guc(
        c"observe.capture_ring_size",
        c"Shared memory for captured errors waiting to be stored.",
        c"When it is full, errors are dropped and counted (observe.capture_stats()).",
        &RING_SIZE_KB,
        256,
        1024 * 1024,
        GucContext::Postmaster,
        GucFlags::UNIT_KB,
    );
}

#[pg_guard]
unsafe extern "C-unwind" fn check_ignore_sqlstates(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    match sqlstates::parse_list(&guc_text(newval)) {
        Ok(_) => true,
        Err(e) => {
            let detail = CString::new(e.to_string()).unwrap_or_default();
            // SAFETY: PostgreSQL reads and frees this palloc'd string after the hook returns.
            unsafe { pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(detail.as_ptr()) };
            false
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_ignore_sqlstates(newval: *const c_char, _extra: *mut c_void) {
    // SAFETY: PostgreSQL passes the checked value, NUL-terminated, or NULL.
    let text = unsafe { newval.as_ref() }
        .map(|_| {
            unsafe { CStr::from_ptr(newval) }
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let parsed = sqlstates::parse_list(&text).unwrap_or_default();
    let mut patterns = [Pattern::EMPTY; MAX_PATTERNS];
    for (slot, pattern) in patterns.iter_mut().zip(&parsed) {
        *slot = *pattern;
    }
    IGNORED.with(|ignored| ignored.set(patterns));
    IGNORED_LEN.with(|len| len.set(parsed.len()));
}

fn guc_text(newval: *mut *mut c_char) -> String {
    // SAFETY: PostgreSQL passes a valid pointer to a NUL-terminated string or NULL.
    unsafe {
        newval
            .as_ref()
            .filter(|p| !p.is_null())
            .map(|p| CStr::from_ptr(*p).to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

// What the hook reads: plain loads, no allocation.

pub fn capture_server_errors() -> bool {
    CAPTURE_SERVER_ERRORS.get()
}

pub fn min_elevel() -> i32 {
    MIN_LEVEL.get().elevel()
}

pub fn ignored(sqlerrcode: i32) -> bool {
    let len = IGNORED_LEN.with(Cell::get);
    IGNORED.with(|ignored| sqlstates::ignored(&ignored.get()[..len], sqlerrcode))
}

pub fn statement_max_chars() -> usize {
    STATEMENT_MAX.get().max(0) as usize
}

/// The ring's size in bytes, a multiple of the ring's alignment.
pub fn ring_bytes() -> usize {
    RING_SIZE_KB.get().max(0) as usize * 1024
}

// What the storing worker reads.

fn list(setting: &GucSetting<Option<CString>>) -> Vec<String> {
    setting
        .get()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the allow-list `observe.capture_databases` admits `database`.
pub fn database_allowed(database: &str) -> bool {
    let allowed = list(&DATABASES);
    allowed.is_empty() || allowed.iter().any(|d| d == database)
}

/// Whether the allow-list `observe.capture_roles` admits either role.
pub fn role_allowed(role: &str, session_role: &str) -> bool {
    let allowed = list(&ROLES);
    allowed.is_empty() || allowed.iter().any(|r| r == role || r == session_role)
}
