-- Views for analysts. All are security_invoker, so the row level security
-- of the tables beneath applies to whoever queries them.

-- Exact counts at every resolution: the folded counts plus the events still
-- queued, each of which counts once in its minute, its hour and its day.
create view observe.event_counts with (security_invoker = true) as
select issue_id, resolution, bucket, environment, release, events, first_seen, last_seen
  from observe.issue_counts
 union all
select q.issue_id, r.resolution, date_trunc(r.resolution, q.counted_at, 'UTC'), q.environment, q.release,
       1::bigint, q.counted_at, q.occurred_at
  from observe.count_queue q
 cross join (values ('minute'), ('hour'), ('day')) as r(resolution);
comment on view observe.event_counts is
    'Exact event counts per issue, resolution (minute, hour, day), bucket, environment and release: the folded observe.issue_counts plus the events still queued.';

-- Exact: the folded summary plus the queue. Filtering on the issue id
-- reaches every side of the joins; the queue has no index (it is written
-- once per event and emptied every second), so it is read in one pass.
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
       greatest(s.last_seen, q.last_seen) as last_seen,
       s.events + coalesce(q.events, 0) as events,
       coalesce(u.users, 0) as users,
       g.first_release,
       case when q.release_seen > coalesce(s.last_release_seen, '-infinity')
            then q.last_release else s.last_release end as last_release,
       g.resolved_in_release,
       g.ignored_until,
       g.ignore_until_count,
       g.regressed_at,
       g.times_regressed,
       g.status_changed_at,
       g.grouping_basis
  from observe.issue_groups g
  join observe.issue_summary s on s.issue_id = g.id
  left join (
        select cq.issue_id,
               count(*)::bigint as events,
               max(cq.occurred_at) as last_seen,
               (array_agg(cq.release order by cq.occurred_at desc) filter (where cq.release <> ''))[1]
                   as last_release,
               max(cq.occurred_at) filter (where cq.release <> '') as release_seen
          from observe.count_queue cq
         group by cq.issue_id
       ) q on q.issue_id = g.id
  left join (
        select known.issue_id, count(*)::bigint as users
          from (select iu.issue_id, iu.user_hash from observe.issue_users iu
                 union
                select cq.issue_id, cq.user_hash from observe.count_queue cq where cq.user_hash is not null) known
         group by known.issue_id
       ) u on u.issue_id = g.id;
comment on view observe.issues is
    'One row per (service, fingerprint): exact event count, affected users, first/last seen and release, status.';

-- As of the last fold (about a second behind while events arrive): the
-- counts come from observe.issue_summary, whose indexes serve ORDER BY
-- events, events_24h or events_7d with a LIMIT at any size; the users and
-- hourly counts are looked up for the rows returned only.
create view observe.issue_overview with (security_invoker = true) as
select g.id,
       g.service,
       g.title,
       g.culprit,
       g.level,
       g.status,
       s.events,
       (select count(*) from observe.issue_users iu where iu.issue_id = g.id) as users,
       s.events_24h,
       s.events_7d,
       s.events_prev_24h,
       case
           when s.events_24h = 0 then 'quiet'
           when g.first_seen > now() - interval '24 hours' then 'new'
           when s.events_24h > 1.5 * s.events_prev_24h then 'rising'
           when s.events_24h < 0.5 * s.events_prev_24h then 'falling'
           else 'steady'
       end as trend,
       -- The 24 hours the summary's windows are counted in, oldest first,
       -- quiet hours as 0.
       (select array_agg(coalesce(c.events, 0) order by h.hour)
          from observe.fold_state w
         cross join generate_series(w.windows_at - interval '23 hours', w.windows_at, interval '1 hour') as h(hour)
          left join lateral (
                select sum(ic.events)::bigint as events
                  from observe.issue_counts ic
                 where ic.issue_id = g.id and ic.resolution = 'hour' and ic.bucket = h.hour
               ) c on true
       ) as hourly_24h,
       g.first_seen,
       s.last_seen,
       s.last_release
  from observe.issue_groups g
  join observe.issue_summary s on s.issue_id = g.id;
comment on view observe.issue_overview is
    'Issues with their counts, as of the last fold: in all, in the last 24 h, the 24 h before, and 7 d (whole hours up to the last fold''s); trend is new, rising, falling, steady or quiet; hourly_24h holds those 24 hourly counts, oldest first. ORDER BY events, events_24h or events_7d with a LIMIT is served by an index.';

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

