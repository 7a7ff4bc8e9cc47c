-- Views for analysts. All are security_invoker, so the row level security
-- of the tables beneath applies to whoever queries them.

create view observe.event_counts with (security_invoker = true) as
select issue_id, bucket, environment, release, slot, events, first_seen, last_seen
  from observe.issue_counts
 union all
select issue_id, date_trunc('minute', counted_at), environment, release, 0::smallint, 1::bigint,
       counted_at, occurred_at
  from observe.count_queue;
comment on view observe.event_counts is
    'Exact event counts: the folded observe.issue_counts plus the events still queued, one row each.';

create view observe.issues with (security_invoker = true) as
select g.id,
       g.service,
       g.fingerprint,
       g.title,
       g.culprit,
       g.exception_type,
       g.level,
       g.status,
       g.first_seen,
       c.last_seen,
       coalesce(c.events, 0) as events,
       coalesce(u.users, 0) as users,
       g.first_release,
       c.last_release,
       g.resolved_in_release,
       g.ignored_until,
       g.ignore_until_count,
       g.regressed_at,
       g.times_regressed,
       g.status_changed_at,
       g.grouping_basis
  from observe.issue_groups g
  -- Grouped joins rather than per-issue subqueries: the queue has no index
  -- (it is written once per event and emptied every second), so it is read
  -- in one pass. A filter on the issue id reaches both sides of each join.
  left join (
        select ic.issue_id,
               sum(ic.events)::bigint as events,
               max(ic.last_seen) as last_seen,
               (array_agg(ic.release order by ic.last_seen desc)
                    filter (where ic.release <> ''))[1] as last_release
          from observe.event_counts ic
         group by ic.issue_id
       ) c on c.issue_id = g.id
  left join (
        select known.issue_id, count(*)::bigint as users
          from (select iu.issue_id, iu.user_hash from observe.issue_users iu
                 union
                select q.issue_id, q.user_hash from observe.count_queue q where q.user_hash is not null) known
         group by known.issue_id
       ) u on u.issue_id = g.id;
comment on view observe.issues is
    'One row per (service, fingerprint): exact event count, affected users, first/last seen and release, status.';

create view observe.issue_overview with (security_invoker = true) as
select i.id,
       i.service,
       i.title,
       i.culprit,
       i.level,
       i.status,
       i.events,
       i.users,
       coalesce(w.events_24h, 0) as events_24h,
       coalesce(w.events_7d, 0) as events_7d,
       coalesce(w.events_prev_24h, 0) as events_prev_24h,
       case
           when coalesce(w.events_24h, 0) = 0 then 'quiet'
           when i.first_seen > now() - interval '24 hours' then 'new'
           when w.events_24h > 1.5 * w.events_prev_24h then 'rising'
           when w.events_24h < 0.5 * w.events_prev_24h then 'falling'
           else 'steady'
       end as trend,
       coalesce(h.hourly_24h, array_fill(0::bigint, array[24])) as hourly_24h,
       i.first_seen,
       i.last_seen,
       i.last_release
  from observe.issues i
  left join (
        select ic.issue_id,
               sum(ic.events) filter (where ic.bucket >= now() - interval '24 hours')::bigint as events_24h,
               sum(ic.events)::bigint as events_7d,
               sum(ic.events) filter (where ic.bucket >= now() - interval '48 hours'
                                        and ic.bucket < now() - interval '24 hours')::bigint as events_prev_24h
          from observe.event_counts ic
         where ic.bucket >= now() - interval '7 days'
         group by ic.issue_id
       ) w on w.issue_id = i.id
  left join (
        -- Each issue with events in the last 24 hours, times each of those
        -- hours, so that quiet hours count 0; oldest hour first.
        select active.issue_id,
               array_agg(coalesce(p.events, 0) order by hours.hour_ago desc) as hourly_24h
          from (select distinct ic.issue_id
                  from observe.event_counts ic
                 where ic.bucket >= date_trunc('hour', now()) - interval '23 hours') active
         cross join generate_series(0, 23) as hours(hour_ago)
          left join (
                select ic.issue_id,
                       (extract(epoch from date_trunc('hour', now()) - date_trunc('hour', ic.bucket)) / 3600)::int
                           as hour_ago,
                       sum(ic.events)::bigint as events
                  from observe.event_counts ic
                 where ic.bucket >= date_trunc('hour', now()) - interval '23 hours'
                 group by 1, 2
               ) p on p.issue_id = active.issue_id and p.hour_ago = hours.hour_ago
         group by active.issue_id
       ) h on h.issue_id = i.id
 order by coalesce(w.events_24h, 0) desc, i.last_seen desc nulls last;
comment on view observe.issue_overview is
    'Issues with their counts for the last 24 h, the 24 h before, and 7 d; trend is new, rising, falling, steady or quiet; hourly_24h holds the last 24 hourly counts, oldest first.';

