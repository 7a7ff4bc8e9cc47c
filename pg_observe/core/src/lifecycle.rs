//! Issue status transitions caused by activity: a resolved issue regresses
//! when it happens again, an ignored one wakes when its condition expires.
//! Manual transitions (resolve, ignore, reopen) are the SQL API's; this module
//! decides only what events and the passage of time do.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueStatus {
    Unresolved,
    Resolved,
    Ignored,
}

impl IssueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Unresolved => "unresolved",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Ignored => "ignored",
        }
    }
}

impl fmt::Display for IssueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown issue status \"{0}\": expected unresolved, resolved or ignored")]
pub struct UnknownStatus(pub String);

impl FromStr for IssueStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unresolved" => Ok(IssueStatus::Unresolved),
            "resolved" => Ok(IssueStatus::Resolved),
            "ignored" => Ok(IssueStatus::Ignored),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// The lifecycle columns of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueState {
    pub status: IssueStatus,
    pub resolved_in_release: Option<String>,
    pub ignored_until: Option<DateTime<Utc>>,
    pub ignore_until_count: Option<i64>,
}

/// Why an issue left its resolved or ignored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Regressed,
    IgnoreExpired,
    IgnoreCountReached,
}

impl Transition {
    pub const ALL: [Transition; 3] = [
        Transition::Regressed,
        Transition::IgnoreExpired,
        Transition::IgnoreCountReached,
    ];

    /// The reason stored in `issue_groups.status_reason` and the activity log.
    pub fn reason(self) -> &'static str {
        match self {
            Transition::Regressed => "regression",
            Transition::IgnoreExpired => "ignore_expired",
            Transition::IgnoreCountReached => "ignore_count_reached",
        }
    }

    pub fn from_reason(reason: &str) -> Option<Transition> {
        Transition::ALL.into_iter().find(|t| t.reason() == reason)
    }
}

/// The reason of a status set by a person or a bot through the triage
/// functions, and of the activity row that records a new issue.
pub const MANUAL_REASON: &str = "manual";
pub const NEW_ISSUE_REASON: &str = "new_issue";

/// What an `issue_activity` row records. The SQL trigger that writes the
/// rows asks `of_change` (as `observe.activity_kind`), and a test holds the
/// table's check constraint to `ALL`, so the words live here only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Created,
    Resolved,
    Ignored,
    Unignored,
    Regressed,
    Reopened,
    /// The issue was deleted; this row outlives it.
    Deleted,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 7] = [
        ActivityKind::Created,
        ActivityKind::Resolved,
        ActivityKind::Ignored,
        ActivityKind::Unignored,
        ActivityKind::Regressed,
        ActivityKind::Reopened,
        ActivityKind::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Created => "created",
            ActivityKind::Resolved => "resolved",
            ActivityKind::Ignored => "ignored",
            ActivityKind::Unignored => "unignored",
            ActivityKind::Regressed => "regressed",
            ActivityKind::Reopened => "reopened",
            ActivityKind::Deleted => "deleted",
        }
    }

    /// The kind of a change of an existing issue's status, given the reason
    /// stored with the new status.
    pub fn of_change(from: IssueStatus, to: IssueStatus, reason: Option<&str>) -> ActivityKind {
        match (from, to, reason.and_then(Transition::from_reason)) {
            (_, IssueStatus::Resolved, _) => ActivityKind::Resolved,
            (_, IssueStatus::Ignored, _) => ActivityKind::Ignored,
            (IssueStatus::Resolved, _, Some(Transition::Regressed)) => ActivityKind::Regressed,
            (
                IssueStatus::Ignored,
                _,
                Some(Transition::IgnoreExpired | Transition::IgnoreCountReached),
            ) => ActivityKind::Unignored,
            _ => ActivityKind::Reopened,
        }
    }
}

/// Facts about an event that cost a query to learn. They are asked for
/// lazily, only in the state that needs them: the hot path (an unresolved
/// issue) asks for nothing.
pub trait EventFacts {
    /// Whether the event's release is newer than `resolved_in`.
    fn release_is_newer(&mut self, resolved_in: &str) -> bool;
    /// Whether a trusted writer or a deploy has made the event's release
    /// known (false for an event without a release).
    fn release_is_known(&mut self) -> bool;
    /// Events since the issue was ignored, this one included.
    fn events_since_ignore(&mut self) -> i64;
}

