-- pg_observe: roles, types and tables. Runs right after the schema exists.
--
-- The design these tables serve (an append-only count queue, no foreign
-- keys on the hot path, per-backend knowledge invalidated by trigger) is in
-- ARCHITECTURE.md, "Counting" and "What a backend remembers".

-- The schema is created by the extension script (pgrx emits it for the
-- `observe` #[pg_schema] module; the control file names pg_catalog, as
-- pg_cron's does), which makes it a member of the extension: DROP EXTENSION
-- removes it with everything in it.
comment on schema observe is 'pg_observe: error capture, grouping and triage';

-- Roles are cluster-wide and outlive the extension in any one database, so
-- they are created only when missing and never dropped by DROP EXTENSION.
-- Several databases may run CREATE EXTENSION at once; the role that loses
-- the race to create a role (or grant a membership) just finds it there.
-- observe_dispatcher is the alert-dispatch function's: it may claim and
-- settle notifications, and nothing else.
do $roles$
declare
    role_name text;
begin
    foreach role_name in array array['observe_writer', 'observe_reader', 'observe_admin', 'observe_dispatcher'] loop
        if not exists (select from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I nologin', role_name);
            exception when duplicate_object or unique_violation then
                null;
            end;
        end if;
    end loop;
    begin
        grant observe_writer, observe_reader to observe_admin;
    exception when duplicate_object or unique_violation then
        null;
    end;
end
$roles$;

-- Declaration order is severity order, so greatest() and < compare levels.
create type observe.level as enum ('debug', 'info', 'warning', 'error', 'fatal');
create type observe.issue_status as enum ('unresolved', 'resolved', 'ignored');

create table observe.issue_groups (
    id bigint generated always as identity primary key,
    service text not null,
    fingerprint text not null,
    grouping_basis text not null check (grouping_basis in ('custom', 'stack', 'message')),
    title text not null,
    culprit text,
    exception_type text,
    level observe.level not null,
    status observe.issue_status not null default 'unresolved',
    status_reason text,
    status_changed_at timestamptz,
    resolved_in_release text,
    ignored_until timestamptz,
    ignore_until_count bigint check (ignore_until_count > 0),
    regressed_at timestamptz,
    times_regressed integer not null default 0,
    first_seen timestamptz not null,
    first_release text,
    created_at timestamptz not null default now(),
    unique (service, fingerprint)
);
comment on table observe.issue_groups is
    'Identity and lifecycle of each issue; counts live in observe.issue_counts. Query observe.issues.';

-- Every grouping hash an issue answers to: the in-app and the all-frames
-- variant of its stack, so an issue survives frames changing sides.
create table observe.issue_hashes (
    service text not null,
    hash text not null,
    issue_id bigint not null,
    primary key (service, hash)
);
create index issue_hashes_issue_id_idx on observe.issue_hashes (issue_id);

-- Exact event counts per issue, environment and release at three
-- resolutions: observe.fold_counts() adds each queued event to its minute,
-- hour and day row at once, so every resolution is exact and none is derived
-- from another; observe.maintain() deletes rows past their resolution's
-- retention (ARCHITECTURE.md, "Counting"). Keyed by release so that a
-- release's first sighting (which "resolved in release X" needs to order
-- releases that are not semantic versions) and its error volume (which
-- deploy verification needs) come from the counts, with no further write per
-- event.
create table observe.issue_counts (
    issue_id bigint not null,
    resolution text not null check (resolution in ('minute', 'hour', 'day')),
    bucket timestamptz not null,
    environment text not null default '',
    release text not null default '',
    events bigint not null,
    first_seen timestamptz not null default now(),
    last_seen timestamptz not null,
    primary key (issue_id, resolution, bucket, environment, release)
);
create index issue_counts_bucket_idx on observe.issue_counts (resolution, bucket);
comment on table observe.issue_counts is
    'Exact error events per issue, environment and release, per minute, hour and day (resolution; buckets start in UTC), folded from observe.count_queue by observe.fold_counts().';

-- Error events per service, environment and event level, written by the same
-- fold: what error rates and alert rules sum over a window, a few rows per
-- minute whatever the number of issues.
create table observe.service_counts (
    resolution text not null check (resolution in ('minute', 'hour', 'day')),
    bucket timestamptz not null,
    service text not null,
    environment text not null default '',
    level observe.level not null,
    events bigint not null,
    primary key (resolution, bucket, service, environment, level)
);
comment on table observe.service_counts is
    'Exact error events per service, environment (empty for none) and event level, per minute, hour and day; folded by observe.fold_counts().';

-- Request counts that middleware reports (observe.record_requests): the
-- denominator of error rates. Appended to a queue, like error events, and
-- folded into exact per-minute, hourly and daily counts by
-- observe.fold_counts(), so concurrent reporters never update one row.
create table observe.request_queue (
    service text not null,
    environment text not null,
    route text not null,
    at timestamptz not null,
    requests bigint not null,
    errors bigint not null
);
comment on table observe.request_queue is
    'Request counts reported but not yet folded into observe.request_counts; observe.fold_counts() empties it.';

create table observe.request_counts (
    resolution text not null check (resolution in ('minute', 'hour', 'day')),
    bucket timestamptz not null,
    service text not null,
    environment text not null default '',
    route text not null default '',
    requests bigint not null,
    errors bigint not null,
    primary key (resolution, bucket, service, environment, route)
);
comment on table observe.request_counts is
    'Requests and failed requests that middleware reported, per service, environment and route (empty for none), per minute, hour and day.';

-- One row per captured event not yet folded into the counts. No key and no
-- index: an index costs every event a second page write, while readers need
-- the queue only whole, once per query, and observe.fold_counts() empties it
-- every second or so.
create table observe.count_queue (
    issue_id bigint not null,
    counted_at timestamptz not null,
    environment text not null,
    release text not null,
    occurred_at timestamptz not null,
    user_hash bigint,
    level observe.level not null
);
comment on table observe.count_queue is
    'Events counted but not yet folded into observe.issue_counts; observe.fold_counts() empties it.';

-- When the queue was last folded, and the hour the windows of
-- observe.issue_summary are counted up to. Capture folds the queue itself
-- when nothing else has for a while, so the queue stays short without any
-- scheduler.
create table observe.fold_state (
    singleton boolean primary key default true check (singleton),
    folded_at timestamptz not null,
    windows_at timestamptz not null default date_trunc('hour', now(), 'UTC')
);
insert into observe.fold_state (folded_at) values (now());

-- Per issue, what the analyst views order by, kept by observe.fold_counts():
-- the total (which outlives the retention of the counts) and the standard
-- windows, counted in whole hours up to fold_state.windows_at (the last 24
-- hours are that hour and the 23 before it). Every issue has a row from its
-- creation on (ARCHITECTURE.md, "Counting").
create table observe.issue_summary (
    issue_id bigint primary key,
    events bigint not null default 0,
    last_seen timestamptz,
    -- The release of the latest event that named one, and when that was.
    last_release text,
    last_release_seen timestamptz,
    events_24h bigint not null default 0,
    events_prev_24h bigint not null default 0,
    events_7d bigint not null default 0
);
create index issue_summary_events_idx on observe.issue_summary (events desc);
create index issue_summary_events_24h_idx on observe.issue_summary (events_24h desc);
create index issue_summary_events_7d_idx on observe.issue_summary (events_7d desc);
comment on table observe.issue_summary is
    'Per issue, as of the last fold: events in all, last seen and release, and events in the 24 hours up to observe.fold_state.windows_at, the 24 before, and 7 days.';

-- One row per (issue, user). The hash comes from the caller's user reference
-- before scrubbing, so users whose references scrub alike still count apart.
-- first_seen and last_seen are when capture counted the user, so "users
-- affected in a window" is a range on last_seen.
create table observe.issue_users (
    issue_id bigint not null,
    user_hash bigint not null,
    first_seen timestamptz not null default now(),
    last_seen timestamptz not null default now(),
    primary key (issue_id, user_hash)
);

-- Events counted towards "ignore until N more events", striped by backend
-- slot so that concurrent writers of one ignored issue update different
-- rows; emptied whenever the issue is ignored again.
create table observe.issue_ignore_counts (
    issue_id bigint not null,
    slot smallint not null,
    events bigint not null,
    primary key (issue_id, slot)
);

-- Partitioned by day of received_at, the server's clock (occurred_at is the
-- client's and may be anything in the past), so that retention drops whole
-- days; observe.maintain() keeps the partitions (ARCHITECTURE.md, "Storage
-- and retention").
create table observe.events (
    id uuid not null,
    issue_id bigint not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null default now(),
    level observe.level not null,
    service text not null,
    environment text,
    release text,
    exception_type text,
    message text not null,
    stack text,
    context jsonb not null default '{}',
    request jsonb not null default '{}',
    tags jsonb not null default '{}',
    user_ref text,
    request_id text,
    unhandled boolean,
    sample_rate real not null default 1,
    flags text[] not null default '{}',
    -- The role the capturing session acted as (null for events captured
    -- before pg_observe 0.2.0).
    writer_role name,
    primary key (id, received_at)
) partition by range (received_at);
create index events_issue_id_occurred_at_idx on observe.events (issue_id, occurred_at desc);
-- BRIN: events arrive roughly in time order, and a BRIN index costs next to
-- nothing per insert where a second btree would cost a page write.
create index events_occurred_at_idx on observe.events using brin (occurred_at);
-- Alert rules with a `match` read the events received in their window
-- (pg_observe/src/alerting/metrics.rs); within a day's partition, BRIN
-- finds those minutes for as little as the index above costs.
create index events_received_at_idx on observe.events using brin (received_at);
-- The last resort: an event whose day has no partition yet waits here until
-- observe.maintain() moves it into its own.
create table observe.events_default partition of observe.events default;
-- lz4 rather than pglz where the server was built with it: an SDK's event
-- carries kilobytes of contexts, frames and breadcrumbs, and pglz spent more
-- time compressing them than lz4 does (benches/RESULTS.md, §10). Partitions
-- made later copy it (observe.create_day_partition); a server without lz4
-- keeps pglz.
do $$
declare
    rel regclass;
begin
    for rel in
        select 'observe.events'::regclass
        union all
        select i.inhrelid::regclass from pg_inherits i where i.inhparent = 'observe.events'::regclass
    loop
        execute format('alter table %s alter column message set compression lz4, '
                       'alter column stack set compression lz4, alter column context set compression lz4, '
                       'alter column request set compression lz4, alter column tags set compression lz4', rel);
    end loop;
exception when feature_not_supported then
    null;
end
$$;
comment on column observe.events.sample_rate is
    'Probability (0, 1] with which this event was stored under flood control; sum(1 / sample_rate) estimates the events it stands for.';
comment on column observe.events.flags is
    'What capture changed: message_truncated, stack_truncated, context_truncated, context_depth_limited, request_truncated, clock_drift.';

create table observe.issue_activity (
    id bigint generated always as identity primary key,
    issue_id bigint not null,
    kind text not null check (kind in ('created', 'resolved', 'ignored', 'unignored', 'regressed', 'reopened', 'deleted')),
    from_status observe.issue_status,
    to_status observe.issue_status not null,
    reason text,
    details jsonb not null default '{}',
    -- The role that acted (SET ROLE, not the login: PostgREST logs in as
    -- authenticator and acts as anon or service_role).
    actor text not null default observe.acting_role(),
    at timestamptz not null default now()
);
create index issue_activity_issue_id_idx on observe.issue_activity (issue_id, at);
create index issue_activity_at_idx on observe.issue_activity (at);
comment on table observe.issue_activity is
    'Every new issue, regression and status change, in order; the feed alert rules evaluate.';

-- Activity is recorded by trigger, not by the functions that change status,
-- so that no path (capture, the lifecycle functions, tick, an admin UPDATE)
-- can change an issue without leaving a trace.
create function observe.record_issue_activity() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    activity text;
begin
    if tg_op = 'INSERT' then
        insert into observe.issue_activity (issue_id, kind, to_status, reason, details)
        values (new.id, 'created', new.status, 'new_issue',
                jsonb_build_object('level', new.level, 'release', new.first_release, 'title', new.title));
        return new;
    end if;

    if (new.status, new.resolved_in_release, new.ignored_until, new.ignore_until_count)
       is not distinct from
       (old.status, old.resolved_in_release, old.ignored_until, old.ignore_until_count) then
        return new;
    end if;

    activity := observe.activity_kind(old.status::text, new.status::text, new.status_reason);
    insert into observe.issue_activity (issue_id, kind, from_status, to_status, reason, details)
    values (new.id, activity, old.status, new.status, new.status_reason,
            jsonb_strip_nulls(jsonb_build_object(
                'resolved_in_release', new.resolved_in_release,
                'ignored_until', new.ignored_until,
                'ignore_until_count', new.ignore_until_count)));
    return new;
end
$$;

create trigger issue_groups_activity
    after insert or update on observe.issue_groups
    for each row execute function observe.record_issue_activity();

-- Capture caches which issues are unresolved (see the notes at the top).
-- Any change to an issue, by whatever path, tells every backend to forget
-- that cache; it is rare next to events, and the next event of each issue
-- reads the issue row again. TRUNCATE needs no announcement: it gives the
-- table a new file, which invalidates it in every backend by itself.
create function observe.issue_groups_changed() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform observe.announce_issue_change();
    return null;
end
$$;

create trigger issue_groups_changed
    after update or delete on observe.issue_groups
    for each statement execute function observe.issue_groups_changed();

-- Every issue has a summary row from its creation on, so the views join it
-- rather than left-join it, and order by its indexed columns.
create function observe.create_issue_summary() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    insert into observe.issue_summary (issue_id) select id from created;
    return null;
end
$$;

create trigger issue_groups_summary
    after insert on observe.issue_groups
    referencing new table as created
    for each statement execute function observe.create_issue_summary();

create function observe.delete_issue_dependents() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from observe.issue_hashes where issue_id in (select id from gone);
    delete from observe.issue_counts where issue_id in (select id from gone);
    delete from observe.issue_summary where issue_id in (select id from gone);
    delete from observe.count_queue where issue_id in (select id from gone);
    delete from observe.issue_users where issue_id in (select id from gone);
    delete from observe.issue_ignore_counts where issue_id in (select id from gone);
    delete from observe.events where issue_id in (select id from gone);
    -- The activity stays, and says who deleted the issue.
    insert into observe.issue_activity (issue_id, kind, from_status, to_status, reason, details)
    select id, 'deleted', status, status, 'manual',
           jsonb_build_object('service', service, 'title', title, 'fingerprint', fingerprint)
      from gone;
    return null;
end
$$;

create trigger issue_groups_delete_dependents
    after delete on observe.issue_groups
    referencing old table as gone
    for each statement execute function observe.delete_issue_dependents();

-- TRUNCATE fires no delete trigger and has no transition table: emptying
-- issue_groups empties everything that belongs to issues.
create function observe.truncate_issue_dependents() returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    truncate observe.issue_hashes, observe.issue_counts, observe.issue_summary, observe.count_queue,
             observe.issue_users, observe.issue_ignore_counts, observe.events, observe.issue_activity;
    return null;
end
$$;

create trigger issue_groups_truncate_dependents
    after truncate on observe.issue_groups
    for each statement execute function observe.truncate_issue_dependents();
