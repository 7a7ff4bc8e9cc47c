-- Privileges and row level security. Runs last (pgrx `finalize`), when every
-- object exists.
--
-- Who may do what is written once, as the rows of observe.role_privileges;
-- observe.apply_role_privileges() turns them into GRANTs and row level
-- security policies, and refuses to run while any function, table or view
-- of the schema has no row, so a new object is always a conscious decision.
-- The tests read the same table (supabase/tests/database/privileges.test.sql).
-- Upgrade scripts add their rows and call the function again.

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
