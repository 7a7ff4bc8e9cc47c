//! A bounded ring of variable-length records in one block of memory that
//! many processes share: the capture ring of server-side capture
//! (ARCHITECTURE.md, "Server-side capture").
//!
//! Producers are PostgreSQL backends inside `emit_log_hook`, so a producer
//! never waits and never allocates: under the caller's spinlock it only
//! moves `head` and writes a record header, then copies its payload with no
//! lock held and publishes the record with a release store of its state.
//! When the ring has no room the record is refused (and the caller counts
//! it dropped). Consumers (one storing worker per database) take the records
//! of their own database in any order, under a second, consumer-only lock
//! that keeps `tail` still while they walk; whoever frees records advances
//! `tail` over the free ones at the front.
//!
//! A record never wraps: when it does not fit before the end of the block, a
//! free padding record (or, when fewer than a header's bytes remain, nothing:
//! every walker skips such a remainder) fills the end, and the record starts
//! at the beginning. Positions are byte counts that only grow, so `head -
//! tail` is the space in use.
//!
//! Nothing here locks: every function says which of the caller's locks it
//! needs.

use std::sync::atomic::{AtomicU32, Ordering};

/// Records start and end on this boundary.
pub const ALIGN: usize = 8;

const FREE: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;

/// The fixed start of every record.
#[repr(C)]
pub struct RecordHeader {
    state: AtomicU32,
    /// Bytes of the whole record, header included, a multiple of `ALIGN`.
    len: u32,
    payload_len: u32,
    database: u32,
    kind: u32,
    _reserved: u32,
    /// The producer's clock, for the consumers' lag.
    enqueued_at: i64,
}

/// Bytes a header takes.
pub const HEADER: usize = std::mem::size_of::<RecordHeader>();

/// Where producers write and consumers free; guarded by the caller's
/// spinlock (and `tail` also by the consumer lock, see the module doc).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Positions {
    pub head: u64,
    pub tail: u64,
}

impl Positions {
    /// Bytes between tail and head: records not yet freed, and padding.
    pub fn used(&self) -> u64 {
        self.head - self.tail
    }
}

/// What a record is about, fixed when it is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    pub database: u32,
    pub kind: u32,
    pub enqueued_at: i64,
}

/// The ring's data block.
#[derive(Debug, Clone, Copy)]
pub struct Ring {
    data: *mut u8,
    capacity: usize,
}

// SAFETY: a Ring is a pointer into memory its users share on purpose; the
// functions below say which lock each needs.
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

