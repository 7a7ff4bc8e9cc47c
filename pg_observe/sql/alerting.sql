-- Alert rules, their alerts, notification groups and silences
-- (ARCHITECTURE.md, "Alerting"). What a rule may say is checked in Rust when
-- it is saved (pg_observe_core::alerting::rule); evaluation and the event
-- rules' trigger are Rust too (pg_observe/src/alerting/).

create table observe.alert_rules (
    id bigint generated always as identity primary key,
    name text not null unique,
    kind text not null check (kind in ('threshold', 'new_issue', 'regression')),
    metric text not null check (metric in ('error_events', 'log_events', 'affected_users', 'issue_events',
                                           'error_rate', 'health_failures', 'web_vital_p75')),
    service text,
    environment text,
    level observe.level,
    issue_id bigint,
    match jsonb not null default '{}' check (jsonb_typeof(match) = 'object'),
    comparator text not null check (comparator in ('>', '>=', '<', '<=', '=', '!=')),
    threshold double precision,
    window_size interval not null,
    pending_for interval not null,
    keep_firing_for interval not null,
    repeat_interval interval not null,
    group_wait interval not null,
    group_interval interval not null,
    group_by text[] not null default '{}',
    severity text not null check (severity in ('low', 'medium', 'high', 'critical')),
    labels jsonb not null default '{}' check (jsonb_typeof(labels) = 'object'),
    annotations jsonb not null default '{}' check (jsonb_typeof(annotations) = 'object'),
    recipients text[] not null default '{}',
    send_resolved boolean not null default true,
    enabled boolean not null default true,
    created_by name not null default observe.acting_role(),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table observe.alert_rules is
    'Alert rules; create, change and delete them with observe.create_alert_rule(), update_alert_rule() and delete_alert_rule().';

-- One row per rule and label set; its state changes are in alert_events.
create table observe.alerts (
    id bigint generated always as identity primary key,
    rule_id bigint not null references observe.alert_rules (id) on delete cascade,
    labels jsonb not null,
    label_key text not null,
    group_key text not null,
    state text not null check (state in ('inactive', 'pending', 'firing', 'resolved')),
    -- The metric's value at the last change of state.
    value double precision,
    active_since timestamptz,
    fired_at timestamptz,
    resolved_at timestamptz,
    keep_firing_since timestamptz,
    evaluated_at timestamptz not null,
    unique (rule_id, label_key)
);
create index alerts_state_idx on observe.alerts (state) where state in ('pending', 'firing');
comment on table observe.alerts is
    'One alert per rule and label set: inactive, pending, firing or resolved, with the value that caused the last change.';

create table observe.alert_events (
    id bigint generated always as identity primary key,
    alert_id bigint not null references observe.alerts (id) on delete cascade,
    rule_id bigint not null,
    labels jsonb not null,
    from_state text not null,
    to_state text not null,
    value double precision,
    at timestamptz not null,
    recorded_at timestamptz not null default now()
);
create index alert_events_alert_id_idx on observe.alert_events (alert_id, at);
comment on table observe.alert_events is 'Every change of state of every alert, in order.';

-- Alertmanager's notification groups: one rule, equal group labels. `sent`
-- is the last notification whose time came; `pending` one queued for later
-- that the group may still change (pg_observe_core::alerting::group).
create table observe.alert_groups (
    rule_id bigint not null references observe.alert_rules (id) on delete cascade,
    group_key text not null,
    labels jsonb not null,
    episode_since timestamptz,
    sent jsonb,
    pending jsonb,
    pending_notification uuid,
    updated_at timestamptz not null default now(),
    primary key (rule_id, group_key)
);

create table observe.silences (
    id uuid primary key default gen_random_uuid(),
    matchers jsonb not null,
    starts_at timestamptz not null default now(),
    ends_at timestamptz not null,
    comment text,
    created_by name not null default observe.acting_role(),
    created_at timestamptz not null default now(),
    check (ends_at > starts_at)
);
comment on table observe.silences is
    'Silences: alerts matching them change state but queue nothing until ends_at; observe.silence() and observe.expire_silence().';

create view observe.active_alerts with (security_invoker = true) as
select a.id, r.name as rule, r.severity, a.labels, a.state, a.value, a.active_since, a.fired_at,
       exists (select from observe.silences s
                where s.starts_at <= now() and s.ends_at > now()
                  and observe.silence_matches(s.matchers, a.labels)) as silenced
  from observe.alerts a
  join observe.alert_rules r on r.id = a.rule_id
 where a.state in ('pending', 'firing');
comment on view observe.active_alerts is 'Alerts pending or firing now, with their rule, severity and whether a silence mutes them.';

create function observe.expire_silence(id uuid)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update observe.silences s
       set ends_at = greatest(now(), s.starts_at + interval '1 microsecond')
     where s.id = expire_silence.id and s.ends_at > now();
    if not found and not exists (select from observe.silences s where s.id = expire_silence.id) then
        raise exception 'silence % does not exist', id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.expire_silence(uuid) is 'Ends a silence now.';

-- Event rules fire in the transaction that creates or regresses an issue.
create function observe.issue_activity_fires_rules()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform observe.fire_event_rules(new.issue_id, new.kind);
    return null;
end
$$;

create trigger issue_activity_fires_rules
    after insert on observe.issue_activity
    for each row
    when (new.kind in ('created', 'regressed'))
    execute function observe.issue_activity_fires_rules();

-- pg_cron runs the periodic work: evaluation every minute (every 10 seconds
-- where pg_cron schedules by the second, 1.5 and later) and tick every
-- minute, which folds the counts and runs observe.maintain() (partitions,
-- retention, log rollups: the minutes log_events reads must be rolled up). Like every call into pg_cron, through the schema
-- the real extension created (observe.extension_schema()).
create function observe.schedule_jobs()
returns table (job name, schedule text, command text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cron name := observe.extension_schema('pg_cron');
    seconds boolean;
    jobs constant text[][] := array[
        ['evaluate', 'select observe.evaluate_alerts()'],
        ['tick', 'select observe.tick()']
    ];
    i integer;
begin
    if cron is null then
        raise exception 'pg_cron is not installed in database %', current_database()
            using errcode = 'feature_not_supported',
                  hint = 'CREATE EXTENSION pg_cron (it must be in shared_preload_libraries), or call observe.evaluate_alerts() and observe.tick() every minute from any other scheduler.';
    end if;
    seconds := (select string_to_array(substring(e.extversion from '^\d+\.\d+'), '.')::int[] >= array[1, 5]
                  from pg_extension e where e.extname = 'pg_cron');
    for i in 1 .. array_length(jobs, 1) loop
        job := format('observe-%s-%s', jobs[i][1], current_database());
        schedule := case jobs[i][1]
                        when 'evaluate' then case when seconds then '10 seconds' else '* * * * *' end
                        else '* * * * *'
                    end;
        command := jobs[i][2];
        execute format('select %I.schedule_in_database($1, $2, $3, $4)', cron)
          using job, schedule, command, current_database();
        return next;
    end loop;
end
$$;
comment on function observe.schedule_jobs() is
    'Registers pg_observe''s periodic work with pg_cron: alert evaluation every minute (10 s with pg_cron 1.5+) and tick (which runs observe.maintain()) every minute. Calling it again replaces the schedules.';

create function observe.unschedule_jobs()
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    cron name := observe.extension_schema('pg_cron');
    removed integer := 0;
    job text;
    found_job boolean;
begin
    if cron is null then
        raise exception 'pg_cron is not installed in database %', current_database()
            using errcode = 'feature_not_supported';
    end if;
    foreach job in array array['evaluate', 'tick'] loop
        job := format('observe-%s-%s', job, current_database());
        execute format('select exists (select from %I.job where jobname = $1)', cron) into found_job using job;
        if found_job then
            execute format('select %I.unschedule($1)', cron) using job;
            removed := removed + 1;
        end if;
    end loop;
    return removed;
end
$$;
comment on function observe.unschedule_jobs() is 'Removes the jobs observe.schedule_jobs() registered; returns how many there were.';
