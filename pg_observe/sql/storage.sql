-- Retention, the daily partitions of events and logs, and observe.maintain(),
-- which keeps both and rolls up log counts. Why the partitions are created
-- and moved the way they are: ARCHITECTURE.md, "Storage and retention".

create table observe.retention (
    what text primary key
        check (what in ('logs', 'events', 'minute_rollups', 'hourly_rollups', 'daily_rollups', 'health_results')),
    keep interval not null check (keep > interval '0')
);
insert into observe.retention (what, keep) values
    ('logs', '14 days'),
    ('events', '90 days'),
    ('minute_rollups', '30 days'),
    ('hourly_rollups', '400 days'),
    ('daily_rollups', '400 days'),
    ('health_results', '30 days');
comment on table observe.retention is
    'How long observe.maintain() keeps each kind of data: log lines and error events (whole days), per-minute, hourly and daily counts, health-check results. Change with observe.set_retention().';

create function observe.set_retention(what text, keep interval)
returns observe.retention
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    -- The shortest each may be kept: a day for what is dropped by the day;
    -- two hours of minutes for error_rate and flood control; eight days of
    -- hours, because the 7-day windows of observe.issue_summary are rolled
    -- forward by subtracting the hour that leaves them.
    shortest constant jsonb := '{"logs": "1 day", "events": "1 day", "minute_rollups": "2 hours",
                                 "hourly_rollups": "8 days", "daily_rollups": "1 day", "health_results": "1 day"}';
    kept observe.retention;
begin
    if set_retention.what is null or set_retention.keep is null then
        raise exception 'what and keep are required' using errcode = 'null_value_not_allowed';
    end if;
    if not shortest ? set_retention.what then
        raise exception 'what must be one of logs, events, minute_rollups, hourly_rollups, daily_rollups, health_results, got "%"',
            set_retention.what
            using errcode = 'invalid_parameter_value';
    end if;
    if set_retention.keep < (shortest ->> set_retention.what)::interval then
        raise exception '% must be kept at least %, got %', set_retention.what, shortest ->> set_retention.what,
            set_retention.keep
            using errcode = 'invalid_parameter_value';
    end if;
    update observe.retention r set keep = set_retention.keep
     where r.what = set_retention.what
    returning r.* into kept;
    return kept;
end
$$;
comment on function observe.set_retention(text, interval) is
    'Sets how long observe.maintain() keeps logs, events, minute_rollups, hourly_rollups, daily_rollups or health_results; returns the new setting.';

-- The tables partitioned by day, and the retention each follows.
create function observe.day_partitioned()
returns table (parent regclass, kept_as text)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    values ('observe.events'::regclass, 'events'), ('observe.logs'::regclass, 'logs')
$$;

-- The instant before which no transaction of this database can still write
-- a row stamped with its now(): the start of the oldest one still running
-- (autovacuum writes none), less five seconds for one being started right
-- now. A prepared transaction's start is unknown, so while one waits here the
-- horizon stays at -infinity. Default-partition rows and log counts move
-- only behind it.
create function observe.write_horizon()
returns timestamptz
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select case
        when exists (select from pg_prepared_xacts p where p.database = current_database())
            then '-infinity'::timestamptz
        else least(now(),
                   (select min(a.xact_start) from pg_stat_activity a
                     where a.datname = current_database()
                       and a.pid <> pg_backend_pid()
                       and a.backend_type <> 'autovacuum worker'))
             - interval '5 seconds'
    end
$$;

-- Creates and attaches the partition of one UTC day, unless it exists;
-- returns its name when it made it. CREATE then ATTACH: attaching locks the
-- parent only in SHARE UPDATE EXCLUSIVE mode, which concurrent inserts do
-- not wait for.
create function observe.create_day_partition(parent regclass, day date)
returns text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    name text := format('%s_p%s', (select c.relname from pg_class c where c.oid = parent), to_char(day, 'YYYYMMDD'));
begin
    if to_regclass(format('observe.%I', name)) is not null then
        return null;
    end if;
    execute format('create table observe.%I (like %s including defaults including constraints including storage including compression)',
                   name, parent);
    execute format('alter table %s attach partition observe.%I for values from (%L) to (%L)',
                   parent, name, day::timestamp at time zone 'UTC', (day + 1)::timestamp at time zone 'UTC');
    return name;
end
$$;

-- The partitions of the next `days` days, for every partitioned table.
-- Only days that have not begun: no transaction can be routing a row into
-- them through the default partition, which an attach would make fail.
-- Capture calls this about once a minute per backend, so a failure is
-- reported, never raised, and a busy lock is not waited for.
create function observe.create_partitions_ahead(days integer default 3)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
set lock_timeout = '100ms'
as $$
declare
    today date := (now() at time zone 'UTC')::date;
    target record;
    made text;
    created text[] := '{}';
    failed jsonb := '[]';
