//! The states of a deploy and how events about it merge. Providers deliver
//! webhooks at least once and in no promised order (a `ready` may overtake
//! its `created`), so a deploy's state only ever moves forward: the merge is
//! the maximum by progress, which makes it idempotent, commutative and
//! associative. The extension merges with it (`observe.record_deploy_event`)
//! and the edge functions map providers' words onto it.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Declaration order is progress order: a later variant never gives way to
/// an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeployState {
    /// Waiting to start (GitHub `pending`, `queued`).
    Queued,
    /// Building (Vercel `deployment.created`, GitHub `in_progress`).
    Building,
    /// Built and checked, not yet serving (Vercel `deployment.succeeded`).
    Succeeded,
    /// Serving (Vercel `deployment.ready`, GitHub `success`).
    Ready,
    /// Made the live deploy of its environment (Vercel `deployment.promoted`,
    /// or `deployment.rollback` back to it).
    Promoted,
    /// Ended without serving; terminal.
    Canceled,
    /// Failed; terminal.
    Failed,
}

pub const ALL: [DeployState; 7] = [
    DeployState::Queued,
    DeployState::Building,
    DeployState::Succeeded,
    DeployState::Ready,
    DeployState::Promoted,
    DeployState::Canceled,
    DeployState::Failed,
];

impl DeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::Queued => "queued",
            DeployState::Building => "building",
            DeployState::Succeeded => "succeeded",
            DeployState::Ready => "ready",
            DeployState::Promoted => "promoted",
            DeployState::Canceled => "canceled",
            DeployState::Failed => "failed",
        }
    }

    /// The deploy is serving traffic in this state (its `ready_at` is set).
    pub fn is_serving(self) -> bool {
        matches!(self, DeployState::Ready | DeployState::Promoted)
    }

    /// Nothing more will happen to the deploy's build (`finished_at` is set).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            DeployState::Ready
                | DeployState::Promoted
                | DeployState::Canceled
                | DeployState::Failed
        )
    }

    /// The state after `incoming` arrives at a deploy in `self`.
    pub fn merge(self, incoming: DeployState) -> DeployState {
        self.max(incoming)
    }
}

impl fmt::Display for DeployState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "unknown deploy state \"{0}\": expected queued, building, succeeded, ready, promoted, canceled or failed"
)]
pub struct UnknownDeployState(pub String);

impl FromStr for DeployState {
    type Err = UnknownDeployState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownDeployState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn state() -> impl Strategy<Value = DeployState> {
        proptest::sample::select(ALL.to_vec())
    }

    #[test]
    fn names_round_trip() {
        for state in ALL {
            assert_eq!(state.as_str().parse::<DeployState>(), Ok(state));
        }
        assert_eq!(
            "deployed".parse::<DeployState>(),
            Err(UnknownDeployState("deployed".into()))
        );
    }

    #[test]
    fn a_late_event_never_moves_a_deploy_backwards() {
        assert_eq!(
            DeployState::Ready.merge(DeployState::Building),
            DeployState::Ready
        );
        assert_eq!(
            DeployState::Failed.merge(DeployState::Ready),
            DeployState::Failed
        );
        assert_eq!(
            DeployState::Building.merge(DeployState::Ready),
            DeployState::Ready
        );
        assert_eq!(
            DeployState::Queued.merge(DeployState::Canceled),
            DeployState::Canceled
        );
    }

    #[test]
    fn serving_and_finished_states() {
        let serving: Vec<_> = ALL.into_iter().filter(|s| s.is_serving()).collect();
        assert_eq!(serving, [DeployState::Ready, DeployState::Promoted]);
        let finished: Vec<_> = ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(
            finished,
            [
                DeployState::Ready,
                DeployState::Promoted,
                DeployState::Canceled,
                DeployState::Failed
            ]
        );
    }

    proptest! {
        #[test]
        fn merging_is_idempotent_and_order_free(events in proptest::collection::vec(state(), 1..12),
                                                 rotation in 0usize..12) {
            let fold = |events: &[DeployState]| {
                events.iter().fold(DeployState::Queued, |s, &e| s.merge(e))
            };
            let forward = fold(&events);
            let mut reordered = events.clone();
            reordered.rotate_left(rotation % events.len());
            reordered.reverse();
            prop_assert_eq!(fold(&reordered), forward);
            let mut replayed = events.clone();
            replayed.extend_from_slice(&events);
            prop_assert_eq!(fold(&replayed), forward);
            prop_assert!(events.iter().all(|&e| forward >= e));
        }
    }
}
