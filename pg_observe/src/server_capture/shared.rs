//! The capture ring in shared memory, with its locks and counters
//! (ARCHITECTURE.md, "Server-side capture"). Reserved in `_PG_init` when the
//! library is preloaded; absent otherwise, which `get` reports.
//!
//! Producers (the log hook, durable `log_error`) take only the spinlock, for
//! a few stores; consumers (the storing workers, the launcher) also hold the
//! consumer LWLock while they walk the ring (`pg_observe_core::ring`).

use std::ffi::CStr;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use pg_observe_core::ring::{Positions, RecordMeta, Ring, ALIGN};
use pgrx::spinlock::PgSpinLock;
use pgrx::{pg_guard, pg_sys, PGRXSharedMemory};

use super::settings;

const NAME: &CStr = c"pg_observe capture";
/// Bytes of the last storing error kept for `observe.capture_stats()`.
const LAST_ERROR_BYTES: usize = 512;

/// What the spinlock guards.
#[derive(Clone, Copy)]
pub struct Guarded {
    pub positions: Positions,
    last_error: [u8; LAST_ERROR_BYTES],
    last_error_len: usize,
    last_error_database: u32,
}

// SAFETY: plain data, no pointers.
unsafe impl PGRXSharedMemory for Guarded {}

/// The counters `observe.capture_stats()` reports, since the server started
/// (or last restarted after a crash).
#[derive(Default)]
pub struct Counters {
    /// Records accepted into the ring.
    pub captured: AtomicU64,
    /// Records refused: the ring was full.
    pub dropped: AtomicU64,
    /// Records taken out of the ring by a worker (or discarded).
    pub taken: AtomicU64,
    pub stored: AtomicU64,
    /// Records whose storing failed (see the last error).
    pub failed: AtomicU64,
    /// Records not stored on purpose: pg_observe not installed in their
    /// database, the database gone, or outside the allow-lists.
    pub skipped: AtomicU64,
    pub last_stored_at: AtomicI64,
    pub last_error_at: AtomicI64,
}

#[repr(C)]
pub struct Shared {
    guarded: PgSpinLock<Guarded>,
    pub counters: Counters,
    /// The launcher's latch, set by producers; null while no launcher runs.
    launcher_latch: AtomicPtr<pg_sys::Latch>,
    /// The launcher's process id, for `observe.capture_stats()`.
    pub launcher_pid: AtomicU32,
    ring_bytes: usize,
}

static SHARED: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());
static CONSUMER_LOCK: AtomicPtr<pg_sys::LWLock> = AtomicPtr::new(std::ptr::null_mut());
static mut PREV_SHMEM_REQUEST: pg_sys::shmem_request_hook_type = None;
static mut PREV_SHMEM_STARTUP: pg_sys::shmem_startup_hook_type = None;

/// Size of the shared block: the header, then the ring's bytes.
fn header_bytes() -> usize {
    std::mem::size_of::<Shared>().div_ceil(ALIGN) * ALIGN
}

fn ring_bytes() -> usize {
    settings::ring_bytes() / ALIGN * ALIGN
}

