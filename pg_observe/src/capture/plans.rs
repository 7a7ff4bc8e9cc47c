//! The capture path's statements, planned once per backend and kept.
//! Re-parsing and re-planning them for every event would cost more than
//! executing them; the plan cache still revalidates kept plans after DDL.

use std::cell::OnceCell;

use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult};

const TEXT: PgBuiltInOids = PgBuiltInOids::TEXTOID;
const TEXT_ARRAY: PgBuiltInOids = PgBuiltInOids::TEXTARRAYOID;
const INT2: PgBuiltInOids = PgBuiltInOids::INT2OID;
const INT8: PgBuiltInOids = PgBuiltInOids::INT8OID;
const FLOAT4: PgBuiltInOids = PgBuiltInOids::FLOAT4OID;
const BOOL: PgBuiltInOids = PgBuiltInOids::BOOLOID;
const UUID: PgBuiltInOids = PgBuiltInOids::UUIDOID;
const JSONB: PgBuiltInOids = PgBuiltInOids::JSONBOID;
const TIMESTAMPTZ: PgBuiltInOids = PgBuiltInOids::TIMESTAMPTZOID;

pub struct Plans {
    /// (service, hashes) → the issue each already-known hash names.
    pub find_issue: OwnedPreparedStatement,
    pub create_issue: OwnedPreparedStatement,
    pub add_hashes: OwnedPreparedStatement,
    /// Counts, stores and attributes one event to a known issue, one plan
    /// per [`RecordVariant`] (indexed by `RecordVariant::index`).
    record_event: [OwnedPreparedStatement; 4],
    pub minute_events: OwnedPreparedStatement,
    pub release_first_seen: OwnedPreparedStatement,
    pub escalate_level: OwnedPreparedStatement,
    pub count_ignored_event: OwnedPreparedStatement,
    pub reopen: OwnedPreparedStatement,
}

const FIND_ISSUE: &str = "
select h.issue_id, h.hash
  from observe.issue_hashes h
 where h.service = $1 and h.hash = any($2)";

const CREATE_ISSUE: &str = "
insert into observe.issue_groups
       (service, fingerprint, grouping_basis, title, culprit, exception_type, level, first_seen, first_release)
values ($1, $2, $3, $4, $5, $6, $7::observe.level, $8, $9)
on conflict (service, fingerprint) do nothing
returning id";

const ADD_HASHES: &str = "
insert into observe.issue_hashes (service, hash, issue_id)
select $1, h, $3 from unnest($2::text[]) as h
on conflict do nothing";

/// The hot path in one statement, so one snapshot and one executor run serve
/// the counter, the event and the user. Every write hangs off the `issue`
/// CTE: for an issue deleted since this backend cached its id, the statement
/// writes nothing and returns no row, and the caller looks the issue up again.
/// It touches only this backend's counter row: reading the other backends'
/// rows on every event kept their page pinned, so HOT pruning never ran and
/// the update chains grew until throughput collapsed.
///
/// Parameters: $1 issue, $2 environment ('' for none), $3 slot,
/// $4 occurred_at, $5 release ('' for none); then the optional parts'.
const RECORD_ISSUE_AND_COUNT: &str = "
with issue as (
    select id, status::text as status, level::text as level, resolved_in_release,
           ignored_until, ignore_until_count, status_changed_at
      from observe.issue_groups
     where id = $1
), bumped as (
    insert into observe.issue_counts as c (issue_id, bucket, environment, release, slot, events, last_seen)
    select id, date_trunc('minute', now()), $2, $5, $3, 1, $4 from issue
    on conflict (issue_id, bucket, environment, release, slot) do update
       set events = c.events + 1,
           last_seen = greatest(c.last_seen, excluded.last_seen)
    returning 1
)";

/// $6 user hash (following the count parameters).
const RECORD_USER: &str = "
, users as (
    insert into observe.issue_users (issue_id, user_hash)
    select id, $6 from issue
    on conflict do nothing
    returning 1
)";

/// $7.. the event's columns (following the count and user parameters).
const RECORD_STORED: &str = "
, stored as (
    insert into observe.events
           (id, issue_id, occurred_at, level, service, environment, release, exception_type, message,
            stack, context, request, tags, user_ref, request_id, unhandled, sample_rate, flags)
    select $7, id, $4, $8::observe.level, $9, nullif($2, ''), nullif($5, ''), $10, $11,
           $12, $13, $14, $15, $16, $17, $18, $19, $20
      from issue
    returning 1
)";

const RECORD_RESULT: &str = "
select status, level, resolved_in_release, ignored_until, ignore_until_count, status_changed_at
  from issue";

const COUNT_ARGS: [PgBuiltInOids; 5] = [INT8, TEXT, INT2, TIMESTAMPTZ, TEXT];
const USER_ARGS: [PgBuiltInOids; 1] = [INT8];
const STORED_ARGS: [PgBuiltInOids; 14] = [
    UUID, TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, JSONB, TEXT, TEXT, BOOL, FLOAT4, TEXT_ARRAY,
];

/// Which writes one event needs besides its count: parameters always keep
/// their positions, so the variants differ only in the parts they include
/// (an unused `$6` is passed as NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordVariant {
    pub user: bool,
    pub stored: bool,
}