begin
    for target in
        select p.parent, d.day::date as day,
               format('%s_p%s', c.relname, to_char(d.day, 'YYYYMMDD')) as name
          from observe.day_partitioned() p
          join pg_class c on c.oid = p.parent
         cross join generate_series(today + 1, today + days, interval '1 day') as d(day)
         where to_regclass(format('observe.%I', format('%s_p%s', c.relname, to_char(d.day, 'YYYYMMDD')))) is null
    loop
        -- Re-entrant for observe.maintain(), which holds it already.
        if not pg_try_advisory_xact_lock(hashtext('observe.maintain')) then
            exit;
        end if;
        begin
            made := observe.create_day_partition(target.parent, target.day);
            if made is not null then
                created := created || made;
            end if;
        exception when others then
            failed := failed || jsonb_build_object('partition', target.name, 'error', sqlerrm);
        end;
    end loop;
    return jsonb_build_object('created', to_jsonb(created), 'failed', failed);
end
$$;

-- Rows that landed in a default partition (their day had no partition) move
-- into a partition of their own once their day is behind the write horizon:
-- until then a concurrent insert may be routing a row of that day into the
-- default partition, and attaching the day would make it fail. Rows of a day
-- already past retention are dropped instead.
create function observe.rescue_default_rows()
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
set lock_timeout = '1s'
as $$
declare
    horizon timestamptz := observe.write_horizon();
    target record;
    day date;
    keep interval;
    name text;
    moved bigint;
    rescued bigint := 0;
    expired bigint := 0;
    created text[] := '{}';
    failed jsonb := '[]';
begin
    for target in
        select p.parent, p.kept_as, pt.partdefid::regclass as fallback, a.attname as key
          from observe.day_partitioned() p
          join pg_partitioned_table pt on pt.partrelid = p.parent
          join pg_attribute a on a.attrelid = p.parent and a.attnum = pt.partattrs[0]
         where pt.partdefid <> 0
    loop
        select r.keep into keep from observe.retention r where r.what = target.kept_as;
        for day in execute format('select distinct (%I at time zone ''UTC'')::date from %s order by 1',
                                  target.key, target.fallback)
        loop
            continue when (day + 1)::timestamp at time zone 'UTC' > horizon;
            begin
                execute format('lock table %s in access exclusive mode', target.fallback);
                if (day + 1)::timestamp at time zone 'UTC' <= now() - keep then
                    execute format('delete from %s where %I >= %L and %I < %L', target.fallback,
                                   target.key, day::timestamp at time zone 'UTC',
                                   target.key, (day + 1)::timestamp at time zone 'UTC');
                    get diagnostics moved = row_count;
                    expired := expired + moved;
                    continue;
                end if;
                name := format('%s_p%s', (select c.relname from pg_class c where c.oid = target.parent),
                               to_char(day, 'YYYYMMDD'));
                execute format('create table observe.%I (like %s including defaults including constraints including storage including compression)',
                               name, target.parent);
                execute format('with moved as (delete from %s where %I >= %L and %I < %L returning *) insert into observe.%I select * from moved',
                               target.fallback, target.key, day::timestamp at time zone 'UTC',
                               target.key, (day + 1)::timestamp at time zone 'UTC', name);
                get diagnostics moved = row_count;
                execute format('alter table %s attach partition observe.%I for values from (%L) to (%L)',
                               target.parent, name, day::timestamp at time zone 'UTC',
                               (day + 1)::timestamp at time zone 'UTC');
                rescued := rescued + moved;
                created := created || name;
            exception when others then
                failed := failed || jsonb_build_object('partition', name, 'error', sqlerrm);
            end;
        end loop;
    end loop;
    return jsonb_build_object('rows', rescued, 'expired_rows', expired, 'created', to_jsonb(created),
                              'failed', failed);
end
$$;

-- Drops every daily partition whose whole day is older than its table's
-- retention. Dropping a partition locks its parent for a moment, so a lock
-- that is not granted within a second is given up until the next run.
create function observe.drop_expired_partitions()
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
set lock_timeout = '1s'
as $$
declare
    target record;
    dropped text[] := '{}';
    failed jsonb := '[]';
begin
    for target in
        select c.oid::regclass as partition, c.relname,
               exists (select from pg_depend d
                        where d.classid = 'pg_class'::regclass and d.objid = c.oid
                          and d.refclassid = 'pg_extension'::regclass and d.deptype = 'e') as member
          from observe.day_partitioned() p
          join observe.retention r on r.what = p.kept_as
          join pg_inherits i on i.inhparent = p.parent
          join pg_class c on c.oid = i.inhrelid
         where c.relname ~ '_p\d{8}$'
           and (to_date(substring(c.relname from '_p(\d{8})$'), 'YYYYMMDD') + 1)::timestamp at time zone 'UTC'
               <= now() - r.keep
         order by c.relname
    loop
        begin
            -- Partitions made by CREATE EXTENSION or ALTER EXTENSION UPDATE
            -- belong to the extension, which would refuse to lose them.
            if target.member then
                execute format('alter extension pg_observe drop table %s', target.partition);
            end if;
            execute format('drop table %s', target.partition);
            dropped := dropped || target.relname::text;
        exception when others then
            failed := failed || jsonb_build_object('partition', target.relname, 'error', sqlerrm);
        end;
    end loop;
    return jsonb_build_object('dropped', to_jsonb(dropped), 'failed', failed);