impl Ring {
    /// The ring over `capacity` bytes at `data`.
    ///
    /// # Safety
    /// `data` is valid for `capacity` bytes for as long as the ring is used,
    /// aligned to `ALIGN`, and zeroed (all records free) before first use;
    /// `capacity` is a multiple of `ALIGN`.
    pub unsafe fn new(data: *mut u8, capacity: usize) -> Ring {
        debug_assert!(capacity.is_multiple_of(ALIGN) && (data as usize).is_multiple_of(ALIGN));
        Ring { data, capacity }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The longest payload a record may carry: half the ring, so that a
    /// record always fits once the ring has drained, whatever padding the
    /// end of the block needs.
    pub fn max_payload(&self) -> usize {
        (self.capacity / 2).saturating_sub(HEADER)
    }

    /// Reserves a record of `payload_len` bytes; None when the ring has no
    /// room (or the payload exceeds `max_payload`). Under the spinlock.
    pub fn reserve(
        &self,
        positions: &mut Positions,
        meta: RecordMeta,
        payload_len: usize,
    ) -> Option<Reservation> {
        if payload_len > self.max_payload() {
            return None;
        }
        let len = align(HEADER + payload_len);
        let offset = self.offset(positions.head);
        let to_end = self.capacity - offset;
        let pad = if to_end < len { to_end } else { 0 };
        let needed = (pad + len) as u64;
        if positions.used() + needed > self.capacity as u64 {
            return None;
        }
        if pad >= HEADER {
            // SAFETY: [head, head + pad) lies inside the free part of the block.
            unsafe { self.write_header(offset, FREE, pad, 0, RecordMeta::padding()) };
        }
        let start = positions.head + pad as u64;
        positions.head = start + len as u64;
        let at = self.offset(start);
        // SAFETY: [start, start + len) lies inside the free part of the
        // block and, having been checked against `to_end`, does not wrap.
        unsafe {
            self.write_header(at, WRITING, len, payload_len, meta);
            Some(Reservation {
                header: self.data.add(at).cast(),
                payload: self.data.add(at + HEADER),
                payload_len,
            })
        }
    }

    /// Visits the records between `tail` and `head` in ring order until
    /// `visit` returns false. Under the consumer lock (which keeps `tail`,
    /// and so every record from it, in place), with `head` read under the
    /// spinlock.
    pub fn scan(&self, tail: u64, head: u64, mut visit: impl FnMut(Record<'_>) -> bool) {
        let mut position = tail;
        while position < head {
            let offset = self.offset(position);
            if self.capacity - offset < HEADER {
                position += (self.capacity - offset) as u64;
                continue;
            }
            // SAFETY: a header lies at every record start between tail and head.
            let header = unsafe { &*self.data.add(offset).cast::<RecordHeader>() };
            let len = header.len as usize;
            let payload_len = header.payload_len as usize;
            if len < HEADER || len > self.capacity - offset || payload_len > len - HEADER {
                // Only memory corruption gets here; walking on would read
                // beyond the block.
                return;
            }
            let record = Record {
                header,
                // SAFETY: the record's bytes lie inside the block.
                payload: unsafe { self.data.add(offset + HEADER) },
                payload_len,
            };
            if !visit(record) {
                return;
            }
            position += len as u64;
        }
    }

    /// How far `tail` can advance: past every free record at the front.
    /// Under the consumer lock; the caller stores the result under the
    /// spinlock.
    pub fn reclaimable(&self, tail: u64, head: u64) -> u64 {
        let mut reached = tail;
        let mut position = tail;
        while position < head {
            let offset = self.offset(position);
            if self.capacity - offset < HEADER {
                position += (self.capacity - offset) as u64;
                reached = position;
                continue;
            }
            // SAFETY: as in `scan`.
            let header = unsafe { &*self.data.add(offset).cast::<RecordHeader>() };
            if header.state.load(Ordering::Acquire) != FREE || (header.len as usize) < HEADER {
                break;
            }
            position += header.len as u64;
            reached = position;
        }
        reached
    }

    fn offset(&self, position: u64) -> usize {
        (position % self.capacity as u64) as usize
    }

    /// # Safety
    /// `[at, at + len)` is inside the block and belongs to the caller.
    unsafe fn write_header(
        &self,
        at: usize,
        state: u32,
        len: usize,
        payload_len: usize,
        meta: RecordMeta,
    ) {
        let header = unsafe { &mut *self.data.add(at).cast::<RecordHeader>() };
        header.len = len as u32;
        header.payload_len = payload_len as u32;
        header.database = meta.database;
        header.kind = meta.kind;
        header.enqueued_at = meta.enqueued_at;
        header.state.store(state, Ordering::Release);
    }
}

impl RecordMeta {
    fn padding() -> RecordMeta {
        RecordMeta {
            database: 0,
            kind: 0,
            enqueued_at: 0,
        }
    }
}

fn align(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// A record reserved by a producer and not yet published.
pub struct Reservation {
    header: *mut RecordHeader,
    payload: *mut u8,
    payload_len: usize,
}

impl Reservation {
    /// The payload's bytes, the producer's to fill (no lock needed).
    pub fn payload(&mut self) -> &mut [u8] {
        // SAFETY: reserved for this producer alone until `publish`.
        unsafe { std::slice::from_raw_parts_mut(self.payload, self.payload_len) }
    }

    /// Hands the record to the consumers.
    pub fn publish(self) {
        // SAFETY: the header stays valid until a consumer frees the record,
        // which it cannot before this store.
        unsafe { &*self.header }
            .state
            .store(READY, Ordering::Release);
    }
}

/// A record as a consumer sees it while walking the ring.
pub struct Record<'a> {
    header: &'a RecordHeader,
    payload: *const u8,
    payload_len: usize,
}

impl Record<'_> {
    /// Published and not yet freed.
    pub fn is_ready(&self) -> bool {
        self.header.state.load(Ordering::Acquire) == READY
    }

    /// Reserved or published, and not yet freed.
    pub fn is_pending(&self) -> bool {
        self.header.state.load(Ordering::Acquire) != FREE
    }

    pub fn meta(&self) -> RecordMeta {
        RecordMeta {
            database: self.header.database,
            kind: self.header.kind,
            enqueued_at: self.header.enqueued_at,
        }
    }

    /// The payload of a ready record; None while it is still being written.
    pub fn payload(&self) -> Option<&[u8]> {
        // SAFETY: a ready record's payload was written before the release
        // store that `is_ready` acquired, and nobody writes it again until
        // it is freed.
        self.is_ready()
            .then(|| unsafe { std::slice::from_raw_parts(self.payload, self.payload_len) })
    }

    /// Gives the record's space back (once the tail reaches it).
    pub fn free(&self) {
        self.header.state.store(FREE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A ring over its own zeroed, aligned memory.
    struct Owned {
        _memory: Vec<u64>,
        ring: Ring,
        positions: Positions,
    }

    fn owned(capacity: usize) -> Owned {
        let mut memory = vec![0u64; capacity / 8];
        // SAFETY: the vector is zeroed, 8-aligned and outlives the ring.
        let ring = unsafe { Ring::new(memory.as_mut_ptr().cast(), capacity) };
        Owned {
            _memory: memory,
            ring,
            positions: Positions::default(),
        }
    }

    fn meta(database: u32) -> RecordMeta {
        RecordMeta {
            database,
            kind: 7,
            enqueued_at: 42,
        }
    }

    impl Owned {
        fn push(&mut self, database: u32, payload: &[u8]) -> bool {
            match self
                .ring
                .reserve(&mut self.positions, meta(database), payload.len())
            {
                Some(mut reserved) => {
                    reserved.payload().copy_from_slice(payload);
                    reserved.publish();
                    true
                }
                None => false,
            }
        }

        /// Takes (copies and frees) the ready records of `database`.
        fn take(&mut self, database: u32) -> Vec<Vec<u8>> {
            let mut taken = Vec::new();
            self.ring
                .scan(self.positions.tail, self.positions.head, |record| {
                    if record.meta().database == database {
                        if let Some(payload) = record.payload() {
                            taken.push(payload.to_vec());
                            record.free();
                        }
                    }
                    true
                });
            self.positions.tail = self
                .ring
                .reclaimable(self.positions.tail, self.positions.head);
            taken
        }
    }

    #[test]
    fn a_full_ring_refuses_and_takes_again_once_drained() {
        let mut ring = owned(1024);
        let payload = [1u8; 100];
        let mut accepted = 0;
        while ring.push(1, &payload) {
            accepted += 1;
        }
        assert_eq!(accepted, 1024 / align(HEADER + 100));
        assert_eq!(ring.take(1).len(), accepted);
        assert_eq!(ring.positions.used(), 0);
        assert!(ring.push(1, &payload));
    }

    #[test]
    fn records_wrap_with_padding_and_keep_their_bytes() {
        let mut ring = owned(1024);
        for round in 0..200u32 {
            let payload: Vec<u8> = (0..(round as usize * 37) % 300)
                .map(|i| (i as u32 ^ round) as u8)
                .collect();
            assert!(ring.push(round % 3, &payload), "round {round}");
            assert_eq!(ring.take(round % 3), vec![payload], "round {round}");
        }
        assert!(
            ring.positions.head > 10 * 1024,
            "the ring wrapped many times"
        );
    }

    #[test]
    fn a_waiting_record_holds_the_space_behind_it_until_taken() {
        let mut ring = owned(2048);
        assert!(ring.push(1, b"first, not taken yet"));
        let mut accepted = 0;
        while ring.push(2, &[7; 50]) {
            accepted += 1;
        }
        assert_eq!(ring.take(2).len(), accepted);
        // Database 2's records are free, but behind database 1's: taking
        // every database's records is what keeps the ring moving.
        assert!(!ring.push(2, &[7; 50]));
        assert_eq!(ring.take(1), vec![b"first, not taken yet".to_vec()]);
        assert_eq!(ring.positions.used(), 0);
        assert!(ring.push(2, &[7; 50]));
    }

    #[test]
    fn oversized_payloads_are_refused() {
        let mut ring = owned(1024);
        assert!(!ring.push(1, &vec![0u8; ring.ring.max_payload() + 1]));
        assert!(ring.push(1, &vec![0u8; ring.ring.max_payload()]));
    }

    #[test]
    fn a_record_being_written_is_not_taken_and_holds_the_tail() {
        let mut ring = owned(1024);
        let reserved = ring.ring.reserve(&mut ring.positions, meta(1), 10).unwrap();
        assert!(ring.push(1, b"after"));
        assert_eq!(ring.take(1), vec![b"after".to_vec()]);
        assert!(ring.positions.used() > 0);
        reserved.publish();
        assert_eq!(ring.take(1).len(), 1);
        assert_eq!(ring.positions.used(), 0);
    }

    #[test]
    fn concurrent_producers_lose_nothing_they_were_promised() {
        struct Shared {
            positions: Mutex<Positions>,
            consumer: Mutex<()>,
            producing: std::sync::atomic::AtomicBool,
        }
        let mut memory = vec![0u64; 4096 / 8];
        // SAFETY: zeroed, aligned, outlives every thread (joined below).
        let ring = unsafe { Ring::new(memory.as_mut_ptr().cast(), 4096) };
        let shared = Arc::new(Shared {
            positions: Mutex::new(Positions::default()),
            consumer: Mutex::new(()),
            producing: std::sync::atomic::AtomicBool::new(true),
        });
        let producers: Vec<_> = (0..4u32)
            .map(|producer| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for i in 0..2000u32 {
                        let payload = format!("{producer}:{i}:{}", "x".repeat((i % 90) as usize));
                        // A refused record is dropped; a few tries give the
                        // consumers a chance to make room.
                        for _ in 0..20 {
                            let reserved = ring.reserve(
                                &mut shared.positions.lock().unwrap(),
                                meta(producer % 2),
                                payload.len(),
                            );
                            if let Some(mut reserved) = reserved {
                                reserved.payload().copy_from_slice(payload.as_bytes());
                                reserved.publish();
                                accepted.push(payload);
                                break;
                            }
                            std::thread::yield_now();
                        }
                    }
                    accepted
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2u32)
            .map(|database| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut taken = Vec::new();
                    loop {
                        let last_round = !shared.producing.load(Ordering::Acquire);
                        let _walking = shared.consumer.lock().unwrap();
                        let Positions { head, tail } = *shared.positions.lock().unwrap();
                        let before = taken.len();
                        ring.scan(tail, head, |record| {
                            if record.meta().database == database {
                                if let Some(payload) = record.payload() {
                                    taken.push(String::from_utf8(payload.to_vec()).unwrap());
                                    record.free();
                                }
                            }
                            true
                        });
                        let reached = ring.reclaimable(tail, head);
                        shared.positions.lock().unwrap().tail = reached;
                        drop(_walking);
                        if last_round && taken.len() == before {
                            break;
                        }
                        std::thread::yield_now();
                    }
                    taken
                })
            })
            .collect();
        let mut accepted: Vec<String> = producers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect();
        shared.producing.store(false, Ordering::Release);
        let mut taken: Vec<String> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        accepted.sort();
        taken.sort();
        let head = shared.positions.lock().unwrap().head;
        assert!(head > 4 * 4096, "the ring wrapped: head {head}");
        assert_eq!(taken, accepted);
        drop(memory);
    }
}
