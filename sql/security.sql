-- Privileges and row level security. Runs last (pgrx `finalize`), when every
-- object exists. Nothing is granted to PUBLIC: PostgreSQL grants EXECUTE on
-- new functions and USAGE on new types to PUBLIC by default, so both are
-- revoked before anything is granted to the three roles.

revoke all on schema observe from public;
revoke all on all tables in schema observe from public;
revoke all on all sequences in schema observe from public;
revoke all on all functions in schema observe from public;
revoke all on all procedures in schema observe from public;
-- Every type: the two enums and the row type of each table and view.
do $types$
declare
    t regtype;
begin
    for t in
        select oid::regtype from pg_type
         where typnamespace = 'observe'::regnamespace and typelem = 0
    loop
        execute format('revoke all on type %s from public', t);
    end loop;
end
$types$;

grant usage on schema observe to observe_writer, observe_reader, observe_admin;
grant usage on type observe.level, observe.issue_status to observe_writer, observe_reader, observe_admin;

-- Writers capture; the functions are SECURITY DEFINER, so writers need no
-- table privilege at all.
grant execute on function
    observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamptz),
    observe.log_error(jsonb),
    observe.log_errors(jsonb)
to observe_writer;

-- Pure functions, useful to anyone who may read or write.
grant execute on function
    observe.normalize_message(text),
    observe.fingerprint(text, text, text, text[])
to observe_writer, observe_reader;

-- Readers see everything through the views, which are security_invoker and
-- therefore need the underlying tables readable under RLS.
grant select on
    observe.issues, observe.issue_overview, observe.recent_errors, observe.error_rate, observe.releases,
    observe.event_counts,
    observe.issue_groups, observe.issue_hashes, observe.issue_counts, observe.count_queue, observe.issue_users,
    observe.issue_ignore_counts, observe.events, observe.issue_activity, observe.fold_state
to observe_reader;

-- Admins triage and may erase events and issues (e.g. for a data subject
-- request); deleting an issue removes its dependents by trigger.
grant execute on function
    observe.resolve_issue(bigint, text),
    observe.ignore_issue(bigint, timestamptz, bigint),
    observe.reopen_issue(bigint),
    observe.tick(),
    observe.fold_counts(),
    observe.schedule_tick(text)
to observe_admin;
grant delete on observe.events, observe.issue_groups to observe_admin;

do $rls$
declare
    t regclass;
begin
    for t in
        select c.oid::regclass
          from pg_class c
         where c.relnamespace = 'observe'::regnamespace
           and c.relkind in ('r', 'p')
    loop
        execute format('alter table %s enable row level security', t);
        execute format('create policy reader_select on %s for select to observe_reader using (true)', t);
    end loop;
end
$rls$;

create policy admin_delete on observe.events for delete to observe_admin using (true);
create policy admin_delete on observe.issue_groups for delete to observe_admin using (true);
