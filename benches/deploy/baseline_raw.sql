-- Baseline: the verdict's main input read the naive way, from the stored
-- events of the two windows (no counts, no verdict, nothing stored).
select count(*) filter (where e.occurred_at >= d.ready_at) as after,
       count(*) filter (where e.occurred_at < d.ready_at) as before
  from observe.deployments d
  join observe.events e on e.environment = d.environment
                       and e.occurred_at >= d.ready_at - interval '15 minutes'
                       and e.occurred_at < d.ready_at + interval '15 minutes'
 where d.deployment_id = 'dpl_bench';
