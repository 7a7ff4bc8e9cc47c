//! Conversions between chrono and PostgreSQL timestamps.

use chrono::{DateTime, TimeDelta, Utc};
use pgrx::datum::{Interval, TimestampWithTimeZone};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

pub fn to_pg(t: DateTime<Utc>) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(t.timestamp_micros() - PG_EPOCH_OFFSET_MICROS)
        .expect("chrono timestamps lie within PostgreSQL's range")
}

pub fn from_pg(t: TimestampWithTimeZone) -> DateTime<Utc> {
    let micros: i64 = t.into();
    DateTime::from_timestamp_micros(micros.saturating_add(PG_EPOCH_OFFSET_MICROS)).unwrap_or(
        if micros < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        },
    )
}

/// A `TimestampTz` as PostgreSQL's C functions return it (microseconds since
/// 2000-01-01).
pub fn from_pg_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros.saturating_add(PG_EPOCH_OFFSET_MICROS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A fixed-length interval: months have no fixed length, so they are
/// refused (an alert window of "1 month" would mean 28 to 31 days).
pub fn from_interval(interval: Interval) -> Result<TimeDelta, &'static str> {
    if interval.months() != 0 {
        return Err("must be given in days, hours, minutes or seconds, not months");
    }
    Ok(TimeDelta::days(i64::from(interval.days())) + TimeDelta::microseconds(interval.micros()))
}

pub fn to_interval(delta: TimeDelta) -> Interval {
    Interval::from_micros(delta.num_microseconds().unwrap_or(i64::MAX))
}
