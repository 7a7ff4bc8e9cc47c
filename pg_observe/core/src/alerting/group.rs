//! When a group of alerts (one rule, equal group labels) sends a
//! notification, as Alertmanager's dispatcher decides it:
//!
//! * the first notification of an episode waits `group_wait` after the
//!   group's first firing alert, so that alerts firing together go out
//!   together;
//! * later changes (an alert starts firing, or one that was notified
//!   resolves) go out at most every `group_interval`;
//! * an unchanged firing group is notified again after `repeat_interval`;
//! * when every notified alert has resolved, one resolved notification goes
//!   out (when the rule sends them), ending the episode.
//!
//! Evaluations may run less often than `group_wait`. So a notification is
//! queued as soon as it is decided, not before its time (`not_before`, which
//! the outbox honours); until then it is still the group's to change, and an
//! alert that resolves before it was ever sent is never sent (the queued
//! notification is cancelled). Muted alerts (silenced or inhibited) are left
//! out of notifications altogether: they neither fire nor resolve in them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::rule::Timing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Firing,
    Resolved,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Firing => "firing",
            NotificationKind::Resolved => "resolved",
        }
    }
}

/// A notification of a group: which of its alerts it reports firing, and
/// which resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotificationKind,
    pub firing: BTreeSet<String>,
    pub resolved: BTreeSet<String>,
    pub not_before: DateTime<Utc>,
}

/// What a group remembers between evaluations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupState {
    /// When the current episode's first alert fired; none when quiet.
    pub episode_since: Option<DateTime<Utc>>,
    /// The last notification whose time has come: it may be on its way.
    pub sent: Option<Notification>,
    /// A notification queued for later, still the group's to change.
    pub pending: Option<Notification>,
}

/// What to do with the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Nothing,
    Queue(Notification),
    /// Change the pending notification to this one.
    Replace(Notification),
    /// Withdraw the pending notification: nothing it said still holds.
    Cancel,
}

/// The group's alerts at an evaluation, by key.
#[derive(Debug, Clone, Default)]
pub struct Members {
    /// Firing and notifiable.
    pub firing: BTreeSet<String>,
    /// Resolved or back to inactive.
    pub quiet: BTreeSet<String>,
    /// Firing but silenced or inhibited.
    pub muted: BTreeSet<String>,
}

