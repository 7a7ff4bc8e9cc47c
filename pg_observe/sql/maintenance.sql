-- Folding the count queue, and scheduling observe.tick() through pg_cron
-- when pg_cron is there. pg_cron runs jobs only from the database named by
-- cron.database_name; in any other database the cron schema is absent and
-- the error says what to do.

-- Moves every queued event into issue_counts, service_counts, issue_users and
-- issue_summary, and every queued request count into request_counts, in one
-- pass. One folder at a time: a second would find nothing the first has not
-- taken, and two of them upserting the same counter rows in different
-- orders could deadlock. Events of issues deleted meanwhile are dropped.
-- Each event goes to its minute, hour and day at once, so every resolution
-- is exact (ARCHITECTURE.md, "Counting").
create function observe.fold_counts()
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    folded bigint;
    this_hour timestamptz := date_trunc('hour', now(), 'UTC');
    windows_hour timestamptz;
begin
    if not pg_try_advisory_xact_lock(hashtext('observe.fold_counts')) then
        return 0;
    end if;
    select s.windows_at into windows_hour from observe.fold_state s;
    if windows_hour < this_hour then
        perform observe.roll_issue_windows(windows_hour, this_hour);
        windows_hour := this_hour;
    end if;
    with taken as (
        delete from observe.count_queue returning *
    ), minutes as (
        -- One row per issue, minute, environment, release and level: every
        -- resolution is summed from these, not from each event again.
        select m.*, g.service
          from (select t.issue_id, date_trunc('minute', t.counted_at, 'UTC') as minute, t.environment,
                       t.release, t.level, count(*) as events, min(t.counted_at) as first_seen,
                       max(t.occurred_at) as last_seen
                  from taken t
                 group by 1, 2, 3, 4, 5) m
          join observe.issue_groups g on g.id = m.issue_id
    ), counted as (
        insert into observe.issue_counts as c
               (issue_id, resolution, bucket, environment, release, events, first_seen, last_seen)
        select m.issue_id, r.resolution, date_trunc(r.resolution, m.minute, 'UTC'), m.environment, m.release,
               sum(m.events), min(m.first_seen), max(m.last_seen)
          from minutes m
         cross join (values ('minute'), ('hour'), ('day')) as r(resolution)
         group by 1, 2, 3, 4, 5
        on conflict (issue_id, resolution, bucket, environment, release) do update
           set events = c.events + excluded.events,
               first_seen = least(c.first_seen, excluded.first_seen),
               last_seen = greatest(c.last_seen, excluded.last_seen)
        returning 1
    ), by_service as (
        insert into observe.service_counts as c (resolution, bucket, service, environment, level, events)
        select r.resolution, date_trunc(r.resolution, m.minute, 'UTC'), m.service, m.environment, m.level,
               sum(m.events)
          from minutes m
         cross join (values ('minute'), ('hour'), ('day')) as r(resolution)
         group by 1, 2, 3, 4, 5
        on conflict (resolution, bucket, service, environment, level) do update
           set events = c.events + excluded.events
        returning 1
    ), users as (
        insert into observe.issue_users as u (issue_id, user_hash, first_seen, last_seen)
        select t.issue_id, t.user_hash, min(t.counted_at), max(t.counted_at)
          from taken t
         where t.user_hash is not null
           and exists (select from observe.issue_groups g where g.id = t.issue_id)
         group by t.issue_id, t.user_hash
        on conflict (issue_id, user_hash) do update
           set last_seen = excluded.last_seen
         where u.last_seen < excluded.last_seen
        returning 1
    ), summarized as (
        update observe.issue_summary s
           set events = s.events + b.events,
               last_seen = greatest(s.last_seen, b.last_seen),
               last_release = case when b.release_seen > coalesce(s.last_release_seen, '-infinity')
                                   then b.last_release else s.last_release end,
               last_release_seen = greatest(s.last_release_seen, b.release_seen),
               events_24h = s.events_24h + b.events_24h,
               events_prev_24h = s.events_prev_24h + b.events_prev_24h,
               events_7d = s.events_7d + b.events_7d
          from (select h.issue_id, sum(h.events)::bigint as events, max(h.last_seen) as last_seen,
                       (array_agg(h.release order by h.last_seen desc) filter (where h.release <> ''))[1]
                           as last_release,
                       max(h.last_seen) filter (where h.release <> '') as release_seen,
                       coalesce(sum(h.events) filter (where h.hour >= windows_hour - interval '23 hours'), 0)::bigint
                           as events_24h,
                       coalesce(sum(h.events) filter (where h.hour >= windows_hour - interval '47 hours'
                                                        and h.hour < windows_hour - interval '23 hours'), 0)::bigint
                           as events_prev_24h,
                       coalesce(sum(h.events) filter (where h.hour >= windows_hour - interval '167 hours'), 0)::bigint
                           as events_7d
                  from (select m.*, date_trunc('hour', m.minute, 'UTC') as hour from minutes m) h
                 group by h.issue_id) b
         where s.issue_id = b.issue_id
        returning 1
    )
    select count(*) into folded from taken;

    with taken as (
        delete from observe.request_queue returning *
    )
    insert into observe.request_counts as c (resolution, bucket, service, environment, route, requests, errors)
    select r.resolution, date_trunc(r.resolution, t.at, 'UTC'), t.service, t.environment, t.route,
           sum(t.requests), sum(t.errors)
      from taken t
     cross join (values ('minute'), ('hour'), ('day')) as r(resolution)
     group by 1, 2, 3, 4, 5
    on conflict (resolution, bucket, service, environment, route) do update
       set requests = c.requests + excluded.requests,
           errors = c.errors + excluded.errors;

    update observe.fold_state set folded_at = now(), windows_at = windows_hour;
    return folded;
