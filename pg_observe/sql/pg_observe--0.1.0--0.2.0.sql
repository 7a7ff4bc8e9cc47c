-- pg_observe 0.1.0 → 0.2.0, run by ALTER EXTENSION pg_observe UPDATE.
-- Every change of 0.2.0 to the schema, in the order the install script
-- makes it; tests/tests/upgrade.rs checks that the result equals a fresh
-- install of 0.2.0 (ARCHITECTURE.md, "Versions and upgrades").

-- The functions 0.1.0 defined in Rust, restated as 0.2.0's library
-- defines them (ARCHITECTURE.md, "Versions and upgrades").
CREATE OR REPLACE FUNCTION observe."normalize_message"(
	"message" TEXT
) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'normalize_message_wrapper';

CREATE OR REPLACE FUNCTION observe."announce_issue_change"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'announce_issue_change_wrapper';

CREATE OR REPLACE FUNCTION observe."fingerprint"(
	"message" TEXT,
	"exception_type" TEXT DEFAULT NULL,
	"stack" TEXT DEFAULT NULL,
	"fingerprint" TEXT[] DEFAULT NULL
) RETURNS TEXT
IMMUTABLE PARALLEL SAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'fingerprint_wrapper';

CREATE OR REPLACE FUNCTION observe."tick"() RETURNS jsonb
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tick_wrapper';

CREATE OR REPLACE FUNCTION observe."log_error"(
	"event" jsonb
) RETURNS uuid
VOLATILE SECURITY DEFINER PARALLEL UNSAFE  
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'log_error_json_wrapper';

CREATE OR REPLACE FUNCTION observe."log_errors"(
	"events" jsonb
) RETURNS INT
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'log_errors_wrapper';

-- log_error gained its last argument, durable; a new signature is a new
-- function, so the old one goes (its grants return with
-- apply_role_privileges() below).
DROP FUNCTION observe."log_error"(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamptz);
CREATE FUNCTION observe."log_error"(
	"message" TEXT,
	"level" TEXT DEFAULT 'error',
	"service" TEXT DEFAULT NULL,
	"environment" TEXT DEFAULT NULL,
	"release" TEXT DEFAULT NULL,
	"exception_type" TEXT DEFAULT NULL,
	"stack" TEXT DEFAULT NULL,
	"context" jsonb DEFAULT '{}',
	"fingerprint" TEXT[] DEFAULT NULL,
	"user_ref" TEXT DEFAULT NULL,
	"request_id" TEXT DEFAULT NULL,
	"occurred_at" timestamp with time zone DEFAULT now(),
	"durable" bool DEFAULT false
) RETURNS uuid
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'log_error_wrapper';

-- Server-side capture's health (pg_observe/src/server_capture/stats.rs).
CREATE FUNCTION observe."capture_stats"() RETURNS TABLE (
	"preloaded" bool,
	"captured" bigint,
	"dropped" bigint,
	"stored" bigint,
	"failed" bigint,
	"skipped" bigint,
	"pending" bigint,
	"ring_bytes" bigint,
	"ring_used_bytes" bigint,
	"worker_lag" interval,
	"last_stored_at" timestamp with time zone,
	"last_error" TEXT,
	"last_error_at" timestamp with time zone,
	"launcher_pid" INT
)
STRICT VOLATILE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'capture_stats_wrapper';

-- The activity trigger asks core for the kind of a change
-- (pg_observe_core::lifecycle::ActivityKind), so the words live in Rust.
create function observe.activity_kind(from_status text, to_status text, reason text)
returns text immutable parallel safe
language c as 'MODULE_PATHNAME', 'activity_kind_wrapper';

create or replace function observe.record_issue_activity() returns trigger
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

create or replace function observe.schedule_tick(schedule text default '* * * * *')
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

-- Untrusted writers: who wrote each event, who acted on each issue, and
-- what deleting an issue leaves behind (pg_observe/sql/schema.sql).
create function observe.acting_role()
returns text strict stable parallel safe
language c as 'MODULE_PATHNAME', 'acting_role_wrapper';

alter table observe.events add column writer_role name;
alter table observe.issue_activity alter column actor set default observe.acting_role();
alter table observe.issue_activity drop constraint issue_activity_kind_check;
alter table observe.issue_activity add constraint issue_activity_kind_check
    check (kind in ('created', 'resolved', 'ignored', 'unignored', 'regressed', 'reopened', 'deleted'));

create or replace function observe.delete_issue_dependents() returns trigger
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

-- Budgets, trust and known releases (pg_observe/sql/trust.sql, verbatim).
-- Untrusted writers. Once observe.grant_supabase_roles() has run, anyone
-- holding the public anon key may capture, so some writers are marked
-- untrusted: their events are scrubbed, bounded and stored like any other,
-- but within per-minute budgets, and they cannot drive triage (README,
-- "Security"). A writer is the role a session acts as (SET ROLE, which is how
-- PostgREST runs requests as anon or authenticated), whatever definer
-- functions it calls through.

-- Marking is membership: untrusted roles are members of observe_untrusted,
-- a check PostgreSQL answers from its role cache on every event, with no
-- table to read or invalidate.
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'observe_untrusted') then
        begin
            create role observe_untrusted nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
end
$roles$;

create function observe.set_writer_trust(role_name name, trusted boolean)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    target pg_roles;
begin
    select * into target from pg_roles r where r.rolname = set_writer_trust.role_name;
    if not found then
        raise exception 'role "%" does not exist', role_name using errcode = 'undefined_object';
    end if;
    if trusted is null then
        raise exception 'trusted must be true or false' using errcode = 'null_value_not_allowed';
    end if;
    if target.rolsuper or target.rolname like 'observe\_%' then
        raise exception 'role "%" cannot be marked: superusers and pg_observe''s own roles are always trusted', role_name
            using errcode = 'invalid_parameter_value';
    end if;
    if trusted then
        execute format('revoke observe_untrusted from %I', role_name);
    else
        execute format('grant observe_untrusted to %I', role_name);
    end if;
end
$$;
comment on function observe.set_writer_trust(name, boolean) is
    'Marks a role as an untrusted writer (budgets apply, its events cannot change an issue''s status through unknown releases or end an ignore by count) or trusted again.';

create view observe.writer_trust with (security_invoker = true) as
select r.rolname as role_name,
       not pg_has_role(r.oid, 'observe_untrusted', 'MEMBER') or r.rolsuper as trusted
  from pg_roles r
 where pg_has_role(r.oid, 'observe_writer', 'MEMBER')
   and r.rolname not like 'observe\_%';
comment on view observe.writer_trust is
    'Every role that may capture, and whether it is trusted.';

-- Budgets per minute: 'default' for each untrusted role, '*' for all of them
-- together, or a role's own name to give it its own.
create table observe.ingest_budgets (
    scope text primary key,
    new_issues_per_minute integer not null check (new_issues_per_minute >= 0),
    events_per_minute integer not null check (events_per_minute >= 0),
    bytes_per_minute bigint not null check (bytes_per_minute >= 0)
);
insert into observe.ingest_budgets values
    ('default', 100, 1000, 1048576),
    ('*', 500, 5000, 5242880);
comment on table observe.ingest_budgets is
    'Per-minute budgets of untrusted writers: ''default'' applies to each untrusted role, ''*'' to all of them together, a role''s name to that role.';

create function observe.set_ingest_budget(
    scope text,
    new_issues_per_minute integer default null,
    events_per_minute integer default null,
    bytes_per_minute bigint default null
)
returns observe.ingest_budgets
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    budget observe.ingest_budgets;
begin
    if scope is null or (scope not in ('default', '*')
                         and not exists (select from pg_roles r where r.rolname = scope)) then
        raise exception 'scope must be ''default'', ''*'' or an existing role'
            using errcode = 'invalid_parameter_value';
    end if;
    if least(new_issues_per_minute, events_per_minute, bytes_per_minute) < 0 then
        raise exception 'budgets must not be negative' using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.ingest_budgets as b
    select set_ingest_budget.scope,
           coalesce(set_ingest_budget.new_issues_per_minute, d.new_issues_per_minute),
           coalesce(set_ingest_budget.events_per_minute, d.events_per_minute),
           coalesce(set_ingest_budget.bytes_per_minute, d.bytes_per_minute)
      from observe.ingest_budgets d
     where d.scope = case when set_ingest_budget.scope = '*' then '*' else 'default' end
    on conflict on constraint ingest_budgets_pkey do update
       set new_issues_per_minute = coalesce(set_ingest_budget.new_issues_per_minute, b.new_issues_per_minute),
           events_per_minute = coalesce(set_ingest_budget.events_per_minute, b.events_per_minute),
           bytes_per_minute = coalesce(set_ingest_budget.bytes_per_minute, b.bytes_per_minute)
    returning * into budget;
    return budget;
end
$$;
comment on function observe.set_ingest_budget(text, integer, integer, bigint) is
    'Sets per-minute budgets of untrusted writers for a scope (''default'', ''*'' or a role); arguments left null keep their value.';

-- What untrusted writers used, per minute, striped by backend slot so that
-- concurrent writers update different rows (as issue_ignore_counts is).
create table observe.ingest_usage (
    scope text not null,
    minute timestamptz not null,
    slot smallint not null,
    new_issues integer not null default 0,
    events integer not null default 0,
    bytes bigint not null default 0,
    primary key (scope, minute, slot)
);

create table observe.ingest_drop_counts (
    role_name name not null,
    minute timestamptz not null,
    slot smallint not null,
    reason text not null check (reason in ('new_issue_budget', 'event_budget', 'byte_budget')),
    events bigint not null,
    primary key (role_name, minute, reason, slot)
);

create view observe.ingest_drops with (security_invoker = true) as
select role_name as role, minute, reason, sum(events)::bigint as events
  from observe.ingest_drop_counts
 group by role_name, minute, reason;
comment on view observe.ingest_drops is
    'Events of untrusted writers that were counted but not stored because a per-minute budget was spent, by role, minute and reason.';

-- Releases that a trusted writer or a deploy has made known. An untrusted
-- event changes an issue's status only through these, so a made-up newer
-- release cannot reopen a resolved issue.
create table observe.known_releases (
    service text not null,
    version text not null,
    first_seen timestamptz not null,
    source text not null check (source in ('event', 'deploy', 'manual')),
    registered_by name not null default observe.acting_role(),
    primary key (service, version)
);
comment on table observe.known_releases is
    'Releases made known by trusted events, deploys or observe.register_release(); the order of releases that are not semantic versions comes from first_seen.';

create function observe.register_release(service text, version text, at timestamptz default now())
returns observe.known_releases
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    known observe.known_releases;
begin
    if service is null or btrim(service) = '' or version is null or btrim(version) = ''
       or service ~ '[[:cntrl:]]' or version ~ '[[:cntrl:]]' then
        raise exception 'service and version must be names' using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.known_releases as k (service, version, first_seen, source)
    values (register_release.service, register_release.version, coalesce(at, now()), 'manual')
    on conflict on constraint known_releases_pkey do update
       set first_seen = least(k.first_seen, excluded.first_seen)
    returning * into known;
    return known;
end
$$;
comment on function observe.register_release(text, text, timestamptz) is
    'Makes a release known (as a deploy does): untrusted events of it may then regress issues resolved in an older release.';

-- When a release became known: registered by a trusted event or by hand, or
-- deployed (a release names a deploy by its commit, the full sha or a prefix
-- of at least 7 hex digits, alone or after the last '@': `web@3f2a9c1`).
-- Null for a release nobody trusted has made known.
create function observe.release_known_since(service text, version text)
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
    sha text := lower(substring(version from '[^@]*$'));
begin
    return coalesce(
        (select k.first_seen from observe.known_releases k
          where k.service = release_known_since.service and k.version = release_known_since.version),
        (select min(coalesce(d.ready_at, d.created_at)) from observe.deployments d
          where sha ~ '^[0-9a-f]{7,40}$' and left(d.commit_sha, length(sha)) = sha));
end
$$;

