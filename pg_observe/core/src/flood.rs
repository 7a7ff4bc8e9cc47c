//! Flood control's count of one issue's events in the current minute, as one
//! backend knows it, and when to ask the database for the other backends'.
//!
//! Sampling (`sampling.rs`) needs only the order of magnitude of the count,
//! so the folded count of every backend's events is read again only after
//! this backend has seen an eighth of the limit, or an eighth of the last
//! known total, since the previous read: a logarithmic number of reads per
//! minute. Reading on a timer instead made it happen for nearly every event
//! of issues spread thin over many backends (ARCHITECTURE.md, "Flood
//! control").

use crate::sampling::sample_rate;

/// One issue's current minute in one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCount {
    /// Minutes since the Unix epoch.
    minute: i64,
    /// All backends' folded events this minute, as of the last refresh.
    refreshed: u64,
    /// This backend's events since then.
    since_refresh: u64,
    /// This backend's events this minute, which the folded count may not
    /// include yet.
    own: u64,
}

impl MinuteCount {
    /// The count to continue in `minute`: `previous` if it counts that
    /// minute, else a new one (a new minute starts from nothing).
    pub fn in_minute(previous: Option<MinuteCount>, minute: i64) -> MinuteCount {
        previous
            .filter(|count| count.minute == minute)
            .unwrap_or(MinuteCount {
                minute,
                refreshed: 0,
                since_refresh: 0,
                own: 0,
            })
    }

    /// Whether the next event should first read the folded count.
    pub fn needs_refresh(&self, limit: u64) -> bool {
        self.since_refresh >= (limit.max(self.known()) / 8).max(1)
    }

    /// Takes the folded count of every backend's events this minute.
    pub fn refresh(&mut self, folded: u64) {
        self.refreshed = folded;
        self.since_refresh = 0;
    }

    /// Counts one event of this backend and returns the probability with
    /// which to store it.
    pub fn count_event(&mut self, limit: u64) -> f64 {
        self.since_refresh += 1;
        self.own += 1;
        sample_rate(self.known(), limit)
    }

    /// A lower bound of the events this minute: both terms are.
    pub fn known(&self) -> u64 {
        (self.refreshed + self.since_refresh).max(self.own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `events` events of one backend while `others` events of other
    /// backends are already folded; returns how many refreshes it took.
    fn refreshes(limit: u64, events: u64, others: u64) -> u64 {
        let mut count = MinuteCount::in_minute(None, 0);
        let mut reads = 0;
        for own in 1..=events {
            if count.needs_refresh(limit) {
                count.refresh(others + own - 1);
                reads += 1;
            }
            count.count_event(limit);
        }
        reads
    }

    #[test]
    fn the_folded_count_is_read_after_an_eighth_of_the_limit() {
        let mut count = MinuteCount::in_minute(None, 7);
        for _ in 0..12 {
            assert!(!count.needs_refresh(100));
            count.count_event(100);
        }
        assert!(count.needs_refresh(100));
        count.refresh(12);
        assert!(!count.needs_refresh(100));
    }

    #[test]
    fn reads_grow_logarithmically_with_the_burst() {
        let small = refreshes(100, 1_000, 0);
        let large = refreshes(100, 100_000, 0);
        assert!(small < 40, "{small} reads for 1,000 events");
        assert!(large < 80, "{large} reads for 100,000 events");
        assert!(large > small);
    }

    #[test]
    fn other_backends_folded_events_lower_the_rate() {
        let mut alone = MinuteCount::in_minute(None, 0);
        let mut crowded = MinuteCount::in_minute(None, 0);
        crowded.refresh(10_000);
        assert_eq!(alone.count_event(100), 1.0);
        assert!((crowded.count_event(100) - 100.0 / 10_001.0).abs() < 1e-12);
    }

    #[test]
    fn own_events_count_even_before_they_are_folded() {
        let mut count = MinuteCount::in_minute(None, 0);
        count.refresh(50);
        for _ in 0..200 {
            count.count_event(100);
        }
        // The fold has not seen them; a refresh to an older figure must not
        // forget them.
        count.refresh(60);
        assert_eq!(count.known(), 200);
    }

    #[test]
    fn a_new_minute_starts_from_nothing() {
        let mut count = MinuteCount::in_minute(None, 5);
        count.refresh(1_000);
        count.count_event(100);
        assert_eq!(MinuteCount::in_minute(Some(count), 5), count);
        assert_eq!(MinuteCount::in_minute(Some(count), 6).known(), 0);
    }
}