-- Exact: the folded per-minute counts plus the queues. Events come from
-- service_counts (a few rows a minute); distinct issues from the per-minute
-- issue counts; requests from what middleware reported.
create view observe.error_rate with (security_invoker = true) as
with minutes as (
    select generate_series(date_trunc('minute', now(), 'UTC') - interval '59 minutes',
                           date_trunc('minute', now(), 'UTC'),
                           interval '1 minute') as minute
), events as (
    select e.service, e.environment, e.minute, sum(e.events)::bigint as events
      from (select sc.service, sc.environment, sc.bucket as minute, sc.events
              from observe.service_counts sc
             where sc.resolution = 'minute'
               and sc.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select g.service, q.environment, date_trunc('minute', q.counted_at, 'UTC'), 1
              from observe.count_queue q
              join observe.issue_groups g on g.id = q.issue_id
             where q.counted_at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') e
     group by e.service, e.environment, e.minute
), issues as (
    select g.service, i.environment, i.minute, count(distinct i.issue_id)::bigint as issues
      from (select ic.issue_id, ic.environment, ic.bucket as minute
              from observe.issue_counts ic
             where ic.resolution = 'minute'
               and ic.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select q.issue_id, q.environment, date_trunc('minute', q.counted_at, 'UTC')
              from observe.count_queue q
             where q.counted_at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') i
      join observe.issue_groups g on g.id = i.issue_id
     group by g.service, i.environment, i.minute
), requests as (
    select r.service, r.environment, r.minute, sum(r.requests)::bigint as requests,
           sum(r.errors)::bigint as errors
      from (select rc.service, rc.environment, rc.bucket as minute, rc.requests, rc.errors
              from observe.request_counts rc
             where rc.resolution = 'minute'
               and rc.bucket >= date_trunc('minute', now(), 'UTC') - interval '59 minutes'
            union all
            select rq.service, rq.environment, date_trunc('minute', rq.at, 'UTC'), rq.requests, rq.errors
              from observe.request_queue rq
             where rq.at >= date_trunc('minute', now(), 'UTC') - interval '59 minutes') r
     group by r.service, r.environment, r.minute
), series as (
    -- Whether a series has request counts at all: its quiet minutes then
    -- had no requests; without any, the denominator is unknown.
    select s.service, s.environment, bool_or(s.reported) as reported
      from (select service, environment, false as reported from events
            union all
            select service, environment, true from requests) s
     group by s.service, s.environment
)
select s.service,
       nullif(s.environment, '') as environment,
       m.minute,
       coalesce(e.events, 0) as events,
       coalesce(i.issues, 0) as issues,
       case when s.reported then coalesce(r.requests, 0) end as requests,
       case when s.reported then coalesce(r.errors, 0) end as request_errors,
       case when r.requests > 0 then coalesce(e.events, 0)::double precision / r.requests end as rate
  from series s
 cross join minutes m
  left join events e on e.service = s.service and e.environment = s.environment and e.minute = m.minute
  left join issues i on i.service = s.service and i.environment = s.environment and i.minute = m.minute
  left join requests r on r.service = s.service and r.environment = s.environment and r.minute = m.minute
 order by m.minute, s.service, s.environment;
comment on view observe.error_rate is
    'Per minute of the last hour, per service and environment, zero-filled: error events, distinct issues, and the requests and failed requests middleware reported (null for a series that reported none); rate is events per request.';

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
 where c.resolution = 'day'
   and c.release <> ''
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
           and c.resolution = 'minute'
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
                        where c.issue_id = act.issue_id and c.resolution = 'day'
                          and c.environment = d.environment)
       ) a on true
 order by w.deployed_at desc;
comment on view observe.deployments_overview is
    'Each deploy with the error events, new issues and regressions of its environment in the 30 minutes before and after it went live.';

-- Exact: hourly log counts of the last 24 hours, plus the lines not rolled
-- up yet.
create view observe.log_volume with (security_invoker = true) as
select v.hour,
       v.service,
       nullif(v.environment, '') as environment,
       v.level,
       sum(v.events)::bigint as events
  from (select lc.bucket as hour, lc.service, lc.environment, lc.level, lc.events
          from observe.log_counts lc
         where lc.resolution = 'hour'
           and lc.bucket >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
        union all
        select date_trunc('hour', l.logged_at, 'UTC'), l.service, coalesce(l.environment, ''), l.level, 1
          from observe.logs l
         where l.logged_at >= (select r.settled_until from observe.log_rollup r)
           and l.logged_at >= date_trunc('hour', now(), 'UTC') - interval '23 hours') v
 group by v.hour, v.service, v.environment, v.level;
