//! Untrusted writers' per-minute budgets, as the database keeps them
//! (`observe.ingest_budgets`, `observe.ingest_usage`); what fits is decided
//! by `pg_observe_core::budget`.

use pg_observe_core::budget::{admit, Amounts, DropReason, Scope};
use pg_observe_core::process::ProcessedEvent;
use pgrx::spi::{SpiClient, SpiResult};

use super::plans::Plans;

/// Takes `wanted` from the role's budgets when it fits; otherwise counts the
/// event as dropped and says why.
pub fn spend(
    client: &mut SpiClient<'_>,
    plans: &Plans,
    role: &str,
    slot: i16,
    wanted: Amounts,
) -> SpiResult<Result<(), DropReason>> {
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
    let verdict = admit(
        &role_scope.unwrap_or(nothing),
        &total_scope.unwrap_or(nothing),
        &wanted,
    );
    match verdict {
        Ok(()) => {
            client.update(
                &plans.use_budget,
                None,
                &[
                    role.into(),
                    slot.into(),
                    (wanted.new_issues as i32).into(),
                    (wanted.events as i32).into(),
                    wanted.bytes.into(),
                ],
            )?;
        }
        Err(reason) => {
            client.update(
                &plans.record_drop,
                None,
                &[role.into(), slot.into(), reason.as_str().into()],
            )?;
        }
    }
    Ok(verdict)
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
