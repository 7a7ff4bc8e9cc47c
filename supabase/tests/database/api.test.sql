-- The shape of pg_observe's SQL API: every public function with its exact
-- argument types and return type, who it runs as, its volatility, and the
-- tables, views and types analysts query.
begin;
select plan(149);

select has_schema('observe', 'schema observe exists');

select functions_are('observe', array[
    'log_error', 'log_errors', 'normalize_message', 'fingerprint',
    'resolve_issue', 'ignore_issue', 'reopen_issue', 'set_issue_status',
    'tick', 'fold_counts', 'schedule_tick', 'grant_supabase_roles',
    'record_issue_activity', 'delete_issue_dependents', 'truncate_issue_dependents',
    'issue_groups_changed', 'announce_issue_change', 'apply_role_privileges',
    'activity_kind', 'extension_schema', 'acting_role', 'set_writer_trust', 'set_ingest_budget',
    'register_release', 'release_known_since',
    'enqueue_notification', 'claim_notifications', 'complete_notification', 'fail_notification',
    'pending_notifications', 'record_delivery', 'configure_dispatch', 'ring_dispatch',
    'record_deploy_event', 'deploy_state_after', 'scrub_payload',
    'log', 'log_batch', 'record_requests', 'maintain', 'set_retention', 'log_counts_since', 'top_issues',
    'create_issue_summary', 'roll_issue_windows', 'day_partitioned', 'write_horizon', 'create_day_partition',
    'create_partitions_ahead', 'rescue_default_rows', 'drop_expired_partitions', 'roll_up_logs', 'expire_rows',
    'create_alert_rule', 'update_alert_rule', 'delete_alert_rule', 'evaluate_alerts', 'silence',
    'expire_silence', 'silence_matches', 'fire_event_rules', 'issue_activity_fires_rules',
    'schedule_jobs', 'unschedule_jobs',
    'grade_headers', 'check_health_conditions', 'check_health_check', 'evaluate_health_conditions',
    'create_health_check', 'update_health_check', 'delete_health_check', 'due_health_checks',
    'record_health_result', 'run_health_checks',
    'spend_ingest_budget', 'web_vital_rating', 'ingest_url', 'record_web_vitals', 'record_csp_reports',
    'log_sentry_event', 'ingest_sentry_envelopes', 'create_project', 'rotate_project_key', 'disable_project',
    'enable_project', 'set_project_budget', 'new_project_key', 'capture_stats',
    'deploy_verdict', 'evaluate_budgets', 'lighthouse_budgets', 'dora_level', 'deploy_window',
    'budget_observations', 'verify_deploy', 'set_deploy_policy', 'record_deploy', 'record_rollback',
    'rollback_target', 'live_deploy', 'record_latencies', 'create_budget', 'delete_budget',
    'import_lighthouse_budgets', 'check_budgets'
], 'observe holds exactly the documented functions');

-- Capture
select has_function('observe', 'log_error',
    array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone', 'boolean']);
select function_returns('observe', 'log_error',
    array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone', 'boolean'],
    'uuid');
select has_function('observe', 'log_error', array['jsonb']);
select function_returns('observe', 'log_error', array['jsonb'], 'uuid');
select has_function('observe', 'log_errors', array['jsonb']);
select function_returns('observe', 'log_errors', array['jsonb'], 'integer');

-- Logs and request counts
select has_function('observe', 'log', array['text', 'text', 'text', 'text', 'jsonb', 'text']);
select function_returns('observe', 'log', array['text', 'text', 'text', 'text', 'jsonb', 'text'], 'void');
select has_function('observe', 'log_batch', array['jsonb']);
select function_returns('observe', 'log_batch', array['jsonb'], 'integer');
select has_function('observe', 'record_requests',
    array['text', 'bigint', 'bigint', 'text', 'text', 'timestamp with time zone']);
select function_returns('observe', 'record_requests',
    array['text', 'bigint', 'bigint', 'text', 'text', 'timestamp with time zone'], 'void');
select has_function('observe', 'log_counts_since', array['timestamp with time zone']);
select function_returns('observe', 'log_counts_since', array['timestamp with time zone'], 'setof record');
select has_function('observe', 'top_issues', array['interval', 'integer']);
select function_returns('observe', 'top_issues', array['interval', 'integer'], 'setof record');

-- Server-side capture
select has_function('observe', 'capture_stats', array[]::text[]);
select function_returns('observe', 'capture_stats', array[]::text[], 'setof record');
select isnt_definer('observe', 'capture_stats', array[]::text[]);
select is((select preloaded from observe.capture_stats()),
    current_setting('shared_preload_libraries') like '%pg_observe%',
    'capture_stats() reports whether pg_observe is preloaded');

-- Grouping helpers
select has_function('observe', 'normalize_message', array['text']);
select function_returns('observe', 'normalize_message', array['text'], 'text');
select has_function('observe', 'fingerprint', array['text', 'text', 'text', 'text[]']);
select function_returns('observe', 'fingerprint', array['text', 'text', 'text', 'text[]'], 'text');

-- Triage
select has_function('observe', 'resolve_issue', array['bigint', 'text']);
select function_returns('observe', 'resolve_issue', array['bigint', 'text'], 'observe.issue_groups');
select has_function('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint']);
select function_returns('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint'], 'observe.issue_groups');
select has_function('observe', 'reopen_issue', array['bigint']);
select function_returns('observe', 'reopen_issue', array['bigint'], 'observe.issue_groups');

