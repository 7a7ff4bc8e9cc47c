-- Who may call and read what is written once, as the rows of
-- observe.role_privileges; these tests hold the catalog to it, so adding a
-- grant means adding a row, never editing a test. Privileges are checked
-- both as granted and as the roles have them, memberships included
-- (observe_admin is a member of observe_writer and observe_reader;
-- observe_dispatcher and observe_prober of nothing; observe_ingest of
-- observe_writer, and of observe_untrusted, which is granted nothing).
begin;
select plan(7);

create temporary view expected_grants as
select object_type,
       case object_type
           when 'function' then object_name::regprocedure::text
           when 'table' then object_name::regclass::text
           when 'type' then object_name::regtype::text
           else object_name
       end as object_name,
       role_name::text, privilege
  from observe.role_privileges
 where role_name is not null;

create temporary view actual_grants as
select obj.object_type, obj.object_name, coalesce(r.rolname::text, 'PUBLIC') as role_name, acl.privilege_type as privilege
  from (select 'schema' as object_type, 'observe' as object_name, n.nspacl as acl, n.nspowner as owner
          from pg_namespace n where n.nspname = 'observe'
        union all
        select 'function', p.oid::regprocedure::text, p.proacl, p.proowner
          from pg_proc p where p.pronamespace = 'observe'::regnamespace
        union all
        select 'table', c.oid::regclass::text, c.relacl, c.relowner
          from pg_class c
         where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
           and not c.relispartition
        union all
        select 'type', t.oid::regtype::text, t.typacl, t.typowner
          from pg_type t where t.typnamespace = 'observe'::regnamespace and t.typelem = 0) obj
 cross join lateral aclexplode(obj.acl) acl
  left join pg_roles r on r.oid = acl.grantee
 where acl.grantee <> obj.owner;

select set_eq(
    'select * from actual_grants',
    'select * from expected_grants',
    'the catalog grants exactly what observe.role_privileges lists, and nothing to PUBLIC');

select is_empty(
    $$select p.oid::regprocedure::text from pg_proc p
       where p.pronamespace = 'observe'::regnamespace
         and not exists (select from observe.role_privileges r
                          where r.object_type = 'function'
                            and r.object_name::regprocedure = p.oid)$$,
    'every function has a row in observe.role_privileges (a null role when granted to none)');

-- Memberships: what each role can do is what it, or a role it belongs to,
-- was granted.
select set_eq(
    $$select r.rolname::text, p.oid::regprocedure::text
        from pg_proc p
       cross join (values ('observe_writer'), ('observe_reader'), ('observe_admin'), ('observe_dispatcher'),
                          ('observe_prober'), ('observe_ingest')) as r(rolname)
       where p.pronamespace = 'observe'::regnamespace
         and has_function_privilege(r.rolname, p.oid, 'EXECUTE')$$,
    $$select m.member, e.object_name
        from expected_grants e
        join (values ('observe_writer', 'observe_writer'), ('observe_reader', 'observe_reader'),
                     ('observe_admin', 'observe_admin'), ('observe_admin', 'observe_writer'),
                     ('observe_admin', 'observe_reader'),
                     ('observe_dispatcher', 'observe_dispatcher'), ('observe_prober', 'observe_prober'),
                     ('observe_ingest', 'observe_writer')) as m(member, via) on m.via = e.role_name
       where e.object_type = 'function'$$,
    'each role may execute exactly the functions it or a role it belongs to was granted');

select set_eq(
    $$select r.rolname::text, c.oid::regclass::text, priv
        from pg_class c
       cross join (values ('observe_writer'), ('observe_reader'), ('observe_admin'), ('observe_dispatcher'),
                          ('observe_prober'), ('observe_ingest')) as r(rolname)
       cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) as p(priv)
       where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
         and not c.relispartition
         and has_table_privilege(r.rolname, c.oid, priv)$$,
    $$select distinct m.member, e.object_name, e.privilege
        from expected_grants e
        join (values ('observe_writer', 'observe_writer'), ('observe_reader', 'observe_reader'),
                     ('observe_admin', 'observe_admin'), ('observe_admin', 'observe_writer'),
                     ('observe_admin', 'observe_reader'),
                     ('observe_dispatcher', 'observe_dispatcher'), ('observe_prober', 'observe_prober'),
                     ('observe_ingest', 'observe_writer')) as m(member, via) on m.via = e.role_name
       where e.object_type = 'table'$$,
    'each role may read and change exactly the tables and views it or a role it belongs to was granted');

-- Row level security: on for every table, one policy per granted table
-- privilege, for exactly that role.
select is_empty(
    $$select c.relname from pg_class c
       where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p')
         and not c.relispartition and not c.relrowsecurity$$,
    'every table has row level security');

select set_eq(
    $$select format('%s.%s', schemaname, tablename)::regclass::text, cmd, roles::text[]
        from pg_policies where schemaname = 'observe'$$,
    $$select e.object_name, e.privilege, array[e.role_name]
        from expected_grants e
        join pg_class c on c.oid = e.object_name::regclass and c.relkind in ('r', 'p')
       where e.object_type = 'table'$$,
    'one row level security policy per granted table privilege');

-- A new object with no row is refused, so nothing is ever granted by
-- forgetting.
create function observe.forgotten() returns int language sql as 'select 1';
select throws_ok(
    'select observe.apply_role_privileges()',
    '0LP01',
    'observe.role_privileges has no row for function observe.forgotten()',
    'applying the matrix refuses while an object has no row');

select * from finish();
rollback;