/// Who wrote an event. Anyone on the internet is an untrusted writer once
/// the public key may capture, so their events are counted and stored but
/// cannot drive triage: a made-up release must not reopen a resolved issue,
/// and a flood must not end an ignore (README, "Security").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Trusted,
    Untrusted,
}

/// What a new event does to an issue.
pub fn on_event(
    state: &IssueState,
    writer: Writer,
    now: DateTime<Utc>,
    facts: &mut impl EventFacts,
) -> Option<Transition> {
    match (state.status, writer) {
        (IssueStatus::Unresolved, _) => None,
        (IssueStatus::Resolved, Writer::Untrusted) if !facts.release_is_known() => None,
        (IssueStatus::Resolved, _) => match &state.resolved_in_release {
            None => Some(Transition::Regressed),
            Some(release) if facts.release_is_newer(release) => Some(Transition::Regressed),
            Some(_) => None,
        },
        // Time runs out whoever writes; only trusted events count.
        (IssueStatus::Ignored, Writer::Untrusted) => wake(state, now, || 0),
        (IssueStatus::Ignored, Writer::Trusted) => wake(state, now, || facts.events_since_ignore()),
    }
}

/// Whether an ignored issue's condition has run out. The scheduled tick uses
/// it for issues that receive no events; `on_event` for those that do.
pub fn wake(
    state: &IssueState,
    now: DateTime<Utc>,
    events_since_ignore: impl FnOnce() -> i64,
) -> Option<Transition> {
    if state.status != IssueStatus::Ignored {
        return None;
    }
    if state.ignored_until.is_some_and(|until| until <= now) {
        return Some(Transition::IgnoreExpired);
    }
    match state.ignore_until_count {
        Some(limit) if events_since_ignore() >= limit => Some(Transition::IgnoreCountReached),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn state(status: IssueStatus) -> IssueState {
        IssueState {
            status,
            resolved_in_release: None,
            ignored_until: None,
            ignore_until_count: None,
        }
    }

    fn never<T>() -> T {
        panic!("this fact must not be asked for")
    }

    /// Answers with fixed facts; `None` means the fact must not be asked for.
    struct Facts {
        newer: Option<bool>,
        since_ignore: Option<i64>,
    }

    /// Known releases are only asked about for untrusted events.
    struct Untrusted {
        known: bool,
        newer: Option<bool>,
    }

    impl EventFacts for Untrusted {
        fn release_is_newer(&mut self, _resolved_in: &str) -> bool {
            self.newer.unwrap_or_else(never)
        }
        fn release_is_known(&mut self) -> bool {
            self.known
        }
        fn events_since_ignore(&mut self) -> i64 {
            never()
        }
    }

    impl EventFacts for Facts {
        fn release_is_newer(&mut self, _resolved_in: &str) -> bool {
            self.newer.unwrap_or_else(never)
        }
        fn release_is_known(&mut self) -> bool {
            never()
        }
        fn events_since_ignore(&mut self) -> i64 {
            self.since_ignore.unwrap_or_else(never)
        }
    }

    /// Facts that must not be asked for at all.
    fn none() -> Facts {
        Facts {
            newer: None,
            since_ignore: None,
        }
    }

    #[test]
    fn unresolved_issues_never_transition_or_query() {
        let s = state(IssueStatus::Unresolved);
        assert_eq!(on_event(&s, Writer::Trusted, at(0), &mut none()), None);
    }

    #[test]
    fn resolved_issues_regress_on_any_event() {
        let s = state(IssueStatus::Resolved);
        assert_eq!(
            on_event(&s, Writer::Trusted, at(0), &mut none()),
            Some(Transition::Regressed)
        );
    }

    #[test]
    fn resolved_in_release_regresses_only_on_newer_releases() {
        let s = IssueState {
            resolved_in_release: Some("1.2.0".into()),
            ..state(IssueStatus::Resolved)
        };
        assert_eq!(
            on_event(
                &s,
                Writer::Trusted,
                at(0),
                &mut Facts {
                    newer: Some(true),
                    since_ignore: None
                }
            ),
            Some(Transition::Regressed)
        );
        assert_eq!(
            on_event(
                &s,
                Writer::Trusted,
                at(0),
                &mut Facts {
                    newer: Some(false),
                    since_ignore: None
                }
            ),
            None
        );
    }

    #[test]
    fn ignored_until_a_time_wakes_when_it_passes() {
        let s = IssueState {
            ignored_until: Some(at(100)),
            ..state(IssueStatus::Ignored)
        };
        assert_eq!(on_event(&s, Writer::Trusted, at(99), &mut none()), None);
        assert_eq!(
            on_event(&s, Writer::Trusted, at(100), &mut none()),
            Some(Transition::IgnoreExpired)
        );
        assert_eq!(wake(&s, at(101), never), Some(Transition::IgnoreExpired));
    }

    #[test]
    fn ignored_until_a_count_wakes_at_the_nth_event() {
        let s = IssueState {
            ignore_until_count: Some(5),
            ..state(IssueStatus::Ignored)
        };
        assert_eq!(
            on_event(
                &s,
                Writer::Trusted,
                at(0),
                &mut Facts {
                    newer: None,
                    since_ignore: Some(4)
                }
            ),
            None
        );
        assert_eq!(
            on_event(
                &s,
                Writer::Trusted,
                at(0),
                &mut Facts {
                    newer: None,
                    since_ignore: Some(5)
                }
            ),
            Some(Transition::IgnoreCountReached)
        );
    }

    #[test]
    fn ignored_forever_stays_ignored() {
        let s = state(IssueStatus::Ignored);
        assert_eq!(
            on_event(&s, Writer::Trusted, at(1 << 40), &mut none()),
            None
        );
    }

    #[test]
    fn untrusted_events_regress_only_through_known_releases() {
        let s = IssueState {
            resolved_in_release: Some("billing@2.4.0".into()),
            ..state(IssueStatus::Resolved)
        };
        let spoofed = &mut Untrusted {
            known: false,
            newer: None,
        };
        assert_eq!(on_event(&s, Writer::Untrusted, at(0), spoofed), None);
        let known_newer = &mut Untrusted {
            known: true,
            newer: Some(true),
        };
        assert_eq!(
            on_event(&s, Writer::Untrusted, at(0), known_newer),
            Some(Transition::Regressed)
        );
        let known_older = &mut Untrusted {
            known: true,
            newer: Some(false),
        };
        assert_eq!(on_event(&s, Writer::Untrusted, at(0), known_older), None);
        let anywhere = state(IssueStatus::Resolved);
        let no_release = &mut Untrusted {
            known: false,
            newer: None,
        };
        assert_eq!(
            on_event(&anywhere, Writer::Untrusted, at(0), no_release),
            None
        );
    }

    #[test]
    fn untrusted_events_never_end_an_ignore_by_count_but_time_still_does() {
        let s = IssueState {
            ignore_until_count: Some(1),
            ignored_until: Some(at(100)),
            ..state(IssueStatus::Ignored)
        };
        let facts = &mut Untrusted {
            known: true,
            newer: None,
        };
        assert_eq!(on_event(&s, Writer::Untrusted, at(50), facts), None);
        assert_eq!(
            on_event(&s, Writer::Untrusted, at(100), facts),
            Some(Transition::IgnoreExpired)
        );
    }

    #[test]
    fn activity_kinds_of_every_change() {
        use ActivityKind as K;
        use IssueStatus::{Ignored, Resolved, Unresolved};
        let table = [
            (Unresolved, Resolved, Some(MANUAL_REASON), K::Resolved),
            (Ignored, Resolved, Some(MANUAL_REASON), K::Resolved),
            (Unresolved, Ignored, Some(MANUAL_REASON), K::Ignored),
            (Resolved, Unresolved, Some("regression"), K::Regressed),
            (Resolved, Unresolved, Some(MANUAL_REASON), K::Reopened),
            (Ignored, Unresolved, Some("ignore_expired"), K::Unignored),
            (
                Ignored,
                Unresolved,
                Some("ignore_count_reached"),
                K::Unignored,
            ),
            (Ignored, Unresolved, Some(MANUAL_REASON), K::Reopened),
            // A reason that does not fit the change is not trusted.
            (Ignored, Unresolved, Some("regression"), K::Reopened),
            (Resolved, Unresolved, None, K::Reopened),
        ];
        for (from, to, reason, kind) in table {
            assert_eq!(
                ActivityKind::of_change(from, to, reason),
                kind,
                "{from} -> {to} ({reason:?})"
            );
        }
    }

    #[test]
    fn reasons_round_trip() {
        for t in Transition::ALL {
            assert_eq!(Transition::from_reason(t.reason()), Some(t));
        }
        assert_eq!(Transition::from_reason(MANUAL_REASON), None);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            IssueStatus::Unresolved,
            IssueStatus::Resolved,
            IssueStatus::Ignored,
        ] {
            assert_eq!(s.as_str().parse::<IssueStatus>(), Ok(s));
        }
        assert!("open".parse::<IssueStatus>().is_err());
    }
}