-- Maintenance and setup
select has_function('observe', 'tick', array[]::text[]);
select function_returns('observe', 'tick', array[]::text[], 'jsonb');
select has_function('observe', 'fold_counts', array[]::text[]);
select function_returns('observe', 'fold_counts', array[]::text[], 'bigint');
select has_function('observe', 'maintain', array[]::text[]);
select function_returns('observe', 'maintain', array[]::text[], 'jsonb');
select has_function('observe', 'set_retention', array['text', 'interval']);
select function_returns('observe', 'set_retention', array['text', 'interval'], 'observe.retention');
select has_function('observe', 'schedule_tick', array['text']);
select function_returns('observe', 'schedule_tick', array['text'], 'bigint');
select has_function('observe', 'grant_supabase_roles', array[]::text[]);
select function_returns('observe', 'grant_supabase_roles', array[]::text[], 'setof record');

-- The notification outbox and its worker API
select has_function('observe', 'enqueue_notification',
    array['text', 'text', 'text', 'jsonb', 'text[]', 'bigint', 'text', 'jsonb', 'timestamp with time zone']);
select function_returns('observe', 'enqueue_notification',
    array['text', 'text', 'text', 'jsonb', 'text[]', 'bigint', 'text', 'jsonb', 'timestamp with time zone'], 'uuid');
select has_function('observe', 'claim_notifications', array['integer', 'interval']);
select function_returns('observe', 'claim_notifications', array['integer', 'interval'], 'setof observe.notifications');
select has_function('observe', 'complete_notification', array['uuid', 'text']);
select function_returns('observe', 'complete_notification', array['uuid', 'text'], 'void');
select has_function('observe', 'fail_notification', array['uuid', 'text', 'interval', 'boolean']);
select function_returns('observe', 'fail_notification', array['uuid', 'text', 'interval', 'boolean'], 'text');
select has_function('observe', 'pending_notifications', array[]::text[]);
select function_returns('observe', 'pending_notifications', array[]::text[], 'bigint');
select has_function('observe', 'record_delivery', array['text', 'text', 'timestamp with time zone']);
select function_returns('observe', 'record_delivery', array['text', 'text', 'timestamp with time zone'], 'boolean');
select has_function('observe', 'configure_dispatch', array['text', 'text']);
select function_returns('observe', 'configure_dispatch', array['text', 'text'], 'void');

-- Deploys
select has_function('observe', 'record_deploy_event',
    array['text', 'text', 'text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb']);
select function_returns('observe', 'record_deploy_event',
    array['text', 'text', 'text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb'], 'jsonb');

-- Health checks and ingest
select function_returns('observe', 'grade_headers', array['jsonb'], 'jsonb');
select function_returns('observe', 'create_health_check',
    array['text', 'text', 'text[]', 'interval', 'interval', 'text', 'text', 'jsonb', 'text', 'integer', 'integer', 'boolean'],
    'bigint');
select function_returns('observe', 'update_health_check',
    array['bigint', 'text', 'text', 'text[]', 'interval', 'interval', 'text', 'text', 'jsonb', 'text', 'integer', 'integer', 'boolean'],
    'observe.health_checks');
select function_returns('observe', 'delete_health_check', array['bigint'], 'boolean');
select function_returns('observe', 'record_health_result',
    array['bigint', 'jsonb', 'integer', 'double precision', 'jsonb', 'text', 'timestamp with time zone', 'text'], 'jsonb');
