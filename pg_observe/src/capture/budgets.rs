//! Untrusted writers' per-minute budgets, as the database keeps them
//! (`observe.ingest_budgets`, `observe.ingest_usage`); what fits is decided
//! by `pg_observe_core::budget`.

use std::cell::RefCell;
use std::collections::HashMap;

use pg_observe_core::budget::{admit, Amounts, DropReason, Scope};
use pg_observe_core::process::ProcessedEvent;
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::Spi;

use super::plans::{with_plans, Plans};

thread_local! {
    /// Set while a batch call spends (`in_batch`): each scope's budgets as
    /// read at its first spend, and what the batch has admitted since,
    /// written once at its end instead of once per event.
    static LEDGER: RefCell<Option<Ledger>> = const { RefCell::new(None) };
}

#[derive(Clone, Default)]
pub struct Ledger {
    /// Per scope: its own budget and the total's, as read, and what the
    /// batch has taken from it.
    scopes: HashMap<String, (Scope, Scope, Amounts)>,
    /// What the batch has taken from the total, over all its scopes.
    total_taken: Amounts,
}

/// Runs `f`, a call that may spend many times (a batch), reading each
/// scope's budgets once and writing what it admitted once, at the end.
/// Within the batch, what it took counts as used; what other sessions spend
/// meanwhile is seen by its next batch, as a per-minute budget allows. A
/// batch inside another spends into the outer one's ledger.
pub fn in_batch<T>(f: impl FnOnce() -> T) -> SpiResult<T> {
    if LEDGER.with(|ledger| ledger.borrow().is_some()) {
        return Ok(f());
    }
    /// Forgets the ledger however `f` ends, a raised error included.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LEDGER.with(|ledger| ledger.borrow_mut().take());
        }
    }
    LEDGER.with(|ledger| *ledger.borrow_mut() = Some(Ledger::default()));
    let _reset = Reset;
    let result = f();
    if let Some(ledger) = LEDGER.with(|ledger| ledger.borrow_mut().take()) {
        Spi::connect_mut(|client| {
            with_plans(client, |client, plans| write_taken(client, plans, &ledger))
        })??;
    }
    Ok(result)
}

/// What the batch has taken so far, to be put back (`rewind`) when what
/// took it since is rolled back (a subtransaction).
pub fn mark() -> Option<Ledger> {
    LEDGER.with(|ledger| ledger.borrow().clone())
}

pub fn rewind(mark: Option<Ledger>) {
    if let Some(mark) = mark {
        LEDGER.with(|ledger| {
            if let Some(ledger) = ledger.borrow_mut().as_mut() {
                *ledger = mark;
            }
        });
    }
}

fn write_taken(client: &mut SpiClient<'_>, plans: &Plans, ledger: &Ledger) -> SpiResult<()> {
    for (scope, (_, _, taken)) in &ledger.scopes {
        if *taken != Amounts::default() {
            use_budget(client, plans, scope, super::store::backend_slot(), taken)?;
        }
    }
    Ok(())
}

/// Takes `wanted` from the role's budgets when it fits; otherwise counts the
/// event as dropped and says why. Inside a batch (`in_batch`) the budgets
/// are the ones the batch read, less what it took.
pub fn spend(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    role: &str,
    slot: i16,
    wanted: Amounts,
) -> SpiResult<Result<(), DropReason>> {
    let batched = LEDGER.with(|ledger| {
        ledger
            .borrow()
            .as_ref()
            .map(|l| (l.scopes.get(role).copied(), l.total_taken))
    });
    let verdict = match batched {
        None => {
            let (own, total) = read(client, plans, role)?;
            let verdict = admit(&own, &total, &wanted);
            if verdict.is_ok() {
                use_budget(client, plans, role, slot, &wanted)?;
            }
            verdict
        }
        Some((known, total_taken)) => {
            let (own, total, mut taken) = match known {
                Some(known) => known,
                None => {
                    let (own, total) = read(client, plans, role)?;
                    (own, total, Amounts::default())
                }
            };
            let verdict = admit(&own.after(taken), &total.after(total_taken), &wanted);
            LEDGER.with(|ledger| {
                if let Some(ledger) = ledger.borrow_mut().as_mut() {
                    if verdict.is_ok() {
                        taken += wanted;
                        ledger.total_taken += wanted;
                    }
                    ledger.scopes.insert(role.to_owned(), (own, total, taken));
                }
            });
            verdict
        }
    };
    if let Err(reason) = verdict {
        client.update(
            &plans.record_drop,
            None,
            &[role.into(), slot.into(), reason.as_str().into()],
        )?;
    }
    Ok(verdict)
}

/// The role's budgets and the total's, with what this minute has used.
fn read(client: &mut SpiClient<'_>, plans: &Plans, role: &str) -> SpiResult<(Scope, Scope)> {
    let mut role_scope = None;
    let mut total_scope = None;
    for row in client.update(&plans.budget_state, None, &[role.into()])? {
        let amounts = |first: usize| -> SpiResult<Amounts> {
            Ok(Amounts {
                new_issues: row.get(first)?.unwrap_or(0),
                events: row.get(first + 1)?.unwrap_or(0),
                bytes: row.get(first + 2)?.unwrap_or(0),
            })
        };
        let scope = Scope {
            limit: amounts(2)?,
            used: amounts(5)?,
        };
        match row.get::<String>(1)?.as_deref() {
            Some("role") => role_scope = Some(scope),
            _ => total_scope = Some(scope),
        }
    }
    let nothing = Scope {
        used: Amounts::default(),
        limit: Amounts::default(),
    };
    Ok((
        role_scope.unwrap_or(nothing),
        total_scope.unwrap_or(nothing),
    ))
}

fn use_budget(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    role: &str,
    slot: i16,
    taken: &Amounts,
) -> SpiResult<()> {
    client.update(
        &plans.use_budget,
        None,
        &[
            role.into(),
            slot.into(),
            (taken.new_issues as i32).into(),
            (taken.events as i32).into(),
            taken.bytes.into(),
        ],
    )?;
    Ok(())
}

/// What storing the event costs the byte budget: its text and JSON as
/// stored.
pub fn stored_bytes(event: &ProcessedEvent) -> i64 {
    let json = |value: &serde_json::Value| serde_json::to_string(value).map_or(0, |s| s.len());
    let tags: usize = event.tags.iter().map(|(k, v)| k.len() + v.len()).sum();
    (event.message.len()
        + event.stack.as_deref().map_or(0, str::len)
        + json(&event.context)
        + json(&event.request)
        + tags) as i64
}
