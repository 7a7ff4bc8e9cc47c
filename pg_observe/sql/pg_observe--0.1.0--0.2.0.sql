-- pg_observe 0.1.0 → 0.2.0, run by ALTER EXTENSION pg_observe UPDATE.
-- Every change of 0.2.0 to the schema, in the order the install script
-- makes it; tests/tests/upgrade.rs checks that the result equals a fresh
-- install of 0.2.0 (ARCHITECTURE.md, "Versions and upgrades").

-- 0.2.0's library is a file of its own (pg_observe-0.2.0.so), so that
-- databases still at 0.1.0 keep running 0.1.0's library until they are
-- upgraded; the functions 0.1.0 defined in Rust move to the new one here.
CREATE OR REPLACE FUNCTION observe."normalize_message"(
	"message" TEXT
) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c
AS 'pg_observe-0.2.0', 'normalize_message_wrapper';

CREATE OR REPLACE FUNCTION observe."announce_issue_change"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c
AS 'pg_observe-0.2.0', 'announce_issue_change_wrapper';

CREATE OR REPLACE FUNCTION observe."fingerprint"(
	"message" TEXT,
	"exception_type" TEXT DEFAULT NULL,
	"stack" TEXT DEFAULT NULL,
	"fingerprint" TEXT[] DEFAULT NULL
) RETURNS TEXT
IMMUTABLE PARALLEL SAFE 
LANGUAGE c
AS 'pg_observe-0.2.0', 'fingerprint_wrapper';

CREATE OR REPLACE FUNCTION observe."tick"() RETURNS jsonb
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'pg_observe-0.2.0', 'tick_wrapper';

CREATE OR REPLACE FUNCTION observe."log_error"(
	"event" jsonb
) RETURNS uuid
VOLATILE SECURITY DEFINER PARALLEL UNSAFE  
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'pg_observe-0.2.0', 'log_error_json_wrapper';

CREATE OR REPLACE FUNCTION observe."log_errors"(
	"events" jsonb
) RETURNS INT
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'pg_observe-0.2.0', 'log_errors_wrapper';

CREATE OR REPLACE FUNCTION observe."log_error"(
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
	"occurred_at" timestamp with time zone DEFAULT now()
) RETURNS uuid
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'pg_observe-0.2.0', 'log_error_wrapper';

-- The activity trigger asks core for the kind of a change
-- (pg_observe_core::lifecycle::ActivityKind), so the words live in Rust.
create function observe.activity_kind(from_status text, to_status text, reason text)
returns text immutable parallel safe
language c as 'pg_observe-0.2.0', 'activity_kind_wrapper';

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
language c as 'pg_observe-0.2.0', 'acting_role_wrapper';

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

-- Last, once every object exists: the privilege matrix becomes data (pg_observe/sql/security.sql).
create table observe.role_privileges (
    object_type text not null check (object_type in ('schema', 'table', 'function', 'type')),
    -- As GRANT names it: observe.issues, observe.log_error(jsonb).
    object_name text not null,
    -- Null (with privilege null) records an object granted to no role.
    role_name name check (role_name in ('observe_writer', 'observe_reader', 'observe_admin')),
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
    ('type', 'observe.level', 'observe_writer', 'USAGE'),
    ('type', 'observe.level', 'observe_reader', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_writer', 'USAGE'),
    ('type', 'observe.issue_status', 'observe_reader', 'USAGE'),

    -- Writers capture. The capture functions are SECURITY DEFINER, so
    -- writers need no table privilege at all.
    ('function', 'observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamptz)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_error(jsonb)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.log_errors(jsonb)', 'observe_writer', 'EXECUTE'),

    -- Pure functions, useful to anyone who may read or write.
    ('function', 'observe.normalize_message(text)', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.normalize_message(text)', 'observe_reader', 'EXECUTE'),
    ('function', 'observe.fingerprint(text, text, text, text[])', 'observe_writer', 'EXECUTE'),
    ('function', 'observe.fingerprint(text, text, text, text[])', 'observe_reader', 'EXECUTE'),

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

    -- Internal: called by triggers, by capture and by superusers only.
    ('function', 'observe.set_issue_status(bigint, observe.issue_status, text, timestamptz, bigint)', null, null),
    ('function', 'observe.announce_issue_change()', null, null),
    ('function', 'observe.activity_kind(text, text, text)', null, null),
    ('function', 'observe.record_issue_activity()', null, null),
    ('function', 'observe.issue_groups_changed()', null, null),
    ('function', 'observe.delete_issue_dependents()', null, null),
    ('function', 'observe.truncate_issue_dependents()', null, null),
    ('function', 'observe.grant_supabase_roles()', null, null),
    ('function', 'observe.apply_role_privileges()', null, null);

-- Makes the catalog say exactly what observe.role_privileges says: nothing
-- for PUBLIC (PostgreSQL grants EXECUTE on functions and USAGE on types to
-- PUBLIC by default), nothing more for the three roles, and row level
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

    foreach grantee in array array['public', 'observe_writer', 'observe_reader', 'observe_admin'] loop
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
