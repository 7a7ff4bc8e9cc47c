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
    group_labels jsonb default '{}')
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
           (idempotency_key, kind, subject, payload, recipients, rule_id, group_key, group_labels)
    values (key, kind, subject, payload, coalesce(recipients, '{}'), rule_id,
            coalesce(group_key, key), coalesce(group_labels, '{}'))
    on conflict on constraint notifications_idempotency_key_key do nothing
    returning n.id into notification_id;
    if notification_id is null then
        select n.id into notification_id from observe.notifications n where n.idempotency_key = key;
    end if;
    return notification_id;
end
$$;
comment on function observe.enqueue_notification(text, text, text, jsonb, text[], bigint, text, jsonb) is
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

-- Last, once every object exists: the privilege matrix becomes data (pg_observe/sql/security.sql).
create table observe.role_privileges (
    object_type text not null check (object_type in ('schema', 'table', 'function', 'type')),
    -- As GRANT names it: observe.issues, observe.log_error(jsonb).
    object_name text not null,
    -- Null (with privilege null) records an object granted to no role.
    role_name name check (role_name in ('observe_writer', 'observe_reader', 'observe_admin', 'observe_dispatcher')),
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
    ('type', 'observe.level', 'observe_writer', 'USAGE'),
    ('type', 'observe.level', 'observe_reader', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_writer', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_reader', 'USAGE'),

    -- Writers capture. The capture functions are SECURITY DEFINER, so
    -- writers need no table privilege at all.
    ('function', 'observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamptz, boolean)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_error(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_errors(jsonb)', 'observe_writer', 'EXECUTE'),

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

    -- Admins triage, run the periodic work, and may erase events and issues
    -- (e.g. for a data subject request); deleting an issue removes its
    -- dependents by trigger.
    ('function', 'observe.resolve_issue(bigint, text)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.ignore_issue(bigint, timestamptz, bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.reopen_issue(bigint)', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.tick()', 'observe_admin', 'EXECUTE'),
    ('function', 'observe.fold_counts()', 'observe_admin', 'EXECUTE'),
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
    ('function', 'observe.grant_supabase_roles()', null, null),
    ('function', 'observe.apply_role_privileges()', null, null),
    -- The alert evaluator queues notifications; the doorbell and its
    -- configuration are the extension's own.
    ('function', 'observe.enqueue_notification(text, text, text, jsonb, text[], bigint, text, jsonb)', null, null),
    ('function', 'observe.ring_dispatch()', null, null),
    ('table', 'observe.dispatch_config', null, null),
    ('function', 'observe.deploy_state_after(text, text)', null, null),
    ('function', 'observe.scrub_payload(jsonb)', null, null);

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

    foreach grantee in array array['public', 'observe_writer', 'observe_reader', 'observe_admin', 'observe_dispatcher'] loop
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
