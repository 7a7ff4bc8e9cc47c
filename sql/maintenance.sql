-- Scheduling of observe.tick() through pg_cron, when pg_cron is there.
-- pg_cron runs jobs only from the database named by cron.database_name; in
-- any other database the cron schema is absent and this says what to do.

create function observe.schedule_tick(schedule text default '* * * * *')
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    job_id bigint;
begin
    if to_regnamespace('cron') is null then
        raise exception 'pg_cron is not installed in database %', current_database()
            using errcode = 'feature_not_supported',
                  hint = 'CREATE EXTENSION pg_cron (it must be in shared_preload_libraries), or from the database pg_cron runs in: '
                      || format('select cron.schedule_in_database(%L, %L, %L, %L)',
                                'observe-tick-' || current_database(), schedule, 'select observe.tick()', current_database())
                      || ', or call observe.tick() from any other scheduler every minute.';
    end if;
    execute 'select cron.schedule_in_database($1, $2, $3, $4)'
       into job_id
      using 'observe-tick-' || current_database(), schedule, 'select observe.tick()', current_database();
    return job_id;
end
$$;
comment on function observe.schedule_tick(text) is
    'Registers observe.tick() with pg_cron (default: every minute); returns the pg_cron job id. Calling it again replaces the schedule.';
