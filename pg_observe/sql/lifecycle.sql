-- Manual issue lifecycle. What events and time do to an issue (regressions,
-- ignores expiring) is decided in Rust (pg_observe_core::lifecycle); these
-- functions are the triage actions of a person or a bot. Each returns the
-- issue as it now is; the activity trigger records the change.

-- The one statement that changes an issue's triage state. Applying the state
-- an issue already has changes nothing, so nothing is recorded.
create function observe.set_issue_status(
    issue_id bigint,
    new_status observe.issue_status,
    in_release text,
    until timestamptz,
    until_count bigint
)
returns observe.issue_groups
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    issue observe.issue_groups;
begin
    update observe.issue_groups g
       set status = new_status,
           status_reason = 'manual',
           status_changed_at = now(),
           resolved_in_release = in_release,
           ignored_until = until,
           ignore_until_count = until_count
     where g.id = set_issue_status.issue_id
       and (g.status, g.resolved_in_release, g.ignored_until, g.ignore_until_count)
           is distinct from (new_status, in_release, until, until_count)
    returning * into issue;
    if not found then
        select * into issue from observe.issue_groups g where g.id = set_issue_status.issue_id;
        if not found then
            raise exception 'issue % does not exist', issue_id
                using errcode = 'no_data_found';
        end if;
    end if;
    return issue;
end
$$;

create function observe.resolve_issue(issue_id bigint, in_release text default null)
returns observe.issue_groups
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if in_release is not null and (btrim(in_release) = '' or in_release ~ '[[:cntrl:]]') then
        raise exception 'in_release must be a release name, got %', quote_literal(in_release)
            using errcode = 'invalid_parameter_value';
    end if;
    return observe.set_issue_status(issue_id, 'resolved', in_release, null, null);
end
$$;
comment on function observe.resolve_issue(bigint, text) is
    'Marks an issue resolved. With in_release, only events from a newer release (semantic version order, else first seen later) reopen it as a regression.';

create function observe.ignore_issue(
    issue_id bigint,
    until timestamptz default null,
    until_count bigint default null
)
returns observe.issue_groups
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if until is not null and until <= now() then
        raise exception 'until must be in the future, got %', until
            using errcode = 'invalid_parameter_value';
    end if;
    if until_count is not null and until_count <= 0 then
        raise exception 'until_count must be positive, got %', until_count
            using errcode = 'invalid_parameter_value';
    end if;
    -- "N more events" counts from now, also when re-ignoring.
    delete from observe.issue_ignore_counts c where c.issue_id = ignore_issue.issue_id;
    return observe.set_issue_status(issue_id, 'ignored', null, until, until_count);
end
$$;
comment on function observe.ignore_issue(bigint, timestamptz, bigint) is
    'Ignores an issue: forever, until a time, or until N more events (whichever comes first). It then returns to unresolved by itself.';

create function observe.reopen_issue(issue_id bigint)
returns observe.issue_groups
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    return observe.set_issue_status(issue_id, 'unresolved', null, null, null);
end
$$;
comment on function observe.reopen_issue(bigint) is
    'Returns a resolved or ignored issue to unresolved. Reopening an unresolved issue changes nothing.';
