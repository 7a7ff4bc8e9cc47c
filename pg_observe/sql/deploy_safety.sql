-- Deploy safety: whether a deploy is healthy (observe.verify_deploy), the
-- thresholds per environment (observe.deploy_policies), the verdicts kept on
-- the deploy, rollbacks, DORA's four keys (observe.dora), web-vitals budgets
-- (observe.budgets, observe.check_budgets) and the latency middleware
-- reports (observe.record_latencies). SQL gathers the facts; the decisions
-- are pg_observe_core's (verdict, dora, vitals_budget), so the CLI and the
-- tests read the same rules (ARCHITECTURE.md, "Deploy safety").

-- When the deploy's commit was made: the start of DORA's lead time.
-- `pg-observe deploy record` fills it (from git when not given).
alter table observe.deployments add column committed_at timestamptz;

create table observe.deploy_policies (
    environment text primary key check (environment ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    -- Failed requests (5xx) over requests above this fails.
    max_error_rate double precision not null default 0.05 check (max_error_rate > 0 and max_error_rate < 1),
    -- Error events per request (per minute without request counts) after
    -- the deploy may be this many times the baseline's before it fails.
    max_error_rate_ratio double precision not null default 1.5 check (max_error_rate_ratio >= 1),
    -- Significance level of every test.
    significance double precision not null default 0.05 check (significance > 0 and significance <= 0.5),
    -- Fewer requests (page loads without request counts) after the deploy
    -- than this is inconclusive, never a pass.
    min_requests integer not null default 100 check (min_requests >= 0),
    max_new_issues integer not null default 0 check (max_new_issues >= 0),
    max_regressions integer not null default 0 check (max_regressions >= 0),
    -- p95 request latency above this fails; null: no latency gate.
    max_p95_ms double precision default 500 check (max_p95_ms > 0),
    min_latency_samples integer not null default 20 check (min_latency_samples >= 1),
    -- A health check of the environment down since the deploy fails it.
    health_gate boolean not null default true,
    -- An error-level web-vitals budget broken since the deploy fails it.
    budget_gate boolean not null default true,
    -- Only these services' errors count; null: every service.
    services text[],
    -- Who is told of a failed verdict; empty: the dispatcher's fallback.
    recipients text[] not null default '{}' check (cardinality(recipients) <= 50),
    updated_at timestamptz not null default now()
);
comment on table observe.deploy_policies is
    'Thresholds of observe.verify_deploy per environment; an environment without a row gets the column defaults. Change with observe.set_deploy_policy().';
insert into observe.deploy_policies (environment) values ('development'), ('preview'), ('staging'), ('production');

create table observe.deploy_verifications (
    id bigint generated always as identity primary key,
    deployment bigint not null references observe.deployments (id) on delete cascade,
    deployment_id text not null,
    environment text not null,
    verdict text not null check (verdict in ('pass', 'fail', 'inconclusive')),
    reasons jsonb not null check (jsonb_typeof(reasons) = 'array'),
    metrics jsonb not null check (jsonb_typeof(metrics) = 'object'),
    window_size interval not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    policy jsonb not null,
    -- The alert a failed verdict queued.
    notification_id uuid,
    verified_at timestamptz not null default now(),
    -- A staged deploy is verified on staging, then again in production.
    unique (deployment, environment, window_size)
);
create index deploy_verifications_verified_at_idx on observe.deploy_verifications (environment, verified_at);
comment on table observe.deploy_verifications is
    'Final verdicts of observe.verify_deploy: stored once the window is over, or at once when the deploy fails; one per deploy, environment and window size, the latest wins.';

create table observe.deploy_rollbacks (
    id bigint generated always as identity primary key,
    environment text not null,
    from_deployment bigint references observe.deployments (id) on delete set null,
    to_deployment bigint not null references observe.deployments (id) on delete cascade,
    reason text,
    rolled_back_at timestamptz not null,
    actor name not null default observe.acting_role()
);
create index deploy_rollbacks_from_idx on observe.deploy_rollbacks (from_deployment);
comment on table observe.deploy_rollbacks is
    'Every rollback: which deploy was live, which one production went back to, when and why (pg-observe deploy rollback).';

-- Request durations middleware reports, in batches: the latency gate's
-- p95. One row per batch keeps writers off each other's rows.
create table observe.request_latencies (
    id bigint generated always as identity primary key,
    service text not null,
    environment text,
    route text,
    at timestamptz not null,
    durations_ms real[] not null check (cardinality(durations_ms) between 1 and 10000),
    writer_role name not null default observe.acting_role()
);
create index request_latencies_at_idx on observe.request_latencies (environment, at);
comment on table observe.request_latencies is
    'Request durations (ms) reported by middleware in batches (observe.record_latencies); the p95 deploy verification checks. Kept 30 days.';

create table observe.budgets (
    id bigint generated always as identity primary key,
    metric text not null check (metric in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')),
    -- A POSIX regular expression over the page URL (Lighthouse CI's
    -- matchingUrlPattern); null: every page.
    page_pattern text check (length(page_pattern) <= 1000),
    -- Null: every environment.
    environment text check (environment ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    -- p75 ceiling: milliseconds, or CLS's unitless score.
    threshold double precision not null check (threshold > 0),
    level text not null check (level in ('warn', 'error')),
    -- Pages with fewer beacons in the window are not judged.
    min_samples integer not null check (min_samples between 1 and 100000),
    source text not null,
    created_at timestamptz not null default now()
);
comment on table observe.budgets is
    'Web-vitals budgets: a p75 ceiling per metric, page pattern and environment, at level warn or error. observe.create_budget(), import_lighthouse_budgets(), check_budgets().';

-- Internal: the number of error events, requests, page loads and the p95
-- latency of an environment between two instants.
create function observe.deploy_window(environment text, services text[], since timestamptz, until timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    env alias for environment;
    errors bigint;
    requests bigint;
    failed bigint;
    loads bigint;
    p95 double precision;
    samples bigint;
    -- Counts per minute cannot be split inside a minute, so a window counts
    -- the minutes that end inside it: the minute a deploy went live in counts
    -- after it, never before, and a window that is over counts nothing that
    -- came after its end. An open window (until is now) also counts the
    -- minute in progress.
    lo constant timestamptz := date_trunc('minute', since);
    hi constant timestamptz := case when until >= now() then until else date_trunc('minute', until) end;
begin
    -- Minute counts are exact (kept for observe.retention's minute_rollups); an issue counts
    -- when its worst level is error or fatal.
    select coalesce(sum(c.events), 0) into errors
      from observe.event_counts c
      join observe.issue_groups g on g.id = c.issue_id
     where c.resolution = 'minute' and c.environment = env
       and c.bucket >= lo and c.bucket < hi
       and g.level >= 'error'
       and (services is null or g.service = any (services));

    -- The request denominator, where middleware records it (the storage
    -- work's observe.request_counts); null when it records nothing here.
    if to_regclass('observe.request_counts') is not null then
        execute $q$
            select sum(r.requests)::bigint, sum(r.errors)::bigint
              from (select rc.requests, rc.errors from observe.request_counts rc
                     where rc.resolution = 'minute' and rc.environment = $1
                       and rc.bucket >= $2 and rc.bucket < $3
                       and ($4::text[] is null or rc.service = any ($4))
                    union all
                    select rq.requests, rq.errors from observe.request_queue rq
                     where rq.environment = $1 and rq.at >= $2 and rq.at < $3
                       and ($4::text[] is null or rq.service = any ($4))) r
        $q$ into requests, failed using env, lo, hi, services;
    end if;

    -- Page loads: each load reports every metric at most once, so the most
    -- reported metric counts the loads.
    select coalesce(max(n), 0) into loads
      from (select count(*) as n from observe.web_vitals v
             where v.environment = env and v.received_at >= since and v.received_at < until
             group by v.name) m;

    select percentile_cont(0.95) within group (order by d), count(d) into p95, samples
      from observe.request_latencies l, unnest(l.durations_ms) d
     where l.environment = env and l.at >= since and l.at < until
       and (services is null or l.service = any (services));

    return jsonb_build_object(
        'seconds', greatest(extract(epoch from hi - lo), 0),
        'error_events', errors, 'requests', requests, 'failed_requests', failed,
        'page_loads', loads, 'latency_p95_ms', p95, 'latency_samples', samples);
end
$$;

-- Internal: budgets that apply to an environment (all budgets when null),
-- each with the p75 of every page it covers between two instants.
create function observe.budget_observations(environment text, release text, since timestamptz, until timestamptz)
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
               'id', b.id, 'metric', b.metric, 'page_pattern', b.page_pattern, 'environment', b.environment,
               'threshold', b.threshold, 'level', b.level, 'min_samples', b.min_samples,
               'pages', coalesce(p.pages, '[]')) order by b.id), '[]')
      from observe.budgets b
      left join lateral (
          select jsonb_agg(jsonb_build_object('page', x.page, 'p75', x.p75, 'samples', x.samples) order by x.page) as pages
            from (select v.page, percentile_cont(0.75) within group (order by v.value) as p75, count(*) as samples
                    from observe.web_vitals v
                   where v.name = b.metric
                     and v.received_at >= since and v.received_at < until
                     and (coalesce(budget_observations.environment, b.environment) is null
                          or v.environment = coalesce(budget_observations.environment, b.environment))
                     and (budget_observations.release is null or v.release = budget_observations.release)
                     and (b.page_pattern is null or v.page ~ b.page_pattern)
                   group by v.page) x) p on true
     where budget_observations.environment is null or b.environment is null
        or b.environment = budget_observations.environment
$$;

create function observe.verify_deploy(deployment_id text, window_size interval default '15 minutes')
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    wanted alias for deployment_id;
    d observe.deployments;
    prev observe.deployments;
    pol observe.deploy_policies;
    policy jsonb;
    at_ timestamptz := clock_timestamp();
    ready timestamptz;
    window_end timestamptz;
    until timestamptz;
    facts jsonb;
    result jsonb;
    complete boolean;
    stored boolean := false;
    verification observe.deploy_verifications;
    notification uuid;
    failing text;
begin
    if wanted is null then
        raise exception 'deployment_id is required' using errcode = 'null_value_not_allowed';
    end if;
    if window_size is null or window_size < interval '10 seconds' or window_size > interval '1 day' then
        raise exception 'window_size must be between 10 seconds and 1 day, got %', window_size
            using errcode = 'invalid_parameter_value';
    end if;
    select x.* into d from observe.deployments x where x.deployment_id = wanted
     order by x.created_at desc limit 1;
    if not found then
        raise exception 'deploy "%" is not known', wanted using errcode = 'no_data_found',
            hint = 'Record it first: the deploy-events webhook, observe.record_deploy() or pg-observe deploy record.';
    end if;
    -- Live since: its promotion for a deploy staged first, else ready.
    ready := coalesce(d.promoted_at, d.ready_at);
    if ready is null then
        raise exception 'deploy "%" is not serving yet (state %)', wanted, d.state
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    window_end := ready + window_size;
    until := least(at_, window_end);

    select p.* into pol from observe.deploy_policies p where p.environment = d.environment;
    policy := case when found
                   then to_jsonb(pol) - array['environment', 'services', 'recipients', 'updated_at']
                   else '{}' end;

    -- The previous deploy of the environment, over its own first window
    -- (cut short where this one began).
    select x.* into prev from observe.deployments x
     where x.environment = d.environment and x.id <> d.id
       and coalesce(x.promoted_at, x.ready_at) < ready
     order by coalesce(x.promoted_at, x.ready_at) desc limit 1;

    facts := jsonb_build_object(
        'elapsed_seconds', greatest(extract(epoch from until - ready), 0),
        'window_seconds', extract(epoch from window_size),
        'after', observe.deploy_window(d.environment, pol.services, ready, until),
        'before', observe.deploy_window(d.environment, pol.services, ready - window_size, ready),
        'previous', case when prev.id is not null then jsonb_build_object(
            'deployment_id', prev.deployment_id,
            'window', observe.deploy_window(d.environment, pol.services, coalesce(prev.promoted_at, prev.ready_at),
                                            least(coalesce(prev.promoted_at, prev.ready_at) + window_size, ready))) end,
        'new_issues', (select coalesce(jsonb_agg(jsonb_build_object('id', g.id, 'title', g.title, 'level', g.level) order by a.at), '[]')
                         from observe.issue_activity a join observe.issue_groups g on g.id = a.issue_id
                        where a.kind = 'created' and a.at >= ready and a.at < until
                          and (pol.services is null or g.service = any (pol.services))
                          and exists (select from observe.event_counts c
                                       where c.issue_id = a.issue_id and c.environment = d.environment)),
        'regressions', (select coalesce(jsonb_agg(jsonb_build_object('id', g.id, 'title', g.title, 'level', g.level) order by a.at), '[]')
                          from observe.issue_activity a join observe.issue_groups g on g.id = a.issue_id
                         where a.kind = 'regressed' and a.at >= ready and a.at < until
                           and (pol.services is null or g.service = any (pol.services))
                           and exists (select from observe.event_counts c
                                        where c.issue_id = a.issue_id and c.environment = d.environment)),
        'health_checks', (select coalesce(jsonb_agg(jsonb_build_object(
                                     'name', c.name,
                                     'down_now', not c.up or exists (select from observe.health_transitions t
                                                                      where t.check_id = c.id and not t.up
                                                                        and t.at >= ready and t.at < until))
                                     order by c.name), '[]')
                            from observe.health_checks c
                           where c.enabled and c.environment = d.environment),
        'budgets', observe.budget_observations(d.environment, null, ready, until));

    result := observe.deploy_verdict(facts, policy);
    complete := (result->'metrics'->>'complete')::boolean;

    -- Only a final verdict is kept: the window is over, or the deploy has
    -- already failed.
    if complete or result->>'verdict' = 'fail' then
        insert into observe.deploy_verifications as v
               (deployment, deployment_id, environment, verdict, reasons, metrics, window_size,
                window_start, window_end, policy, verified_at)
        values (d.id, d.deployment_id, d.environment, result->>'verdict', result->'reasons', result->'metrics',
                window_size, ready, window_end, policy, at_)
        on conflict on constraint deploy_verifications_deployment_environment_window_size_key do update
           set verdict = excluded.verdict, reasons = excluded.reasons, metrics = excluded.metrics,
               policy = excluded.policy, verified_at = excluded.verified_at
        returning v.* into verification;
        stored := true;

        if result->>'verdict' = 'fail' then
            select string_agg(r->>'message', '; ') into failing
              from jsonb_array_elements(result->'reasons') r where r->>'status' = 'fail';
            -- Once per deploy: the key makes a re-verification alert no one twice.
            notification := observe.enqueue_notification(
                idempotency_key => 'deploy-verification-failed:' || d.id,
                kind => 'firing',
                subject => format('[CRITICAL][%s] Deploy %s failed verification', d.environment, d.deployment_id),
                payload => jsonb_build_object(
                    'rule', 'deploy verification',
                    'severity', 'critical',
                    'environment', d.environment,
                    'metric', 'deploy_verdict',
                    'window', window_size::text,
                    'value', 'fail',
                    'labels', jsonb_build_object('deployment_id', d.deployment_id, 'provider', d.provider,
                                                 'environment', d.environment, 'commit_sha', d.commit_sha),
                    'annotations', jsonb_build_object(
                        'summary', failing,
                        'description', 'pg_observe compared the window after the deploy became ready with the window before it and the previous deploy; roll back with pg-observe deploy rollback.'),
                    'links', case when d.url is null then '{}'::jsonb
                                  else jsonb_build_object('deployment', case when d.url ~* '^https?://' then d.url
                                                                             else 'https://' || d.url end) end),
                recipients => coalesce(pol.recipients, '{}'),
                group_key => 'deploy-verification:' || d.environment);
            update observe.deploy_verifications v set notification_id = notification
             where v.id = verification.id;
        end if;
    end if;

    return result || jsonb_build_object(
        'deployment_id', d.deployment_id, 'environment', d.environment, 'provider', d.provider,
        'window', jsonb_build_object('start', ready, 'end', window_end),
        'stored', stored, 'notification_id', notification);
end
$$;
comment on function observe.verify_deploy(text, interval) is
    'Whether a deploy is healthy: {verdict: pass | fail | inconclusive, reasons: [{check, status, message}], metrics}, comparing the window after it became ready with the window before and with the previous deploy. A failed verdict is stored at once and queues an alert; a pass needs the whole window. Unknown deploy: P0002; not serving yet: 55000.';

create function observe.set_deploy_policy(
    environment text,
    max_error_rate double precision default null,
    max_error_rate_ratio double precision default null,
    significance double precision default null,
    min_requests integer default null,
    max_new_issues integer default null,
    max_regressions integer default null,
    max_p95_ms double precision default null,
    min_latency_samples integer default null,
    health_gate boolean default null,
    budget_gate boolean default null,
    services text[] default null,
    recipients text[] default null)
returns observe.deploy_policies
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    env alias for environment;
    policy observe.deploy_policies;
begin
    if env is null then
        raise exception 'environment is required' using errcode = 'null_value_not_allowed';
    end if;
    if exists (select from unnest(recipients) r where r is null or r !~ '^[^@\s]+@[^@\s]+$') then
        raise exception 'every recipient must be an e-mail address' using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.deploy_policies as p (environment) values (env)
    on conflict on constraint deploy_policies_pkey do nothing;
    update observe.deploy_policies p
       set max_error_rate = coalesce(set_deploy_policy.max_error_rate, p.max_error_rate),
           max_error_rate_ratio = coalesce(set_deploy_policy.max_error_rate_ratio, p.max_error_rate_ratio),
           significance = coalesce(set_deploy_policy.significance, p.significance),
           min_requests = coalesce(set_deploy_policy.min_requests, p.min_requests),
           max_new_issues = coalesce(set_deploy_policy.max_new_issues, p.max_new_issues),
           max_regressions = coalesce(set_deploy_policy.max_regressions, p.max_regressions),
           max_p95_ms = coalesce(set_deploy_policy.max_p95_ms, p.max_p95_ms),
           min_latency_samples = coalesce(set_deploy_policy.min_latency_samples, p.min_latency_samples),
           health_gate = coalesce(set_deploy_policy.health_gate, p.health_gate),
           budget_gate = coalesce(set_deploy_policy.budget_gate, p.budget_gate),
           services = coalesce(set_deploy_policy.services, p.services),
           recipients = coalesce(set_deploy_policy.recipients, p.recipients),
           updated_at = now()
     where p.environment = env
    returning p.* into policy;
    return policy;
exception
    when check_violation then
        raise exception 'deploy policy for %: %', env, sqlerrm using errcode = 'invalid_parameter_value';
end
$$;
comment on function observe.set_deploy_policy(text, double precision, double precision, double precision, integer, integer, integer, double precision, integer, boolean, boolean, text[], text[]) is
    'Creates or changes the verification thresholds of an environment; arguments left null keep their value.';

-- A deploy recorded from CI (pg-observe deploy record), where no webhook
-- reports it: one event through observe.record_deploy_event, plus the commit
-- time DORA's lead time needs.
create function observe.record_deploy(
    deployment_id text,
    environment text,
    commit_sha text default null,
    url text default null,
    state text default 'ready',
    occurred_at timestamptz default now(),
    committed_at timestamptz default null,
    provider text default 'vercel',
    project text default null,
    branch text default null)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    result jsonb;
begin
    if environment is null or environment !~ '^[a-z0-9][a-z0-9_.-]{0,63}$' then
        raise exception 'environment must be a lowercase name such as production, got %', coalesce('"' || environment || '"', 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    result := observe.record_deploy_event(
        provider => provider,
        event_id => format('pg-observe:%s:%s:%s', deployment_id, state, extract(epoch from occurred_at)),
        deployment_id => deployment_id, state => state, occurred_at => occurred_at,
        event_type => 'pg-observe.' || state, project => project, environment => environment, url => url,
        commit_sha => commit_sha, branch => branch,
        payload => jsonb_build_object('source', 'pg-observe', 'committed_at', committed_at));
    if committed_at is not null then
        update observe.deployments d set committed_at = record_deploy.committed_at
         where d.id = (result->>'deployment')::bigint;
    end if;
    return result;
end
$$;
comment on function observe.record_deploy(text, text, text, text, text, timestamptz, timestamptz, text, text, text) is
    'Records a deploy (or a later state of it) from CI: {deployment, state, replayed}; the commit time feeds DORA''s lead time.';

-- A rollback from one deploy to an earlier one. It is not recorded as a
-- promotion of the target, so the target keeps the time it first went live
-- (DORA's lead time, its verification window); observe.live_deploy()
-- counts the rollback as the moment it became live again.
create function observe.record_rollback(
    to_deployment_id text,
    from_deployment_id text default null,
    reason text default null,
    rolled_back_at timestamptz default now())
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    target observe.deployments;
    source observe.deployments;
    rollback_id bigint;
begin
    select d.* into target from observe.deployments d where d.deployment_id = to_deployment_id
     order by d.created_at desc limit 1;
    if not found then
        raise exception 'deploy "%" is not known', to_deployment_id using errcode = 'no_data_found';
    end if;
    if from_deployment_id is not null then
        select d.* into source from observe.deployments d where d.deployment_id = from_deployment_id
         order by d.created_at desc limit 1;
        if not found then
            raise exception 'deploy "%" is not known', from_deployment_id using errcode = 'no_data_found';
        end if;
    end if;
    insert into observe.deploy_rollbacks (environment, from_deployment, to_deployment, reason, rolled_back_at)
    values (target.environment, source.id, target.id, reason, rolled_back_at)
    returning id into rollback_id;
    return rollback_id;
end
$$;
comment on function observe.record_rollback(text, text, text, timestamptz) is
    'Records that production went back to a deploy (pg-observe deploy rollback); observe.live_deploy() names the target from then on. Returns the rollback''s id.';

-- The deploy a rollback should go back to: the most recently live deploy of
-- the environment, other than the one being left, whose latest verdict
-- passed.
create function observe.rollback_target(environment text default 'production', from_deployment_id text default null)
returns table (deployment_id text, url text, provider text, project text, live_since timestamptz, verified_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select d.deployment_id, d.url, d.provider, d.project, l.live_since, v.verified_at
      from observe.deployments d
      join lateral (select x.verdict, x.verified_at from observe.deploy_verifications x
                     where x.deployment = d.id order by x.verified_at desc limit 1) v on true
     cross join lateral (select greatest(d.ready_at, d.promoted_at,
                                         (select max(r.rolled_back_at) from observe.deploy_rollbacks r
                                           where r.to_deployment = d.id)) as live_since) l
     where d.environment = rollback_target.environment
       and d.state in ('ready', 'promoted')
       and v.verdict = 'pass'
       and d.deployment_id is distinct from from_deployment_id
     order by l.live_since desc
     limit 1
$$;
comment on function observe.rollback_target(text, text) is
    'The deploy to roll back to: the latest live deploy of the environment, other than from_deployment_id, whose latest verification passed. No row: nothing healthy to go back to.';

-- The live deploy of an environment: the one most recently made live.
create function observe.live_deploy(environment text default 'production')
returns table (deployment_id text, url text, provider text, project text, live_since timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select d.deployment_id, d.url, d.provider, d.project, l.live_since
      from observe.deployments d
     cross join lateral (select greatest(d.ready_at, d.promoted_at,
                                         (select max(r.rolled_back_at) from observe.deploy_rollbacks r
                                           where r.to_deployment = d.id)) as live_since) l
     where d.environment = live_deploy.environment and d.state in ('ready', 'promoted')
     order by l.live_since desc
     limit 1
$$;
comment on function observe.live_deploy(text) is 'The deploy most recently made live in an environment: ready, promoted, or rolled back to.';

create function observe.record_latencies(
    durations_ms double precision[],
    service text default null,
    route text default null,
    environment text default null,
    at timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    n integer := cardinality(durations_ms);
begin
    if durations_ms is null then
        raise exception 'durations_ms is required' using errcode = 'null_value_not_allowed';
    end if;
    if n > 10000 then
        raise exception 'at most 10000 durations per call, got %', n using errcode = 'program_limit_exceeded';
    end if;
    if exists (select from unnest(durations_ms) d where d is null or d < 0 or d >= 3600000 or d = 'NaN') then
        raise exception 'every duration must be a number of milliseconds from 0 to 3600000'
            using errcode = 'invalid_parameter_value';
    end if;
    if environment is not null and environment !~ '^[a-z0-9][a-z0-9_.-]{0,63}$' then
        raise exception 'malformed environment "%"', environment using errcode = 'invalid_parameter_value';
    end if;
    if n = 0 or observe.spend_ingest_budget(1, n * 4) is not null then
        return 0;
    end if;
    insert into observe.request_latencies (service, environment, route, at, durations_ms)
    values (left(coalesce(service, nullif(current_setting('observe.service', true), ''), 'default'), 200),
            coalesce(environment, nullif(current_setting('observe.environment', true), '')),
            left(route, 200), least(coalesce(at, now()), now() + interval '1 minute'), durations_ms::real[]);
    return n;
end
$$;
comment on function observe.record_latencies(double precision[], text, text, text, timestamptz) is
    'Records a batch of request durations in milliseconds (at most 10000) from middleware; deploy verification checks their p95. Returns how many were stored (0 over an untrusted writer''s budget).';

create function observe.create_budget(
    metric text,
    threshold double precision,
    page_pattern text default null,
    environment text default null,
    level text default 'error',
    min_samples integer default 5,
    source text default 'manual')
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    budget_id bigint;
begin
    if metric is null or threshold is null then
        raise exception 'metric and threshold are required' using errcode = 'null_value_not_allowed';
    end if;
    if upper(metric) not in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB') then
        raise exception 'metric must be LCP, INP, CLS, FCP or TTFB, got "%"', metric using errcode = 'invalid_parameter_value';
    end if;
    if page_pattern is not null then
        begin
            perform '' ~ page_pattern;
        exception when invalid_regular_expression then
            raise exception 'page_pattern is not a valid regular expression: %', sqlerrm
                using errcode = 'invalid_parameter_value';
        end;
    end if;
    insert into observe.budgets (metric, page_pattern, environment, threshold, level, min_samples, source)
    values (upper(metric), page_pattern, environment, threshold, coalesce(level, 'error'), coalesce(min_samples, 5),
            coalesce(source, 'manual'))
    returning id into budget_id;
    return budget_id;
exception
    when check_violation then
        raise exception 'invalid budget: %', sqlerrm using errcode = 'invalid_parameter_value',
            hint = 'threshold > 0, level warn or error, min_samples 1 to 100000, environment a lowercase name.';
end
$$;
comment on function observe.create_budget(text, double precision, text, text, text, integer, text) is
    'Adds a web-vitals budget: a p75 ceiling (ms; CLS unitless) for a metric on the pages a regular expression matches, in one environment or all. Returns its id.';

create function observe.delete_budget(budget_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    delete from observe.budgets b where b.id = budget_id;
    if not found then
        raise exception 'budget % does not exist', budget_id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.delete_budget(bigint) is 'Removes a web-vitals budget.';

create function observe.import_lighthouse_budgets(config jsonb, environment text default null, replace boolean default true)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    import jsonb := observe.lighthouse_budgets(config);
    b jsonb;
    ids bigint[] := '{}';
    removed integer := 0;
begin
    if replace then
        delete from observe.budgets x
         where x.source like 'lighthouse %' and x.environment is not distinct from import_lighthouse_budgets.environment;
        get diagnostics removed = row_count;
    end if;
    for b in select * from jsonb_array_elements(import->'budgets') loop
        ids := ids || observe.create_budget(
            metric => b->>'metric', threshold => (b->>'threshold')::double precision,
            page_pattern => b->>'page_pattern', environment => import_lighthouse_budgets.environment,
            level => b->>'level', source => left(b->>'source', 500));
    end loop;
    return jsonb_build_object('created', to_jsonb(ids), 'replaced', removed, 'skipped', import->'skipped');
end
$$;
comment on function observe.import_lighthouse_budgets(jsonb, text, boolean) is
    'Imports a Lighthouse CI configuration''s assertions (categories:performance minScore, LCP, FCP, CLS, INP, server-response-time) as budgets; with replace, earlier Lighthouse budgets of the environment go. Returns {created, replaced, skipped}.';

create function observe.check_budgets(release text default null, environment text default null, since interval default '7 days')
returns jsonb
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select observe.evaluate_budgets(observe.budget_observations(environment, release, now() - since, now()))
        || jsonb_build_object('release', release, 'environment', environment, 'since', now() - since)
$$;
comment on function observe.check_budgets(text, text, interval) is
    'Checks every web-vitals budget against the p75 of real users'' beacons (of a release, when given) over the last week: {passed, failed, warned, no_data, budgets: [{id, metric, page_pattern, threshold, level, status, p75, page, samples, pages_over}]}.';

-- DORA's four keys per environment over 30 and 90 days. A deploy "failed"
-- when a verification of it failed or production was rolled back from it;
-- it was restored by the first rollback away from it or the first later
-- deploy of the environment whose verification passed.
create view observe.dora with (security_invoker = true) as
with periods (period, days) as (values ('30d', 30), ('90d', 90)),
live as (
    select d.id, d.environment, coalesce(d.ready_at, d.promoted_at) as live_at, d.committed_at,
           exists (select from observe.deploy_verifications v
                    where v.deployment = d.id and v.environment = d.environment and v.verdict = 'fail')
           or exists (select from observe.deploy_rollbacks r where r.from_deployment = d.id) as failed,
           exists (select from observe.deploy_verifications v
                    where v.deployment = d.id and v.environment = d.environment and v.verdict = 'pass') as healthy
      from observe.deployments d
     where coalesce(d.ready_at, d.promoted_at) is not null
       and coalesce(d.ready_at, d.promoted_at) > now() - interval '90 days'
), restored as (
    select l.*,
           case when l.failed then least(
               (select min(r.rolled_back_at) from observe.deploy_rollbacks r where r.from_deployment = l.id),
               (select min(n.live_at) from live n
                 where n.environment = l.environment and n.live_at > l.live_at and n.healthy and not n.failed))
           end as restored_at
      from live l
), keys as (
    select p.period, p.days, r.environment,
           count(*) as deployments,
           percentile_cont(0.5) within group (order by extract(epoch from r.live_at - r.committed_at))
               filter (where r.committed_at is not null and r.committed_at <= r.live_at) as lead_seconds,
           count(*) filter (where r.failed) as change_failures,
           count(r.restored_at) as restores,
           percentile_cont(0.5) within group (order by extract(epoch from r.restored_at - r.live_at))
               filter (where r.restored_at is not null) as restore_seconds
      from periods p
      join restored r on r.live_at > now() - make_interval(days => p.days)
     group by p.period, p.days, r.environment
)
select e.environment,
       p.period,
       coalesce(k.deployments, 0) as deployments,
       round(coalesce(k.deployments, 0)::numeric / p.days, 3) as deploys_per_day,
       observe.dora_level('deployment_frequency', coalesce(k.deployments, 0)::double precision / p.days) as deployment_frequency_level,
       make_interval(secs => k.lead_seconds) as lead_time,
       observe.dora_level('lead_time', k.lead_seconds) as lead_time_level,
       coalesce(k.change_failures, 0) as change_failures,
       round(k.change_failures::numeric / nullif(k.deployments, 0), 4) as change_failure_rate,
       observe.dora_level('change_failure_rate', k.change_failures::double precision / nullif(k.deployments, 0)) as change_failure_rate_level,
       coalesce(k.restores, 0) as restores,
       make_interval(secs => k.restore_seconds) as time_to_restore,
       observe.dora_level('time_to_restore', k.restore_seconds) as time_to_restore_level
  from (select distinct environment from live) e
 cross join periods p
  left join keys k on k.environment = e.environment and k.period = p.period
 order by e.environment, p.days;
comment on view observe.dora is
    'DORA''s four keys per environment over 30 and 90 days with their 2023 performance levels: deployment frequency, lead time for changes (median commit → live), change failure rate (failed verification or rolled back), time to restore (median failed deploy → rollback or next healthy deploy).';

-- The latest verdict of each deploy, for the gate and the status page.
create view observe.deploy_status with (security_invoker = true) as
select d.id, d.provider, d.deployment_id, d.environment, d.state, d.url, d.commit_sha, d.branch,
       coalesce(d.ready_at, d.promoted_at) as live_at, d.promoted_at, d.committed_at,
       v.verdict, v.reasons, v.window_size, v.verified_at,
       exists (select from observe.deploy_rollbacks r where r.from_deployment = d.id) as rolled_back
  from observe.deployments d
  left join lateral (select x.* from observe.deploy_verifications x
                      where x.deployment = d.id order by x.verified_at desc limit 1) v on true;
comment on view observe.deploy_status is
    'Each deploy with its latest stored verdict and whether production was rolled back from it.';
