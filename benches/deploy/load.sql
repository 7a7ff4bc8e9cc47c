-- A production database with 10 million stored error events over the last
-- week, as capture leaves it: 1,000 issues, the events themselves, their
-- exact counts (per minute, hour and day), 100,000 web-vitals beacons, request
-- latencies, health checks, and a deploy 20 minutes old after one a day old.
\set events 10000000
create extension pg_observe;
insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
select 'web', md5(i::text), 'message', 'TypeError: cannot read property ' || i, 'error', now() - interval '8 days'
  from generate_series(1, 1000) i;
-- Their creation, recorded by trigger, was a week before the deploy.
update observe.issue_activity set at = now() - interval '8 days';
insert into observe.events (id, issue_id, occurred_at, received_at, level, service, environment, release, message)
select gen_random_uuid(), g.first_id + (i % 1000), t, t, 'error', 'web', 'production', 'web@1',
       'TypeError: cannot read property ' || (i % 1000)
  from generate_series(1, :events) i,
       lateral (select now() - interval '7 days' * (i::float8 / :events) as t) x,
       (select min(id) as first_id from observe.issue_groups) g;
-- Counts matching the events, as capture keeps them: per minute, hour and
-- day.
insert into observe.issue_counts (issue_id, resolution, bucket, environment, release, events, first_seen, last_seen)
select issue_id, r.resolution, date_trunc(r.resolution, received_at), 'production', 'web@1', count(*),
       min(received_at), max(received_at)
  from observe.events, unnest(array['minute', 'hour', 'day']) as r(resolution)
 group by 1, 2, 3;
insert into observe.web_vitals (name, value, rating, page, environment, release, received_at)
select (array['LCP', 'INP', 'CLS', 'FCP', 'TTFB'])[1 + i % 5], 100 + i % 3000, 'good',
       'https://shop.example.com/' || (i % 20), 'production', 'web@1', now() - interval '7 days' * (i::float8 / 100000)
  from generate_series(1, 100000) i;
insert into observe.request_latencies (service, environment, route, at, durations_ms)
select 'web', 'production', '/', now() - interval '7 days' * (i::float8 / 10000),
       array(select (50 + random() * 400)::real from generate_series(1, 100))
  from generate_series(1, 10000) i;
select observe.create_health_check('api-' || i, 'https://api.example.com/' || i, array['[STATUS] == 200'],
                                   environment => 'production') from generate_series(1, 20) i;
select observe.create_budget('LCP', 2500, environment => 'production');
select observe.create_budget('INP', 200, page_pattern => '/checkout', environment => 'production', level => 'warn');
select observe.record_deploy('dpl_previous', 'production', occurred_at => now() - interval '1 day');
select observe.record_deploy('dpl_bench', 'production', occurred_at => now() - interval '20 minutes');
vacuum analyze;
