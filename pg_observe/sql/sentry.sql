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
