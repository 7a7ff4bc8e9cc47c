#!/usr/bin/env bash
# The ingest endpoint under load, against a baseline in the same run: the
# same Deno answering 204 without pg_observe. 100 concurrent clients posting
# a batch of 5 web-vitals beacons like a page's sendBeacon, each request
# from an address the per-client bucket admits (so the bucket is not what is
# measured):
#   1. at the platform's load target, 1000 requests/min for 30 s:
#      p50 / p95 latency and errors (target: p95 < 500 ms, < 1 % errors)
#   2. saturated for 15 s: throughput
# Prints the markdown section of benches/RESULTS.md. Starts its own cluster
# (PGDIR, PGPORT); run it under the build lock with the extension installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export PGDIR=${PGDIR:-$ROOT/target/pg-bench-ingest} PGPORT=${PGPORT:-5496} PG_DURABLE=1
export FUNCTIONS_PORT=${FUNCTIONS_PORT:-54327} BASELINE_PORT=${BASELINE_PORT:-54326}
scripts/build-edge.sh >&2
scripts/cluster.sh fresh >&2
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >&2 <<'SQL'
create database bench_ingest;
\c bench_ingest
create extension pg_observe;
do $$ begin
  if not exists (select from pg_roles where rolname = 'bench_functions') then create role bench_functions login; end if;
end $$;
grant observe_ingest to bench_functions;
-- The budgets would (rightly) drop most of a benchmark's beacons; raised so
-- that every one is written.
select observe.set_ingest_budget('observe_ingest', events_per_minute => 100000000, bytes_per_minute => 100000000000);
select observe.set_ingest_budget('*', events_per_minute => 100000000, bytes_per_minute => 100000000000);
SQL
SUPABASE_DB_URL="postgres://bench_functions@127.0.0.1:$PGPORT/bench_ingest" OBSERVE_ALLOWED_ORIGINS=https://shop.example.com \
  scripts/functions.sh >/dev/null 2>&1 &
FUNCTIONS_PID=$!
trap 'kill $FUNCTIONS_PID 2>/dev/null; "$ROOT/scripts/cluster.sh" stop >&2' EXIT
cd supabase/functions
"$ROOT/tools/node_modules/.bin/deno" run --config deno.json --allow-net --allow-env "$ROOT/benches/edge/ingest.ts"
stored=$(psql -X -tA -h 127.0.0.1 -p "$PGPORT" -U postgres -d bench_ingest -c "select count(*) from observe.web_vitals")
echo
echo "Beacons stored by the runs above: $stored (5 per accepted request)."
