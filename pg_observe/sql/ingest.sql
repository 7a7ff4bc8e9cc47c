-- What browsers send (README, "Ingest"): Core Web Vitals beacons and CSP
-- violation reports, through the public ingest edge function, which parses
-- the browsers' formats (edge/src/ingest/) and writes as observe_ingest.
-- Browsers keep no secrets, so these writes are untrusted: per-minute
-- budgets apply (observe.spend_ingest_budget, trust.sql), everything is
-- scrubbed, URLs lose their query and fragment, and every field is bounded.

-- The ingest function switches to this role (SET LOCAL ROLE) for its
-- writes: a writer, and an untrusted one.
do $roles$
begin
    if not exists (select from pg_roles where rolname = 'observe_ingest') then
        begin
            create role observe_ingest nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
    begin
        grant observe_writer, observe_untrusted to observe_ingest;
    exception when duplicate_object or unique_violation then
        null;
    end;
end
$roles$;

-- The published thresholds (web.dev/articles/vitals): good up to the
-- first, poor above the second.
create function observe.web_vital_rating(metric text, value double precision)
returns text
language sql
immutable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select case
               when t.good is null or value is null then null
               when value <= t.good then 'good'
               when value <= t.poor then 'needs-improvement'
               else 'poor'
           end
      from (select case metric when 'LCP' then 2500 when 'INP' then 200 when 'CLS' then 0.1
                               when 'FCP' then 1800 when 'TTFB' then 800 end::double precision as good,
                   case metric when 'LCP' then 4000 when 'INP' then 500 when 'CLS' then 0.25
                               when 'FCP' then 3000 when 'TTFB' then 1800 end::double precision as poor) t
$$;
comment on function observe.web_vital_rating(text, double precision) is
    'good / needs-improvement / poor for a Core Web Vital by the published thresholds: LCP 2500/4000 ms, INP 200/500 ms, CLS 0.1/0.25, FCP 1800/3000 ms, TTFB 800/1800 ms.';

-- A URL as kept: scrubbed, without query and fragment (tokens live
-- there), bounded.
create function observe.ingest_url(url text)
returns text
language sql
stable parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select nullif(left(regexp_replace(observe.scrub_payload(jsonb_build_object('u', url))->>'u', '[?#].*$', ''), 512), '')
$$;

create table observe.web_vitals (
    id bigint generated always as identity primary key,
    received_at timestamptz not null default now(),
    name text not null check (name in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')),
    value double precision not null check (value >= 0 and value < 3600000),
    rating text not null check (rating in ('good', 'needs-improvement', 'poor')),
    delta double precision,
    -- web-vitals' id of the metric instance (one page load).
    metric_id text,
    navigation_type text,
    page text not null,
    release text,
    device text,
    environment text,
    writer_role name not null default observe.acting_role()
);
create index web_vitals_received_at_idx on observe.web_vitals (received_at);
create index web_vitals_page_idx on observe.web_vitals (page, name, received_at);
comment on table observe.web_vitals is
    'Core Web Vitals beacons of real users (web-vitals: LCP, INP, CLS, FCP, TTFB); query observe.web_vitals_p75. Kept 30 days.';

create function observe.record_web_vitals(beacons jsonb)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    batch jsonb := case jsonb_typeof(beacons) when 'object' then jsonb_build_array(beacons) else beacons end;
    bad record;
    stored integer;
begin
    if batch is null or jsonb_typeof(batch) <> 'array' then
        raise exception 'beacons must be a JSON object or an array of them' using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) > 100 or octet_length(batch::text) > 65536 then
        raise exception 'at most 100 beacons and 64 KiB per call' using errcode = 'program_limit_exceeded';
    end if;
    select n, b into bad
      from jsonb_array_elements(batch) with ordinality as x(b, n)
     where jsonb_typeof(b) <> 'object'
        or coalesce(b->>'name', '') not in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')
        or case when jsonb_typeof(b->'value') = 'number'
                then (b->>'value')::double precision not between 0 and 3599999 else true end
        or coalesce(b->>'page', '') !~* '^https?://'
     limit 1;
    if found then
        raise exception 'beacon %: needs name (LCP, INP, CLS, FCP or TTFB), a value >= 0 and an http(s) page URL', bad.n
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) = 0
       or observe.spend_ingest_budget(jsonb_array_length(batch), octet_length(batch::text)) is not null then
        return 0;
    end if;
    insert into observe.web_vitals
           (name, value, rating, delta, metric_id, navigation_type, page, release, device, environment)
    select b->>'name', (b->>'value')::double precision,
           case when b->>'rating' in ('good', 'needs-improvement', 'poor') then b->>'rating'
                else observe.web_vital_rating(b->>'name', (b->>'value')::double precision) end,
           case jsonb_typeof(b->'delta') when 'number' then (b->>'delta')::double precision end,
           left(b->>'id', 64), left(b->>'navigation_type', 32), observe.ingest_url(b->>'page'),
           left(b->>'release', 200), left(b->>'device', 32), left(b->>'environment', 64)
      from jsonb_array_elements(batch) b;
    get diagnostics stored = row_count;
    return stored;
