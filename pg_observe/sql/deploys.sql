-- Deploys, as Vercel and GitHub report them through their webhooks (the
-- deploy-events edge function). Providers deliver at least once and in no
-- promised order, so every event is kept once (by the provider's delivery
-- id) and a deploy's state only moves forward (pg_observe_core::deploy).

create table observe.deployments (
    id bigint generated always as identity primary key,
    provider text not null check (provider in ('vercel', 'github')),
    -- The provider's id: Vercel's deployment id, GitHub's deployment or
    -- workflow run id.
    deployment_id text not null,
    project text,
    environment text not null,
    url text,
    commit_sha text,
    branch text,
    state text not null,
    -- When the provider created it, when it first served, when its build
    -- ended (served, failed or canceled), when it was last made live.
    created_at timestamptz not null,
    ready_at timestamptz,
    finished_at timestamptz,
    promoted_at timestamptz,
    last_event_at timestamptz not null,
    updated_at timestamptz not null default now(),
    unique (provider, deployment_id)
);
create index deployments_environment_idx on observe.deployments (environment, created_at);
create index deployments_commit_sha_idx on observe.deployments (commit_sha) where commit_sha is not null;
comment on table observe.deployments is
    'One row per deploy of Vercel or GitHub, merged from its webhook events; state never moves backwards.';

create table observe.deployment_events (
    id bigint generated always as identity primary key,
    provider text not null check (provider in ('vercel', 'github')),
    -- The delivery's id (Vercel's envelope id, GitHub's X-GitHub-Delivery):
    -- a replayed delivery is recognised by it.
    event_id text not null,
    deployment_id text not null,
    event_type text not null,
    state text not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null default now(),
    -- The provider's event as received, scrubbed like a captured event.
    payload jsonb not null,
    unique (provider, event_id)
);
create index deployment_events_deployment_idx on observe.deployment_events (provider, deployment_id, occurred_at);
comment on table observe.deployment_events is
    'Every webhook event of every deploy, once each, in the form it arrived (scrubbed): the state history of observe.deployments.';

create function observe.record_deploy_event(
    provider text,
    event_id text,
    deployment_id text,
    state text,
    occurred_at timestamptz,
    event_type text default null,
    project text default null,
    environment text default null,
    url text default null,
    commit_sha text default null,
    branch text default null,
    payload jsonb default '{}')
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    p_provider alias for provider;
    p_event_id alias for event_id;
    p_deployment_id alias for deployment_id;
    p_state alias for state;
    p_occurred_at alias for occurred_at;
    given_environment text := environment;
    fresh boolean;
    deploy observe.deployments;
begin
    if p_provider is null or p_event_id is null or p_deployment_id is null or p_state is null
       or p_occurred_at is null then
        raise exception 'provider, event_id, deployment_id, state and occurred_at are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if p_provider not in ('vercel', 'github') then
        raise exception 'provider must be vercel or github, got "%"', p_provider
            using errcode = 'invalid_parameter_value';
    end if;
    if payload is not null and jsonb_typeof(payload) <> 'object' then
        raise exception 'payload must be a JSON object, got %', jsonb_typeof(payload)
            using errcode = 'invalid_parameter_value';
    end if;
    -- Also validates the state (22023 for an unknown one).
    perform observe.deploy_state_after(null, p_state);

    insert into observe.deployment_events as e
           (provider, event_id, deployment_id, event_type, state, occurred_at, payload)
    values (p_provider, p_event_id, p_deployment_id, coalesce(event_type, p_state), p_state, p_occurred_at,
            observe.scrub_payload(coalesce(payload, '{}')))
    on conflict on constraint deployment_events_provider_event_id_key do nothing
    returning true into fresh;

    if fresh then
        insert into observe.deployments as d
               (provider, deployment_id, project, environment, url, commit_sha, branch, state,
                created_at, ready_at, finished_at, promoted_at, last_event_at)
        values (p_provider, p_deployment_id, project, coalesce(given_environment, 'production'), url, commit_sha,
                branch, p_state, p_occurred_at,
                case when p_state in ('ready', 'promoted') then p_occurred_at end,
                case when p_state in ('ready', 'promoted', 'canceled', 'failed') then p_occurred_at end,
                case when p_state = 'promoted' then p_occurred_at end,
                p_occurred_at)
        on conflict on constraint deployments_provider_deployment_id_key do update
           set state = observe.deploy_state_after(d.state, excluded.state),
               -- A newer event's facts win; an older one only fills gaps.
               project = case when excluded.last_event_at >= d.last_event_at
                              then coalesce(excluded.project, d.project) else coalesce(d.project, excluded.project) end,
               environment = case when excluded.last_event_at >= d.last_event_at and given_environment is not null
                                  then excluded.environment else d.environment end,
               url = case when excluded.last_event_at >= d.last_event_at
                          then coalesce(excluded.url, d.url) else coalesce(d.url, excluded.url) end,
               commit_sha = coalesce(d.commit_sha, excluded.commit_sha),
               branch = coalesce(d.branch, excluded.branch),
               created_at = least(d.created_at, excluded.created_at),
               ready_at = least(d.ready_at, excluded.ready_at),
               finished_at = least(d.finished_at, excluded.finished_at),
               promoted_at = greatest(d.promoted_at, excluded.promoted_at),
               last_event_at = greatest(d.last_event_at, excluded.last_event_at),
               updated_at = now()
        returning d.* into deploy;
    else
        select d.* into deploy from observe.deployments d
         where d.provider = p_provider and d.deployment_id = p_deployment_id;
    end if;

    return jsonb_build_object('deployment', deploy.id, 'state', deploy.state, 'replayed', not coalesce(fresh, false));
end
$$;
comment on function observe.record_deploy_event(text, text, text, text, timestamptz, text, text, text, text, text, text, jsonb) is
    'Records one webhook event of a deploy; a replayed event_id changes nothing, and an event older than the deploy''s state never moves it backwards. Returns {deployment, state, replayed}.';
