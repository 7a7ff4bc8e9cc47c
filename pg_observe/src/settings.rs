//! `observe.*` settings. Limits and scrubbing are superuser-only (`SUSET`,
//! delegable with `GRANT SET ON PARAMETER`): an application role must not be
//! able to switch off PII scrubbing for its own session. The defaults for
//! service, environment and release are per-session, so a PL/pgSQL handler
//! or a connection pool can label what it logs.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr, CString};
use std::rc::Rc;

use pg_observe_core::limits::{
    Limits, DEFAULT_CONTEXT_BYTES, DEFAULT_CONTEXT_DEPTH, DEFAULT_MESSAGE_BYTES,
    DEFAULT_STACK_BYTES,
};
use pg_observe_core::scrub::{ScrubConfig, ScrubConfigError, Scrubber};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::{pg_guard, pg_sys};

static SERVICE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ENVIRONMENT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static RELEASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

static MAX_MESSAGE_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MESSAGE_BYTES as i32);
static MAX_STACK_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_STACK_BYTES as i32);
static MAX_CONTEXT_BYTES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_CONTEXT_BYTES as i32);
static MAX_CONTEXT_DEPTH: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_CONTEXT_DEPTH as i32);

static SCRUB_KEYS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static SCRUB_PATTERN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static SCRUB_IP_ADDRESSES: GucSetting<bool> = GucSetting::<bool>::new(false);

static FLOOD_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(100);

static CONSOLE_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// The service name of events that do not give one.
pub const DEFAULT_SERVICE: &str = "default";

thread_local! {
    /// Set when another pg_observe library (an older version, loaded before
    /// this session ran ALTER EXTENSION UPDATE) already defined the settings:
    /// PostgreSQL refuses to define them twice, and this library's copies
    /// would not hold what the session set.
    static SUPERSEDED_SESSION: Cell<bool> = const { Cell::new(false) };
}

/// Whether an older pg_observe library loaded in this session defined the
/// settings first (see `SUPERSEDED_SESSION`).
pub fn superseded() -> bool {
    SUPERSEDED_SESSION.with(Cell::get)
}

pub fn register() {
    // SAFETY: lookups by NUL-terminated name that report a missing setting
    // instead of raising. A placeholder (set before any library defined it)
    // is PostgreSQL's to replace; a defined setting is not. An integer
    // setting, because a string one with no value reads as NULL either way.
    let defined_by_another_library = unsafe {
        let name = c"observe.flood_limit".as_ptr();
        !pg_sys::GetConfigOption(name, true, false).is_null()
            && (pg_sys::GetConfigOptionFlags(name, true) as u32 & pg_sys::GUC_CUSTOM_PLACEHOLDER)
                == 0
    };
    if defined_by_another_library {
        SUPERSEDED_SESSION.with(|superseded| superseded.set(true));
        return;
    }
    GucRegistry::define_string_guc(
        c"observe.service",
        c"Service of events that do not name one.",
        c"Falls back to 'default'.",
        &SERVICE,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"observe.environment",
        c"Environment of events that do not name one.",
        c"Documented values: development, staging, production, preview.",
        &ENVIRONMENT,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"observe.release",
        c"Release of events that do not name one.",
        c"",
        &RELEASE,
        GucContext::Userset,
        GucFlags::default(),
    );
    // Byte-valued, so '16kB' works as well as 16384.
    for (name, short, setting, min, max, flags) in [
        (
            c"observe.max_message_bytes",
            c"Longer messages are truncated and flagged.",
            &MAX_MESSAGE_BYTES,
            256,
            1 << 20,
            GucFlags::UNIT_BYTE,
        ),
        (
            c"observe.max_stack_bytes",
            c"Longer stack traces lose their middle and are flagged.",
            &MAX_STACK_BYTES,
            1024,
            1 << 24,
            GucFlags::UNIT_BYTE,
        ),
        (
            c"observe.max_context_bytes",
            c"Larger context and request objects are trimmed and flagged.",
            &MAX_CONTEXT_BYTES,
            256,
            1 << 24,
            GucFlags::UNIT_BYTE,
        ),
        (
            c"observe.max_context_depth",
            c"Deeper context nesting is cut and flagged.",
            &MAX_CONTEXT_DEPTH,
            1,
            64,
            GucFlags::default(),
        ),
    ] {
        GucRegistry::define_int_guc(
            name,
            short,
            c"",
            setting,
            min,
            max,
            GucContext::Suset,
            flags,
        );
    }
    GucRegistry::define_string_guc(
        c"observe.scrub_keys",
        c"Extra sensitive key names, comma-separated.",
        c"Matched by word like the built-in ones: 'tenant_secret' also covers tenantSecret and X-Tenant-Secret.",
        &SCRUB_KEYS,
        GucContext::Suset,
        GucFlags::default(),
    );
    // SAFETY: the check hook is #[pg_guard]ed and only reads its argument.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"observe.scrub_pattern",
            c"Extra regular expression whose matches are scrubbed.",
            c"One expression (Rust regex syntax); combine several with |.",
            &SCRUB_PATTERN,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_scrub_pattern),
            None,
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"observe.scrub_ip_addresses",
        c"Scrub IPv4 and IPv6 addresses from captured text.",
        c"",
        &SCRUB_IP_ADDRESSES,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"observe.console_url",
        c"Base URL that shows an issue at <url>/issues/<id>, linked from alert e-mails.",
        c"Unset: alert e-mails link runbooks only.",
        &CONSOLE_URL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"observe.flood_limit",
        c"Events stored per issue per minute before sampling starts; 0 stores all.",
        c"Counts stay exact; stored events record their sample rate.",
        &FLOOD_LIMIT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// Refuses an invalid pattern when it is set, not at the first capture