comment on view observe.log_volume is
    'Log lines per hour of the last 24 hours (UTC), service, environment and level; hours without lines have no row.';

-- The issues with the most events in a window, as of the last fold. A window
-- of whole hours counts the hour of the last fold and the hours before it,
-- like issue_overview; a shorter one counts minutes up to the current one.
-- The 24-hour and 7-day windows are read from observe.issue_summary's
-- indexes; others sum the hourly or per-minute counts.
create function observe.top_issues(window_size interval default '24 hours', max_issues integer default 20)
returns table (
    id bigint,
    service text,
    title text,
    culprit text,
    level observe.level,
    status observe.issue_status,
    events bigint,
    previous_events bigint,
    users bigint,
    total_events bigint,
    first_seen timestamptz,
    last_seen timestamptz,
    trend text)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    unit text;
    step interval;
    buckets integer;
    window_start timestamptz;
    ids bigint[];
    counts bigint[];
    previous bigint[];
begin
    if window_size is null or max_issues is null then
        raise exception 'window_size and max_issues are required' using errcode = 'null_value_not_allowed';
    end if;
    if window_size <= interval '0' then
        raise exception 'window_size must be positive, got %', window_size using errcode = 'invalid_parameter_value';
    end if;
    if max_issues not between 1 and 1000 then
        raise exception 'max_issues must be between 1 and 1000, got %', max_issues
            using errcode = 'invalid_parameter_value';
    end if;
    if window_size >= interval '1 hour' then
        unit := 'hour';
        step := interval '1 hour';
        select w.windows_at into window_start from observe.fold_state w;
    else
        unit := 'minute';
        step := interval '1 minute';
        window_start := date_trunc('minute', now(), 'UTC');
    end if;
    buckets := ceil(extract(epoch from window_size) / extract(epoch from step))::integer;
    window_start := window_start - step * (buckets - 1);

    if unit = 'hour' and buckets = 24 then
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc),
               array_agg(r.prev order by r.n desc)
          into ids, counts, previous
          from (select s.issue_id, s.events_24h as n, s.events_prev_24h as prev
                  from observe.issue_summary s
                 where s.events_24h > 0
                 order by s.events_24h desc
                 limit max_issues) r;
    elsif unit = 'hour' and buckets = 168 then
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc)
          into ids, counts
          from (select s.issue_id, s.events_7d as n
                  from observe.issue_summary s
                 where s.events_7d > 0
                 order by s.events_7d desc
                 limit max_issues) r;
    else
        select array_agg(r.issue_id order by r.n desc), array_agg(r.n order by r.n desc)
          into ids, counts
          from (select c.issue_id, sum(c.events)::bigint as n
                  from observe.issue_counts c
                 where c.resolution = unit and c.bucket >= window_start
                 group by c.issue_id
                 order by 2 desc
                 limit max_issues) r;
    end if;

    return query
    select g.id, g.service, g.title, g.culprit, g.level, g.status, t.n, p.n,
           (select count(*) from observe.issue_users u
             where u.issue_id = t.issue_id and u.last_seen >= window_start),
           s.events, g.first_seen, s.last_seen,
           case
               when g.first_seen > now() - window_size then 'new'
               when t.n > 1.5 * p.n then 'rising'
               when t.n < 0.5 * p.n then 'falling'
               else 'steady'
           end
      from unnest(ids, counts, previous) with ordinality as t(issue_id, n, prev, rank)
      join observe.issue_groups g on g.id = t.issue_id
      join observe.issue_summary s on s.issue_id = t.issue_id
     cross join lateral (
            select coalesce(t.prev,
                            (select sum(c.events) from observe.issue_counts c
                              where c.issue_id = t.issue_id and c.resolution = unit
                                and c.bucket >= window_start - step * buckets and c.bucket < window_start),
                            0)::bigint as n
           ) p
     order by t.rank;
end
$$;
comment on function observe.top_issues(interval, integer) is
    'The issues with the most events in the last window_size (whole hours up to the last fold''s, or minutes for less than an hour), with the window before, users seen in the window, totals and a trend (new, rising, falling, steady); as of the last fold.';