-- A per-installation secret only the extension's owner reads: affected
-- users are counted by a keyed hash of their reference, so that a reader
-- cannot confirm a guessed e-mail address against the counts.
create table observe.installation (
    singleton boolean primary key default true check (singleton),
    user_hash_key bytea not null
        default decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'),
    created_at timestamptz not null default now()
);
insert into observe.installation default values;
comment on table observe.installation is
    'Secrets of this installation, readable by the extension''s owner only.';

-- Every writer before 0.2.0 was trusted: the releases its events named are
-- known.
insert into observe.known_releases (service, version, first_seen, source)
select g.service, c.release, min(c.first_seen), 'event'
  from observe.event_counts c
  join observe.issue_groups g on g.id = c.issue_id
 where c.release <> ''
 group by g.service, c.release;

create or replace function observe.grant_supabase_roles()
returns table (role name, granted name)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    mapping constant text[][] := array[
        ['anon', 'observe_writer'],
        ['authenticated', 'observe_writer'],
        ['service_role', 'observe_admin']
    ];
    i integer;
begin
    for i in 1 .. array_length(mapping, 1) loop
        if not exists (select from pg_roles r where r.rolname = mapping[i][1]) then
            raise exception 'role "%" does not exist', mapping[i][1]
                using errcode = 'undefined_object',
                      hint = 'observe.grant_supabase_roles() is for Supabase databases; elsewhere grant observe_writer, observe_reader or observe_admin to your own roles.';
        end if;
    end loop;
    for i in 1 .. array_length(mapping, 1) loop
        execute format('grant %I to %I', mapping[i][2], mapping[i][1]);
        role := mapping[i][1];
        granted := mapping[i][2];
        return next;
    end loop;
    perform observe.set_writer_trust('anon', false);
    role := 'anon';
    granted := 'observe_untrusted';
    return next;
end
$$;
comment on function observe.grant_supabase_roles() is
    'Grants observe_writer to anon and authenticated (error capture over supabase-js rpc) and observe_admin to service_role, and marks anon an untrusted writer. Call once, as a superuser.';

-- The alert-dispatch function's role (pg_observe/sql/schema.sql).
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'observe_dispatcher') then
        begin
            create role observe_dispatcher nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
end
$roles$;

-- Deploys (pg_observe/sql/deploys.sql): the state merge and the payload
-- scrubber are Rust (pg_observe/src/deploys.rs).
create function observe.deploy_state_after(current text, incoming text)
returns text immutable parallel safe
language c as 'MODULE_PATHNAME', 'deploy_state_after_wrapper';

create function observe.scrub_payload(payload jsonb)
returns jsonb stable parallel safe strict
language c as 'MODULE_PATHNAME', 'scrub_payload_wrapper';


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

-- observe.releases gains the deploy times of each release; deploys get an
-- overview of the errors around them (pg_observe/sql/views.sql).
create or replace view observe.releases with (security_invoker = true) as
select g.service,
       c.release as version,
       min(c.first_seen) as first_seen,
       max(c.last_seen) as last_seen,
       sum(c.events)::bigint as events,
       count(distinct c.issue_id)::bigint as issues,
       min(d.first_deployed_at) as first_deployed_at,
       max(d.last_deployed_at) as last_deployed_at,
       coalesce(max(d.deploys), 0)::bigint as deploys
  from observe.event_counts c
  join observe.issue_groups g on g.id = c.issue_id
  -- A release names a deploy by its commit: the full sha or a prefix of at
  -- least 7 characters, alone or after the last '@' (`web@3f2a9c1`).
  left join lateral (
        select min(coalesce(dep.ready_at, dep.created_at)) as first_deployed_at,
               max(coalesce(dep.ready_at, dep.created_at)) as last_deployed_at,
               count(*) as deploys
          from observe.deployments dep
         where dep.commit_sha is not null
           and length(substring(c.release from '[^@]*$')) >= 7
           and dep.commit_sha like substring(c.release from '[^@]*$') || '%'
       ) d on true
 where c.release <> ''
 group by g.service, c.release;
comment on view observe.releases is
    'Every release events were captured from, per service: when it was first and last seen, its events and issues, and when it was deployed (deploys whose commit sha the release names).';

-- Each deploy next to what happened around it: error events, new issues and
-- regressions of its environment in the 30 minutes before and after it went
-- live (or was created, when it never did).
create view observe.deployments_overview with (security_invoker = true) as
select d.id,
       d.provider,
       d.deployment_id,
       d.project,
       d.environment,
       d.state,
       d.commit_sha,
       d.branch,
       d.url,
       d.created_at,
       d.ready_at,
       d.finished_at,
       w.deployed_at,
       coalesce(e.before, 0) as errors_before,
       coalesce(e.after, 0) as errors_after,
       coalesce(a.new_before, 0) as new_issues_before,
       coalesce(a.new_after, 0) as new_issues_after,
       coalesce(a.regressed_before, 0) as regressions_before,
       coalesce(a.regressed_after, 0) as regressions_after
  from observe.deployments d
 cross join lateral (select coalesce(d.ready_at, d.created_at) as deployed_at) w
  left join lateral (
        select sum(c.events) filter (where c.bucket < w.deployed_at)::bigint as before,
               sum(c.events) filter (where c.bucket >= w.deployed_at)::bigint as after
          from observe.event_counts c
         where c.environment = d.environment
           and c.slot >= 0
           and c.bucket >= w.deployed_at - interval '30 minutes'
           and c.bucket < w.deployed_at + interval '30 minutes'
       ) e on true
  left join lateral (
        select count(*) filter (where act.kind = 'created' and act.at < w.deployed_at) as new_before,
               count(*) filter (where act.kind = 'created' and act.at >= w.deployed_at) as new_after,
               count(*) filter (where act.kind = 'regressed' and act.at < w.deployed_at) as regressed_before,
               count(*) filter (where act.kind = 'regressed' and act.at >= w.deployed_at) as regressed_after
          from observe.issue_activity act
         where act.kind in ('created', 'regressed')
           and act.at >= w.deployed_at - interval '30 minutes'
           and act.at < w.deployed_at + interval '30 minutes'
           and exists (select from observe.event_counts c
                        where c.issue_id = act.issue_id and c.environment = d.environment)
       ) a on true
 order by w.deployed_at desc;
comment on view observe.deployments_overview is
    'Each deploy with the error events, new issues and regressions of its environment in the 30 minutes before and after it went live.';