select function_returns('observe', 'run_health_checks', array[]::text[], 'jsonb');
select function_returns('observe', 'record_web_vitals', array['jsonb'], 'integer');
select function_returns('observe', 'record_csp_reports', array['jsonb'], 'integer');
select is_definer('observe', 'record_health_result',
    array['bigint', 'jsonb', 'integer', 'double precision', 'jsonb', 'text', 'timestamp with time zone', 'text']);
select is_definer('observe', 'record_web_vitals', array['jsonb']);
select is_definer('observe', 'record_csp_reports', array['jsonb']);
select volatility_is('observe', 'grade_headers', array['jsonb'], 'immutable');

-- Sentry SDK projects: the issue's names and arguments, kept exactly.
select function_returns('observe', 'log_sentry_event', array['bigint', 'jsonb'], 'uuid');
select is_definer('observe', 'log_sentry_event', array['bigint', 'jsonb']);
select function_returns('observe', 'ingest_sentry_envelopes', array['text'], 'setof record');
select is_definer('observe', 'ingest_sentry_envelopes', array['text']);
select function_returns('observe', 'create_project', array['text', 'text', 'text'], 'setof record');
select is(
    (select pg_get_function_result('observe.create_project(text, text, text)'::regprocedure)),
    'TABLE(project_id bigint, public_key text, dsn_path text)', 'create_project returns its key and DSN path');
select is(
    (select pg_get_function_arguments('observe.create_project(text, text, text)'::regprocedure)),
    'name text, service text DEFAULT NULL::text, environment text DEFAULT NULL::text', 'create_project''s arguments');
select is(
    (select pg_get_function_arguments('observe.log_sentry_event(bigint, jsonb)'::regprocedure)),
    'project_id bigint, event jsonb', 'log_sentry_event''s arguments');
select is_definer('observe', 'rotate_project_key', array['bigint']);
select is_definer('observe', 'disable_project', array['bigint']);
select is_definer('observe', 'set_project_budget', array['bigint', 'integer', 'integer', 'bigint']);

-- Callers need EXECUTE only: everything that writes runs as the owner.
select is_definer('observe', 'log_error',
    array['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text[]', 'text', 'text', 'timestamp with time zone', 'boolean']);
select is_definer('observe', 'log_error', array['jsonb']);
select is_definer('observe', 'log_errors', array['jsonb']);
select is_definer('observe', 'log', array['text', 'text', 'text', 'text', 'jsonb', 'text']);
select is_definer('observe', 'log_batch', array['jsonb']);
select is_definer('observe', 'record_requests',
    array['text', 'bigint', 'bigint', 'text', 'text', 'timestamp with time zone']);
select is_definer('observe', 'maintain', array[]::text[]);
select is_definer('observe', 'set_retention', array['text', 'interval']);
select isnt_definer('observe', 'top_issues', array['interval', 'integer']);
select isnt_definer('observe', 'log_counts_since', array['timestamp with time zone']);
select is_definer('observe', 'resolve_issue', array['bigint', 'text']);
select is_definer('observe', 'ignore_issue', array['bigint', 'timestamp with time zone', 'bigint']);
select is_definer('observe', 'reopen_issue', array['bigint']);
select is_definer('observe', 'tick', array[]::text[]);
select is_definer('observe', 'fold_counts', array[]::text[]);
select is_definer('observe', 'schedule_tick', array['text']);
select is_definer('observe', 'grant_supabase_roles', array[]::text[]);
select is_definer('observe', 'enqueue_notification',
    array['text', 'text', 'text', 'jsonb', 'text[]', 'bigint', 'text', 'jsonb', 'timestamp with time zone']);
