//! The capture path's statements, planned once per backend and kept.
//! Re-parsing and re-planning them for every event would cost more than
//! executing them; the plan cache still revalidates kept plans after DDL.

use std::cell::OnceCell;

use pg_observe_core::lifecycle::{IssueStatus, Transition};
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult};

const TEXT: PgBuiltInOids = PgBuiltInOids::TEXTOID;
const TEXT_ARRAY: PgBuiltInOids = PgBuiltInOids::TEXTARRAYOID;
const INT2: PgBuiltInOids = PgBuiltInOids::INT2OID;
const INT4: PgBuiltInOids = PgBuiltInOids::INT4OID;
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
    pub queue_count: OwnedPreparedStatement,
    /// Reads the issue and counts one event, without and with storing it.
    record_event: [OwnedPreparedStatement; 2],
    pub minute_events: OwnedPreparedStatement,
    pub release_first_seen: OwnedPreparedStatement,
    pub escalate_level: OwnedPreparedStatement,
    pub count_ignored_event: OwnedPreparedStatement,
    pub reopen: OwnedPreparedStatement,
    pub fold_if_stale: OwnedPreparedStatement,
    pub budget_state: OwnedPreparedStatement,
    pub use_budget: OwnedPreparedStatement,
    pub record_drop: OwnedPreparedStatement,
    pub release_known: OwnedPreparedStatement,
    pub register_release: OwnedPreparedStatement,
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

/// An event of an issue this backend knows to be unresolved at the event's
/// level or above, which flood control does not store: counting it is all
/// there is to do.
///
/// Parameters: $1 issue, $2 environment ('' for none), $3 release ('' for
/// none), $4 occurred_at, $5 user hash, $6 the event's level.
const QUEUE_COUNT: &str = "
insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, user_hash, level)
values ($1, now(), $2, $3, $4, $5, $6::observe.level)";

/// Any other event, in one statement, so one snapshot and one executor run
/// serve the issue read, the count and the stored event. Every write hangs
/// off the `issue` CTE: for an issue deleted since this backend cached its
/// id, the statement writes nothing and returns no row, and the caller looks
/// the issue up again.
///
/// Parameters as QUEUE_COUNT's; then the stored event's.
const RECORD_ISSUE_AND_COUNT: &str = "
with issue as (
    select id, status::text as status, level::text as level, resolved_in_release,
           ignored_until, ignore_until_count, status_changed_at
      from observe.issue_groups
     where id = $1
), queued as (
    insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, user_hash, level)
    select id, now(), $2, $3, $4, $5, $6::observe.level from issue
    returning 1
)";

/// $7.. the event's columns (following the count parameters).
const RECORD_STORED: &str = "
, stored as (
    insert into observe.events
           (id, issue_id, occurred_at, level, service, environment, release, exception_type, message,
            stack, context, request, tags, user_ref, request_id, unhandled, sample_rate, flags,
            writer_role)
    select $7, id, $4, $6::observe.level, $8, nullif($2, ''), nullif($3, ''), $9, $10,
           $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
      from issue
    returning 1
)";

const RECORD_RESULT: &str = "
select status, level, resolved_in_release, ignored_until, ignore_until_count, status_changed_at
  from issue";

const COUNT_ARGS: [PgBuiltInOids; 6] = [INT8, TEXT, TEXT, TIMESTAMPTZ, INT8, TEXT];
const STORED_ARGS: [PgBuiltInOids; 14] = [
    UUID, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, JSONB, TEXT, TEXT, BOOL, FLOAT4, TEXT_ARRAY, TEXT,
];

fn record_sql(stored: bool) -> String {
    let mut sql = RECORD_ISSUE_AND_COUNT.to_owned();
    if stored {
        sql.push_str(RECORD_STORED);
    }
    sql.push_str(RECORD_RESULT);
    sql
}

fn record_args(stored: bool) -> Vec<PgBuiltInOids> {
    let mut args = COUNT_ARGS.to_vec();
    if stored {
        args.extend(STORED_ARGS);
    }
    args
}

/// The issue's folded events this minute, for flood control; run now and
/// then, not per event. The queue has no index to count the rest by.
const MINUTE_EVENTS: &str = "
select coalesce(sum(events), 0)::bigint
  from observe.issue_counts
 where issue_id = $1 and resolution = 'minute' and bucket = date_trunc('minute', now(), 'UTC')";

/// When two releases of a service became known to trusted sources
/// (`observe.release_known_since`): an untrusted writer's made-up release
/// has no place in the order.
const RELEASE_FIRST_SEEN: &str = "
select observe.release_known_since($1, $2), observe.release_known_since($1, $3)";

const RELEASE_KNOWN: &str = "
select observe.release_known_since($1, $2) is not null";

/// A trusted event's release becomes known the first time it is seen.
const REGISTER_RELEASE: &str = "
insert into observe.known_releases (service, version, first_seen, source)
values ($1, $2, $3, 'event')
on conflict do nothing";