create view observe.recent_errors with (security_invoker = true) as
select e.id as event_id,
       e.occurred_at,
       e.received_at,
       e.level,
       e.service,
       e.environment,
       e.release,
       e.issue_id,
       g.title as issue_title,
       g.status as issue_status,
       e.exception_type,
       e.message,
       g.culprit,
       e.user_ref,
       e.request_id,
       e.request ->> 'url' as url,
       e.sample_rate,
       e.flags
  from observe.events e
  join observe.issue_groups g on g.id = e.issue_id
 where e.occurred_at > now() - interval '24 hours'
 order by e.occurred_at desc;
comment on view observe.recent_errors is
    'Stored events of the last 24 hours, newest first, with their issue.';

create view observe.error_rate with (security_invoker = true) as
with minutes as (
    select generate_series(date_trunc('minute', now()) - interval '59 minutes',
                           date_trunc('minute', now()),
                           interval '1 minute') as minute
), counts as (
    select g.service,
           ic.environment,
           ic.bucket as minute,
           sum(ic.events)::bigint as events,
           count(distinct ic.issue_id)::bigint as issues
      from observe.event_counts ic
      join observe.issue_groups g on g.id = ic.issue_id
     where ic.slot >= 0
       and ic.bucket >= date_trunc('minute', now()) - interval '59 minutes'
     group by g.service, ic.environment, ic.bucket
), series as (
    select distinct service, environment from counts
)
select s.service,
       nullif(s.environment, '') as environment,
       m.minute,
       coalesce(c.events, 0) as events,
       coalesce(c.issues, 0) as issues
  from series s
 cross join minutes m
  left join counts c on c.service = s.service and c.environment = s.environment and c.minute = m.minute
 order by m.minute, s.service, s.environment;
comment on view observe.error_rate is
    'Events per minute for the last hour, per service and environment, with zero-filled minutes.';

create view observe.releases with (security_invoker = true) as
select g.service,
       c.release as version,
       min(c.first_seen) as first_seen,
       max(c.last_seen) as last_seen,
       sum(c.events)::bigint as events,
       count(distinct c.issue_id)::bigint as issues,
       min(d.first_deployed_at) as first_deployed_at,
       max(d.last_deployed_at) as last_deployed_at,
       coalesce(max(d.deploys), 0)::bigint as deploys
  from observe.event_counts c
  join observe.issue_groups g on g.id = c.issue_id
  -- A release names a deploy by its commit: the full sha or a prefix of at
  -- least 7 characters, alone or after the last '@' (`web@3f2a9c1`).
  left join lateral (
        select min(coalesce(dep.ready_at, dep.created_at)) as first_deployed_at,
               max(coalesce(dep.ready_at, dep.created_at)) as last_deployed_at,
               count(*) as deploys
          from observe.deployments dep
         where dep.commit_sha is not null
           and length(substring(c.release from '[^@]*$')) >= 7
           and dep.commit_sha like substring(c.release from '[^@]*$') || '%'
       ) d on true
 where c.release <> ''
 group by g.service, c.release;
comment on view observe.releases is
    'Every release events were captured from, per service: when it was first and last seen, its events and issues, and when it was deployed (deploys whose commit sha the release names).';

-- Each deploy next to what happened around it: error events, new issues and
-- regressions of its environment in the 30 minutes before and after it went
-- live (or was created, when it never did).
create view observe.deployments_overview with (security_invoker = true) as
select d.id,
       d.provider,
       d.deployment_id,
       d.project,
       d.environment,
       d.state,
       d.commit_sha,
       d.branch,
       d.url,
       d.created_at,
       d.ready_at,
       d.finished_at,
       w.deployed_at,
       coalesce(e.before, 0) as errors_before,
       coalesce(e.after, 0) as errors_after,
       coalesce(a.new_before, 0) as new_issues_before,
       coalesce(a.new_after, 0) as new_issues_after,
       coalesce(a.regressed_before, 0) as regressions_before,
       coalesce(a.regressed_after, 0) as regressions_after
  from observe.deployments d
 cross join lateral (select coalesce(d.ready_at, d.created_at) as deployed_at) w
  left join lateral (
        select sum(c.events) filter (where c.bucket < w.deployed_at)::bigint as before,
               sum(c.events) filter (where c.bucket >= w.deployed_at)::bigint as after
          from observe.event_counts c
         where c.environment = d.environment
           and c.slot >= 0
           and c.bucket >= w.deployed_at - interval '30 minutes'
           and c.bucket < w.deployed_at + interval '30 minutes'
       ) e on true
  left join lateral (
        select count(*) filter (where act.kind = 'created' and act.at < w.deployed_at) as new_before,
               count(*) filter (where act.kind = 'created' and act.at >= w.deployed_at) as new_after,
               count(*) filter (where act.kind = 'regressed' and act.at < w.deployed_at) as regressed_before,
               count(*) filter (where act.kind = 'regressed' and act.at >= w.deployed_at) as regressed_after
          from observe.issue_activity act
         where act.kind in ('created', 'regressed')
           and act.at >= w.deployed_at - interval '30 minutes'
           and act.at < w.deployed_at + interval '30 minutes'
           and exists (select from observe.event_counts c
                        where c.issue_id = act.issue_id and c.environment = d.environment)
       ) a on true
 order by w.deployed_at desc;
comment on view observe.deployments_overview is
    'Each deploy with the error events, new issues and regressions of its environment in the 30 minutes before and after it went live.';
