-- The deploy-safety API's shape: the exact signatures the CLI and CI call,
-- who they run as, and their refusals.
begin;
select plan(22);

select function_returns('observe', 'verify_deploy', array['text', 'interval'], 'jsonb');
select is_definer('observe', 'verify_deploy', array['text', 'interval']);
select volatility_is('observe', 'verify_deploy', array['text', 'interval'], 'volatile');
select function_returns('observe', 'check_budgets', array['text', 'text', 'interval'], 'jsonb');
select function_returns('observe', 'record_deploy',
    array['text', 'text', 'text', 'text', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'text'],
    'jsonb');
select function_returns('observe', 'record_rollback', array['text', 'text', 'text', 'timestamp with time zone'], 'bigint');
select function_returns('observe', 'record_latencies',
    array['double precision[]', 'text', 'text', 'text', 'timestamp with time zone'], 'integer');
select function_returns('observe', 'import_lighthouse_budgets', array['jsonb', 'text', 'boolean'], 'jsonb');
select volatility_is('observe', 'deploy_verdict', array['jsonb', 'jsonb'], 'immutable');
select volatility_is('observe', 'dora_level', array['text', 'double precision'], 'immutable');

select has_view('observe', 'dora', 'view observe.dora');
select columns_are('observe', 'dora', array[
    'environment', 'period', 'deployments', 'deploys_per_day', 'deployment_frequency_level',
    'lead_time', 'lead_time_level', 'change_failures', 'change_failure_rate', 'change_failure_rate_level',
    'restores', 'time_to_restore', 'time_to_restore_level']);
select has_table('observe', 'deploy_policies', 'table observe.deploy_policies');
select results_eq(
    $$select environment, max_error_rate, max_p95_ms from observe.deploy_policies order by environment$$,
    $$values ('development', 0.05::float8, 500::float8), ('preview', 0.05, 500), ('production', 0.05, 500),
             ('staging', 0.05, 500)$$,
    'every environment starts with the platform''s thresholds: 5 % errors, p95 500 ms');

select throws_ok($$select observe.verify_deploy('dpl_nowhere')$$, 'P0002', 'deploy "dpl_nowhere" is not known');
select throws_ok($$select observe.verify_deploy('x', interval '5 seconds')$$, '22023');
select throws_ok($$select observe.verify_deploy(null)$$, '22004');
select throws_ok($$select observe.create_budget('FID', 100)$$, '22023');
select throws_ok($$select observe.create_budget('LCP', 2500, page_pattern => '(')$$, '22023');
select throws_ok($$select observe.set_deploy_policy('production', significance => 0.9)$$, '22023');
select throws_ok($$select observe.dora_level('mttr', 1)$$, '22023');
select is(observe.dora_level('change_failure_rate', 0.05), 'elite', 'a 5 % change failure rate is elite');

select * from finish();
rollback;
