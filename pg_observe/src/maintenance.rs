//! `observe.tick()`: the periodic work that no event triggers. pg_cron calls
//! it every minute once `observe.schedule_tick()` has registered it; any other
//! scheduler may call it instead. It folds the count queue first, so that the
//! ignore conditions see every event even where nothing
//! runs `observe.fold_counts()` more often.

use chrono::Utc;
use pg_observe_core::lifecycle::{wake, IssueState, IssueStatus};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::json;

use crate::capture::{reopen_args, REOPEN};
use crate::errors::raise_internal;
use crate::pgtime::from_pg;

const IGNORED_WITH_CONDITION: &str = "
select g.id, g.ignored_until, g.ignore_until_count,
       coalesce((select sum(c.events) from observe.issue_ignore_counts c where c.issue_id = g.id), 0)::bigint
  from observe.issue_groups g
 where g.status = 'ignored'
   and (g.ignored_until is not null or g.ignore_until_count is not null)";

/// Budget usage matters for the current minute only; drops are kept a week
/// for `observe.ingest_drops`.
const FORGET_INGEST_USAGE: &str = "
with usage as (
    delete from observe.ingest_usage where minute < now() - interval '1 hour' returning 1
), drops as (
    delete from observe.ingest_drop_counts where minute < now() - interval '7 days' returning 1
)
select (select count(*) from usage) + (select count(*) from drops)";

/// Web vitals, request latencies and CSP groups not seen for 30 days
/// (README, "Ingest" and "Deploys"): what the views read is the last 30 days
/// at most. Health-check results follow their retention setting instead
/// (`observe.maintain()`).
const FORGET_BEACONS: &str = "
with vitals as (
    delete from observe.web_vitals where received_at < now() - interval '30 days' returning 1
), reports as (
    delete from observe.csp_reports where last_seen < now() - interval '30 days' returning 1
), latencies as (
    delete from observe.request_latencies where at < now() - interval '30 days' returning 1
)
select (select count(*) from vitals) + (select count(*) from reports)
     + (select count(*) from latencies)";

/// Folds the count queue, wakes ignored issues whose condition has run out,
/// keeps storage (`observe.maintain()`: partitions, retention, log counts),
/// forgets old budget usage and old beacons; returns what it did as JSON.
#[pg_extern(schema = "observe", volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn tick() -> JsonB {
    if let Err(e) = crate::version::ensure_current() {
        crate::errors::raise_capture_error(e);
    }
    match Spi::connect_mut(|client| -> SpiResult<serde_json::Value> {
        let folded = client
            .update("select observe.fold_counts()", None, &[])?
            .first()
            .get_one::<i64>()?;
        let now = Utc::now();
        let mut due = Vec::new();
        for row in client.update(IGNORED_WITH_CONDITION, None, &[])? {
            let id: i64 = row.get(1)?.unwrap_or_default();
            let state = IssueState {
                status: IssueStatus::Ignored,
                resolved_in_release: None,
                ignored_until: row.get::<TimestampWithTimeZone>(2)?.map(from_pg),
                ignore_until_count: row.get(3)?,
            };
            let counted: i64 = row.get(4)?.unwrap_or_default();
            if let Some(transition) = wake(&state, now, || counted) {
                due.push((id, transition));
            }
        }
        for (id, transition) in &due {
            client.update(
                REOPEN,
                None,
                &reopen_args(*id, *transition, IssueStatus::Ignored),
            )?;
        }
        let maintained = client
            .update("select observe.maintain()", None, &[])?
            .first()
            .get_one::<JsonB>()?;
        let forgotten = client
            .update(FORGET_INGEST_USAGE, None, &[])?
            .first()
            .get_one::<i64>()?;
        let expired = client
            .update(FORGET_BEACONS, None, &[])?
            .first()
            .get_one::<i64>()?;
        Ok(json!({
            "folded": folded.unwrap_or(0),
            "woken": due.len(),
            "maintained": maintained.map_or(serde_json::Value::Null, |m| m.0),
            "ingest_rows_forgotten": forgotten.unwrap_or(0),
            "expired_rows": expired.unwrap_or(0),
        }))
    }) {
        Ok(summary) => JsonB(summary),
        Err(e) => raise_internal("tick", e),
    }
}
