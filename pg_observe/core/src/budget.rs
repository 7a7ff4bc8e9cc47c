//! Per-minute budgets for untrusted writers. Flood control bounds what one
//! issue costs; an untrusted writer (the public `anon` key) can vary the
//! service or the message and make every event a new issue, so what a role,
//! and all untrusted roles together, may add in a minute is bounded too: new
//! issues, stored events and stored bytes. An event beyond a budget is not
//! stored (and makes no issue); it is counted as a drop with its reason.
//! Trusted writers never reach this code.

/// What was admitted in the current minute, or what may be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub new_issues: i64,
    pub events: i64,
    pub bytes: i64,
}

impl std::ops::AddAssign for Amounts {
    fn add_assign(&mut self, other: Amounts) {
        self.new_issues = self.new_issues.saturating_add(other.new_issues);
        self.events = self.events.saturating_add(other.events);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Why an untrusted event was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    NewIssues,
    Events,
    Bytes,
}

impl DropReason {
    pub const ALL: [DropReason; 3] = [DropReason::NewIssues, DropReason::Events, DropReason::Bytes];

    /// The `reason` of `observe.ingest_drops`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NewIssues => "new_issue_budget",
            DropReason::Events => "event_budget",
            DropReason::Bytes => "byte_budget",
        }
    }
}

/// One budget and what it has admitted this minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub used: Amounts,
    pub limit: Amounts,
}

impl Scope {
    /// The budget with `taken` used besides what it had: what a batch has
    /// admitted and not yet written.
    pub fn after(mut self, taken: Amounts) -> Scope {
        self.used += taken;
        self
    }

    fn admits(&self, wanted: &Amounts) -> Result<(), DropReason> {
        if wanted.new_issues > 0 && self.used.new_issues + wanted.new_issues > self.limit.new_issues
        {
            return Err(DropReason::NewIssues);
        }
        if wanted.events > 0 && self.used.events + wanted.events > self.limit.events {
            return Err(DropReason::Events);
        }
        if wanted.bytes > 0 && self.used.bytes + wanted.bytes > self.limit.bytes {
            return Err(DropReason::Bytes);
        }
        Ok(())
    }
}

/// Whether `wanted` fits both the writer's own budget and the total of all
/// untrusted writers; the first budget it does not fit names the reason.
pub fn admit(role: &Scope, total: &Scope, wanted: &Amounts) -> Result<(), DropReason> {
    role.admits(wanted)?;
    total.admits(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(used: (i64, i64, i64), limit: (i64, i64, i64)) -> Scope {
        let amounts = |(new_issues, events, bytes)| Amounts {
            new_issues,
            events,
            bytes,
        };
        Scope {
            used: amounts(used),
            limit: amounts(limit),
        }
    }

    const LIMIT: (i64, i64, i64) = (100, 1_000, 1 << 20);

    #[test]
    fn within_every_budget_is_admitted() {
        let wanted = Amounts {
            new_issues: 1,
            events: 1,
            bytes: 500,
        };
        assert_eq!(
            admit(
                &scope((99, 999, 0), LIMIT),
                &scope((0, 0, 0), LIMIT),
                &wanted
            ),
            Ok(())
        );
    }

    #[test]
    fn what_a_batch_took_counts_as_used() {
        let one = Amounts {
            new_issues: 0,
            events: 1,
            bytes: 10,
        };
        let mut taken = Amounts::default();
        let role = scope((0, 998, 0), LIMIT);
        let total = scope((0, 0, 0), LIMIT);
        for _ in 0..2 {
            assert_eq!(admit(&role.after(taken), &total.after(taken), &one), Ok(()));
            taken += one;
        }
        assert_eq!(
            admit(&role.after(taken), &total.after(taken), &one),
            Err(DropReason::Events)
        );
    }

    #[test]
    fn the_first_exhausted_budget_is_the_reason() {
        let new_issue = Amounts {
            new_issues: 1,
            events: 1,
            bytes: 10,
        };
        let role_full = scope((100, 10, 0), LIMIT);
        let empty = scope((0, 0, 0), LIMIT);
        assert_eq!(
            admit(&role_full, &empty, &new_issue),
            Err(DropReason::NewIssues)
        );
        let events_full = scope((0, 1_000, 0), LIMIT);
        assert_eq!(
            admit(&events_full, &empty, &new_issue),
            Err(DropReason::Events)
        );
        let bytes_nearly_full = scope((0, 0, (1 << 20) - 5), LIMIT);
        assert_eq!(
            admit(&bytes_nearly_full, &empty, &new_issue),
            Err(DropReason::Bytes)
        );
        // The total binds even when the role's own budget has room.
        assert_eq!(
            admit(
                &empty,
                &scope((500, 0, 0), (500, 5_000, 5 << 20)),
                &new_issue
            ),
            Err(DropReason::NewIssues)
        );
    }

    #[test]
    fn an_event_of_a_known_issue_needs_no_new_issue_budget() {
        let known = Amounts {
            new_issues: 0,
            events: 1,
            bytes: 10,
        };
        assert_eq!(
            admit(&scope((100, 0, 0), LIMIT), &scope((0, 0, 0), LIMIT), &known),
            Ok(())
        );
    }

    #[test]
    fn a_zero_budget_admits_nothing() {
        let one = Amounts {
            new_issues: 0,
            events: 1,
            bytes: 1,
        };
        assert_eq!(
            admit(&scope((0, 0, 0), (0, 0, 0)), &scope((0, 0, 0), LIMIT), &one),
            Err(DropReason::Events)
        );
    }
}