end
$$;
comment on function observe.fold_counts() is
    'Folds queued event and request counts into the per-minute, hourly and daily counts, issue_users and issue_summary; returns how many events it folded. Capture calls it when nothing has for a second, and observe.tick() every minute.';

-- Moves the windows of observe.issue_summary from one hour to a later one:
-- what the hourly counts hold for the hours that left a window is
-- subtracted from it (and the hours leaving the last 24 hours enter the 24
-- before). Exact for any gap, since each window is a sum of hourly counts.
create function observe.roll_issue_windows(from_hour timestamptz, to_hour timestamptz)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    rolled bigint;
begin
    update observe.issue_summary s
       set events_24h = s.events_24h - d.left_24h,
           events_prev_24h = s.events_prev_24h + d.left_24h - d.left_prev_24h,
           events_7d = s.events_7d - d.left_7d
      from (select c.issue_id,
                   coalesce(sum(c.events) filter (where c.bucket >= from_hour - interval '23 hours'
                                                    and c.bucket < to_hour - interval '23 hours'), 0) as left_24h,
                   coalesce(sum(c.events) filter (where c.bucket >= from_hour - interval '47 hours'
                                                    and c.bucket < to_hour - interval '47 hours'), 0) as left_prev_24h,
                   coalesce(sum(c.events) filter (where c.bucket >= from_hour - interval '167 hours'
                                                    and c.bucket < to_hour - interval '167 hours'), 0) as left_7d
              from observe.issue_counts c
             where c.resolution = 'hour'
               and ((c.bucket >= from_hour - interval '23 hours' and c.bucket < to_hour - interval '23 hours')
                 or (c.bucket >= from_hour - interval '47 hours' and c.bucket < to_hour - interval '47 hours')
                 or (c.bucket >= from_hour - interval '167 hours' and c.bucket < to_hour - interval '167 hours'))
             group by c.issue_id) d
     where s.issue_id = d.issue_id;
    get diagnostics rolled = row_count;
    return rolled;
end
$$;

-- Definer code never trusts a schema by its name: a role that may create
-- schemas could plant its own `cron.schedule_in_database` and have it run as
-- the extension's owner. Every call into another extension's schema goes
-- through the schema that extension really lives in, or refuses.
create function observe.extension_schema(extension name)
returns name
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    -- pg_cron and pg_net create their schema in their script, which makes it
    -- a member of the extension (their extnamespace is wherever CREATE
    -- EXTENSION happened to run); only the extension's owner can add
    -- members. Extensions without a schema of their own live in extnamespace.
    select coalesce(
               (select n.nspname
                  from pg_depend d
                  join pg_namespace n on n.oid = d.objid
                 where d.classid = 'pg_namespace'::regclass
                   and d.refclassid = 'pg_extension'::regclass
                   and d.refobjid = e.oid
                   and d.deptype = 'e'
                 order by n.nspname
                 limit 1),
               (select n.nspname from pg_namespace n where n.oid = e.extnamespace))
      from pg_extension e
     where e.extname = extension
$$;
comment on function observe.extension_schema(name) is
    'The schema an installed extension''s objects live in (null when it is not installed): how pg_observe finds pg_cron and pg_net, never by a schema name alone.';

create function observe.schedule_tick(schedule text default '* * * * *')
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cron name := observe.extension_schema('pg_cron');
    job_id bigint;
begin
    if cron is null then
        raise exception 'pg_cron is not installed in database %', current_database()
            using errcode = 'feature_not_supported',
                  hint = 'CREATE EXTENSION pg_cron (it must be in shared_preload_libraries), or from the database pg_cron runs in: '
                      || format('select cron.schedule_in_database(%L, %L, %L, %L)',
                                'observe-tick-' || current_database(), schedule, 'select observe.tick()', current_database())
                      || ', or call observe.tick() from any other scheduler every minute.';
    end if;
    execute format('select %I.schedule_in_database($1, $2, $3, $4)', cron)
       into job_id
      using 'observe-tick-' || current_database(), schedule, 'select observe.tick()', current_database();
    return job_id;
end
$$;
comment on function observe.schedule_tick(text) is
    'Registers observe.tick() with pg_cron (default: every minute); returns the pg_cron job id. Calling it again replaces the schedule.';