/// Installs the shared-memory hooks; from `_PG_init` while preloading.
pub fn request() {
    // SAFETY: _PG_init runs once, single-threaded, before any hook fires.
    unsafe {
        PREV_SHMEM_REQUEST = pg_sys::shmem_request_hook;
        pg_sys::shmem_request_hook = Some(on_shmem_request);
        PREV_SHMEM_STARTUP = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(on_shmem_startup);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_shmem_request() {
    // SAFETY: the previous hook is PostgreSQL's to call now; the requests
    // are what this hook is for.
    unsafe {
        if let Some(previous) = PREV_SHMEM_REQUEST {
            previous();
        }
        pg_sys::RequestAddinShmemSpace(header_bytes() + ring_bytes());
        pg_sys::RequestNamedLWLockTranche(NAME.as_ptr(), 1);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_shmem_startup() {
    // SAFETY: runs in the postmaster (and again after a crash), under
    // AddinShmemInitLock as PostgreSQL asks; the memory is ours to lay out
    // when `found` is false.
    unsafe {
        if let Some(previous) = PREV_SHMEM_STARTUP {
            previous();
        }
        let init_lock = &raw mut (*pg_sys::MainLWLockArray.add(21)).lock;
        pg_sys::LWLockAcquire(init_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        let size = header_bytes() + ring_bytes();
        let mut found = false;
        let block = pg_sys::ShmemInitStruct(NAME.as_ptr(), size, &mut found).cast::<u8>();
        if !found {
            std::ptr::write_bytes(block, 0, size);
            block.cast::<Shared>().write(Shared {
                guarded: PgSpinLock::new(Guarded {
                    positions: Positions::default(),
                    last_error: [0; LAST_ERROR_BYTES],
                    last_error_len: 0,
                    last_error_database: 0,
                }),
                counters: Counters::default(),
                launcher_latch: AtomicPtr::new(std::ptr::null_mut()),
                launcher_pid: AtomicU32::new(0),
                ring_bytes: ring_bytes(),
            });
        }
        SHARED.store(block.cast(), Ordering::Release);
        let tranche = pg_sys::GetNamedLWLockTranche(NAME.as_ptr());
        CONSUMER_LOCK.store(&raw mut (*tranche).lock, Ordering::Release);
        pg_sys::LWLockRelease(init_lock);
    }
}

/// The shared state; None unless the library was preloaded.
pub fn get() -> Option<&'static Shared> {
    // SAFETY: set once the block is initialised, and never freed.
    unsafe { SHARED.load(Ordering::Acquire).as_ref() }
}

impl Shared {
    fn ring(&self) -> Ring {
        // SAFETY: the ring's bytes follow the header inside the block,
        // aligned, zeroed when the block was laid out.
        unsafe {
            let data = (self as *const Shared as *mut u8).add(header_bytes());
            Ring::new(data, self.ring_bytes)
        }
    }

    pub fn ring_bytes(&self) -> usize {
        self.ring_bytes
    }

    /// Bytes in use: records not yet freed, and padding.
    pub fn used_bytes(&self) -> u64 {
        self.guarded.lock().positions.used()
    }

    /// Appends a record of `len` bytes that `write` fills; false when the
    /// ring has no room (counted as dropped). Never waits beyond the
    /// spinlock and never allocates: the log hook calls it.
    pub fn push(&self, meta: RecordMeta, len: usize, write: impl FnOnce(&mut [u8])) -> bool {
        let ring = self.ring();
        let reserved = ring.reserve(&mut self.guarded.lock().positions, meta, len);
        let Some(mut reserved) = reserved else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        write(reserved.payload());
        reserved.publish();
        self.counters.captured.fetch_add(1, Ordering::Relaxed);
        let latch = self.launcher_latch.load(Ordering::Acquire);
        if !latch.is_null() {
            // SAFETY: a latch in PGPROC, which lives as long as shared memory;
            // SetLatch is safe anywhere, signal handlers included.
            unsafe { pg_sys::SetLatch(latch) };
        }
        true
    }

    /// Walks the ring under the consumer lock; `visit` may free records,
    /// and the tail then advances over what was freed.
    fn walk(
        &self,
        mode: pg_sys::LWLockMode::Type,
        mut visit: impl FnMut(&pg_observe_core::ring::Record<'_>) -> bool,
    ) {
        let lock = CONSUMER_LOCK.load(Ordering::Acquire);
        let ring = self.ring();
        // SAFETY: the tranche's lock, set up with the block; an error while
        // it is held releases it with the rest of the process's LWLocks.
        unsafe { pg_sys::LWLockAcquire(lock, mode) };
        let Positions { head, tail } = self.guarded.lock().positions;
        ring.scan(tail, head, |record| visit(&record));
        if mode == pg_sys::LWLockMode::LW_EXCLUSIVE {
            let reached = ring.reclaimable(tail, head);
            self.guarded.lock().positions.tail = reached;
        }
        // SAFETY: acquired above.
        unsafe { pg_sys::LWLockRelease(lock) };
    }

    /// Copies out and frees up to `max` ready records of `database`.
    pub fn take(&self, database: pg_sys::Oid, max: usize) -> Vec<(RecordMeta, Vec<u8>)> {
        let mut taken = Vec::new();
        self.walk(pg_sys::LWLockMode::LW_EXCLUSIVE, |record| {
            if record.meta().database == database.to_u32() {
                if let Some(payload) = record.payload() {
                    taken.push((record.meta(), payload.to_vec()));
                    record.free();
                }
            }
            taken.len() < max
        });
        self.counters
            .taken
            .fetch_add(taken.len() as u64, Ordering::Relaxed);
        taken
    }

    /// Frees every ready record of `database` unread, counting them skipped.
    pub fn discard(&self, database: pg_sys::Oid) {
        let mut discarded = 0;
        self.walk(pg_sys::LWLockMode::LW_EXCLUSIVE, |record| {
            if record.meta().database == database.to_u32() && record.is_ready() {
                record.free();
                discarded += 1;
            }
            true
        });
        self.counters.taken.fetch_add(discarded, Ordering::Relaxed);
        self.counters
            .skipped
            .fetch_add(discarded, Ordering::Relaxed);
    }

    /// Databases with ready records (at most `max`, in ring order), and the
    /// enqueue time of the oldest record not yet freed.
    pub fn waiting(&self, max: usize) -> (Vec<pg_sys::Oid>, Option<i64>) {
        let mut databases = Vec::new();
        let mut oldest = None;
        self.walk(pg_sys::LWLockMode::LW_SHARED, |record| {
            if record.is_pending() {
                let meta = record.meta();
                oldest.get_or_insert(meta.enqueued_at);
                let database = pg_sys::Oid::from(meta.database);
                if record.is_ready() && databases.len() < max && !databases.contains(&database) {
                    databases.push(database);
                }
            }
            true
        });
        (databases, oldest)
    }

    /// Keeps a storing error for `observe.capture_stats()`.
    pub fn record_error(&self, database: pg_sys::Oid, message: &str, at: i64) {
        let mut guarded = self.guarded.lock();
        let bytes = message.as_bytes();
        let mut len = bytes.len().min(LAST_ERROR_BYTES);
        while len > 0 && !message.is_char_boundary(len) {
            len -= 1;
        }
        guarded.last_error[..len].copy_from_slice(&bytes[..len]);
        guarded.last_error_len = len;
        guarded.last_error_database = database.to_u32();
        drop(guarded);
        self.counters.last_error_at.store(at, Ordering::Relaxed);
    }

    /// The last storing error and the database it happened in.
    pub fn last_error(&self) -> Option<(pg_sys::Oid, String)> {
        let guarded = *self.guarded.lock();
        (guarded.last_error_len > 0).then(|| {
            (
                pg_sys::Oid::from(guarded.last_error_database),
                String::from_utf8_lossy(&guarded.last_error[..guarded.last_error_len]).into_owned(),
            )
        })
    }

    /// Makes the calling process the launcher producers wake.
    pub fn become_launcher(&self) {
        // SAFETY: MyLatch is this process's latch in PGPROC.
        self.launcher_latch
            .store(unsafe { pg_sys::MyLatch }, Ordering::Release);
        // SAFETY: MyProcPid is set at process start.
        self.launcher_pid
            .store(unsafe { pg_sys::MyProcPid } as u32, Ordering::Relaxed);
    }

    pub fn launcher_gone(&self) {
        self.launcher_latch
            .store(std::ptr::null_mut(), Ordering::Release);
        self.launcher_pid.store(0, Ordering::Relaxed);
    }
}
