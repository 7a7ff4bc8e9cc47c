-- Supabase's API roles are mapped onto pg_observe's roles only on request:
-- installing the extension must not widen what anon can do. anon is the
-- public key every browser holds, so it becomes an untrusted writer
-- (pg_observe/sql/trust.sql).

create function observe.grant_supabase_roles()
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
