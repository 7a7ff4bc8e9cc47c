-- Folding the count queue, and scheduling observe.tick() through pg_cron
-- when pg_cron is there. pg_cron runs jobs only from the database named by
-- cron.database_name; in any other database the cron schema is absent and
-- the error says what to do.

-- Moves every queued event into issue_counts and issue_users in one pass.
-- One folder at a time: a second would find nothing the first has not
-- taken, and two of them upserting the same counter rows in different
-- orders could deadlock. Events of issues deleted meanwhile are dropped.
create function observe.fold_counts()
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    folded bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('observe.fold_counts')) then
        return 0;
    end if;
    with taken as (
        delete from observe.count_queue returning *
    ), live as (
        select t.* from taken t join observe.issue_groups g on g.id = t.issue_id
    ), counted as (
        insert into observe.issue_counts as c
               (issue_id, bucket, environment, release, slot, events, first_seen, last_seen)
        select issue_id, date_trunc('minute', counted_at), environment, release, 0,
               count(*), min(counted_at), max(occurred_at)
          from live
         group by issue_id, date_trunc('minute', counted_at), environment, release
        on conflict (issue_id, bucket, environment, release, slot) do update
           set events = c.events + excluded.events,
               first_seen = least(c.first_seen, excluded.first_seen),
               last_seen = greatest(c.last_seen, excluded.last_seen)
        returning 1
    ), users as (
        insert into observe.issue_users (issue_id, user_hash, first_seen)
        select issue_id, user_hash, min(counted_at)
          from live
         where user_hash is not null
         group by issue_id, user_hash
        on conflict do nothing
        returning 1
    )
    select count(*) into folded from taken;
    update observe.fold_state set folded_at = now();
    return folded;
end
$$;
comment on function observe.fold_counts() is
    'Folds queued event counts into observe.issue_counts and observe.issue_users; returns how many events it folded. Capture calls it when nothing has for a second, and observe.tick() every minute; counts read through the views are exact either way.';

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
