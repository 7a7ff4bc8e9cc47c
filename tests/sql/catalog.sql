-- Everything the extension defines in the catalog, one line per fact, with
-- nothing that depends on when or in which database it was created (no
-- oids, no partition names). Two installations of the same version must
-- give the same set of lines, however each got there: this is what the
-- upgrade test compares between `ALTER EXTENSION pg_observe UPDATE` and a
-- fresh `CREATE EXTENSION`.
with ext_objects as (
    select d.classid, d.objid
      from pg_depend d
      join pg_extension e on e.oid = d.refobjid
     where d.refclassid = 'pg_extension'::regclass
       and d.deptype = 'e'
       and e.extname = 'pg_observe'
), rels as (
    select c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
           c.relacl, c.relispartition
      from pg_class c
     where c.relnamespace = 'observe'::regnamespace
       and not c.relispartition
       and c.relkind in ('r', 'p', 'v', 'm', 'S', 'c', 'f')
), facts as (
    -- Relations, with row level security and storage options.
    select format('relation %s kind=%s rls=%s force_rls=%s options=%s partitioned_by=%s',
                  r.relname, r.relkind, r.relrowsecurity, r.relforcerowsecurity,
                  coalesce(array_to_string(r.reloptions, ','), ''),
                  coalesce(pg_get_partkeydef(r.oid), '')) as fact
      from rels r
    union all
    -- Columns in order (dropped columns leave gaps in attnum, so count them).
    select format('column %s #%s %s %s notnull=%s default=%s identity=%s generated=%s collation=%s compression=%s',
                  r.relname,
                  row_number() over (partition by r.oid order by a.attnum),
                  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), a.attidentity, a.attgenerated,
                  coalesce(co.collname, ''), a.attcompression)
      from rels r
      join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
      left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
      left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0
                               and co.collname <> 'default'
    union all
    select format('constraint %s %s %s', r.relname, con.conname, pg_get_constraintdef(con.oid))
      from rels r
      join pg_constraint con on con.conrelid = r.oid
    union all
    select format('index %s', pg_get_indexdef(i.indexrelid))
      from rels r
      join pg_index i on i.indrelid = r.oid
    union all
    select format('trigger %s %s', r.relname, pg_get_triggerdef(t.oid))
      from rels r
      join pg_trigger t on t.tgrelid = r.oid and not t.tgisinternal
    union all
    select format('policy %s %s %s %s to %s using (%s) check (%s)',
                  p.tablename, p.policyname, p.permissive, p.cmd, p.roles::text,
                  coalesce(p.qual, ''), coalesce(p.with_check, ''))
      from pg_policies p
     where p.schemaname = 'observe'
    union all
    select format('view %s %s', r.relname, pg_get_viewdef(r.oid))
      from rels r
     where r.relkind in ('v', 'm')
    union all
    -- Functions with their full signature (names, types, defaults), result,
    -- attributes and body (the symbol and library, for functions written in
    -- Rust: an upgrade must move them to the new version's library).
    select format('function %s(%s) returns %s language=%s definer=%s volatility=%s parallel=%s strict=%s config=%s body=%s library=%s',
                  p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                  l.lanname, p.prosecdef, p.provolatile, p.proparallel, p.proisstrict,
                  coalesce(array_to_string(p.proconfig, ','), ''), md5(p.prosrc), coalesce(p.probin, ''))
      from pg_proc p
      join pg_language l on l.oid = p.prolang
     where p.pronamespace = 'observe'::regnamespace
    union all
    select format('type %s %s %s', t.typname, t.typtype,
                  coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                              from pg_enum e where e.enumtypid = t.oid), ''))
      from pg_type t
     where t.typnamespace = 'observe'::regnamespace
       and t.typtype in ('e', 'd', 'c')
       and not exists (select from pg_class c where c.oid = t.typrelid and c.relispartition)
    union all
    -- Privileges: every grant on the schema, its relations, columns,
    -- functions and types, by grantee name (PUBLIC when 0).
    select format('grant %s on %s to %s%s', acl.privilege_type, obj.name,
                  coalesce(g.rolname, 'PUBLIC'), case when acl.is_grantable then ' with grant option' else '' end)
      from (
            select 'schema observe' as name, n.nspacl as acl
              from pg_namespace n where n.nspname = 'observe'
            union all
            select 'relation ' || r.relname, r.relacl from rels r
            union all
            select format('column %s.%s', r.relname, a.attname), a.attacl
              from rels r
              join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and a.attacl is not null
            union all
            select format('function %s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), p.proacl
              from pg_proc p where p.pronamespace = 'observe'::regnamespace
            union all
            select 'type ' || t.typname, t.typacl
              from pg_type t
             where t.typnamespace = 'observe'::regnamespace
               and not exists (select from pg_class c where c.oid = t.typrelid and c.relispartition)
           ) obj
     cross join lateral aclexplode(obj.acl) acl
      left join pg_roles g on g.oid = acl.grantee
    union all
    select format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      from pg_description d
     where (d.classoid = 'pg_class'::regclass
            and d.objoid in (select oid from rels))
        or (d.classoid = 'pg_proc'::regclass
            and d.objoid in (select oid from pg_proc where pronamespace = 'observe'::regnamespace))
        or (d.classoid = 'pg_namespace'::regclass and d.objoid = 'observe'::regnamespace)
    union all
    -- What DROP EXTENSION removes: every member, by its identity.
    select format('member %s', pg_describe_object(eo.classid, eo.objid, 0))
      from ext_objects eo
     where not exists (select from pg_class c
                        where eo.classid = 'pg_class'::regclass and c.oid = eo.objid and c.relispartition)
)
select fact from facts order by fact;