impl RecordVariant {
    /// In `index` order.
    const ALL: [RecordVariant; 4] = [
        RecordVariant {
            user: false,
            stored: false,
        },
        RecordVariant {
            user: true,
            stored: false,
        },
        RecordVariant {
            user: false,
            stored: true,
        },
        RecordVariant {
            user: true,
            stored: true,
        },
    ];

    fn index(self) -> usize {
        usize::from(self.user) | usize::from(self.stored) << 1
    }

    fn sql(self) -> String {
        let mut sql = RECORD_ISSUE_AND_COUNT.to_owned();
        if self.user {
            sql.push_str(RECORD_USER);
        }
        if self.stored {
            sql.push_str(RECORD_STORED);
        }
        sql.push_str(RECORD_RESULT);
        sql
    }

    fn args(self) -> Vec<PgBuiltInOids> {
        let mut args = COUNT_ARGS.to_vec();
        if self.user || self.stored {
            args.extend(USER_ARGS);
        }
        if self.stored {
            args.extend(STORED_ARGS);
        }
        args
    }
}

/// The issue's events this minute across every backend's counter row, for
/// flood control; run now and then, not per event.
const MINUTE_EVENTS: &str = "
select coalesce(sum(events), 0)::bigint
  from observe.issue_counts
 where issue_id = $1 and bucket = date_trunc('minute', now())";

/// When two releases of a service were first seen, from the counts.
const RELEASE_FIRST_SEEN: &str = "
select (select min(c.first_seen) from observe.issue_counts c
          join observe.issue_groups g on g.id = c.issue_id
         where c.release = $2 and g.service = $1),
       (select min(c.first_seen) from observe.issue_counts c
          join observe.issue_groups g on g.id = c.issue_id
         where c.release = $3 and g.service = $1)";

const ESCALATE_LEVEL: &str = "
update observe.issue_groups set level = $2::observe.level
 where id = $1 and level < $2::observe.level";

const COUNT_IGNORED_EVENT: &str = "
with bumped as (
    insert into observe.issue_ignore_counts as c (issue_id, slot, events) values ($1, $2, 1)
    on conflict (issue_id, slot) do update set events = c.events + 1
    returning events
)
select (select events from bumped)
     + coalesce((select sum(o.events) from observe.issue_ignore_counts o
                  where o.issue_id = $1 and o.slot <> $2), 0)::bigint";

/// Guarded by the status the decision was made on, so that two sessions
/// seeing the same regression record it once.
pub const REOPEN: &str = "
update observe.issue_groups
   set status = 'unresolved',
       status_reason = $2,
       status_changed_at = now(),
       regressed_at = case when $2 = 'regression' then now() else regressed_at end,
       times_regressed = times_regressed + (case when $2 = 'regression' then 1 else 0 end),
       resolved_in_release = null,
       ignored_until = null,
       ignore_until_count = null
 where id = $1 and status = $3::observe.issue_status";

impl Plans {
    pub fn record_event(&self, variant: RecordVariant) -> &OwnedPreparedStatement {
        &self.record_event[variant.index()]
    }
}

thread_local! {
    static PLANS: OnceCell<Plans> = const { OnceCell::new() };
}

fn prepare(
    client: &SpiClient<'_>,
    sql: &str,
    args: &[PgBuiltInOids],
) -> SpiResult<OwnedPreparedStatement> {
    let oids: Vec<PgOid> = args.iter().map(|&oid| oid.into()).collect();
    Ok(client.prepare_mut(sql, &oids)?.keep())
}

/// Runs `f` with the kept plans, preparing them on the backend's first capture.
pub fn with_plans<'conn, R>(
    client: &mut SpiClient<'conn>,
    f: impl FnOnce(&mut SpiClient<'conn>, &Plans) -> R,
) -> SpiResult<R> {
    PLANS.with(|cell| {
        if cell.get().is_none() {
            let plans = Plans {
                find_issue: prepare(client, FIND_ISSUE, &[TEXT, TEXT_ARRAY])?,
                create_issue: prepare(
                    client,
                    CREATE_ISSUE,
                    &[TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TIMESTAMPTZ, TEXT],
                )?,
                add_hashes: prepare(client, ADD_HASHES, &[TEXT, TEXT_ARRAY, INT8])?,
                record_event: RecordVariant::ALL
                    .map(|variant| prepare(client, &variant.sql(), &variant.args()))
                    .into_iter()
                    .collect::<SpiResult<Vec<_>>>()?
                    .try_into()
                    .ok()
                    .expect("one plan per variant"),
                minute_events: prepare(client, MINUTE_EVENTS, &[INT8])?,
                release_first_seen: prepare(client, RELEASE_FIRST_SEEN, &[TEXT, TEXT, TEXT])?,
                escalate_level: prepare(client, ESCALATE_LEVEL, &[INT8, TEXT])?,
                count_ignored_event: prepare(client, COUNT_IGNORED_EVENT, &[INT8, INT2])?,
                reopen: prepare(client, REOPEN, &[INT8, TEXT, TEXT])?,
            };
            let _ = cell.set(plans);
        }
        Ok(f(client, cell.get().expect("plans were just prepared")))
    })
}
