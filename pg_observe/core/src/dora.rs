//! DORA's four keys and their performance levels, for `observe.dora`.
//!
//! The levels are the 2023 Accelerate State of DevOps report's (elite, high,
//! medium, low). The report gives each level as a range, and its ranges
//! overlap or leave gaps (its "low" deployment frequency and lead time repeat
//! "medium"'s range); here each level is the better side of the boundary to
//! the next, so every value has exactly one level:
//!
//! | key | elite | high | medium | low |
//! |---|---|---|---|---|
//! | deployment frequency | ≥ 1 a day (on demand) | ≥ 1 a week | ≥ 1 a month | less |
//! | lead time for changes (median) | < 1 day | < 1 week | < 1 month | longer |
//! | change failure rate | ≤ 5 % | ≤ 10 % | ≤ 15 % | more |
//! | time to restore (median) | < 1 hour | < 1 day | < 1 week | longer |

use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Elite => "elite",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    DeploymentFrequency,
    LeadTime,
    ChangeFailureRate,
    TimeToRestore,
}

#[derive(Debug, Error, PartialEq)]
pub enum DoraError {
    #[error("unknown DORA key {0:?}: expected deployment_frequency, lead_time, change_failure_rate or time_to_restore")]
    UnknownKey(String),
    #[error("{key} must be a finite number at least 0, got {value}")]
    BadValue { key: &'static str, value: f64 },
}

impl FromStr for Key {
    type Err = DoraError;
    fn from_str(s: &str) -> Result<Key, DoraError> {
        Ok(match s {
            "deployment_frequency" => Key::DeploymentFrequency,
            "lead_time" => Key::LeadTime,
            "change_failure_rate" => Key::ChangeFailureRate,
            "time_to_restore" => Key::TimeToRestore,
            other => return Err(DoraError::UnknownKey(other.to_owned())),
        })
    }
}

impl Key {
    pub fn as_str(self) -> &'static str {
        match self {
            Key::DeploymentFrequency => "deployment_frequency",
            Key::LeadTime => "lead_time",
            Key::ChangeFailureRate => "change_failure_rate",
            Key::TimeToRestore => "time_to_restore",
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;

/// The level of a value: deploys per day for the frequency, a share
/// (0 to 1) for the failure rate, seconds for the two durations.
pub fn level(key: Key, value: f64) -> Result<Level, DoraError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(DoraError::BadValue {
            key: key.as_str(),
            value,
        });
    }
    let pick = |limits: [f64; 3], higher_is_better: bool| {
        let better = |limit: f64| {
            if higher_is_better {
                value >= limit
            } else {
                value < limit
            }
        };
        [Level::Elite, Level::High, Level::Medium]
            .into_iter()
            .zip(limits)
            .find(|&(_, limit)| better(limit))
            .map_or(Level::Low, |(l, _)| l)
    };
    Ok(match key {
        Key::DeploymentFrequency => pick([1.0, 1.0 / 7.0, 1.0 / 30.0], true),
        Key::LeadTime => pick([DAY, WEEK, MONTH], false),
        // "At most" 5 %: a boundary value belongs to the better level.
        Key::ChangeFailureRate => pick([0.05 + 1e-12, 0.10 + 1e-12, 0.15 + 1e-12], false),
        Key::TimeToRestore => pick([HOUR, DAY, WEEK], false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_at_and_around_each_boundary() {
        use Key::*;
        use Level::*;
        let cases: &[(Key, f64, Level)] = &[
            (DeploymentFrequency, 3.0, Elite),
            (DeploymentFrequency, 1.0, Elite),
            (DeploymentFrequency, 0.99, High),
            (DeploymentFrequency, 1.0 / 7.0, High),
            (DeploymentFrequency, 0.1, Medium),
            (DeploymentFrequency, 0.01, Low),
            (DeploymentFrequency, 0.0, Low),
            (LeadTime, 3.0 * HOUR, Elite),
            (LeadTime, DAY, High),
            (LeadTime, 8.0 * DAY, Medium),
            (LeadTime, 40.0 * DAY, Low),
            (ChangeFailureRate, 0.0, Elite),
            (ChangeFailureRate, 0.05, Elite),
            (ChangeFailureRate, 0.1, High),
            (ChangeFailureRate, 0.15, Medium),
            (ChangeFailureRate, 0.5, Low),
            (TimeToRestore, 20.0 * 60.0, Elite),
            (TimeToRestore, 2.0 * HOUR, High),
            (TimeToRestore, 2.0 * DAY, Medium),
            (TimeToRestore, 9.0 * DAY, Low),
        ];
        for &(key, value, want) in cases {
            assert_eq!(level(key, value), Ok(want), "{key:?} {value}");
        }
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        assert!("mttr".parse::<Key>().is_err());
        assert_eq!("lead_time".parse::<Key>(), Ok(Key::LeadTime));
        assert!(level(Key::LeadTime, -1.0).is_err());
        assert!(level(Key::LeadTime, f64::NAN).is_err());
    }
}
