#!/usr/bin/env bash
# pgbench: observe.log against a bare INSERT of the same six columns into a
# plain table (no key, index or trigger), measured in the same run, on the
# project's own PostgreSQL 15, durable commits (PostgreSQL's defaults).
#
#   benches/pgbench/logs.sh           # ROUNDS=3 SECONDS_PER_RUN=10
#
# observe.log also validates, scrubs and bounds the line, checks the writer's
# trust, and inserts into the day's partition of observe.logs (BRIN on
# logged_at). Rounds interleave the two workloads, each first in turn
# (benches/lib.sh, in_turn). Prints a markdown table: each workload's median
# tps, the median of the rounds' ratios to bare (median_ratio: a round's two
# runs are seconds apart, so the ratio cancels what drifts over the run) with
# their range, and the ratio of the two medians.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/pgbench
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
export PGDIR=$ROOT/target/pg-bench-logs PGPORT=${PGPORT:-5493} PG_DURABLE=1
DB=observe_bench

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "create database $DB"
psql_q -d "$DB" -f "$HERE/setup.sql"

tps() { # clients script
  local out
  if ! out=$(pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$1" -j 2 \
      -T "$SECONDS_PER_RUN" -f "$HERE/$2.sql" "$DB" 2>&1) || grep -qE '^pgbench: error|aborted' <<<"$out"; then
    printf 'pgbench %s with %s clients failed:\n%s\n' "$2" "$1" "$out" >&2
    exit 1
  fi
  awk '/^tps/ {print $3}' <<<"$out"
}
. "$ROOT/benches/lib.sh"

printf '| clients | workload | tps (median of %s) | ratio to bare (median of rounds) | range of the rounds | ratio of the medians |\n' "$ROUNDS"
printf '|---|---|---:|---:|---:|---:|\n'
for clients in 1 8; do
  declare -A runs=()
  for round in $(seq "$ROUNDS"); do
    for workload in $(in_turn "$round" bare_log_insert log); do
      runs[$workload]+="$(tps "$clients" "$workload") "
    done
  done
  bare=$(tr ' ' '\n' <<<"${runs[bare_log_insert]}" | grep . | median)
  for workload in bare_log_insert log; do
    value=$(tr ' ' '\n' <<<"${runs[$workload]}" | grep . | median)
    printf '| %s | %s | %.0f | %.3f | %s | %.3f |\n' "$clients" "$workload" "$value" \
      "$(median_ratio "${runs[$workload]}" "${runs[bare_log_insert]}")" \
      "$(ratio_range "${runs[$workload]}" "${runs[bare_log_insert]}")" \
      "$(awk -v a="$value" -v b="$bare" 'BEGIN {print a / b}')"
  done
  unset runs
done
stored=$(psql_q -d "$DB" -tAc "select count(*) from observe.logs")
printf '\n%s log lines stored in observe.logs over the run.\n' "$stored"
