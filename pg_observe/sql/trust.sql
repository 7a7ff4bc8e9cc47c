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