/// after, where the only choices would be to drop the event or to store it
/// unscrubbed.
#[pg_guard]
unsafe extern "C-unwind" fn check_scrub_pattern(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: PostgreSQL passes a valid pointer to a NUL-terminated string or NULL.
    let value = unsafe {
        newval
            .as_ref()
            .filter(|p| !p.is_null())
            .map(|p| CStr::from_ptr(*p))
    };
    let Some(pattern) = value
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return true;
    };
    match Scrubber::new(&scrub_config(None, Some(pattern))) {
        Ok(_) => true,
        Err(e) => {
            let detail = CString::new(e.to_string()).unwrap_or_default();
            // SAFETY: PostgreSQL reads and frees this palloc'd string after the hook returns.
            unsafe { pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(detail.as_ptr()) };
            false
        }
    }
}

fn string(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .and_then(|s| s.into_string().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub fn default_service() -> String {
    string(&SERVICE).unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}

pub fn default_environment() -> Option<String> {
    string(&ENVIRONMENT)
}

pub fn default_release() -> Option<String> {
    string(&RELEASE)
}

pub fn limits() -> Limits {
    Limits {
        message_bytes: MAX_MESSAGE_BYTES.get() as usize,
        stack_bytes: MAX_STACK_BYTES.get() as usize,
        context_bytes: MAX_CONTEXT_BYTES.get() as usize,
        context_depth: MAX_CONTEXT_DEPTH.get() as usize,
    }
}

pub fn console_url() -> Option<String> {
    string(&CONSOLE_URL)
}

pub fn flood_limit() -> u64 {
    FLOOD_LIMIT.get().max(0) as u64
}

fn scrub_config(keys: Option<&str>, pattern: Option<&str>) -> ScrubConfig {
    ScrubConfig {
        extra_keys: keys
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        extra_patterns: pattern.into_iter().map(str::to_owned).collect(),
        scrub_ip_addresses: SCRUB_IP_ADDRESSES.get(),
    }
}

type ScrubberKey = (Option<String>, Option<String>, bool);

thread_local! {
    /// Compiling the scrubber's expressions costs far more than a capture, so
    /// each backend keeps the last one and rebuilds only when a setting moved.
    static SCRUBBER: RefCell<Option<(ScrubberKey, Rc<Scrubber>)>> = const { RefCell::new(None) };
}

/// The scrubber for the current settings.
pub fn scrubber() -> Result<Rc<Scrubber>, ScrubConfigError> {
    let key: ScrubberKey = (
        string(&SCRUB_KEYS),
        string(&SCRUB_PATTERN),
        SCRUB_IP_ADDRESSES.get(),
    );
    SCRUBBER.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some((cached_key, scrubber)) = cached.as_ref() {
            if *cached_key == key {
                return Ok(Rc::clone(scrubber));
            }
        }
        let config = scrub_config(key.0.as_deref(), key.1.as_deref());
        let scrubber = Rc::new(Scrubber::new(&config)?);
        *cached = Some((key, Rc::clone(&scrubber)));
        Ok(scrubber)
    })
}