pub fn decide(
    state: &GroupState,
    members: &Members,
    at: DateTime<Utc>,
    timing: &Timing,
    send_resolved: bool,
) -> (GroupState, Action) {
    let mut next = state.clone();
    // A pending notification whose time has come is out of the group's hands.
    if let Some(pending) = next.pending.take() {
        if pending.not_before <= at {
            next.sent = Some(pending);
        } else {
            next.pending = Some(pending);
        }
    }
    let episode_open = next
        .sent
        .as_ref()
        .is_some_and(|sent| sent.kind == NotificationKind::Firing);
    if members.firing.is_empty() && !episode_open {
        next.episode_since = None;
    } else if next.episode_since.is_none() {
        next.episode_since = Some(at);
    }

    let desired = match next.sent.as_ref().filter(|_| episode_open) {
        None => (!members.firing.is_empty()).then(|| Notification {
            kind: NotificationKind::Firing,
            firing: members.firing.clone(),
            resolved: BTreeSet::new(),
            not_before: next.episode_since.unwrap_or(at) + timing.group_wait,
        }),
        Some(sent) => {
            let resolved: BTreeSet<String> =
                sent.firing.intersection(&members.quiet).cloned().collect();
            let still_reported: BTreeSet<String> =
                sent.firing.difference(&members.muted).cloned().collect();
            let changed = members.firing != still_reported || !resolved.is_empty();
            if changed && members.firing.is_empty() {
                (send_resolved && !resolved.is_empty()).then(|| Notification {
                    kind: NotificationKind::Resolved,
                    firing: BTreeSet::new(),
                    resolved,
                    not_before: (sent.not_before + timing.group_interval).max(at),
                })
            } else if changed {
                Some(Notification {
                    kind: NotificationKind::Firing,
                    firing: members.firing.clone(),
                    resolved,
                    not_before: (sent.not_before + timing.group_interval).max(at),
                })
            } else if !members.firing.is_empty() && at >= sent.not_before + timing.repeat_interval {
                Some(Notification {
                    kind: NotificationKind::Firing,
                    firing: members.firing.clone(),
                    resolved: BTreeSet::new(),
                    not_before: at,
                })
            } else {
                None
            }
        }
    };
    // An episode whose alerts all went quiet without a resolved notice (or
    // before anything was sent) is over.
    if desired.is_none() && members.firing.is_empty() && next.pending.is_none() {
        if episode_open && !send_resolved {
            next.sent = None;
        }
        if !episode_open {
            next.episode_since = None;
        }
    }

    let action = match (next.pending.take(), desired) {
        (None, None) => Action::Nothing,
        (None, Some(notification)) => {
            next.pending = Some(notification.clone());
            Action::Queue(notification)
        }
        (Some(_), None) => Action::Cancel,
        (Some(pending), Some(notification)) if pending == notification => {
            next.pending = Some(pending);
            Action::Nothing
        }
        (Some(_), Some(notification)) => {
            next.pending = Some(notification.clone());
            Action::Replace(notification)
        }
    };
    // A notification due now goes straight to `sent` at the next decision;
    // one queued for now is as good as sent already.
    if let Some(pending) = next.pending.take() {
        if pending.not_before <= at {
            if pending.kind == NotificationKind::Resolved {
                next.episode_since = None;
            }
            next.sent = Some(pending);
        } else {
            next.pending = Some(pending);
        }
    }
    (next, action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn keys(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn members(firing: &[&str], quiet: &[&str]) -> Members {
        Members {
            firing: keys(firing),
            quiet: keys(quiet),
            muted: BTreeSet::new(),
        }
    }

    fn queued(action: &Action) -> &Notification {
        match action {
            Action::Queue(n) | Action::Replace(n) => n,
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    #[test]
    fn the_first_notification_waits_group_wait_after_the_first_alert() {
        let t = Timing::default();
        let (state, action) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let n = queued(&action);
        assert_eq!(n.kind, NotificationKind::Firing);
        assert_eq!(n.not_before, at(30));
        assert!(state.pending.is_some());
        // A second alert joining before group_wait goes in the same one.
        let (state, action) = decide(&state, &members(&["a", "b"], &[]), at(10), &t, true);
        let n = queued(&action);
        assert!(matches!(action, Action::Replace(_)));
        assert_eq!((n.firing.len(), n.not_before), (2, at(30)));
        // Once due, it is out of the group's hands.
        let (state, action) = decide(&state, &members(&["a", "b"], &[]), at(60), &t, true);
        assert_eq!(action, Action::Nothing);
        assert_eq!(state.sent.as_ref().unwrap().firing.len(), 2);
    }

    #[test]
    fn an_alert_that_resolves_before_it_was_sent_is_never_sent() {
        let t = Timing::default();
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (state, action) = decide(&state, &members(&[], &["a"]), at(10), &t, true);
        assert_eq!(action, Action::Cancel);
        let (_, action) = decide(&state, &members(&[], &["a"]), at(400), &t, true);
        assert_eq!(
            action,
            Action::Nothing,
            "no resolved notice for what was never sent"
        );
    }

    #[test]
    fn changes_wait_group_interval_and_unchanged_groups_repeat() {
        let t = Timing::default();
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (state, action) = decide(&state, &members(&["a"], &[]), at(60), &t, true);
        assert_eq!(action, Action::Nothing);
        // b fires: the change waits group_interval (5 min) after the first.
        let (state, action) = decide(&state, &members(&["a", "b"], &[]), at(120), &t, true);
        assert_eq!(queued(&action).not_before, at(30 + 300));
        let (state, _) = decide(&state, &members(&["a", "b"], &[]), at(400), &t, true);
        // Unchanged: nothing until repeat_interval (4 h) after the last one.
        let (state, action) = decide(&state, &members(&["a", "b"], &[]), at(3600), &t, true);
        assert_eq!(action, Action::Nothing);
        let (_, action) = decide(
            &state,
            &members(&["a", "b"], &[]),
            at(330 + 4 * 3600),
            &t,
            true,
        );
        assert_eq!(queued(&action).not_before, at(330 + 4 * 3600));
    }

    #[test]
    fn the_group_resolving_sends_one_resolved_notification() {
        let t = Timing::default();
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (state, _) = decide(&state, &members(&["a"], &[]), at(60), &t, true);
        let (state, action) = decide(&state, &members(&[], &["a"]), at(120), &t, true);
        let n = queued(&action);
        assert_eq!(
            (n.kind, n.resolved.clone()),
            (NotificationKind::Resolved, keys(&["a"]))
        );
        assert_eq!(n.not_before, at(330));
        let (state, _) = decide(&state, &members(&[], &["a"]), at(400), &t, true);
        let (_, action) = decide(&state, &members(&[], &["a"]), at(900), &t, true);
        assert_eq!(action, Action::Nothing, "one resolved notification");
        // Without send_resolved, nothing goes out when it resolves.
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            false,
        );
        let (state, _) = decide(&state, &members(&["a"], &[]), at(60), &t, false);
        let (_, action) = decide(&state, &members(&[], &["a"]), at(120), &t, false);
        assert_eq!(action, Action::Nothing);
    }

    #[test]
    fn a_new_episode_waits_group_wait_again() {
        let t = Timing::default();
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (state, _) = decide(&state, &members(&["a"], &[]), at(60), &t, true);
        let (state, _) = decide(&state, &members(&[], &["a"]), at(120), &t, true);
        let (state, _) = decide(&state, &members(&[], &["a"]), at(400), &t, true);
        let (_, action) = decide(&state, &members(&["a"], &[]), at(1000), &t, true);
        let n = queued(&action);
        assert_eq!((n.kind, n.not_before), (NotificationKind::Firing, at(1030)));
    }

    #[test]
    fn muted_alerts_neither_fire_nor_resolve() {
        let t = Timing::default();
        let silenced = Members {
            firing: BTreeSet::new(),
            quiet: BTreeSet::new(),
            muted: keys(&["a"]),
        };
        let (_, action) = decide(&GroupState::default(), &silenced, at(0), &t, true);
        assert_eq!(action, Action::Nothing);
        let (state, _) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (state, _) = decide(&state, &members(&["a"], &[]), at(60), &t, true);
        let (_, action) = decide(&state, &silenced, at(600), &t, true);
        assert_eq!(action, Action::Nothing, "a silence is not a resolution");
    }

    #[test]
    fn deciding_twice_at_the_same_time_queues_once() {
        let t = Timing::default();
        let (state, first) = decide(
            &GroupState::default(),
            &members(&["a"], &[]),
            at(0),
            &t,
            true,
        );
        let (_, second) = decide(&state, &members(&["a"], &[]), at(0), &t, true);
        assert!(matches!(first, Action::Queue(_)));
        assert_eq!(second, Action::Nothing);
    }
}
