-- Baseline: the existing deploy view's row for the same deploy (errors,
-- new issues and regressions 30 minutes around it, from the counts).
select * from observe.deployments_overview where deployment_id = 'dpl_bench';