select is_definer('observe', 'claim_notifications', array['integer', 'interval']);
select is_definer('observe', 'complete_notification', array['uuid', 'text']);
select is_definer('observe', 'fail_notification', array['uuid', 'text', 'interval', 'boolean']);
select is_definer('observe', 'record_delivery', array['text', 'text', 'timestamp with time zone']);
select is_definer('observe', 'configure_dispatch', array['text', 'text']);
select is_definer('observe', 'record_deploy_event',
    array['text', 'text', 'text', 'text', 'timestamp with time zone', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb']);
select isnt_definer('observe', 'normalize_message', array['text']);
select isnt_definer('observe', 'fingerprint', array['text', 'text', 'text', 'text[]']);

-- The pure functions are immutable (usable in indexes and generated
-- columns); capture is volatile.
select volatility_is('observe', 'normalize_message', array['text'], 'immutable');
select volatility_is('observe', 'fingerprint', array['text', 'text', 'text', 'text[]'], 'immutable');
select volatility_is('observe', 'log_error', array['jsonb'], 'volatile');
select volatility_is('observe', 'log_errors', array['jsonb'], 'volatile');

-- Tables
-- Partitions (events_p20261130, events_default, …) are made by the day and
-- are not part of the API.
select set_eq(
    $$select c.relname::text from pg_class c
       where c.relnamespace = 'observe'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition$$,
    array[
        'issue_groups', 'issue_hashes', 'issue_counts', 'count_queue', 'fold_state', 'issue_users',
        'issue_ignore_counts', 'events', 'issue_activity', 'role_privileges', 'ingest_budgets',
        'ingest_usage', 'ingest_drop_counts', 'known_releases', 'installation',
        'notifications', 'dispatch_config', 'deployments', 'deployment_events',
        'issue_summary', 'service_counts', 'request_queue', 'request_counts', 'logs', 'log_counts',
        'log_rollup', 'retention',
        'alert_rules', 'alerts', 'alert_events', 'alert_groups', 'silences',
        'health_checks', 'health_results', 'health_transitions', 'health_probes', 'web_vitals', 'csp_reports',
        'projects', 'project_keys', 'sentry_event_ids', 'sentry_item_counts',
        'deploy_policies', 'deploy_verifications', 'deploy_rollbacks', 'request_latencies', 'budgets'
    ],
    'observe holds exactly the documented tables');
select is_partitioned('observe', 'events', 'events are partitioned (by day)');
select is_partitioned('observe', 'logs', 'logs are partitioned (by day)');
select has_table('observe', 'issue_groups', 'table observe.issue_groups');
select has_table('observe', 'issue_hashes', 'table observe.issue_hashes');
select has_table('observe', 'issue_counts', 'table observe.issue_counts');
select has_table('observe', 'count_queue', 'table observe.count_queue');
select has_table('observe', 'fold_state', 'table observe.fold_state');
select has_table('observe', 'issue_users', 'table observe.issue_users');
select has_table('observe', 'issue_ignore_counts', 'table observe.issue_ignore_counts');
select has_table('observe', 'events', 'table observe.events');
select has_table('observe', 'issue_activity', 'table observe.issue_activity');
select has_table('observe', 'notifications', 'table observe.notifications');
select has_table('observe', 'deployments', 'table observe.deployments');
select has_table('observe', 'deployment_events', 'table observe.deployment_events');
select has_table('observe', 'issue_summary', 'table observe.issue_summary');
select has_table('observe', 'service_counts', 'table observe.service_counts');
select has_table('observe', 'request_counts', 'table observe.request_counts');
select has_table('observe', 'log_counts', 'table observe.log_counts');
select has_table('observe', 'retention', 'table observe.retention');

-- Views
select views_are('observe', array['issues', 'issue_overview', 'recent_errors', 'error_rate', 'releases', 'event_counts',
    'writer_trust', 'ingest_drops', 'dead_notifications', 'deployments_overview', 'log_volume', 'active_alerts',
    'health_status', 'uptime', 'health_failures', 'web_vitals_p75', 'csp_violations', 'sentry_items', 'dora', 'deploy_status'],
    'observe holds exactly the documented views');
select has_view('observe', 'issues', 'view observe.issues');
select has_view('observe', 'issue_overview', 'view observe.issue_overview');
select has_view('observe', 'recent_errors', 'view observe.recent_errors');
select has_view('observe', 'error_rate', 'view observe.error_rate');
select has_view('observe', 'releases', 'view observe.releases');
select has_view('observe', 'event_counts', 'view observe.event_counts');
select has_view('observe', 'dead_notifications', 'view observe.dead_notifications');
select has_view('observe', 'deployments_overview', 'view observe.deployments_overview');
select has_view('observe', 'log_volume', 'view observe.log_volume');

-- Types
select has_type('observe', 'level', 'type observe.level');
select has_type('observe', 'issue_status', 'type observe.issue_status');
select has_enum('observe', 'level', 'observe.level is an enum');
select has_enum('observe', 'issue_status', 'observe.issue_status is an enum');
select enum_has_labels('observe', 'level', array['debug', 'info', 'warning', 'error', 'fatal'],
    'levels in severity order');
select enum_has_labels('observe', 'issue_status', array['unresolved', 'resolved', 'ignored']);

select * from finish();
rollback;
