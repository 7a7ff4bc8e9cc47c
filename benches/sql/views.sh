#!/usr/bin/env bash
# The analyst views at size, on the project's own PostgreSQL 15: each target
# query's median time over several runs against the 100 ms target, on two
# datasets made the way capture makes them (queued counts with their capture
# times, folded by observe.fold_counts(), a day at a time):
#
#   wide: 1,000,000 events in 430,000 issues over the last 7 days (429,000
#         issues seen once, 1,000 hot ones with 571 events each);
#   deep: 30 days of history for 1,000 issues, an event of each every
#         15 minutes (2.88 million events).
#
#   benches/sql/views.sh              # ROUNDS=7
#
# Times are PostgreSQL's own (EXPLAIN (ANALYZE, TIMING OFF): planning plus
# execution, no network). The baseline row sums the daily counts per issue,
# which is what ordering by events cost before the summary existed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-7}
export PGDIR=$ROOT/target/pg-bench-views PGPORT=${PGPORT:-5492} PG_DURABLE=0

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

# Issues as capture creates them (the summary row comes with each), then the
# queue filled and folded one day at a time.
make_wide() {
  psql_q -d "$1" <<'SQL'
insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
select 'svc-' || (i % 20), md5(i::text), 'message', 'Issue ' || i, 'error', now() - interval '7 days'
  from generate_series(1, 430000) as i;
do $$
declare
    day integer;
begin
    for day in reverse 6..0 loop
        insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, user_hash, level)
        select e.issue_id, e.at, 'production', 'r1', e.at, e.user_hash, 'error'
          from (select g.id as issue_id,
                       now() - make_interval(days => day) - random() * interval '1 day' as at,
                       (random() * 1000)::bigint as user_hash
                  from observe.issue_groups g
                 where g.id <= 429000 and g.id % 7 = day
                union all
                select g.id, now() - make_interval(days => day) - random() * interval '1 day',
                       (random() * 1000)::bigint
                  from observe.issue_groups g, generate_series(1, 571) as n
                 where g.id > 429000 and n % 7 = day) e
         where e.at <= now();
        perform observe.fold_counts();
        commit;
    end loop;
end $$;
vacuum analyze;
SQL
}

make_deep() {
  psql_q -d "$1" <<'SQL'
insert into observe.issue_groups (service, fingerprint, grouping_basis, title, level, first_seen)
select 'svc-' || (i % 20), md5(i::text), 'message', 'Issue ' || i, 'error', now() - interval '30 days'
  from generate_series(1, 1000) as i;
do $$
declare
    day integer;
begin
    for day in reverse 29..0 loop
        insert into observe.count_queue (issue_id, counted_at, environment, release, occurred_at, user_hash, level)
        select g.id, t.at, 'production', 'r1', t.at, (random() * 1000)::bigint,
               (array['warning', 'error', 'fatal']::observe.level[])[1 + g.id % 3]
          from observe.issue_groups g,
               generate_series(now() - make_interval(days => day + 1), now() - make_interval(days => day),
                               interval '15 minutes') as t(at)
         where t.at > now() - make_interval(days => day + 1);
        perform observe.fold_counts();
        commit;
    end loop;
end $$;
vacuum analyze;
SQL
}

# Milliseconds (planning + execution) of one run of a query.
timed() {
  psql_q -d "$1" -c "explain (analyze, timing off, summary on) $2" |
    awk '/Planning Time|Execution Time/ {sum += $3} END {printf "%.2f\n", sum}'
}
. "$ROOT/benches/lib.sh"

declare -a QUERIES=(
  "issue_overview, top 20 by events|select id, service, title, events, users, events_24h, trend, hourly_24h from observe.issue_overview order by events desc limit 20"
  "top_issues('24 hours')|select * from observe.top_issues('24 hours')"
  "error_rate, the last hour|select * from observe.error_rate"
  "issue_overview, top 20 by events_24h|select id, title, events_24h, trend from observe.issue_overview order by events_24h desc limit 20"
  "top_issues('7 days')|select * from observe.top_issues('7 days')"
  "baseline: top 20 by summing daily counts|select issue_id, sum(events) from observe.issue_counts where resolution = 'day' group by issue_id order by 2 desc limit 20"
)

printf '| dataset | query | median ms (of %s) | target |\n|---|---|---:|---|\n' "$ROUNDS"
for dataset in wide deep; do
  db=views_$dataset
  psql_q -d postgres -c "create database $db"
  psql_q -d "$db" -c "create extension pg_observe"
  started=$SECONDS
  "make_$dataset" "$db"
  made=$((SECONDS - started))
  facts=$(psql_q -d "$db" -c "select format('%s issues, %s events, %s issue_counts rows', (select count(*) from observe.issue_groups), (select sum(events) from observe.issue_summary), (select count(*) from observe.issue_counts))")
  for entry in "${QUERIES[@]}"; do
    label=${entry%%|*}
    query=${entry#*|}
    timed "$db" "$query" >/dev/null # warm the cache
    value=$(for _ in $(seq "$ROUNDS"); do timed "$db" "$query"; done | median)
    case $label in
      baseline*) target='-' ;;
      *) target=$(awk -v v="$value" 'BEGIN {print (v < 100) ? "met (< 100 ms)" : "not met"}') ;;
    esac
    printf '| %s | %s | %.1f | %s |\n' "$dataset" "$label" "$value" "$target"
  done
  printf '| %s | (%s; made and folded in %s s) | | |\n' "$dataset" "$facts" "$made"
done
