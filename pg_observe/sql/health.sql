-- Health checks, Gatus-style (README, "Health checks"). A check is a URL,
-- a method and conditions on the response; the health-check edge function
-- (or observe.run_health_checks() over pg_net) runs the due ones and
-- records each result. A check goes down after failure_threshold failures
-- in a row and up after success_threshold successes; each change is a row
-- of observe.health_transitions. Conditions are parsed by Rust
-- (pg_observe_core::health) when a check is saved, so a typo is refused
-- with its column instead of failing every probe.

-- observe_prober is the health-check function's role: it claims due checks
-- and records their results, and reads nothing else.
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'observe_prober') then
        begin
            create role observe_prober nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
end
$roles$;

create table observe.health_checks (
    id bigint generated always as identity primary key,
    name text not null unique check (name ~ '^[^[:cntrl:]]{1,200}$'),
    url text not null check (length(url) <= 2048 and url ~* '^https?://[^[:space:][:cntrl:]]+$'),
    -- Stored as written (trimmed); observe.check_health_conditions() parsed them.
    conditions text[] not null,
    check_interval interval not null check (check_interval >= interval '10 seconds'),
    timeout interval not null check (timeout between interval '100 milliseconds' and interval '60 seconds'),
    method text not null check (method in ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
    environment text check (environment ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    request_headers jsonb not null check (jsonb_typeof(request_headers) = 'object'),
    body text check (octet_length(body) <= 65536),
    failure_threshold integer not null check (failure_threshold between 1 and 100),
    success_threshold integer not null check (success_threshold between 1 and 100),
    enabled boolean not null,
    -- State: up until failure_threshold failures in a row (Gatus starts a
    -- check healthy), since state_since.
    up boolean not null default true,
    state_since timestamptz not null default now(),
    consecutive_failures integer not null default 0,
    consecutive_successes integer not null default 0,
    next_run_at timestamptz not null default now(),
    last_checked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index health_checks_due_idx on observe.health_checks (next_run_at) where enabled;
comment on table observe.health_checks is
    'Health checks: what to request, the conditions its response must meet, and the check''s up/down state. Change through observe.create_health_check(), update_health_check(), delete_health_check().';

-- One row per probe. Kept 30 days by default (observe.retention, applied by
-- observe.maintain()), and
-- written in checked_at order, so partitioning by checked_at later is a
-- drop-in change.
create table observe.health_results (
    id bigint generated always as identity primary key,
    check_id bigint not null references observe.health_checks (id) on delete cascade,
    checked_at timestamptz not null,
    success boolean not null,
    status_code integer,
    response_time_ms double precision,
    -- [{condition, success, actual}]; success null: not evaluable there.
    conditions jsonb not null,
    grade text,
    score integer,
    findings jsonb,
    error text,
    source text not null check (source in ('edge', 'pg_net'))
);
create index health_results_check_idx on observe.health_results (check_id, checked_at desc);
create index health_results_checked_at_idx on observe.health_results (checked_at);
comment on table observe.health_results is
    'Every probe of every health check: status, response time, each condition''s result, the header grade. Kept as long as observe.retention says (30 days by default).';

create table observe.health_transitions (
    id bigint generated always as identity primary key,
    check_id bigint not null references observe.health_checks (id) on delete cascade,
    up boolean not null,
    at timestamptz not null,
    reason text not null
);
create index health_transitions_check_idx on observe.health_transitions (check_id, at desc);
comment on table observe.health_transitions is
    'Each time a health check went down or came back up, and why.';

-- Requests pg_net is making for observe.run_health_checks(), collected on
-- its next run.
create table observe.health_probes (
    request_id bigint primary key,
    check_id bigint not null references observe.health_checks (id) on delete cascade,
    sent_at timestamptz not null default clock_timestamp()
);

create function observe.create_health_check(
    name text,
    url text,
    conditions text[] default array['[STATUS] == 200'],
    check_interval interval default '1 minute',
    timeout interval default '10 seconds',
    method text default 'GET',
    environment text default null,
    request_headers jsonb default '{}',
    body text default null,
    failure_threshold integer default 3,
    success_threshold integer default 2,
    enabled boolean default true)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    created bigint;
begin
    if name is null or url is null then
        raise exception 'name and url are required' using errcode = 'null_value_not_allowed';
    end if;
    insert into observe.health_checks
           (name, url, conditions, check_interval, timeout, method, environment, request_headers, body,
            failure_threshold, success_threshold, enabled)
    values (name, url, observe.check_health_check(url, conditions, request_headers),
            coalesce(check_interval, '1 minute'), coalesce(timeout, '10 seconds'), upper(coalesce(method, 'GET')),
            environment, coalesce(request_headers, '{}'), body, coalesce(failure_threshold, 3),
            coalesce(success_threshold, 2), coalesce(enabled, true))
    returning id into created;
    return created;
end
$$;
comment on function observe.create_health_check(text, text, text[], interval, interval, text, text, jsonb, text, integer, integer, boolean) is
    'Creates a health check; returns its id. A condition that does not parse is refused (22023) with its column.';

-- The conditions as stored, after what a save must refuse: conditions that
-- do not parse (with their column), a certificate condition on plain HTTP,
-- request headers that are not strings.
create function observe.check_health_check(url text, conditions text[], request_headers jsonb)
returns text[]
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    parsed text[] := observe.check_health_conditions(conditions);
begin
    if url !~* '^https://' and exists (select from unnest(parsed) c where c like '%[CERTIFICATE_EXPIRATION]%') then
        raise exception '[CERTIFICATE_EXPIRATION] needs an https:// url'
            using errcode = 'invalid_parameter_value';
    end if;
    if request_headers is not null and (jsonb_typeof(request_headers) <> 'object'
        or exists (select from jsonb_each(request_headers) h where jsonb_typeof(h.value) <> 'string')) then
        raise exception 'request_headers must be a JSON object of strings'
            using errcode = 'invalid_parameter_value';
    end if;
    return parsed;
end
$$;

create function observe.update_health_check(
    check_id bigint,
    name text default null,
    url text default null,
    conditions text[] default null,
    check_interval interval default null,
    timeout interval default null,
    method text default null,
    environment text default null,
    request_headers jsonb default null,
    body text default null,
    failure_threshold integer default null,
    success_threshold integer default null,
    enabled boolean default null)
returns observe.health_checks
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    updated observe.health_checks;
begin
    perform from observe.health_checks c where c.id = check_id for update;
    if not found then
        raise exception 'health check % does not exist', check_id using errcode = 'no_data_found';
    end if;
    update observe.health_checks c
       set name = coalesce(update_health_check.name, c.name),
           url = coalesce(update_health_check.url, c.url),
           conditions = observe.check_health_check(coalesce(update_health_check.url, c.url),
                                                   coalesce(update_health_check.conditions, c.conditions),
                                                   update_health_check.request_headers),
           check_interval = coalesce(update_health_check.check_interval, c.check_interval),
           timeout = coalesce(update_health_check.timeout, c.timeout),
           method = upper(coalesce(update_health_check.method, c.method)),
           environment = coalesce(update_health_check.environment, c.environment),
           request_headers = coalesce(update_health_check.request_headers, c.request_headers),
           body = coalesce(update_health_check.body, c.body),
           failure_threshold = coalesce(update_health_check.failure_threshold, c.failure_threshold),
           success_threshold = coalesce(update_health_check.success_threshold, c.success_threshold),
           enabled = coalesce(update_health_check.enabled, c.enabled),
           updated_at = now()
     where c.id = check_id
    returning c.* into updated;
    return updated;
end
$$;
comment on function observe.update_health_check(bigint, text, text, text[], interval, interval, text, text, jsonb, text, integer, integer, boolean) is
    'Changes the arguments given (null keeps a value); returns the check. Unknown id: P0002.';

create function observe.delete_health_check(check_id bigint)
returns boolean
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    with gone as (delete from observe.health_checks c where c.id = check_id returning 1)
    select exists (select from gone)
$$;
comment on function observe.delete_health_check(bigint) is
    'Deletes a check with its results and transitions; false when there was none.';

-- Hands out due checks and moves each one's next run an interval ahead, so
-- that two probers running at once never take the same check.
create function observe.due_health_checks(max_checks integer default 50)
returns table (id bigint, name text, url text, method text, request_headers jsonb, body text,
               timeout_ms integer, conditions text[])
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    with due as (
        select c.id from observe.health_checks c
         where c.enabled and c.next_run_at <= now()
         order by c.next_run_at
         limit greatest(least(coalesce(max_checks, 50), 500), 0)
           for update skip locked
    )
    update observe.health_checks c
       set next_run_at = now() + c.check_interval
      from due
     where c.id = due.id
    returning c.id, c.name, c.url, c.method, c.request_headers, c.body,
              (extract(epoch from c.timeout) * 1000)::integer, c.conditions
$$;
comment on function observe.due_health_checks(integer) is
    'Claims up to max_checks due health checks (their next run moves one interval ahead) for the prober to run.';

create function observe.record_health_result(
    check_id bigint,
    conditions jsonb,
    status_code integer default null,
    response_time_ms double precision default null,
    headers_grade jsonb default null,
    error text default null,
    checked_at timestamptz default now(),
    source text default 'edge')
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    p_conditions alias for conditions;
    p_checked_at alias for checked_at;
    p_error alias for error;
    check_row observe.health_checks;
    kept jsonb;
    ok boolean;
    new_up boolean;
    failures integer;
    successes integer;
begin
    if check_id is null or p_conditions is null or jsonb_typeof(p_conditions) <> 'array'
       or jsonb_array_length(p_conditions) > 20 then
        raise exception 'conditions must be a JSON array of at most 20 results'
            using errcode = 'invalid_parameter_value';
    end if;
    if headers_grade is not null and (jsonb_typeof(headers_grade) <> 'object'
                                      or octet_length(headers_grade::text) > 65536) then
        raise exception 'headers_grade must be observe.grade_headers()''s object'
            using errcode = 'invalid_parameter_value';
    end if;
    select * into check_row from observe.health_checks c where c.id = check_id for update;
    if not found then
        raise exception 'health check % does not exist', check_id using errcode = 'no_data_found';
    end if;
    -- Bounded as the edge bounds them: the caller is a function, not a person.
    select coalesce(jsonb_agg(jsonb_build_object(
               'condition', left(e->>'condition', 512),
               'success', case jsonb_typeof(e->'success') when 'boolean' then e->'success' else 'null' end,
               'actual', left(e->>'actual', 200)) order by n), '[]')
      into kept
      from jsonb_array_elements(p_conditions) with ordinality as x(e, n);
    ok := p_error is null
          and not exists (select from jsonb_array_elements(kept) e where e->'success' = 'false'::jsonb);

    insert into observe.health_results
           (check_id, checked_at, success, status_code, response_time_ms, conditions, grade, score, findings,
            error, source)
    values (check_id, coalesce(p_checked_at, now()), ok, status_code, response_time_ms, kept,
            left(headers_grade->>'grade', 2), (headers_grade->>'score')::integer, headers_grade->'findings',
            left(p_error, 1000), coalesce(source, 'edge'));

    failures := case when ok then 0 else check_row.consecutive_failures + 1 end;
    successes := case when ok then check_row.consecutive_successes + 1 else 0 end;
    new_up := case
                  when check_row.up and failures >= check_row.failure_threshold then false
                  when not check_row.up and successes >= check_row.success_threshold then true
                  else check_row.up
              end;
    if new_up <> check_row.up then
        insert into observe.health_transitions (check_id, up, at, reason)
        values (check_id, new_up, coalesce(p_checked_at, now()),
                case when new_up then format('%s successful checks in a row', successes)
                     else format('%s failed checks in a row; last: %s', failures,
                                 coalesce(left(p_error, 200),
                                          (select string_agg(e->>'condition', ', ') from jsonb_array_elements(kept) e
                                            where e->'success' = 'false'::jsonb)))
                end);
    end if;
    update observe.health_checks c
       set up = new_up,
           state_since = case when new_up <> check_row.up then coalesce(p_checked_at, now()) else c.state_since end,
           consecutive_failures = failures,
           consecutive_successes = successes,
           last_checked_at = greatest(c.last_checked_at, coalesce(p_checked_at, now()))
     where c.id = check_id;
    return jsonb_build_object('success', ok, 'up', new_up, 'changed', new_up <> check_row.up);
end
$$;
comment on function observe.record_health_result(bigint, jsonb, integer, double precision, jsonb, text, timestamptz, text) is
    'Records one probe of a check (conditions: [{condition, success, actual}], headers_grade: observe.grade_headers() of the response) and moves its up/down state; returns {success, up, changed}.';

-- Without the edge function: pg_net makes the requests. Each run collects
-- the responses of the previous run's requests and issues the due GET
-- checks. pg_net reports no timings, so the response time is the time from
-- issuing to pg_net storing the response, which includes pg_net's own
-- queueing; [CERTIFICATE_EXPIRATION] cannot be evaluated (null results).
create function observe.run_health_checks()
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    net name := observe.extension_schema('pg_net');
    probe record;
    response record;
    due record;
    request_id bigint;
    collected integer := 0;
    issued integer := 0;
begin
    if net is null then
        raise exception 'pg_net is not installed in database %', current_database()
            using errcode = 'feature_not_supported',
                  hint = 'CREATE EXTENSION pg_net, or call the health-check edge function on a schedule.';
    end if;
    for probe in
        select p.request_id, p.check_id, p.sent_at, c.conditions, c.timeout
          from observe.health_probes p join observe.health_checks c on c.id = p.check_id
         order by p.sent_at
    loop
        execute format('select r.status_code, r.headers, r.content, r.timed_out, r.error_msg, r.created
                          from %I._http_response r where r.id = $1', net)
           into response using probe.request_id;
        if response.created is null then
            -- pg_net keeps responses for a while only; a probe it never
            -- answered is a failure once well past its timeout.
            if probe.sent_at > clock_timestamp() - probe.timeout - interval '1 minute' then
                continue;
            end if;
            select null::integer as status_code, null::jsonb as headers, null::text as content,
                   false as timed_out, 'pg_net stored no response'::text as error_msg, clock_timestamp() as created
              into response;
        end if;
        perform observe.record_health_result(
            check_id => probe.check_id,
            conditions => observe.evaluate_health_conditions(
                probe.conditions,
                case when response.error_msg is null and not coalesce(response.timed_out, false)
                     then response.status_code end,
                extract(epoch from response.created - probe.sent_at)::double precision * 1000,
                response.content, response.headers),
            status_code => response.status_code,
            response_time_ms => extract(epoch from response.created - probe.sent_at)::double precision * 1000,
            headers_grade => case when response.headers is not null and jsonb_typeof(response.headers) = 'object'
                                  then observe.grade_headers(response.headers) end,
            error => case when coalesce(response.timed_out, false) then 'timed out'
                          else left(response.error_msg, 1000) end,
            checked_at => response.created,
            source => 'pg_net');
        delete from observe.health_probes p where p.request_id = probe.request_id;
        collected := collected + 1;
    end loop;

    for due in
        with candidates as (
            select c.id from observe.health_checks c
             where c.enabled and c.method = 'GET' and c.next_run_at <= now()
               and not exists (select from observe.health_probes p where p.check_id = c.id)
             order by c.next_run_at
             limit 200
               for update skip locked
        )
        update observe.health_checks c
           set next_run_at = now() + c.check_interval
          from candidates
         where c.id = candidates.id
        returning c.id, c.url, c.request_headers, (extract(epoch from c.timeout) * 1000)::integer as timeout_ms
    loop
        execute format('select %I.http_get(url => $1, headers => $2, timeout_milliseconds => $3)', net)
           into request_id
          using due.url, due.request_headers, due.timeout_ms;
        insert into observe.health_probes (request_id, check_id) values (request_id, due.id);
        issued := issued + 1;
    end loop;
    return jsonb_build_object('collected', collected, 'issued', issued);
end
$$;
comment on function observe.run_health_checks() is
    'Runs the due GET health checks through pg_net and records the responses of the previous run''s requests; schedule it every minute (pg_cron). Returns {collected, issued}.';

-- The latest result of every check, with its state.
create view observe.health_status with (security_invoker = true) as
select c.id as check_id, c.name, c.url, c.environment, c.enabled, c.up, c.state_since as since,
       r.checked_at as last_checked_at, r.success as last_success, r.status_code, r.response_time_ms,
       r.grade, r.score, r.findings, r.conditions, r.error,
       c.consecutive_failures, c.consecutive_successes
  from observe.health_checks c
  left join lateral (
      select * from observe.health_results r
       where r.check_id = c.id
       order by r.checked_at desc
       limit 1) r on true;
comment on view observe.health_status is
    'Each health check''s state (up, since when) and latest result: status code, response time, header grade, score and findings, conditions.';

create view observe.uptime with (security_invoker = true) as
select c.id as check_id, c.name, c.environment, w.period,
       count(r.id) as checks,
       round(100.0 * count(r.id) filter (where r.success) / nullif(count(r.id), 0), 3) as uptime_percent,
       percentile_cont(0.5) within group (order by r.response_time_ms) as p50_response_time_ms,
       percentile_cont(0.95) within group (order by r.response_time_ms) as p95_response_time_ms
  from observe.health_checks c
 cross join (values ('24h', interval '24 hours'), ('7d', interval '7 days'), ('30d', interval '30 days')) as w(period, span)
  left join observe.health_results r on r.check_id = c.id and r.checked_at > now() - w.span
 group by c.id, c.name, c.environment, w.period, w.span;
comment on view observe.uptime is
    'Uptime (share of successful probes) and p50 / p95 response time of each health check over 24 h, 7 d and 30 d.';

-- The alerting metric health_failures: checks down, per environment.
create view observe.health_failures with (security_invoker = true) as
select c.environment, count(*) filter (where not c.up) as down, count(*) as checks,
       coalesce(array_agg(c.name order by c.name) filter (where not c.up), '{}') as down_checks
  from observe.health_checks c
 where c.enabled
 group by c.environment;
comment on view observe.health_failures is
    'The health_failures alert metric: enabled checks that are down, per environment (null: checks without one).';