/// An untrusted writer's budgets and what it (and all untrusted writers
/// together) used this minute: one row for the role ('role'), one for the
/// total ('total'). Parameters: $1 the role.
const BUDGET_STATE: &str = "
with scopes (kind, scope) as (values ('role', $1::text), ('total', '*')),
budgets as (
    select s.kind, s.scope,
           coalesce(own.new_issues_per_minute, fallback.new_issues_per_minute, 0) as new_issues,
           coalesce(own.events_per_minute, fallback.events_per_minute, 0) as events,
           coalesce(own.bytes_per_minute, fallback.bytes_per_minute, 0) as bytes
      from scopes s
      left join observe.ingest_budgets own on own.scope = s.scope
      left join observe.ingest_budgets fallback on fallback.scope = 'default'
)
select b.kind, b.new_issues::bigint, b.events::bigint, b.bytes,
       coalesce(sum(u.new_issues), 0)::bigint, coalesce(sum(u.events), 0)::bigint,
       coalesce(sum(u.bytes), 0)::bigint
  from budgets b
  left join observe.ingest_usage u on u.scope = b.scope and u.minute = date_trunc('minute', now())
 group by b.kind, b.new_issues, b.events, b.bytes";

/// Parameters: $1 role, $2 backend slot, $3 new issues, $4 events, $5 bytes.
const USE_BUDGET: &str = "
insert into observe.ingest_usage as u (scope, minute, slot, new_issues, events, bytes)
values ($1, date_trunc('minute', now()), $2, $3, $4, $5),
       ('*', date_trunc('minute', now()), $2, $3, $4, $5)
on conflict (scope, minute, slot) do update
   set new_issues = u.new_issues + excluded.new_issues,
       events = u.events + excluded.events,
       bytes = u.bytes + excluded.bytes";

/// Parameters: $1 role, $2 backend slot, $3 reason.
const RECORD_DROP: &str = "
insert into observe.ingest_drop_counts as d (role_name, minute, slot, reason, events)
values ($1, date_trunc('minute', now()), $2, $3, 1)
on conflict (role_name, minute, reason, slot) do update set events = d.events + 1";

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

/// Folds the count queue when nothing has for a second. The fold serializes
/// itself, so backends looking at the same moment do not wait.
const FOLD_IF_STALE: &str = "
select observe.fold_counts()
  from observe.fold_state
 where folded_at < now() - interval '1 second'";

/// Guarded by the status the decision was made on, so that two sessions
/// seeing the same regression record it once. Parameters: $1 issue, $2 the
/// transition's reason, $3 the status decided on, $4 whether it regressed.
pub const REOPEN: &str = "
update observe.issue_groups
   set status = 'unresolved',
       status_reason = $2,
       status_changed_at = now(),
       regressed_at = case when $4 then now() else regressed_at end,
       times_regressed = times_regressed + (case when $4 then 1 else 0 end),
       resolved_in_release = null,
       ignored_until = null,
       ignore_until_count = null
 where id = $1 and status = $3::observe.issue_status";

/// REOPEN's parameters for `transition`, decided on an issue in `status`.
pub fn reopen_args(
    issue_id: i64,
    transition: Transition,
    status: IssueStatus,
) -> [DatumWithOid<'static>; 4] {
    [
        issue_id.into(),
        transition.reason().into(),
        status.as_str().into(),
        (transition == Transition::Regressed).into(),
    ]
}

impl Plans {
    pub fn record_event(&self, stored: bool) -> &OwnedPreparedStatement {
        &self.record_event[usize::from(stored)]
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
                queue_count: prepare(client, QUEUE_COUNT, &COUNT_ARGS)?,
                record_event: [
                    prepare(client, &record_sql(false), &record_args(false))?,
                    prepare(client, &record_sql(true), &record_args(true))?,
                ],
                minute_events: prepare(client, MINUTE_EVENTS, &[INT8])?,
                release_first_seen: prepare(client, RELEASE_FIRST_SEEN, &[TEXT, TEXT, TEXT])?,
                escalate_level: prepare(client, ESCALATE_LEVEL, &[INT8, TEXT])?,
                count_ignored_event: prepare(client, COUNT_IGNORED_EVENT, &[INT8, INT2])?,
                reopen: prepare(client, REOPEN, &[INT8, TEXT, TEXT, BOOL])?,
                fold_if_stale: prepare(client, FOLD_IF_STALE, &[])?,
                budget_state: prepare(client, BUDGET_STATE, &[TEXT])?,
                use_budget: prepare(client, USE_BUDGET, &[TEXT, INT2, INT4, INT4, INT8])?,
                record_drop: prepare(client, RECORD_DROP, &[TEXT, INT2, TEXT])?,
                release_known: prepare(client, RELEASE_KNOWN, &[TEXT, TEXT])?,
                register_release: prepare(client, REGISTER_RELEASE, &[TEXT, TEXT, TIMESTAMPTZ])?,
            };
            let _ = cell.set(plans);
        }
        Ok(f(client, cell.get().expect("plans were just prepared")))
    })
}
