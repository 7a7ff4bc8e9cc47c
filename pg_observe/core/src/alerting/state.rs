//! One alert's state over time, as Prometheus moves it: a condition that
//! holds makes an alert pending, and firing once it has held for
//! `pending_for`; a firing alert whose condition stops holding stays firing
//! for `keep_firing_for`, then resolves. A pending alert whose condition
//! stops holding goes back to inactive without ever having fired.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};

use super::rule::Timing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [
        AlertState::Inactive,
        AlertState::Pending,
        AlertState::Firing,
        AlertState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

impl FromStr for AlertState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        AlertState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown alert state {s:?}"))
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is remembered of one alert between evaluations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alert {
    pub state: AlertState,
    /// When the condition started to hold (pending or firing).
    pub active_since: Option<DateTime<Utc>>,
    pub fired_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The first evaluation that found a firing alert's condition no longer
    /// holding: `keep_firing_for` counts from there, as Prometheus counts it.
    pub keep_firing_since: Option<DateTime<Utc>>,
    /// The metric's value at the last change of state.
    pub value: Option<f64>,
}

impl Alert {
    pub const NEW: Alert = Alert {
        state: AlertState::Inactive,
        active_since: None,
        fired_at: None,
        resolved_at: None,
        keep_firing_since: None,
        value: None,
    };
}

/// A change of state, for `observe.alert_events`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub from: AlertState,
    pub to: AlertState,
    pub value: Option<f64>,
    pub at: DateTime<Utc>,
}

/// The alert after an evaluation at `at` found its condition holding or
/// not, with the metric's `value` (none when there was nothing to measure).
pub fn step(
    alert: &Alert,
    holds: bool,
    value: Option<f64>,
    at: DateTime<Utc>,
    timing: &Timing,
) -> (Alert, Option<Change>) {
    let mut next = *alert;
    if holds {
        next.keep_firing_since = None;
    }
    let target = match (alert.state, holds) {
        (AlertState::Inactive | AlertState::Resolved, true)
            if timing.pending_for <= TimeDelta::zero() =>
        {
            AlertState::Firing
        }
        (AlertState::Inactive | AlertState::Resolved, true) => AlertState::Pending,
        (AlertState::Pending, true) => {
            let since = alert.active_since.unwrap_or(at);
            if at - since >= timing.pending_for {
                AlertState::Firing
            } else {
                AlertState::Pending
            }
        }
        (AlertState::Firing, true) => AlertState::Firing,
        (AlertState::Pending, false) => AlertState::Inactive,
        (AlertState::Firing, false) => {
            let since = alert.keep_firing_since.unwrap_or(at);
            next.keep_firing_since = Some(since);
            if at - since < timing.keep_firing_for {
                AlertState::Firing
            } else {
                AlertState::Resolved
            }
        }
        (state @ (AlertState::Inactive | AlertState::Resolved), false) => state,
    };
    if target == alert.state {
        return (next, None);
    }
    match target {
        AlertState::Pending => {
            next.active_since = Some(at);
            next.fired_at = None;
            next.resolved_at = None;
        }
        AlertState::Firing => {
            if alert.state != AlertState::Pending {
                next.active_since = Some(at);
            }
            next.fired_at = Some(at);
            next.resolved_at = None;
        }
        AlertState::Resolved => {
            next.resolved_at = Some(at);
            next.keep_firing_since = None;
        }
        AlertState::Inactive => next.active_since = None,
    }
    next.state = target;
    next.value = value;
    (
        next,
        Some(Change {
            from: alert.state,
            to: target,
            value,
            at,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    fn timing(pending: i64, keep: i64) -> Timing {
        Timing {
            pending_for: TimeDelta::minutes(pending),
            keep_firing_for: TimeDelta::minutes(keep),
            ..Timing::default()
        }
    }

    /// The states an alert passes through over a series of evaluations, one
    /// a minute, of a condition given minute by minute.
    fn run(conditions: &[bool], timing: &Timing) -> Vec<AlertState> {
        let mut alert = Alert::NEW;
        conditions
            .iter()
            .enumerate()
            .map(|(minute, &holds)| {
                alert = step(&alert, holds, Some(1.0), at(minute as i64), timing).0;
                alert.state
            })
            .collect()
    }

    use AlertState::{Firing as F, Inactive as I, Pending as P, Resolved as R};

    #[test]
    fn without_pending_for_an_alert_fires_at_once_and_resolves_at_once() {
        assert_eq!(
            run(&[false, true, true, false, false], &timing(0, 0)),
            [I, F, F, R, R]
        );
    }

    #[test]
    fn pending_for_delays_firing_and_a_short_blip_never_fires() {
        assert_eq!(run(&[true, true, true, false], &timing(2, 0)), [P, P, F, R]);
        assert_eq!(
            run(&[true, false, true, false], &timing(2, 0)),
            [P, I, P, I]
        );
    }

    #[test]
    fn keep_firing_for_rides_out_a_gap() {
        assert_eq!(
            run(
                &[true, false, false, true, false, false, false],
                &timing(0, 2)
            ),
            [F, F, F, F, F, F, R]
        );
    }

    #[test]
    fn a_resolved_alert_can_fire_again() {
        let t = timing(0, 0);
        let (fired, _) = step(&Alert::NEW, true, Some(12.0), at(0), &t);
        let (resolved, change) = step(&fired, false, Some(3.0), at(1), &t);
        assert_eq!(change.unwrap().to, R);
        assert_eq!(resolved.resolved_at, Some(at(1)));
        let (again, change) = step(&resolved, true, Some(15.0), at(2), &t);
        let change = change.unwrap();
        assert_eq!((change.from, change.to, change.value), (R, F, Some(15.0)));
        assert_eq!((again.fired_at, again.resolved_at), (Some(at(2)), None));
    }

    #[test]
    fn the_same_evaluation_twice_changes_nothing() {
        let t = timing(0, 0);
        let (fired, _) = step(&Alert::NEW, true, Some(12.0), at(0), &t);
        let (again, change) = step(&fired, true, Some(12.0), at(0), &t);
        assert_eq!(change, None);
        assert_eq!(again.state, F);
        assert_eq!(again.fired_at, fired.fired_at);
    }
}
