-- Who may call what. observe_writer captures, observe_reader reads through
-- the views, observe_admin does both and triages; grant_supabase_roles() is
-- for superusers only. Privileges are checked as the roles have them,
-- memberships included (observe_admin is a member of the other two).
begin;
select plan(54);

select function_privs_are('observe', 'log_error', array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone'], 'observe_writer', array['EXECUTE'],
    'observe_writer may execute observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamp with time zone)');
select function_privs_are('observe', 'log_error', array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamp with time zone)');
select function_privs_are('observe', 'log_error', array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.log_error(text, text, text, text, text, text, text, jsonb, text[], text, text, timestamp with time zone)');
select function_privs_are('observe', 'log_error', array['jsonb'], 'observe_writer', array['EXECUTE'],
    'observe_writer may execute observe.log_error(jsonb)');
select function_privs_are('observe', 'log_error', array['jsonb'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.log_error(jsonb)');
select function_privs_are('observe', 'log_error', array['jsonb'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.log_error(jsonb)');
select function_privs_are('observe', 'log_errors', array['jsonb'], 'observe_writer', array['EXECUTE'],
    'observe_writer may execute observe.log_errors(jsonb)');
select function_privs_are('observe', 'log_errors', array['jsonb'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.log_errors(jsonb)');
select function_privs_are('observe', 'log_errors', array['jsonb'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.log_errors(jsonb)');
select function_privs_are('observe', 'normalize_message', array['text'], 'observe_writer', array['EXECUTE'],
    'observe_writer may execute observe.normalize_message(text)');
select function_privs_are('observe', 'normalize_message', array['text'], 'observe_reader', array['EXECUTE'],
    'observe_reader may execute observe.normalize_message(text)');
select function_privs_are('observe', 'normalize_message', array['text'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.normalize_message(text)');
select function_privs_are('observe', 'fingerprint', array['text', 'text', 'text', 'text[]'], 'observe_writer', array['EXECUTE'],
    'observe_writer may execute observe.fingerprint(text, text, text, text[])');
select function_privs_are('observe', 'fingerprint', array['text', 'text', 'text', 'text[]'], 'observe_reader', array['EXECUTE'],
    'observe_reader may execute observe.fingerprint(text, text, text, text[])');
select function_privs_are('observe', 'fingerprint', array['text', 'text', 'text', 'text[]'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.fingerprint(text, text, text, text[])');
select function_privs_are('observe', 'resolve_issue', array['bigint', 'text'], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.resolve_issue(bigint, text)');
select function_privs_are('observe', 'resolve_issue', array['bigint', 'text'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.resolve_issue(bigint, text)');
select function_privs_are('observe', 'resolve_issue', array['bigint', 'text'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.resolve_issue(bigint, text)');
select function_privs_are('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint'], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.ignore_issue(bigint, timestamp with time zone, bigint)');
select function_privs_are('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.ignore_issue(bigint, timestamp with time zone, bigint)');
select function_privs_are('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.ignore_issue(bigint, timestamp with time zone, bigint)');
select function_privs_are('observe', 'reopen_issue', array['bigint'], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.reopen_issue(bigint)');
select function_privs_are('observe', 'reopen_issue', array['bigint'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.reopen_issue(bigint)');
select function_privs_are('observe', 'reopen_issue', array['bigint'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.reopen_issue(bigint)');
select function_privs_are('observe', 'tick', array[]::text[], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.tick()');
select function_privs_are('observe', 'tick', array[]::text[], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.tick()');
select function_privs_are('observe', 'tick', array[]::text[], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.tick()');
select function_privs_are('observe', 'fold_counts', array[]::text[], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.fold_counts()');
select function_privs_are('observe', 'fold_counts', array[]::text[], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.fold_counts()');
select function_privs_are('observe', 'fold_counts', array[]::text[], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.fold_counts()');
select function_privs_are('observe', 'announce_issue_change', array[]::text[], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.announce_issue_change()');
select function_privs_are('observe', 'announce_issue_change', array[]::text[], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.announce_issue_change()');
select function_privs_are('observe', 'announce_issue_change', array[]::text[], 'observe_admin', array[]::text[],
    'observe_admin may not execute observe.announce_issue_change()');
select function_privs_are('observe', 'schedule_tick', array['text'], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.schedule_tick(text)');
select function_privs_are('observe', 'schedule_tick', array['text'], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.schedule_tick(text)');
select function_privs_are('observe', 'schedule_tick', array['text'], 'observe_admin', array['EXECUTE'],
    'observe_admin may execute observe.schedule_tick(text)');
select function_privs_are('observe', 'grant_supabase_roles', array[]::text[], 'observe_writer', array[]::text[],
    'observe_writer may not execute observe.grant_supabase_roles()');
select function_privs_are('observe', 'grant_supabase_roles', array[]::text[], 'observe_reader', array[]::text[],
    'observe_reader may not execute observe.grant_supabase_roles()');
select function_privs_are('observe', 'grant_supabase_roles', array[]::text[], 'observe_admin', array[]::text[],
    'observe_admin may not execute observe.grant_supabase_roles()');

-- The views
select table_privs_are('observe', 'issues', 'observe_writer', array[]::text[], 'observe_writer may not read observe.issues');
select table_privs_are('observe', 'issues', 'observe_reader', array['SELECT'], 'observe_reader may read observe.issues');
select table_privs_are('observe', 'issues', 'observe_admin', array['SELECT'], 'observe_admin may read observe.issues');
select table_privs_are('observe', 'issue_overview', 'observe_writer', array[]::text[], 'observe_writer may not read observe.issue_overview');
select table_privs_are('observe', 'issue_overview', 'observe_reader', array['SELECT'], 'observe_reader may read observe.issue_overview');
select table_privs_are('observe', 'issue_overview', 'observe_admin', array['SELECT'], 'observe_admin may read observe.issue_overview');
select table_privs_are('observe', 'recent_errors', 'observe_writer', array[]::text[], 'observe_writer may not read observe.recent_errors');
select table_privs_are('observe', 'recent_errors', 'observe_reader', array['SELECT'], 'observe_reader may read observe.recent_errors');
select table_privs_are('observe', 'recent_errors', 'observe_admin', array['SELECT'], 'observe_admin may read observe.recent_errors');
select table_privs_are('observe', 'error_rate', 'observe_writer', array[]::text[], 'observe_writer may not read observe.error_rate');
select table_privs_are('observe', 'error_rate', 'observe_reader', array['SELECT'], 'observe_reader may read observe.error_rate');
select table_privs_are('observe', 'error_rate', 'observe_admin', array['SELECT'], 'observe_admin may read observe.error_rate');

-- The schema
select schema_privs_are('observe', 'observe_writer', array['USAGE'], 'observe_writer may use schema observe, not create in it');
select schema_privs_are('observe', 'observe_reader', array['USAGE'], 'observe_reader may use schema observe, not create in it');
select schema_privs_are('observe', 'observe_admin', array['USAGE'], 'observe_admin may use schema observe, not create in it');

select * from finish();
rollback;