end
$$;

-- Counts the log lines of every minute that is now behind the write horizon
-- into observe.log_counts, at all three resolutions, and moves
-- log_rollup.settled_until there; returns how many minutes it counted. A
-- minute is counted once no transaction can still add a line to it, so the
-- counts are exact, and observe.log_counts_since() reads the lines after it.
create function observe.roll_up_logs()
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    settled timestamptz;
    horizon timestamptz := date_trunc('minute', observe.write_horizon(), 'UTC');
begin
    select r.settled_until into settled from observe.log_rollup r for update;
    if horizon <= settled then
        return 0;
    end if;
    with lines as (
        select date_trunc('minute', l.logged_at, 'UTC') as minute, l.service,
               coalesce(l.environment, '') as environment, l.level, count(*) as events
          from observe.logs l
         where l.logged_at >= settled and l.logged_at < horizon
         group by 1, 2, 3, 4
    )
    insert into observe.log_counts as c (resolution, bucket, service, environment, level, events)
    select r.resolution, date_trunc(r.resolution, l.minute, 'UTC'), l.service, l.environment, l.level,
           sum(l.events)
      from lines l
     cross join (values ('minute'), ('hour'), ('day')) as r(resolution)
     group by 1, 2, 3, 4, 5
    on conflict (resolution, bucket, service, environment, level) do update
       set events = c.events + excluded.events;
    update observe.log_rollup set settled_until = horizon;
    return (extract(epoch from horizon - settled) / 60)::bigint;
end
$$;

-- Deletes counts past their resolution's retention, and health-check
-- results past theirs when that table exists; returns rows deleted.
create function observe.expire_rows()
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    resolution_keep record;
    gone bigint;
    total bigint := 0;
    health_keep interval;
begin
    for resolution_keep in
        select v.resolution, r.keep
          from (values ('minute', 'minute_rollups'), ('hour', 'hourly_rollups'), ('day', 'daily_rollups'))
                   as v(resolution, what)
          join observe.retention r on r.what = v.what
    loop
        delete from observe.issue_counts c
         where c.resolution = resolution_keep.resolution and c.bucket < now() - resolution_keep.keep;
        get diagnostics gone = row_count;
        total := total + gone;
        delete from observe.service_counts c
         where c.resolution = resolution_keep.resolution and c.bucket < now() - resolution_keep.keep;
        get diagnostics gone = row_count;
        total := total + gone;
        delete from observe.request_counts c
         where c.resolution = resolution_keep.resolution and c.bucket < now() - resolution_keep.keep;
        get diagnostics gone = row_count;
        total := total + gone;
        delete from observe.log_counts c
         where c.resolution = resolution_keep.resolution and c.bucket < now() - resolution_keep.keep;
        get diagnostics gone = row_count;
        total := total + gone;
    end loop;
    -- Health checks keep their results in a table of their own, when the
    -- health-check feature is installed.
    if exists (select from pg_attribute a
                where a.attrelid = to_regclass('observe.health_results')
                  and a.attname = 'checked_at' and not a.attisdropped) then
        select r.keep into health_keep from observe.retention r where r.what = 'health_results';
        execute 'delete from observe.health_results where checked_at < now() - $1' using health_keep;
        get diagnostics gone = row_count;
        total := total + gone;
    end if;
    return total;
end
$$;

-- The periodic storage work; observe.tick() calls it every minute. One at a
-- time: a second call while one runs returns at once and says so.
create function observe.maintain()
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    ahead jsonb;
    rescued jsonb;
    dropped jsonb;
begin
    if not pg_try_advisory_xact_lock(hashtext('observe.maintain')) then
        return jsonb_build_object('skipped', true, 'reason', 'another observe.maintain() is running');
    end if;
    ahead := observe.create_partitions_ahead();
    rescued := observe.rescue_default_rows();
    dropped := observe.drop_expired_partitions();
    return jsonb_build_object(
        'skipped', false,
        'partitions_created', (ahead -> 'created') || (rescued -> 'created'),
        'rows_rescued', rescued -> 'rows',
        'partitions_dropped', dropped -> 'dropped',
        'expired_rows_deleted', (rescued ->> 'expired_rows')::bigint + observe.expire_rows(),
        'log_minutes_rolled_up', observe.roll_up_logs(),
        'failed', (ahead -> 'failed') || (rescued -> 'failed') || (dropped -> 'failed'));
end
$$;
comment on function observe.maintain() is
    'Creates the partitions of events and logs for the days ahead, moves rows out of the default partitions, drops partitions and counts past retention, and rolls up log counts; returns what it did. observe.tick() calls it; a concurrent call returns {"skipped": true}.';

-- Today's partitions are made here, where nothing can be writing into them
-- yet; the following days' ahead of time, as later by capture and maintain.
select observe.create_day_partition(p.parent, (now() at time zone 'UTC')::date)
  from observe.day_partitioned() p;
select observe.create_partitions_ahead();