end
$$;
comment on function observe.record_web_vitals(jsonb) is
    'Stores web-vitals beacons ({name, value, rating, delta, id, navigation_type, page, release, device, environment}, one or an array of at most 100); returns how many. Untrusted writers'' budgets apply: over budget, nothing is stored and 0 returned.';

-- CSP violations, grouped like issues: one row per effective directive,
-- blocked origin (or inline, eval, wasm-eval, data…) and source file, so a
-- bad inline script seen a million times is one row with its count.
create table observe.csp_reports (
    id bigint generated always as identity primary key,
    directive text not null,
    blocked text not null,
    -- Origin and path of the file that caused it; '' when none.
    source_file text not null,
    count bigint not null,
    first_seen timestamptz not null,
    last_seen timestamptz not null,
    -- The latest report's details, scrubbed.
    document text,
    disposition text check (disposition in ('enforce', 'report')),
    sample text,
    line integer,
    column_number integer,
    unique (directive, blocked, source_file)
);
create index csp_reports_last_seen_idx on observe.csp_reports (last_seen);
comment on table observe.csp_reports is
    'CSP violation reports grouped by directive, blocked origin and source file, with a count; query observe.csp_violations.';

create function observe.record_csp_reports(reports jsonb)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    batch jsonb := case jsonb_typeof(reports) when 'object' then jsonb_build_array(reports) else reports end;
    bad record;
    stored integer;
begin
    if batch is null or jsonb_typeof(batch) <> 'array' then
        raise exception 'reports must be a JSON object or an array of them' using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) > 100 or octet_length(batch::text) > 65536 then
        raise exception 'at most 100 reports and 64 KiB per call' using errcode = 'program_limit_exceeded';
    end if;
    select n into bad
      from jsonb_array_elements(batch) with ordinality as x(r, n)
     where jsonb_typeof(r) <> 'object'
        or coalesce(r->>'directive', '') !~ '^[a-z-]{1,64}$'
        or coalesce(r->>'blocked', '') = ''
     limit 1;
    if found then
        raise exception 'report %: needs directive (a CSP directive name) and blocked', bad.n
            using errcode = 'invalid_parameter_value';
    end if;
    if jsonb_array_length(batch) = 0
       or observe.spend_ingest_budget(jsonb_array_length(batch), octet_length(batch::text)) is not null then
        return 0;
    end if;
    with scrubbed as (
        select n, observe.scrub_payload(r) as r
          from jsonb_array_elements(batch) with ordinality as x(r, n)
    ), grouped as (
        select r->>'directive' as directive,
               left(coalesce(observe.ingest_url(r->>'blocked'), r->>'blocked'), 256) as blocked,
               coalesce(left(observe.ingest_url(r->>'source_file'), 512), '') as source_file,
               count(*) as seen,
               (array_agg(r order by n desc))[1] as latest
          from scrubbed
         group by 1, 2, 3
    )
    insert into observe.csp_reports as c
           (directive, blocked, source_file, count, first_seen, last_seen, document, disposition, sample, line,
            column_number)
    select directive, blocked, source_file, seen, now(), now(), observe.ingest_url(latest->>'document'),
           case when latest->>'disposition' in ('enforce', 'report') then latest->>'disposition' end,
           left(latest->>'sample', 80),
           case when latest->>'line' ~ '^[0-9]{1,9}$' then (latest->>'line')::integer end,
           case when latest->>'column' ~ '^[0-9]{1,9}$' then (latest->>'column')::integer end
      from grouped
    on conflict (directive, blocked, source_file) do update
       set count = c.count + excluded.count,
           last_seen = excluded.last_seen,
           document = coalesce(excluded.document, c.document),
           disposition = coalesce(excluded.disposition, c.disposition),
           sample = coalesce(excluded.sample, c.sample),
           line = coalesce(excluded.line, c.line),
           column_number = coalesce(excluded.column_number, c.column_number);
    select count(*) into stored from jsonb_array_elements(batch);
    return stored;
end
$$;
comment on function observe.record_csp_reports(jsonb) is
    'Counts CSP violation reports ({directive, blocked, source_file, document, disposition, sample, line, column}, one or an array of at most 100) into their groups; returns how many. Untrusted writers'' budgets apply.';

-- p75 over the last 7 days (CrUX reports p75 over 28; a week follows a
-- release sooner), per page, metric, release and device class.
create view observe.web_vitals_p75 with (security_invoker = true) as
select page, name as metric, release, device, count(*) as samples,
       percentile_cont(0.75) within group (order by value) as p75,
       observe.web_vital_rating(name, percentile_cont(0.75) within group (order by value)) as rating,
       max(received_at) as last_seen
  from observe.web_vitals
 where received_at > now() - interval '7 days'
 group by page, name, release, device;
comment on view observe.web_vitals_p75 is
    'The web_vital_p75 alert metric: p75 of each Core Web Vital over 7 days per page, release and device class, rated good / needs-improvement / poor.';

create view observe.csp_violations with (security_invoker = true) as
select directive, blocked, nullif(source_file, '') as source_file, count, first_seen, last_seen, document,
       disposition, sample, line, column_number
  from observe.csp_reports;
comment on view observe.csp_violations is
    'CSP violations grouped by directive, blocked origin and source file, with their count and latest sample.';