-- The notification outbox (pg_observe/sql/outbox.sql).
create table observe.notifications (
    id uuid primary key default gen_random_uuid(),
    -- The alert rule that raised it; rules live elsewhere, so no foreign key.
    rule_id bigint,
    group_key text not null,
    group_labels jsonb not null default '{}' check (jsonb_typeof(group_labels) = 'object'),
    kind text not null check (kind in ('firing', 'resolved')),
    -- Empty: the dispatcher's fallback recipients (MONITORING_ALERT_EMAIL).
    -- Resend takes at most 50 addresses in `to`
    -- (https://resend.com/docs/api-reference/emails/send-email).
    recipients text[] not null default '{}' check (cardinality(recipients) <= 50),
    subject text not null,
    -- Everything the e-mail shows: rule, severity, labels, annotations,
    -- metric, window, value, environment, the group's alerts, links.
    payload jsonb not null check (jsonb_typeof(payload) = 'object'),
    -- Resend accepts keys of 1 to 256 characters.
    idempotency_key text not null unique check (length(idempotency_key) between 1 and 256),
    status text not null default 'queued'
        check (status in ('queued', 'claimed', 'sent', 'failed', 'dead')),
    attempts integer not null default 0,
    max_attempts integer not null default 10 check (max_attempts between 1 and 100),
    next_attempt_at timestamptz not null default now(),
    first_attempt_at timestamptz,
    lease_until timestamptz,
    -- Which session holds the lease (application_name and backend pid).
    claimed_by text,
    last_error text,
    provider_message_id text,
    -- From the provider's delivery webhooks (observe.record_delivery).
    delivery_status text check (delivery_status in ('delivery_delayed', 'delivered', 'bounced', 'complained')),
    delivered_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    sent_at timestamptz,
    check ((status = 'claimed') = (lease_until is not null))
);
create index notifications_due_idx on observe.notifications (next_attempt_at)
    where status in ('queued', 'failed');
create index notifications_lease_idx on observe.notifications (lease_until)
    where status = 'claimed';
create index notifications_provider_message_id_idx on observe.notifications (provider_message_id)
    where provider_message_id is not null;
comment on table observe.notifications is
    'Alert e-mails to send, each exactly once towards the provider: queued → claimed → sent, or failed (retried with backoff) → dead.';

create view observe.dead_notifications with (security_invoker = true) as
select id, rule_id, group_key, kind, subject, recipients, idempotency_key, attempts, last_error,
       created_at, first_attempt_at, updated_at as died_at
  from observe.notifications
 where status = 'dead'
 order by updated_at desc;
comment on view observe.dead_notifications is
    'Notifications that will not be sent: refused by the provider, out of attempts, or out of the idempotency window; last_error says why.';

-- Queues one notification; returns its id. Idempotent on idempotency_key:
-- queuing the same key again returns the first notification's id and
-- changes nothing, so an evaluator that runs twice alerts once.
create function observe.enqueue_notification(
    idempotency_key text,
    kind text,
    subject text,
    payload jsonb,
    recipients text[] default '{}',
    rule_id bigint default null,
    group_key text default null,
    group_labels jsonb default '{}',
    not_before timestamptz default null)
returns uuid
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    key alias for idempotency_key;
    notification_id uuid;
begin
    if key is null or kind is null or subject is null or payload is null then
        raise exception 'idempotency_key, kind, subject and payload are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if length(key) not between 1 and 256 then
        raise exception 'idempotency_key has % characters; the provider accepts 1 to 256', length(key)
            using errcode = 'invalid_parameter_value';
    end if;
    if kind not in ('firing', 'resolved') then
        raise exception 'kind must be firing or resolved, got "%"', kind
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_typeof(payload) <> 'object' then
        raise exception 'payload must be a JSON object, got %', jsonb_typeof(payload)
            using errcode = 'invalid_parameter_value';
    end if;
    if cardinality(coalesce(recipients, '{}')) > 50 then
        raise exception '% recipients; the provider sends to at most 50', cardinality(recipients)
            using errcode = 'invalid_parameter_value';
    end if;
    if exists (select from unnest(recipients) r where r is null or r !~ '^[^@\s]+@[^@\s]+$') then
        raise exception 'every recipient must be an e-mail address'
            using errcode = 'invalid_parameter_value';
    end if;
    if group_labels is not null and jsonb_typeof(group_labels) <> 'object' then
        raise exception 'group_labels must be a JSON object, got %', jsonb_typeof(group_labels)
            using errcode = 'invalid_parameter_value';
    end if;

    insert into observe.notifications as n
           (idempotency_key, kind, subject, payload, recipients, rule_id, group_key, group_labels,
            next_attempt_at)
    values (key, kind, subject, payload, coalesce(recipients, '{}'), rule_id,
            coalesce(group_key, key), coalesce(group_labels, '{}'), coalesce(not_before, now()))
    on conflict on constraint notifications_idempotency_key_key do nothing
    returning n.id into notification_id;
    if notification_id is null then
        select n.id into notification_id from observe.notifications n where n.idempotency_key = key;
    end if;
    return notification_id;
end
$$;
comment on function observe.enqueue_notification(text, text, text, jsonb, text[], bigint, text, jsonb, timestamptz) is
    'Queues an alert e-mail (internal: the alert evaluator calls it); returns its id, the existing one when idempotency_key was queued before.';

-- Hands out up to `batch` due notifications under a lease. SKIP LOCKED: two
-- dispatchers never hold the same row, and neither waits for the other.
-- Every claim counts as an attempt, since a dispatcher may send and then
-- die before it records the outcome.
create function observe.claim_notifications(batch integer default 10, lease interval default '1 minute')
returns setof observe.notifications
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if batch is null or lease is null then
        raise exception 'batch and lease are required' using errcode = 'null_value_not_allowed';
    end if;
    if batch not between 1 and 100 then
        raise exception 'batch must be between 1 and 100, got %', batch
            using errcode = 'invalid_parameter_value';
    end if;
    if lease < interval '1 second' or lease > interval '1 hour' then
        raise exception 'lease must be between 1 second and 1 hour, got %', lease
            using errcode = 'invalid_parameter_value';
    end if;

    -- A lease that ran out on the last attempt, or past the idempotency
    -- window, may have sent: claiming it again could send twice.
    with doomed as (
        select n.id from observe.notifications n
         where n.status = 'claimed' and n.lease_until < now()
           and (n.attempts >= n.max_attempts or n.first_attempt_at + interval '23 hours' <= now())
           for update skip locked
    )
    update observe.notifications n
       set status = 'dead', lease_until = null, updated_at = now(),
           last_error = coalesce(n.last_error || '; ', '')
                        || case when n.attempts >= n.max_attempts
                                then format('lease expired on the last of %s attempts', n.max_attempts)
                                else 'lease expired after the 23-hour idempotency window' end
      from doomed where n.id = doomed.id;

    return query
    with due as (
        select n.id from observe.notifications n
         where (n.status in ('queued', 'failed') and n.next_attempt_at <= now())
            or (n.status = 'claimed' and n.lease_until < now())
         order by n.next_attempt_at, n.created_at
         limit batch
           for update skip locked
    )
    update observe.notifications n
       set status = 'claimed', attempts = n.attempts + 1, lease_until = now() + lease,
           first_attempt_at = coalesce(n.first_attempt_at, now()),
           claimed_by = format('%s[%s]', nullif(current_setting('application_name'), ''), pg_backend_pid()),
           updated_at = now()
      from due where n.id = due.id
    returning n.*;
end
$$;
comment on function observe.claim_notifications(integer, interval) is
    'Claims up to batch due notifications for lease (FOR UPDATE SKIP LOCKED); an expired lease makes a row claimable again with the same idempotency key.';

create function observe.complete_notification(id uuid, provider_message_id text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    notification_id alias for id;
    message_id alias for provider_message_id;
begin
    if notification_id is null or message_id is null then
        raise exception 'id and provider_message_id are required' using errcode = 'null_value_not_allowed';
    end if;
    -- Whatever the row says (a lease that ran out, even dead), the provider
    -- accepted the e-mail: the record follows the provider.
    update observe.notifications n
       set status = 'sent', provider_message_id = message_id, sent_at = coalesce(n.sent_at, now()),
           lease_until = null, last_error = null, updated_at = now()
     where n.id = notification_id;
    if not found then
        raise exception 'notification % does not exist', notification_id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.complete_notification(uuid, text) is
    'Records that the provider accepted the notification, with the provider''s message id.';

-- Backoff: exponential with full jitter (a uniform delay between 0 and
-- min(2 hours, 30 s * 2^(attempt - 1))), or the provider's retry_after,
-- never past the idempotency window.
create function observe.fail_notification(
    id uuid,
    error text,
    retry_after interval default null,
    permanent boolean default false)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    notification_id alias for id;
    claimed observe.notifications;
    window_end timestamptz;
    next_at timestamptz;
    reason text;
begin
    if notification_id is null or error is null or permanent is null then
        raise exception 'id, error and permanent are required' using errcode = 'null_value_not_allowed';
    end if;
    if retry_after < interval '0' then
        raise exception 'retry_after must not be negative, got %', retry_after
            using errcode = 'invalid_parameter_value';
    end if;
    select * into claimed from observe.notifications n where n.id = notification_id for update;
    if not found then
        raise exception 'notification % does not exist', notification_id using errcode = 'no_data_found';
    end if;
    -- Only the outcome of a claim counts: a report from a dispatcher whose
    -- lease ran out must not undo what another one recorded since.
    if claimed.status <> 'claimed' then
        return claimed.status;
    end if;

    window_end := claimed.first_attempt_at + interval '23 hours';
    next_at := least(now() + coalesce(retry_after,
                                      random() * least(interval '2 hours',
                                                       interval '30 seconds' * power(2, least(claimed.attempts - 1, 20)))),
                     window_end);
    reason := case
        when permanent then null
        when claimed.attempts >= claimed.max_attempts then format('; gave up after %s attempts', claimed.attempts)
        when window_end <= now() then '; no retry fits the 23-hour idempotency window'
    end;

    update observe.notifications n
       set status = case when permanent or reason is not null then 'dead' else 'failed' end,
           last_error = left(error, 2000) || coalesce(reason, ''),
           next_attempt_at = case when permanent or reason is not null then n.next_attempt_at else next_at end,
           lease_until = null, updated_at = now()
     where n.id = notification_id
    returning n.* into claimed;
    return claimed.status;
end
$$;
comment on function observe.fail_notification(uuid, text, interval, boolean) is
    'Records a failed send: retried later (exponential backoff with full jitter, or retry_after), or dead when permanent, out of attempts or out of the idempotency window. Returns the new status.';

-- What the dispatcher reports as remaining: notifications not yet sent nor
-- dead, due now or later. The dispatcher may read this count and nothing
-- more of the outbox.
create function observe.pending_notifications()
returns bigint
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select count(*) from observe.notifications where status in ('queued', 'claimed', 'failed')
$$;
comment on function observe.pending_notifications() is
    'How many notifications are waiting to be sent (queued, claimed or failed), due now or later.';

-- Delivery events only move forward (sent < delivery_delayed < delivered <
-- bounced, complained), since the provider's webhooks may arrive out of
-- order and more than once.
create function observe.record_delivery(provider_message_id text, event text, occurred_at timestamptz)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    message_id alias for provider_message_id;
    progress constant jsonb := '{"delivery_delayed": 1, "delivered": 2, "bounced": 3, "complained": 3}';
begin
    if message_id is null or event is null or occurred_at is null then
        raise exception 'provider_message_id, event and occurred_at are required'
            using errcode = 'null_value_not_allowed';
    end if;
    if not progress ? event then
        raise exception 'event must be delivery_delayed, delivered, bounced or complained, got "%"', event
            using errcode = 'invalid_parameter_value';
    end if;
    update observe.notifications n
       set delivery_status = event,
           delivered_at = case when event = 'delivered' then occurred_at else n.delivered_at end,
           updated_at = now()
     where n.provider_message_id = message_id
       and coalesce((progress ->> n.delivery_status)::int, 0) <= (progress ->> event)::int;
    return found or exists (select from observe.notifications n where n.provider_message_id = message_id);
end
$$;
comment on function observe.record_delivery(text, text, timestamptz) is
    'Records a delivery webhook of the provider (delivered, bounced, complained, delivery_delayed); returns whether a notification has that message id.';

-- The doorbell: with pg_net installed and a dispatch URL configured, a
-- transaction that queues notifications asks the dispatcher to drain the
-- outbox right after it commits. pg_net is at most once and every role can
-- read its request table, so the ring carries only a low-value token that
-- can trigger nothing but a short drain; the scheduled drain delivers
-- whatever a lost ring would have.
create table observe.dispatch_config (
    singleton boolean primary key default true check (singleton),
    url text not null check (url ~ '^https?://'),
    token text,
    updated_at timestamptz not null default now()
);
comment on table observe.dispatch_config is
    'Where the doorbell rings (observe.configure_dispatch); readable by no role, since it holds the ring token.';

create function observe.configure_dispatch(url text, token text default null)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    dispatch_url alias for url;
    ring_token alias for token;
begin
    if dispatch_url is null then
        delete from observe.dispatch_config;
        return;
    end if;
    if dispatch_url !~ '^https?://[^/?#\s]+' then
        raise exception 'url must be an http or https URL, got "%"', dispatch_url
            using errcode = 'invalid_parameter_value';
    end if;
    if ring_token is not null and (length(ring_token) not between 16 and 256 or ring_token !~ '^[\x21-\x7e]+$') then
        raise exception 'token must be 16 to 256 printable characters without spaces'
            using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.dispatch_config (url, token) values (dispatch_url, ring_token)
    on conflict (singleton) do update set url = excluded.url, token = excluded.token, updated_at = now();
    if observe.extension_schema('pg_net') is null then
        raise notice 'pg_net is not installed in database %: the doorbell stays silent until it is, and the scheduled drain delivers',
            current_database();
    end if;
end
$$;
comment on function observe.configure_dispatch(text, text) is
    'Sets the URL the doorbell rings (the alert-dispatch function) and its ring token: a token that can only trigger a short drain, never OBSERVE_FUNCTION_SECRET. A null url turns the doorbell off.';

create function observe.ring_dispatch()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    net name;
    config observe.dispatch_config;
begin
    if not exists (select from queued where status = 'queued')
       or current_setting('pg_observe.dispatch_rung', true) = 'on' then
        return null;
    end if;
    net := observe.extension_schema('pg_net');
    select * into config from observe.dispatch_config;
    if net is null or config.url is null then
        return null;
    end if;
    -- Once per transaction: pg_net sends after commit, so a second ring in
    -- the same transaction would only start a second drain of the same rows.
    perform set_config('pg_observe.dispatch_rung', 'on', true);
    begin
        execute format('select %I.http_post(url => $1, body => $2, headers => $3, timeout_milliseconds => $4)', net)
          using config.url,
                jsonb_build_object('ring', true),
                jsonb_strip_nulls(jsonb_build_object('Content-Type', 'application/json',
                                                     'Authorization', 'Bearer ' || config.token)),
                10000;
    exception when others then
        -- A doorbell that cannot ring must not cost the alert: the scheduled
        -- drain still sends it.
        raise warning 'pg_observe: the dispatch doorbell did not ring: %', sqlerrm;
    end;
    return null;
end
$$;

create trigger notifications_ring_dispatch
    after insert on observe.notifications
    referencing new table as queued
    for each statement execute function observe.ring_dispatch();

-- Counts at three resolutions, the issue summary, request counts, logs, the
-- daily partitions of events and logs, retention and observe.maintain()
-- (pg_observe/sql/schema.sql, logs.sql, storage.sql, maintenance.sql,
-- views.sql). Nothing captures meanwhile: the queue is folded into the new
-- counts, and the events move into their partitions.
lock table observe.count_queue, observe.issue_counts, observe.issue_users, observe.events
    in access exclusive mode;
drop view observe.deployments_overview, observe.releases, observe.error_rate, observe.recent_errors,
          observe.issue_overview, observe.issues, observe.event_counts;

-- When each user was last counted was not kept before 0.2.0: the first
-- sighting stands in. Then the queue's users, as the fold would count them.
alter table observe.issue_users add column last_seen timestamptz;
update observe.issue_users set last_seen = first_seen;
alter table observe.issue_users alter column last_seen set default now(),
                                alter column last_seen set not null;
insert into observe.issue_users as u (issue_id, user_hash, first_seen, last_seen)
select q.issue_id, q.user_hash, min(q.counted_at), max(q.counted_at)
  from observe.count_queue q
  join observe.issue_groups g on g.id = q.issue_id
 where q.user_hash is not null
 group by q.issue_id, q.user_hash
on conflict (issue_id, user_hash) do update set last_seen = greatest(u.last_seen, excluded.last_seen);

alter table observe.issue_counts rename to issue_counts_0_1_0;
alter index observe.issue_counts_pkey rename to issue_counts_0_1_0_pkey;
alter index observe.issue_counts_bucket_idx rename to issue_counts_0_1_0_bucket_idx;
-- Exact event counts (pg_observe/sql/schema.sql).
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

-- 0.1.0 kept minutes (slot 0 and up) and hours (slot -1, compacted from
-- minutes); with the queue, they give every resolution they cover.
with old as (
    select c.issue_id, c.bucket, c.environment, c.release, c.slot, c.events, c.first_seen, c.last_seen
      from observe.issue_counts_0_1_0 c
    union all
    select q.issue_id, date_trunc('minute', q.counted_at, 'UTC'), q.environment, q.release, 0, 1,
           q.counted_at, q.occurred_at
      from observe.count_queue q
      join observe.issue_groups g on g.id = q.issue_id
)
insert into observe.issue_counts (issue_id, resolution, bucket, environment, release, events, first_seen, last_seen)
select o.issue_id, r.resolution, date_trunc(r.resolution, o.bucket, 'UTC'), o.environment, o.release,
       sum(o.events), min(o.first_seen), max(o.last_seen)
  from old o
 cross join (values ('minute'), ('hour'), ('day')) as r(resolution)
 where r.resolution <> 'minute' or o.slot >= 0
 group by 1, 2, 3, 4, 5;
drop table observe.issue_counts_0_1_0;
-- Events' own levels were not counted before 0.2.0: each issue's level (the
-- highest it has seen) stands in.
insert into observe.service_counts (resolution, bucket, service, environment, level, events)
select c.resolution, c.bucket, g.service, c.environment, g.level, sum(c.events)
  from observe.issue_counts c
  join observe.issue_groups g on g.id = c.issue_id
 group by 1, 2, 3, 4, 5;
delete from observe.count_queue;
alter table observe.count_queue add column level observe.level not null;
alter table observe.fold_state add column windows_at timestamptz not null default date_trunc('hour', now(), 'UTC');

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

insert into observe.issue_summary
       (issue_id, events, last_seen, last_release, last_release_seen, events_24h, events_prev_24h, events_7d)
select g.id, coalesce(d.events, 0), d.last_seen, r.release, r.last_seen,
       coalesce(h.events_24h, 0), coalesce(h.events_prev_24h, 0), coalesce(h.events_7d, 0)
  from observe.issue_groups g
 cross join observe.fold_state w
  left join (select c.issue_id, sum(c.events)::bigint as events, max(c.last_seen) as last_seen
               from observe.issue_counts c where c.resolution = 'day' group by c.issue_id) d on d.issue_id = g.id
  left join lateral (select c.release, c.last_seen from observe.issue_counts c
                      where c.issue_id = g.id and c.resolution = 'day' and c.release <> ''
                      order by c.last_seen desc limit 1) r on true
  left join lateral (select sum(c.events) filter (where c.bucket >= w.windows_at - interval '23 hours') as events_24h,
                            sum(c.events) filter (where c.bucket >= w.windows_at - interval '47 hours'
                                                    and c.bucket < w.windows_at - interval '23 hours') as events_prev_24h,
                            sum(c.events) as events_7d
                       from observe.issue_counts c
                      where c.issue_id = g.id and c.resolution = 'hour'
                        and c.bucket >= w.windows_at - interval '167 hours') h on true;

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

create or replace function observe.truncate_issue_dependents() returns trigger
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


alter table observe.events rename to events_0_1_0;
alter index observe.events_pkey rename to events_0_1_0_pkey;
alter index observe.events_issue_id_occurred_at_idx rename to events_0_1_0_issue_id_occurred_at_idx;
alter index observe.events_occurred_at_idx rename to events_0_1_0_occurred_at_idx;
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


-- Structured logs (pg_observe/sql/logs.sql).
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

-- Retention, partitions and observe.maintain() (pg_observe/sql/storage.sql).
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

-- The events captured before 0.2.0, each into the partition of the day it
-- was received.
select observe.create_day_partition('observe.events', d.day)
  from (select distinct (e.received_at at time zone 'UTC')::date as day from observe.events_0_1_0 e) d;
insert into observe.events
       (id, issue_id, occurred_at, received_at, level, service, environment, release, exception_type, message,
        stack, context, request, tags, user_ref, request_id, unhandled, sample_rate, flags, writer_role)
select id, issue_id, occurred_at, received_at, level, service, environment, release, exception_type, message,
       stack, context, request, tags, user_ref, request_id, unhandled, sample_rate, flags, writer_role
  from observe.events_0_1_0;
drop table observe.events_0_1_0;

-- Folding at three resolutions (pg_observe/sql/maintenance.sql).
create or replace function observe.fold_counts()
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


-- The views over the new counts (pg_observe/sql/views.sql).
-- Exact counts at every resolution: the folded counts plus the events still
-- queued, each of which counts once in its minute, its hour and its day.
create view observe.event_counts with (security_invoker = true) as
select issue_id, resolution, bucket, environment, release, events, first_seen, last_seen
  from observe.issue_counts
 union all
select q.issue_id, r.resolution, date_trunc(r.resolution, q.counted_at, 'UTC'), q.environment, q.release,
       1::bigint, q.counted_at, q.occurred_at
  from observe.count_queue q
 cross join (values ('minute'), ('hour'), ('day')) as r(resolution);
comment on view observe.event_counts is
    'Exact event counts per issue, resolution (minute, hour, day), bucket, environment and release: the folded observe.issue_counts plus the events still queued.';

-- Exact: the folded summary plus the queue. Filtering on the issue id
-- reaches every side of the joins; the queue has no index (it is written
-- once per event and emptied every second), so it is read in one pass.
create view observe.issues with (security_invoker = true) as
select g.id,
       g.service,
       g.fingerprint,
       g.title,
       g.culprit,
       g.exception_type,
       g.level,
       g.status,
       g.first_seen,
       greatest(s.last_seen, q.last_seen) as last_seen,
       s.events + coalesce(q.events, 0) as events,
       coalesce(u.users, 0) as users,
       g.first_release,
       case when q.release_seen > coalesce(s.last_release_seen, '-infinity')
            then q.last_release else s.last_release end as last_release,
       g.resolved_in_release,
       g.ignored_until,
       g.ignore_until_count,
       g.regressed_at,
       g.times_regressed,
       g.status_changed_at,
       g.grouping_basis
  from observe.issue_groups g
  join observe.issue_summary s on s.issue_id = g.id
  left join (
        select cq.issue_id,
               count(*)::bigint as events,
               max(cq.occurred_at) as last_seen,
               (array_agg(cq.release order by cq.occurred_at desc) filter (where cq.release <> ''))[1]
                   as last_release,
               max(cq.occurred_at) filter (where cq.release <> '') as release_seen
          from observe.count_queue cq
         group by cq.issue_id
       ) q on q.issue_id = g.id
  left join (
        select known.issue_id, count(*)::bigint as users
          from (select iu.issue_id, iu.user_hash from observe.issue_users iu
                 union
                select cq.issue_id, cq.user_hash from observe.count_queue cq where cq.user_hash is not null) known
         group by known.issue_id
       ) u on u.issue_id = g.id;
comment on view observe.issues is
    'One row per (service, fingerprint): exact event count, affected users, first/last seen and release, status.';

-- As of the last fold (about a second behind while events arrive): the
-- counts come from observe.issue_summary, whose indexes serve ORDER BY
-- events, events_24h or events_7d with a LIMIT at any size; the users and
-- hourly counts are looked up for the rows returned only.
create view observe.issue_overview with (security_invoker = true) as
select g.id,
       g.service,
       g.title,
       g.culprit,
       g.level,
       g.status,
       s.events,
       (select count(*) from observe.issue_users iu where iu.issue_id = g.id) as users,
       s.events_24h,
       s.events_7d,
       s.events_prev_24h,
       case
           when s.events_24h = 0 then 'quiet'
           when g.first_seen > now() - interval '24 hours' then 'new'
           when s.events_24h > 1.5 * s.events_prev_24h then 'rising'
           when s.events_24h < 0.5 * s.events_prev_24h then 'falling'
           else 'steady'
       end as trend,
       -- The 24 hours the summary's windows are counted in, oldest first,
       -- quiet hours as 0.
       (select array_agg(coalesce(c.events, 0) order by h.hour)
          from observe.fold_state w
         cross join generate_series(w.windows_at - interval '23 hours', w.windows_at, interval '1 hour') as h(hour)
          left join lateral (
                select sum(ic.events)::bigint as events
                  from observe.issue_counts ic
                 where ic.issue_id = g.id and ic.resolution = 'hour' and ic.bucket = h.hour
               ) c on true
       ) as hourly_24h,
       g.first_seen,
       s.last_seen,
       s.last_release
  from observe.issue_groups g
  join observe.issue_summary s on s.issue_id = g.id;
comment on view observe.issue_overview is
    'Issues with their counts, as of the last fold: in all, in the last 24 h, the 24 h before, and 7 d (whole hours up to the last fold''s); trend is new, rising, falling, steady or quiet; hourly_24h holds those 24 hourly counts, oldest first. ORDER BY events, events_24h or events_7d with a LIMIT is served by an index.';

create view observe.recent_errors with (security_invoker = true) as
select e.id as event_id,
       e.occurred_at,
       e.received_at,
       e.level,
       e.service,
       e.environment,
       e.release,
       e.issue_id,
       g.title as issue_title,
       g.status as issue_status,
       e.exception_type,
       e.message,
       g.culprit,
       e.user_ref,
       e.request_id,
       e.request ->> 'url' as url,
       e.sample_rate,
       e.flags
  from observe.events e
  join observe.issue_groups g on g.id = e.issue_id
 where e.occurred_at > now() - interval '24 hours'
 order by e.occurred_at desc;
comment on view observe.recent_errors is
    'Stored events of the last 24 hours, newest first, with their issue.';

-- Exact: the folded per-minute counts plus the queues. Events come from
-- service_counts (a few rows a minute); distinct issues from the per-minute
-- issue counts; requests from what middleware reported.
create view observe.error_rate with (security_invoker = true) as
with minutes as (
    select generate_series(date_trunc('minute', now(), 'UTC') - interval '59 minutes',
                           date_trunc('minute', now(), 'UTC'),
                           interval '1 minute') as minute
), events as (
    select e.service, e.environment, e.minute, sum(e.events)::bigint as events
      from (select sc.service, sc.environment, sc.bucket as minute, sc.events
              from observe.service_counts sc
             where sc.resolution = 'minute'
               and sc.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select g.service, q.environment, date_trunc('minute', q.counted_at, 'UTC'), 1
              from observe.count_queue q
              join observe.issue_groups g on g.id = q.issue_id
             where q.counted_at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') e
     group by e.service, e.environment, e.minute
), issues as (
    select g.service, i.environment, i.minute, count(distinct i.issue_id)::bigint as issues
      from (select ic.issue_id, ic.environment, ic.bucket as minute
              from observe.issue_counts ic
             where ic.resolution = 'minute'
               and ic.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select q.issue_id, q.environment, date_trunc('minute', q.counted_at, 'UTC')
              from observe.count_queue q
             where q.counted_at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') i
      join observe.issue_groups g on g.id = i.issue_id
     group by g.service, i.environment, i.minute
), requests as (
    select r.service, r.environment, r.minute, sum(r.requests)::bigint as requests,
           sum(r.errors)::bigint as errors
      from (select rc.service, rc.environment, rc.bucket as minute, rc.requests, rc.errors
              from observe.request_counts rc
             where rc.resolution = 'minute'
               and rc.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select rq.service, rq.environment, date_trunc('minute', rq.at, 'UTC'), rq.requests, rq.errors
              from observe.request_queue rq
             where rq.at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') r
     group by r.service, r.environment, r.minute
), series as (
    -- Whether a series has request counts at all: its quiet minutes then
    -- had no requests; without any, the denominator is unknown.
    select s.service, s.environment, bool_or(s.reported) as reported
      from (select service, environment, false as reported from events
            union all
            select service, environment, true from requests) s
     group by s.service, s.environment
)
select s.service,
       nullif(s.environment, '') as environment,
       m.minute,
       coalesce(e.events, 0) as events,
       coalesce(i.issues, 0) as issues,
       case when s.reported then coalesce(r.requests, 0) end as requests,
       case when s.reported then coalesce(r.errors, 0) end as request_errors,
       case when r.requests > 0 then coalesce(e.events, 0)::double precision / r.requests end as rate
  from series s
 cross join minutes m
  left join events e on e.service = s.service and e.environment = s.environment and e.minute = m.minute
  left join issues i on i.service = s.service and i.environment = s.environment and i.minute = m.minute
  left join requests r on r.service = s.service and r.environment = s.environment and r.minute = m.minute
 order by m.minute, s.service, s.environment;
comment on view observe.error_rate is
    'Per minute of the last hour, per service and environment, zero-filled: error events, distinct issues, and the requests and failed requests middleware reported (null for a series that reported none); rate is events per request.';

create view observe.releases with (security_invoker = true) as
select g.service,
       c.release as version,
       min(c.first_seen) as first_seen,
       max(c.last_seen) as last_seen,
       sum(c.events)::bigint as events,
       count(distinct c.issue_id)::bigint as issues,
       min(d.first_deployed_at) as first_deployed_at,
       max(d.last_deployed_at) as last_deployed_at,
       coalesce(max(d.deploys), 0)::bigint as deploys
  from observe.event_counts c
  join observe.issue_groups g on g.id = c.issue_id
  -- A release names a deploy by its commit: the full sha or a prefix of at
  -- least 7 characters, alone or after the last '@' (`web@3f2a9c1`).
  left join lateral (
        select min(coalesce(dep.ready_at, dep.created_at)) as first_deployed_at,
               max(coalesce(dep.ready_at, dep.created_at)) as last_deployed_at,
               count(*) as deploys
          from observe.deployments dep
         where dep.commit_sha is not null
           and length(substring(c.release from '[^@]*$')) >= 7
           and dep.commit_sha like substring(c.release from '[^@]*$') || '%'
       ) d on true
 where c.resolution = 'day'
   and c.release <> ''
 group by g.service, c.release;
comment on view observe.releases is
    'Every release events were captured from, per service: when it was first and last seen, its events and issues, and when it was deployed (deploys whose commit sha the release names).';

-- Each deploy next to what happened around it: error events, new issues and
-- regressions of its environment in the 30 minutes before and after it went
-- live (or was created, when it never did).
create view observe.deployments_overview with (security_invoker = true) as
select d.id,
       d.provider,
       d.deployment_id,
       d.project,
       d.environment,
       d.state,
       d.commit_sha,
       d.branch,
       d.url,
       d.created_at,
       d.ready_at,
       d.finished_at,
       w.deployed_at,
       coalesce(e.before, 0) as errors_before,
       coalesce(e.after, 0) as errors_after,
       coalesce(a.new_before, 0) as new_issues_before,
       coalesce(a.new_after, 0) as new_issues_after,
       coalesce(a.regressed_before, 0) as regressions_before,
       coalesce(a.regressed_after, 0) as regressions_after
  from observe.deployments d
 cross join lateral (select coalesce(d.ready_at, d.created_at) as deployed_at) w
  left join lateral (
        select sum(c.events) filter (where c.bucket < w.deployed_at)::bigint as before,
               sum(c.events) filter (where c.bucket >= w.deployed_at)::bigint as after
          from observe.event_counts c
         where c.environment = d.environment
           and c.resolution = 'minute'
           and c.bucket >= w.deployed_at - interval '30 minutes'
           and c.bucket < w.deployed_at + interval '30 minutes'
       ) e on true
  left join lateral (
        select count(*) filter (where act.kind = 'created' and act.at < w.deployed_at) as new_before,
               count(*) filter (where act.kind = 'created' and act.at >= w.deployed_at) as new_after,
               count(*) filter (where act.kind = 'regressed' and act.at < w.deployed_at) as regressed_before,
               count(*) filter (where act.kind = 'regressed' and act.at >= w.deployed_at) as regressed_after
          from observe.issue_activity act
         where act.kind in ('created', 'regressed')
           and act.at >= w.deployed_at - interval '30 minutes'
           and act.at < w.deployed_at + interval '30 minutes'
           and exists (select from observe.event_counts c
                        where c.issue_id = act.issue_id and c.resolution = 'day'
                          and c.environment = d.environment)
       ) a on true
 order by w.deployed_at desc;
comment on view observe.deployments_overview is
    'Each deploy with the error events, new issues and regressions of its environment in the 30 minutes before and after it went live.';

-- Exact: hourly log counts of the last 24 hours, plus the lines not rolled
-- up yet.
create view observe.log_volume with (security_invoker = true) as
select v.hour,
       v.service,
       nullif(v.environment, '') as environment,
       v.level,
       sum(v.events)::bigint as events
  from (select lc.bucket as hour, lc.service, lc.environment, lc.level, lc.events
          from observe.log_counts lc
         where lc.resolution = 'hour'
           and lc.bucket >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
        union all
        select date_trunc('hour', l.logged_at, 'UTC'), l.service, coalesce(l.environment, ''), l.level, 1
          from observe.logs l
         where l.logged_at >= (select r.settled_until from observe.log_rollup r)
           and l.logged_at >= date_trunc('hour', now(), 'UTC') - interval '23 hours') v
 group by v.hour, v.service, v.environment, v.level;
comment on view observe.log_volume is
    'Log lines per hour of the last 24 hours (UTC), service, environment and level; hours without lines have no row.';

-- The issues with the most events in a window, as of the last fold. A window
-- of whole hours counts the hour of the last fold and the hours before it,
-- like issue_overview; a shorter one counts minutes up to the current one.
-- The 24-hour and 7-day windows are read from observe.issue_summary's
-- indexes; others sum the hourly or per-minute counts.
create function observe.top_issues(window_size interval default '24 hours', max_issues integer default 20)
returns table (
    id bigint,
    service text,
    title text,
    culprit text,
    level observe.level,
    status observe.issue_status,
    events bigint,
    previous_events bigint,
    users bigint,
    total_events bigint,
    first_seen timestamptz,
    last_seen timestamptz,
    trend text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    unit text;
    step interval;
    buckets integer;
    window_start timestamptz;
    ids bigint[];
    counts bigint[];
    previous bigint[];
begin
    if window_size is null or max_issues is null then
        raise exception 'window_size and max_issues are required' using errcode = 'null_value_not_allowed';
    end if;
    if window_size <= interval '0' then
        raise exception 'window_size must be positive, got %', window_size using errcode = 'invalid_parameter_value';
    end if;
    if max_issues not between 1 and 1000 then
        raise exception 'max_issues must be between 1 and 1000, got %', max_issues
            using errcode = 'invalid_parameter_value';
    end if;
    if window_size >= interval '1 hour' then
        unit := 'hour';
        step := interval '1 hour';
        select w.windows_at into window_start from observe.fold_state w;
    else
        unit := 'minute';
        step := interval '1 minute';
        window_start := date_trunc('minute', now(), 'UTC');
    end if;
    buckets := ceil(extract(epoch from window_size) / extract(epoch from step))::integer;
    window_start := window_start - step * (buckets - 1);

    if unit = 'hour' and buckets = 24 then
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc),
               array_agg(r.prev order by r.n desc)
          into ids, counts, previous
          from (select s.issue_id, s.events_24h as n, s.events_prev_24h as prev
                  from observe.issue_summary s
                 where s.events_24h > 0
                 order by s.events_24h desc
                 limit max_issues) r;
    elsif unit = 'hour' and buckets = 168 then
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc)
          into ids, counts
          from (select s.issue_id, s.events_7d as n
                  from observe.issue_summary s
                 where s.events_7d > 0
                 order by s.events_7d desc
                 limit max_issues) r;
    else
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc)
          into ids, counts
          from (select c.issue_id, sum(c.events)::bigint as n
                  from observe.issue_counts c
                 where c.resolution = unit and c.bucket >= window_start
                 group by c.issue_id
                 order by 2 desc
                 limit max_issues) r;
    end if;

    return query
    select g.id, g.service, g.title, g.culprit, g.level, g.status, t.n, p.n,
           (select count(*) from observe.issue_users u
             where u.issue_id = t.issue_id and u.last_seen >= window_start),
           s.events, g.first_seen, s.last_seen,
           case
               when g.first_seen > now() - window_size then 'new'
               when t.n > 1.5 * p.n then 'rising'
               when t.n < 0.5 * p.n then 'falling'
               else 'steady'
           end
      from unnest(ids, counts, previous) with ordinality as t(issue_id, n, prev, rank)
      join observe.issue_groups g on g.id = t.issue_id
      join observe.issue_summary s on s.issue_id = t.issue_id
     cross join lateral (
            select coalesce(t.prev,
                            (select sum(c.events) from observe.issue_counts c
                              where c.issue_id = t.issue_id and c.resolution = unit
                                and c.bucket >= window_start - step * buckets and c.bucket < window_start),
                            0)::bigint as n
           ) p
     order by t.rank;
end
$$;
comment on function observe.top_issues(interval, integer) is
    'The issues with the most events in the last window_size (whole hours up to the last fold''s, or minutes for less than an hour), with the window before, users seen in the window, totals and a trend (new, rising, falling, steady); as of the last fold.';

-- Logs and request counts (pg_observe/src/logs.rs, requests.rs).
CREATE FUNCTION observe."log"(
	"message" TEXT,
	"level" TEXT DEFAULT 'info',
	"service" TEXT DEFAULT NULL,
	"environment" TEXT DEFAULT NULL,
	"context" jsonb DEFAULT '{}',
	"request_id" TEXT DEFAULT NULL
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'log_wrapper';

CREATE FUNCTION observe."log_batch"(
	"entries" jsonb
) RETURNS INT
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'log_batch_wrapper';

CREATE FUNCTION observe."record_requests"(
	"service" TEXT,
	"requests" bigint,
	"errors" bigint DEFAULT 0,
	"route" TEXT DEFAULT NULL,
	"environment" TEXT DEFAULT NULL,
	"at" timestamp with time zone DEFAULT now()
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'record_requests_wrapper';

-- Alerting (pg_observe/sql/alerting.sql and pg_observe/src/alerting/).
create function observe.create_alert_rule(
    name text,
    kind text default 'threshold',
    metric text default 'error_events',
    service text default null,
    environment text default null,
    level text default null,
    issue_id bigint default null,
    "match" jsonb default null,
    comparator text default '>=',
    threshold double precision default null,
    window_size interval default '5 minutes',
    pending_for interval default '0',
    keep_firing_for interval default '0',
    repeat_interval interval default '4 hours',
    group_by text[] default '{}',
    severity text default 'high',
    labels jsonb default '{}',
    annotations jsonb default '{}',
    recipients text[] default '{}',
    enabled boolean default true,
    group_wait interval default '30 seconds',
    group_interval interval default '5 minutes',
    send_resolved boolean default true
) returns bigint
volatile security definer parallel unsafe
set search_path to pg_catalog, pg_temp
language c as 'MODULE_PATHNAME', 'create_alert_rule_wrapper';

create function observe."silence_matches"(
	"matchers" jsonb,
	"labels" jsonb
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'silence_matches_wrapper';

create function observe."fire_event_rules"(
	"issue_id" bigint,
	"activity" TEXT
) RETURNS INT
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'fire_event_rules_wrapper';

create function observe."update_alert_rule"(
	"id" bigint,
	"changes" jsonb
) RETURNS jsonb
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'update_alert_rule_wrapper';

create function observe."delete_alert_rule"(
	"id" bigint
) RETURNS void
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'delete_alert_rule_wrapper';

create function observe."evaluate_alerts"(
	"at" timestamp with time zone DEFAULT now()
) RETURNS jsonb
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'evaluate_alerts_wrapper';

create function observe."silence"(
	"matchers" jsonb,
	"ends_at" timestamp with time zone,
	"comment" TEXT DEFAULT NULL
) RETURNS uuid
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'silence_wrapper';

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

-- Health checks and what browsers send: header grading, the conditions
-- and the untrusted budgets are Rust (pg_observe/src/health.rs); the rest is
-- pg_observe/sql/health.sql and ingest.sql, verbatim.
create function observe.grade_headers(headers jsonb)
returns jsonb immutable strict parallel safe
language c as 'MODULE_PATHNAME', 'grade_headers_wrapper';

create function observe.check_health_conditions(conditions text[])
returns text[] immutable parallel safe
language c as 'MODULE_PATHNAME', 'check_health_conditions_wrapper';

create function observe.evaluate_health_conditions(conditions text[], status integer,
                                                   response_time_ms double precision, body text, headers jsonb)
returns jsonb immutable parallel safe
language c as 'MODULE_PATHNAME', 'evaluate_health_conditions_wrapper';

create function observe.spend_ingest_budget(events integer, bytes bigint)
returns text strict volatile parallel unsafe
language c as 'MODULE_PATHNAME', 'spend_ingest_budget_wrapper';

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

-- What browsers send (README, "Ingest"): Core Web Vitals beacons and CSP
-- violation reports, through the public ingest edge function, which parses
-- the browsers' formats (edge/src/ingest/) and writes as observe_ingest.
-- Browsers keep no secrets, so these writes are untrusted: per-minute
-- budgets apply (observe.spend_ingest_budget, trust.sql), everything is
-- scrubbed, URLs lose their query and fragment, and every field is bounded.

-- The ingest function switches to this role (SET LOCAL ROLE) for its
-- writes: a writer, and an untrusted one.
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'observe_ingest') then
        begin
            create role observe_ingest nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
    begin
        grant observe_writer, observe_untrusted to observe_ingest;
    exception when duplicate_object or unique_violation then
        null;
    end;
end
$roles$;

-- The published thresholds (web.dev/articles/vitals): good up to the
-- first, poor above the second.
create function observe.web_vital_rating(metric text, value double precision)
returns text
language sql
immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select case
               when t.good is null or value is null then null
               when value <= t.good then 'good'
               when value <= t.poor then 'needs-improvement'
               else 'poor'
           end
      from (select case metric when 'LCP' then 2500 when 'INP' then 200 when 'CLS' then 0.1
                               when 'FCP' then 1800 when 'TTFB' then 800 end::double precision as good,
                   case metric when 'LCP' then 4000 when 'INP' then 500 when 'CLS' then 0.25
                               when 'FCP' then 3000 when 'TTFB' then 1800 end::double precision as poor) t
$$;
comment on function observe.web_vital_rating(text, double precision) is
    'good / needs-improvement / poor for a Core Web Vital by the published thresholds: LCP 2500/4000 ms, INP 200/500 ms, CLS 0.1/0.25, FCP 1800/3000 ms, TTFB 800/1800 ms.';

-- A URL as kept: scrubbed, without query and fragment (tokens live
-- there), bounded.
create function observe.ingest_url(url text)
returns text
language sql
stable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select nullif(left(regexp_replace(observe.scrub_payload(jsonb_build_object('u', url))->>'u', '[?#].*$', ''), 512), '')
$$;

create table observe.web_vitals (
    id bigint generated always as identity primary key,
    received_at timestamptz not null default now(),
    name text not null check (name in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')),
    value double precision not null check (value >= 0 and value < 3600000),
    rating text not null check (rating in ('good', 'needs-improvement', 'poor')),
    delta double precision,
    -- web-vitals' id of the metric instance (one page load).
    metric_id text,
    navigation_type text,
    page text not null,
    release text,
    device text,
    environment text,
    writer_role name not null default observe.acting_role()
);
create index web_vitals_received_at_idx on observe.web_vitals (received_at);
create index web_vitals_page_idx on observe.web_vitals (page, name, received_at);
comment on table observe.web_vitals is
    'Core Web Vitals beacons of real users (web-vitals: LCP, INP, CLS, FCP, TTFB); query observe.web_vitals_p75. Kept 30 days.';

create function observe.record_web_vitals(beacons jsonb)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    batch jsonb := case jsonb_typeof(beacons) when 'object' then jsonb_build_array(beacons) else beacons end;
    bad record;
    stored integer;
begin
    if batch is null or jsonb_typeof(batch) <> 'array' then
        raise exception 'beacons must be a JSON object or an array of them' using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) > 100 or octet_length(batch::text) > 65536 then
        raise exception 'at most 100 beacons and 64 KiB per call' using errcode = 'program_limit_exceeded';
    end if;
    select n, b into bad
      from jsonb_array_elements(batch) with ordinality as x(b, n)
     where jsonb_typeof(b) <> 'object'
        or coalesce(b->>'name', '') not in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')
        or case when jsonb_typeof(b->'value') = 'number'
                then (b->>'value')::double precision not between 0 and 3599999 else true end
        or coalesce(b->>'page', '') !~* '^https?://'
     limit 1;
    if found then
        raise exception 'beacon %: needs name (LCP, INP, CLS, FCP or TTFB), a value >= 0 and an http(s) page URL', bad.n
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) = 0
       or observe.spend_ingest_budget(jsonb_array_length(batch), octet_length(batch::text)) is not null then
        return 0;
    end if;
    insert into observe.web_vitals
           (name, value, rating, delta, metric_id, navigation_type, page, release, device, environment)
    select b->>'name', (b->>'value')::double precision,
           case when b->>'rating' in ('good', 'needs-improvement', 'poor') then b->>'rating'
                else observe.web_vital_rating(b->>'name', (b->>'value')::double precision) end,
           case jsonb_typeof(b->'delta') when 'number' then (b->>'delta')::double precision end,
           left(b->>'id', 64), left(b->>'navigation_type', 32), observe.ingest_url(b->>'page'),
           left(b->>'release', 200), left(b->>'device', 32), left(b->>'environment', 64)
      from jsonb_array_elements(batch) b;
    get diagnostics stored = row_count;
    return stored;
end
$$;
comment on function observe.record_web_vitals(jsonb) is
    'Stores web-vitals beacons ({name, value, rating, delta, id, navigation_type, page, release, device, environment}, one or an array of at most 100); returns how many. Untrusted writers'' budgets apply: over budget, nothing is stored and 0 returned.';

-- CSP violations, grouped like issues: one row per effective directive,
-- blocked origin (or inline, eval, wasm-eval, data…) and source file, so a
-- bad inline script seen a million times is one row with its count.
create table observe.csp_reports (
    id bigint generated always as identity primary key,
    directive text not null,
    blocked text not null,
    -- Origin and path of the file that caused it; '' when none.
    source_file text not null,
    count bigint not null,
    first_seen timestamptz not null,
    last_seen timestamptz not null,
    -- The latest report's details, scrubbed.
    document text,
    disposition text check (disposition in ('enforce', 'report')),
    sample text,
    line integer,
    column_number integer,
    unique (directive, blocked, source_file)
);
create index csp_reports_last_seen_idx on observe.csp_reports (last_seen);
comment on table observe.csp_reports is
    'CSP violation reports grouped by directive, blocked origin and source file, with a count; query observe.csp_violations.';

create function observe.record_csp_reports(reports jsonb)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    batch jsonb := case jsonb_typeof(reports) when 'object' then jsonb_build_array(reports) else reports end;
    bad record;
    stored integer;
begin
    if batch is null or jsonb_typeof(batch) <> 'array' then
        raise exception 'reports must be a JSON object or an array of them' using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) > 100 or octet_length(batch::text) > 65536 then
        raise exception 'at most 100 reports and 64 KiB per call' using errcode = 'program_limit_exceeded';
    end if;
    select n into bad
      from jsonb_array_elements(batch) with ordinality as x(r, n)
     where jsonb_typeof(r) <> 'object'
        or coalesce(r->>'directive', '') !~ '^[a-z-]{1,64}$'
        or coalesce(r->>'blocked', '') = ''
     limit 1;
    if found then
        raise exception 'report %: needs directive (a CSP directive name) and blocked', bad.n
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) = 0
       or observe.spend_ingest_budget(jsonb_array_length(batch), octet_length(batch::text)) is not null then
        return 0;
    end if;
    with scrubbed as (
        select n, observe.scrub_payload(r) as r
          from jsonb_array_elements(batch) with ordinality as x(r, n)
    ), grouped as (
        select r->>'directive' as directive,
               left(coalesce(observe.ingest_url(r->>'blocked'), r->>'blocked'), 256) as blocked,
               coalesce(left(observe.ingest_url(r->>'source_file'), 512), '') as source_file,
               count(*) as seen,
               (array_agg(r order by n desc))[1] as latest
          from scrubbed
         group by 1, 2, 3
    )
    insert into observe.csp_reports as c
           (directive, blocked, source_file, count, first_seen, last_seen, document, disposition, sample, line,
            column_number)
    select directive, blocked, source_file, seen, now(), now(), observe.ingest_url(latest->>'document'),
           case when latest->>'disposition' in ('enforce', 'report') then latest->>'disposition' end,
           left(latest->>'sample', 80),
           case when latest->>'line' ~ '^[0-9]{1,9}$' then (latest->>'line')::integer end,
           case when latest->>'column' ~ '^[0-9]{1,9}$' then (latest->>'column')::integer end
      from grouped
    on conflict (directive, blocked, source_file) do update
       set count = c.count + excluded.count,
           last_seen = excluded.last_seen,
           document = coalesce(excluded.document, c.document),
           disposition = coalesce(excluded.disposition, c.disposition),
           sample = coalesce(excluded.sample, c.sample),
           line = coalesce(excluded.line, c.line),
           column_number = coalesce(excluded.column_number, c.column_number);
    select count(*) into stored from jsonb_array_elements(batch);
    return stored;
end
$$;
comment on function observe.record_csp_reports(jsonb) is
    'Counts CSP violation reports ({directive, blocked, source_file, document, disposition, sample, line, column}, one or an array of at most 100) into their groups; returns how many. Untrusted writers'' budgets apply.';

-- p75 over the last 7 days (CrUX reports p75 over 28; a week follows a
-- release sooner), per page, metric, release and device class.
create view observe.web_vitals_p75 with (security_invoker = true) as
select page, name as metric, release, device, count(*) as samples,
       percentile_cont(0.75) within group (order by value) as p75,
       observe.web_vital_rating(name, percentile_cont(0.75) within group (order by value)) as rating,
       max(received_at) as last_seen
  from observe.web_vitals
 where received_at > now() - interval '7 days'
 group by page, name, release, device;
comment on view observe.web_vitals_p75 is
    'The web_vital_p75 alert metric: p75 of each Core Web Vital over 7 days per page, release and device class, rated good / needs-improvement / poor.';

create view observe.csp_violations with (security_invoker = true) as
select directive, blocked, nullif(source_file, '') as source_file, count, first_seen, last_seen, document,
       disposition, sample, line, column_number
  from observe.csp_reports;
comment on view observe.csp_violations is
    'CSP violations grouped by directive, blocked origin and source file, with their count and latest sample.';

-- Sentry SDK projects and keys (README, "Sentry SDKs"). An app keeps its
-- official Sentry SDK and points the DSN at the ingest function:
-- https://<public_key>@<host>/functions/v1/ingest/<project_id>. A project
-- maps onto a service; its events are captured by observe.log_sentry_event
-- and observe.ingest_sentry_envelopes (src/sentry.rs).

create table observe.projects (
    id bigint generated always as identity primary key,
    name text not null unique
        check (name ~ '\S' and length(name) <= 100 and name !~ '[[:cntrl:]]'),
    -- Every event of the project is captured in this service.
    service text not null
        check (service ~ '\S' and length(service) <= 100 and service !~ '[[:cntrl:]]'),
    -- For events that name none.
    environment text
        check (environment ~ '^[^[:space:]/]{1,64}$'),
    created_at timestamptz not null default now(),
    disabled_at timestamptz
);
comment on table observe.projects is
    'Sentry SDK projects: the DSN https://<public_key>@<host>/functions/v1/ingest/<id> sends to the service named here.';

-- Keys are stored as their SHA-256 digest only: a DSN key is shown once, by
-- create_project and rotate_project_key, and nobody can list keys later.
-- A 128-bit random key cannot be recovered from its digest.
create table observe.project_keys (
    id bigint generated always as identity primary key,
    project_id bigint not null references observe.projects (id) on delete cascade,
    key_hash bytea not null unique,
    -- The key's first 8 characters, to tell keys apart.
    key_prefix text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
create index project_keys_project_id_idx on observe.project_keys (project_id);
comment on table observe.project_keys is
    'Sentry DSN keys of each project, as SHA-256 digests; revoked keys are kept, refused.';

-- An event_id the SDK sent, and the event it became: the same event sent
-- twice (a retry, a tunnel) is stored once. Remembered for a day.
create table observe.sentry_event_ids (
    project_id bigint not null,
    event_id uuid not null,
    id uuid not null,
    received_at timestamptz not null default now(),
    primary key (project_id, event_id)
);
create index sentry_event_ids_received_at_idx on observe.sentry_event_ids using brin (received_at);

-- Envelope items by type per project and minute (events, sessions, client
-- reports, transactions, attachments, anything else), striped by backend
-- slot as observe.ingest_usage is.
create table observe.sentry_item_counts (
    project_id bigint not null,
    minute timestamptz not null,
    item_type text not null,
    slot smallint not null,
    items bigint not null,
    primary key (project_id, minute, item_type, slot)
);

create view observe.sentry_items with (security_invoker = true) as
select project_id, minute, item_type, sum(items)::bigint as items
  from observe.sentry_item_counts
 group by project_id, minute, item_type;
comment on view observe.sentry_items is
    'Items of Sentry envelopes accepted per project, minute and type (event, session, sessions, client_report, transaction, attachment, …).';

-- A new active key for a project: 32 hex digits (122 random bits), the
-- shape SDKs expect of a DSN's public key.
create function observe.new_project_key(project bigint)
returns table (project_id bigint, public_key text, dsn_path text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    new_key text := replace(gen_random_uuid()::text, '-', '');
begin
    insert into observe.project_keys (project_id, key_hash, key_prefix)
    values (project, sha256(convert_to(new_key, 'UTF8')), left(new_key, 8));
    return query select project, new_key, '/functions/v1/ingest/' || project;
end
$$;

create function observe.create_project(name text, service text default null, environment text default null)
returns table (project_id bigint, public_key text, dsn_path text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    created bigint;
begin
    if name is null or name !~ '\S' or length(name) > 100 or name ~ '[[:cntrl:]]' then
        raise exception 'name must be 1 to 100 characters on one line' using errcode = 'invalid_parameter_value';
    end if;
    if coalesce(service, name) !~ '\S' or length(coalesce(service, name)) > 100 or coalesce(service, name) ~ '[[:cntrl:]]' then
        raise exception 'service must be 1 to 100 characters on one line' using errcode = 'invalid_parameter_value';
    end if;
    if environment is not null and environment !~ '^[^[:space:]/]{1,64}$' then
        raise exception 'environment must be 1 to 64 characters without whitespace or ''/'''
            using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.projects as p (name, service, environment)
    values (create_project.name, coalesce(create_project.service, create_project.name), create_project.environment)
    returning p.id into created;
    return query select * from observe.new_project_key(created);
end
$$;
comment on function observe.create_project(text, text, text) is
    'Creates a Sentry SDK project for a service (the name unless given) and its key; the DSN is https://<public_key>@<host><dsn_path>. The key is shown this once.';

create function observe.rotate_project_key(project_id bigint)
returns table (public_key text, dsn_path text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    perform from observe.projects p where p.id = rotate_project_key.project_id for update;
    if not found then
        raise exception 'project % does not exist', rotate_project_key.project_id using errcode = 'no_data_found';
    end if;
    update observe.project_keys k set revoked_at = now()
     where k.project_id = rotate_project_key.project_id and k.revoked_at is null;
    return query select n.public_key, n.dsn_path from observe.new_project_key(rotate_project_key.project_id) n;
end
$$;
comment on function observe.rotate_project_key(bigint) is
    'Revokes the project''s key at once (SDKs using it get 401) and returns a new one.';

create function observe.disable_project(project_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update observe.projects p set disabled_at = coalesce(p.disabled_at, now())
     where p.id = disable_project.project_id;
    if not found then
        raise exception 'project % does not exist', disable_project.project_id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.disable_project(bigint) is
    'Refuses the project''s events (SDKs get 403) until observe.enable_project(); its key and events are kept.';

create function observe.enable_project(project_id bigint)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    update observe.projects p set disabled_at = null where p.id = enable_project.project_id;
    if not found then
        raise exception 'project % does not exist', enable_project.project_id using errcode = 'no_data_found';
    end if;
end
$$;
comment on function observe.enable_project(bigint) is
    'Accepts a disabled project''s events again.';

-- A project's key is an untrusted writer of its own: scope 'project:<id>'
-- of observe.ingest_budgets, 'default' until set here.
create function observe.set_project_budget(
    project_id bigint,
    new_issues_per_minute integer default null,
    events_per_minute integer default null,
    bytes_per_minute bigint default null
)
returns observe.ingest_budgets
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    budget observe.ingest_budgets;
begin
    if not exists (select from observe.projects p where p.id = set_project_budget.project_id) then
        raise exception 'project % does not exist', set_project_budget.project_id using errcode = 'no_data_found';
    end if;
    if least(new_issues_per_minute, events_per_minute, bytes_per_minute) < 0 then
        raise exception 'budgets must not be negative' using errcode = 'invalid_parameter_value';
    end if;
    insert into observe.ingest_budgets as b
    select 'project:' || set_project_budget.project_id,
           coalesce(set_project_budget.new_issues_per_minute, d.new_issues_per_minute),
           coalesce(set_project_budget.events_per_minute, d.events_per_minute),
           coalesce(set_project_budget.bytes_per_minute, d.bytes_per_minute)
      from observe.ingest_budgets d
     where d.scope = 'default'
    on conflict on constraint ingest_budgets_pkey do update
       set new_issues_per_minute = coalesce(set_project_budget.new_issues_per_minute, b.new_issues_per_minute),
           events_per_minute = coalesce(set_project_budget.events_per_minute, b.events_per_minute),
           bytes_per_minute = coalesce(set_project_budget.bytes_per_minute, b.bytes_per_minute)
    returning * into budget;
    return budget;
end
$$;
comment on function observe.set_project_budget(bigint, integer, integer, bigint) is
    'Sets the per-minute budgets of a Sentry project''s key (scope project:<id> of observe.ingest_budgets); arguments left null keep their value. Over budget, SDKs get 429 and back off.';

create function observe.log_sentry_event(project_id bigint, event jsonb)
returns uuid
volatile security definer parallel unsafe
set search_path to pg_catalog, pg_temp
language c as 'MODULE_PATHNAME', 'log_sentry_event_wrapper';

create function observe.ingest_sentry_envelopes(envelopes text)
returns table (envelope integer, result jsonb)
strict volatile security definer parallel unsafe
set search_path to pg_catalog, pg_temp
language c as 'MODULE_PATHNAME', 'ingest_sentry_envelopes_wrapper';

-- Deploy safety: the verdict, DORA's levels, budget checks and the
-- Lighthouse import are Rust (pg_observe/src/deploy_safety.rs); the rest is
-- pg_observe/sql/deploy_safety.sql, verbatim.
create function observe.deploy_verdict(facts jsonb, policy jsonb)
returns jsonb immutable strict parallel safe
language c as 'MODULE_PATHNAME', 'deploy_verdict_wrapper';

create function observe.evaluate_budgets(observations jsonb)
returns jsonb immutable strict parallel safe
language c as 'MODULE_PATHNAME', 'evaluate_budgets_wrapper';

create function observe.lighthouse_budgets(config jsonb)
returns jsonb immutable strict parallel safe
language c as 'MODULE_PATHNAME', 'lighthouse_budgets_wrapper';

create function observe.dora_level(key text, value double precision)
returns text immutable parallel safe
language c as 'MODULE_PATHNAME', 'dora_level_wrapper';

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

-- Last, once every object exists: the privilege matrix becomes data (pg_observe/sql/security.sql).
create table observe.role_privileges (
    object_type text not null check (object_type in ('schema', 'table', 'function', 'type')),
    -- As GRANT names it: observe.issues, observe.log_error(jsonb).
    object_name text not null,
    -- Null (with privilege null) records an object granted to no role.
    role_name name check (role_name in ('observe_writer', 'observe_reader', 'observe_admin', 'observe_dispatcher', 'observe_prober')),
    privilege text check (privilege in ('USAGE', 'EXECUTE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE')),
    check ((role_name is null) = (privilege is null)),
    unique nulls not distinct (object_type, object_name, role_name, privilege)
);
comment on table observe.role_privileges is
    'Who may do what: every grant of pg_observe, one row each; observe.apply_role_privileges() applies them. observe_admin is also a member of observe_writer and observe_reader.';

insert into observe.role_privileges (object_type, object_name, role_name, privilege) values
    ('schema', 'observe', 'observe_writer', 'USAGE'),
    ('schema', 'observe', 'observe_reader', 'USAGE'),
    ('schema', 'observe', 'observe_admin', 'USAGE'),
    ('schema', 'observe', 'observe_dispatcher', 'USAGE'),
    ('schema', 'observe', 'observe_prober', 'USAGE'),
    ('type', 'observe.level', 'observe_writer', 'USAGE'),
    ('type', 'observe.level', 'observe_reader', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_writer', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_reader', 'USAGE'),

    -- Writers capture. The capture functions are SECURITY DEFINER, so
    -- writers need no table privilege at all.
    ('function', 'observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamptz, boolean)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_error(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_errors(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log(text, text, text, text, jsonb, text)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_batch(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.record_requests(text, bigint, bigint, text, text, timestamptz)', 'observe_writer', 'EXECUTE'),

    -- Pure functions, useful to anyone who may read or write.
    ('function', 'observe.normalize_message(text)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.normalize_message(text)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.fingerprint(text, text, text, text[])', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.fingerprint(text, text, text, text[])', 'observe_reader', 'EXECUTE'),

    -- Server-side capture's health: counters of the whole cluster.
    ('function', 'observe.capture_stats()', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.capture_stats()', 'observe_admin', 'EXECUTE'),

    -- Readers see everything through the views, which are security_invoker
    -- and therefore need the tables beneath readable too.
    ('table', 'observe.issues', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_overview', 'observe_reader', 'SELECT'),
    ('table', 'observe.recent_errors', 'observe_reader', 'SELECT'),
    ('table', 'observe.error_rate', 'observe_reader', 'SELECT'),
    ('table', 'observe.releases', 'observe_reader', 'SELECT'),
    ('table', 'observe.event_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_groups', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_hashes', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.count_queue', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_users', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_ignore_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.events', 'observe_reader', 'SELECT'),
    ('table', 'observe.issue_activity', 'observe_reader', 'SELECT'),
    ('table', 'observe.fold_state', 'observe_reader', 'SELECT'),
    ('table', 'observe.role_privileges', 'observe_reader', 'SELECT'),
    -- Counts, logs and their retention (storage.sql, logs.sql).
    ('table', 'observe.issue_summary', 'observe_reader', 'SELECT'),
    ('table', 'observe.service_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.request_queue', 'observe_reader', 'SELECT'),
    ('table', 'observe.request_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.logs', 'observe_reader', 'SELECT'),
    ('table', 'observe.log_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.log_rollup', 'observe_reader', 'SELECT'),
    ('table', 'observe.log_volume', 'observe_reader', 'SELECT'),
    ('table', 'observe.retention', 'observe_reader', 'SELECT'),
    ('function', 'observe.log_counts_since(timestamptz)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.top_issues(interval, integer)', 'observe_reader', 'EXECUTE'),
    -- Untrusted writers (trust.sql).
    ('function', 'observe.acting_role()', null, null),
    ('function', 'observe.set_writer_trust(name, boolean)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.set_ingest_budget(text, integer, integer, bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.register_release(text, text, timestamptz)', 'observe_admin', 'EXECUTE'),
    ('table', 'observe.writer_trust', 'observe_reader', 'SELECT'),
    ('table', 'observe.ingest_budgets', 'observe_reader', 'SELECT'),
    ('table', 'observe.ingest_usage', 'observe_reader', 'SELECT'),
    ('table', 'observe.ingest_drop_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.ingest_drops', 'observe_reader', 'SELECT'),
    ('table', 'observe.known_releases', 'observe_reader', 'SELECT'),
    ('table', 'observe.installation', null, null),
    ('function', 'observe.release_known_since(text, text)', null, null),
    ('table', 'observe.notifications', 'observe_reader', 'SELECT'),
    ('table', 'observe.dead_notifications', 'observe_reader', 'SELECT'),
    ('table', 'observe.deployments', 'observe_reader', 'SELECT'),
    ('table', 'observe.deployment_events', 'observe_reader', 'SELECT'),
    ('table', 'observe.deployments_overview', 'observe_reader', 'SELECT'),

    -- Health checks (health.sql): admins configure them and may run them
    -- through pg_net; the health-check function (observe_prober) claims due
    -- checks and records results, and reads nothing.
    ('function', 'observe.create_health_check(text, text, text[], interval, interval, text, text, jsonb, text, integer, integer, boolean)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.update_health_check(bigint, text, text, text[], interval, interval, text, text, jsonb, text, integer, integer, boolean)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.delete_health_check(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.run_health_checks()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.due_health_checks(integer)', 'observe_prober', 'EXECUTE'),
    ('function', 'observe.record_health_result(bigint, jsonb, integer, double precision, jsonb, text, timestamptz, text)', 'observe_prober', 'EXECUTE'),
    ('function', 'observe.grade_headers(jsonb)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.grade_headers(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.grade_headers(jsonb)', 'observe_prober', 'EXECUTE'),
    ('function', 'observe.check_health_conditions(text[])', null, null),
    ('function', 'observe.check_health_check(text, text[], jsonb)', null, null),
    ('function', 'observe.evaluate_health_conditions(text[], integer, double precision, text, jsonb)', null, null),
    ('table', 'observe.health_checks', 'observe_reader', 'SELECT'),
    ('table', 'observe.health_results', 'observe_reader', 'SELECT'),
    ('table', 'observe.health_transitions', 'observe_reader', 'SELECT'),
    ('table', 'observe.health_probes', 'observe_reader', 'SELECT'),
    ('table', 'observe.health_status', 'observe_reader', 'SELECT'),
    ('table', 'observe.uptime', 'observe_reader', 'SELECT'),
    ('table', 'observe.health_failures', 'observe_reader', 'SELECT'),
    -- What browsers send (ingest.sql): writers, and so observe_ingest, may
    -- record web vitals and CSP reports within the untrusted budgets.
    ('function', 'observe.record_web_vitals(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.record_csp_reports(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.web_vital_rating(text, double precision)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.web_vital_rating(text, double precision)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.ingest_url(text)', null, null),
    ('function', 'observe.spend_ingest_budget(integer, bigint)', null, null),
    ('table', 'observe.web_vitals', 'observe_reader', 'SELECT'),
    ('table', 'observe.csp_reports', 'observe_reader', 'SELECT'),
    ('table', 'observe.web_vitals_p75', 'observe_reader', 'SELECT'),
    ('table', 'observe.csp_violations', 'observe_reader', 'SELECT'),

    -- Sentry SDK projects (sentry.sql, src/sentry.rs): admins manage
    -- projects and keys, which nobody can read back; writers, and so the
    -- ingest function's observe_ingest, capture SDK events.
    ('function', 'observe.log_sentry_event(bigint, jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.ingest_sentry_envelopes(text)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.create_project(text, text, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.rotate_project_key(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.disable_project(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.enable_project(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.set_project_budget(bigint, integer, integer, bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.new_project_key(bigint)', null, null),
    ('table', 'observe.projects', 'observe_reader', 'SELECT'),
    ('table', 'observe.project_keys', null, null),
    ('table', 'observe.sentry_event_ids', 'observe_reader', 'SELECT'),
    ('table', 'observe.sentry_item_counts', 'observe_reader', 'SELECT'),
    ('table', 'observe.sentry_items', 'observe_reader', 'SELECT'),

    -- Admins triage, run the periodic work, and may erase events and issues
    -- (e.g. for a data subject request); deleting an issue removes its
    -- dependents by trigger.
    ('function', 'observe.resolve_issue(bigint, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.ignore_issue(bigint, timestamptz, bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.reopen_issue(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.tick()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.fold_counts()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.maintain()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.set_retention(text, interval)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.schedule_tick(text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.extension_schema(name)', 'observe_admin', 'EXECUTE'),
    ('table', 'observe.events', 'observe_admin', 'DELETE'),
    ('table', 'observe.issue_groups', 'observe_admin', 'DELETE'),
    -- The doorbell's target, and the deploy webhooks' way in.
    ('function', 'observe.configure_dispatch(text, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.record_deploy_event(text, text, text, text, timestamptz, text, text, text, text, text, text, jsonb)', 'observe_admin', 'EXECUTE'),

    -- The alert-dispatch function claims and settles notifications and
    -- records the provider's delivery webhooks; it reads nothing else.
    ('function', 'observe.claim_notifications(integer, interval)', 'observe_dispatcher', 'EXECUTE'),
    ('function', 'observe.complete_notification(uuid, text)', 'observe_dispatcher', 'EXECUTE'),
    ('function', 'observe.fail_notification(uuid, text, interval, boolean)', 'observe_dispatcher', 'EXECUTE'),
    ('function', 'observe.record_delivery(text, text, timestamptz)', 'observe_dispatcher', 'EXECUTE'),
    ('function', 'observe.pending_notifications()', 'observe_dispatcher', 'EXECUTE'),

    -- Internal: called by triggers, by capture and by superusers only.
    ('function', 'observe.set_issue_status(bigint, observe.issue_status, text, timestamptz, bigint)', null, null),
    ('function', 'observe.announce_issue_change()', null, null),
    ('function', 'observe.activity_kind(text, text, text)', null, null),
    ('function', 'observe.record_issue_activity()', null, null),
    ('function', 'observe.issue_groups_changed()', null, null),
    ('function', 'observe.delete_issue_dependents()', null, null),
    ('function', 'observe.truncate_issue_dependents()', null, null),
    ('function', 'observe.create_issue_summary()', null, null),
    ('function', 'observe.roll_issue_windows(timestamptz, timestamptz)', null, null),
    ('function', 'observe.day_partitioned()', null, null),
    ('function', 'observe.write_horizon()', null, null),
    ('function', 'observe.create_day_partition(regclass, date)', null, null),
    ('function', 'observe.create_partitions_ahead(integer)', null, null),
    ('function', 'observe.rescue_default_rows()', null, null),
    ('function', 'observe.drop_expired_partitions()', null, null),
    ('function', 'observe.roll_up_logs()', null, null),
    ('function', 'observe.expire_rows()', null, null),
    ('function', 'observe.grant_supabase_roles()', null, null),
    ('function', 'observe.apply_role_privileges()', null, null),
    -- The alert evaluator queues notifications; the doorbell and its
    -- configuration are the extension's own.
    ('function', 'observe.enqueue_notification(text, text, text, jsonb, text[], bigint, text, jsonb, timestamptz)', null, null),
    ('function', 'observe.ring_dispatch()', null, null),
    ('table', 'observe.dispatch_config', null, null),
    ('function', 'observe.deploy_state_after(text, text)', null, null),
    ('function', 'observe.scrub_payload(jsonb)', null, null),

    -- Alerting (alerting.sql).
    ('table', 'observe.alert_rules', 'observe_reader', 'SELECT'),
    ('table', 'observe.alerts', 'observe_reader', 'SELECT'),
    ('table', 'observe.alert_events', 'observe_reader', 'SELECT'),
    ('table', 'observe.alert_groups', 'observe_reader', 'SELECT'),
    ('table', 'observe.silences', 'observe_reader', 'SELECT'),
    ('table', 'observe.active_alerts', 'observe_reader', 'SELECT'),
    ('function', 'observe.create_alert_rule(text, text, text, text, text, text, bigint, jsonb, text, double precision, interval, interval, interval, interval, text[], text, jsonb, jsonb, text[], boolean, interval, interval, boolean)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.update_alert_rule(bigint, jsonb)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.delete_alert_rule(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.evaluate_alerts(timestamptz)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.silence(jsonb, timestamptz, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.expire_silence(uuid)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.schedule_jobs()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.unschedule_jobs()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.silence_matches(jsonb, jsonb)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.fire_event_rules(bigint, text)', null, null),
    ('function', 'observe.issue_activity_fires_rules()', null, null),

    -- Deploy safety (deploy_safety.sql): readers see verdicts, DORA and
    -- budgets; admins (CI's role) verify, record deploys and rollbacks and
    -- set policies and budgets; writers report latencies like events.
    ('table', 'observe.deploy_policies', 'observe_reader', 'SELECT'),
    ('table', 'observe.deploy_verifications', 'observe_reader', 'SELECT'),
    ('table', 'observe.deploy_rollbacks', 'observe_reader', 'SELECT'),
    ('table', 'observe.request_latencies', 'observe_reader', 'SELECT'),
    ('table', 'observe.budgets', 'observe_reader', 'SELECT'),
    ('table', 'observe.dora', 'observe_reader', 'SELECT'),
    ('table', 'observe.deploy_status', 'observe_reader', 'SELECT'),
    ('function', 'observe.deploy_verdict(jsonb, jsonb)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.evaluate_budgets(jsonb)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.lighthouse_budgets(jsonb)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.dora_level(text, double precision)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.check_budgets(text, text, interval)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.rollback_target(text, text)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.live_deploy(text)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.verify_deploy(text, interval)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.set_deploy_policy(text, double precision, double precision, double precision, integer, integer, integer, double precision, integer, boolean, boolean, text[], text[])', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.record_deploy(text, text, text, text, text, timestamptz, timestamptz, text, text, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.record_rollback(text, text, text, timestamptz)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.create_budget(text, double precision, text, text, text, integer, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.delete_budget(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.import_lighthouse_budgets(jsonb, text, boolean)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.record_latencies(double precision[], text, text, text, timestamptz)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.deploy_window(text, text[], timestamptz, timestamptz)', null, null),
    ('function', 'observe.budget_observations(text, text, timestamptz, timestamptz)', null, null);

-- Makes the catalog say exactly what observe.role_privileges says: nothing
-- for PUBLIC (PostgreSQL grants EXECUTE on functions and USAGE on types to
-- PUBLIC by default), nothing more for the four roles, and row level
-- security on every table with one permissive policy per granted table
-- privilege. Safe to run again; upgrade scripts do.
create function observe.apply_role_privileges()
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    missing text;
    grant_row record;
    tbl regclass;
    policy_row record;
    grantee text;
begin
    select string_agg(o.kind || ' ' || o.name, ', ' order by o.name) into missing
      from (select 'function' as kind, p.oid::regprocedure::text as name
              from pg_proc p where p.pronamespace = 'observe'::regnamespace
            union all
            select 'table', c.oid::regclass::text
              from pg_class c
             where c.relnamespace = 'observe'::regnamespace
               and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition) o
     where not exists (select from observe.role_privileges r
                        where r.object_type = o.kind
                          and case o.kind
                                  when 'function' then r.object_name::regprocedure::text
                                  else r.object_name::regclass::text
                              end = o.name);
    if missing is not null then
        raise exception 'observe.role_privileges has no row for %', missing
            using errcode = 'invalid_grant_operation',
                  hint = 'Add a row per granted privilege, or one with a null role for an object granted to no role.';
    end if;

    foreach grantee in array array['public', 'observe_writer', 'observe_reader', 'observe_admin', 'observe_dispatcher', 'observe_prober'] loop
        execute format('revoke all on schema observe from %s', grantee);
        execute format('revoke all on all tables in schema observe from %s', grantee);
        execute format('revoke all on all sequences in schema observe from %s', grantee);
        execute format('revoke all on all functions in schema observe from %s', grantee);
        for grant_row in
            select t.oid::regtype as type from pg_type t
             where t.typnamespace = 'observe'::regnamespace and t.typelem = 0
        loop
            execute format('revoke all on type %s from %s', grant_row.type, grantee);
        end loop;
    end loop;

    for grant_row in
        select object_type, object_name, role_name, privilege
          from observe.role_privileges
         where role_name is not null
         order by 1, 2, 3, 4
    loop
        execute format('grant %s on %s %s to %I',
                       grant_row.privilege, grant_row.object_type, grant_row.object_name, grant_row.role_name);
    end loop;

    for tbl in
        select c.oid::regclass from pg_class c
         where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    loop
        execute format('alter table %s enable row level security', tbl);
        for policy_row in
            select pol.polname from pg_policy pol where pol.polrelid = tbl
        loop
            execute format('drop policy %I on %s', policy_row.polname, tbl);
        end loop;
    end loop;
    for policy_row in
        select r.object_name::regclass as rel, r.role_name, r.privilege
          from observe.role_privileges r
          join pg_class c on c.oid = r.object_name::regclass
         where r.object_type = 'table' and c.relkind in ('r', 'p')
           and r.privilege in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
    loop
        -- observe_reader + SELECT is policy reader_select, and so on.
        execute format('create policy %I on %s for %s to %I %s',
                       replace(policy_row.role_name, 'observe_', '') || '_' || lower(policy_row.privilege),
                       policy_row.rel, policy_row.privilege, policy_row.role_name,
                       case policy_row.privilege when 'INSERT' then 'with check (true)' else 'using (true)' end);
    end loop;
end
$$;

select observe.apply_role_privileges();
