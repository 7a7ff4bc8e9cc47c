#!/usr/bin/env bash
# observe.verify_deploy with 10 million events stored, against two baselines
# measured in the same run: the deploy's row of observe.deployments_overview
# (the existing view over the same counts) and a count of the stored events
# of the two windows. pgbench, one client, prepared statements; prints a
# markdown table of the mean latency of each (median of ROUNDS runs).
#   benches/deploy/run.sh            # EVENTS=10000000 ROUNDS=3 SECONDS_PER_RUN=10
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/deploy
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
EVENTS=${EVENTS:-10000000}
export PGDIR=${PGDIR:-$ROOT/target/pg-bench} PGPORT=${PGPORT:-5495} PG_DURABLE=1
DB=observe_verify_bench
. "$ROOT/benches/lib.sh"

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "create database $DB"
started=$SECONDS
psql_q -d "$DB" -v events="$EVENTS" -f "$HERE/load.sql" >/dev/null
loaded=$((SECONDS - started))
stored=$(psql_q -d "$DB" -At -c "select count(*) from observe.events")
size=$(psql_q -d "$DB" -At -c "select pg_size_pretty(pg_database_size(current_database()))")

latency() { # script → mean latency in ms
  local out
  out=$(pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c 1 -T "$SECONDS_PER_RUN" \
        -f "$HERE/$1.sql" "$DB" 2>&1) || { echo "$out" >&2; exit 1; }
  awk '/^latency average/ {print $4}' <<<"$out"
}
declare -A runs
for _ in $(seq "$ROUNDS"); do
  for w in verify_deploy baseline_overview baseline_raw; do runs[$w]+="$(latency "$w") "; done
done
verdict=$(psql_q -d "$DB" -At -c "select observe.verify_deploy('dpl_bench')->>'verdict'")
echo "$stored events stored ($size), loaded in ${loaded}s; the verdict: $verdict"
echo
echo "| query | mean latency (ms, median of $ROUNDS runs of ${SECONDS_PER_RUN}s) |"
echo "|---|---:|"
for w in verify_deploy baseline_overview baseline_raw; do
  echo "| \`$(grep -v '^--' "$HERE/$w.sql" | tr -s ' \n' ' ' | sed 's/ $//' | cut -c1-90)\` | $(tr ' ' '\n' <<<"${runs[$w]}" | grep . | median) |"
done
