-- Structured logs (observe.log, observe.log_batch) and their counts.
--
-- A log line costs one insert into a table partitioned by day, with a BRIN
-- index and nothing else; its counts are rolled up afterwards from minutes
-- that no running transaction can still write into, so they are exact
-- without a second write per line (ARCHITECTURE.md, "Storage and
-- retention").

create table observe.logs (
    -- The server's clock at the start of the writing transaction (now()):
    -- what partitions and counts go by.
    logged_at timestamptz not null default now(),
    level observe.level not null,
    service text not null,
    environment text,
    message text not null,
    context jsonb not null default '{}',
    request_id text,
    flags text[] not null default '{}',
    -- text, not name: a name takes 64 bytes in every line, a quarter of a
    -- short line's width and of the WAL each line writes.
    writer_role text
) partition by range (logged_at);
create index logs_logged_at_idx on observe.logs using brin (logged_at);
create table observe.logs_default partition of observe.logs default;
comment on table observe.logs is
    'Structured log lines, scrubbed and bounded like error events; partitioned by day of logged_at and kept as observe.retention says.';
comment on column observe.logs.flags is
    'What capture changed: message_truncated, context_truncated, context_depth_limited.';

-- Log lines per service, environment ('' for none) and level, per minute,
-- hour and day, for the minutes before observe.log_rollup.settled_until.
create table observe.log_counts (
    resolution text not null check (resolution in ('minute', 'hour', 'day')),
    bucket timestamptz not null,
    service text not null,
    environment text not null default '',
    level observe.level not null,
    events bigint not null,
    primary key (resolution, bucket, service, environment, level)
);
comment on table observe.log_counts is
    'Exact log lines per service, environment and level, per minute, hour and day, for every minute before observe.log_rollup.settled_until; observe.log_counts_since() adds the minutes after it.';

-- How far the rollup has counted: every log line with logged_at before
-- settled_until is in observe.log_counts, and no transaction can still add
-- one there.
create table observe.log_rollup (
    singleton boolean primary key default true check (singleton),
    settled_until timestamptz not null default date_trunc('minute', now(), 'UTC')
);
insert into observe.log_rollup default values;
comment on table observe.log_rollup is
    'The instant before which observe.log_counts holds every log line (observe.maintain() moves it forward).';

-- Exact log counts per minute from `since` on: the rolled-up minutes from
-- log_counts, the rest counted from the raw lines (a partition or two, read
-- through their BRIN index). What an alert evaluator reads.
create function observe.log_counts_since(since timestamptz)
returns table (bucket timestamptz, service text, environment text, level observe.level, events bigint)
language sql
stable
strict
set search_path = pg_catalog, pg_temp
as $$
    with settled as (select settled_until from observe.log_rollup)
    select c.bucket, c.service, c.environment, c.level, sum(c.events)::bigint
      from (select lc.bucket, lc.service, lc.environment, lc.level, lc.events
              from observe.log_counts lc, settled
             where lc.resolution = 'minute'
               and lc.bucket >= date_trunc('minute', since, 'UTC')
               and lc.bucket < settled.settled_until
            union all
            select date_trunc('minute', l.logged_at, 'UTC'), l.service, coalesce(l.environment, ''), l.level, 1
              from observe.logs l, settled
             where l.logged_at >= greatest(date_trunc('minute', since, 'UTC'), settled.settled_until)) c
     group by c.bucket, c.service, c.environment, c.level
$$;
comment on function observe.log_counts_since(timestamptz) is
    'Exact log lines per minute (UTC buckets), service, environment (empty for none) and level from since on: rolled-up minutes plus the lines not rolled up yet.';
