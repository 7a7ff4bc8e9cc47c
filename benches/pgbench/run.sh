#!/usr/bin/env bash
# pgbench: observe.log_error against a bare INSERT of the same columns into a
# plain table, measured in the same run, on the project's own PostgreSQL 15.
#
#   benches/pgbench/run.sh            # ROUNDS=3 SECONDS_PER_RUN=10
#   CONFIGS=durable FLOODS=default benches/pgbench/run.sh   # a part of the matrix
#
# Matrix: configuration (PostgreSQL defaults = durable commits; cpu-bound =
# synchronous_commit off on both sides, which exposes the extension's CPU
# cost instead of the disk's flush latency) x clients (1, 8) x workload
# (bare; log_error on one hot fingerprint; on 1,000 distinct ones) x flood
# control (default limit; off, so every event is stored). Rounds interleave
# the workloads, each round starting with the next (benches/lib.sh,
# in_turn), so drift hits all of them alike; the median round is
# reported. Statements are prepared (-M prepared), as drivers and PostgREST
# send them. No scheduler runs: the folds of the count queue that capture
# triggers itself are part of the measured work. Prints a markdown table
# with the ratio to bare.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/benches/pgbench
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
export PGDIR=$ROOT/target/pg-bench PGPORT=${PGPORT:-5495} PG_DURABLE=1
DB=observe_bench

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "create database $DB"
psql_q -d "$DB" -f "$HERE/setup.sql"

tps() { # clients script
  local out
  # pgbench still prints a tps after clients abort; a run with any failed
  # transaction measures something else, so it stops the benchmark.
  if ! out=$(pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$1" -j 2 \
      -T "$SECONDS_PER_RUN" -f "$HERE/$2.sql" "$DB" 2>&1) || grep -qE '^pgbench: error|aborted' <<<"$out"; then
    printf 'pgbench %s with %s clients failed:\n%s\n' "$2" "$1" "$out" >&2
    exit 1
  fi
  awk '/^tps/ {print $3}' <<<"$out"
}
. "$ROOT/benches/lib.sh"

printf '| configuration | flood control | clients | workload | tps (median of %s) | ratio to bare |\n' "$ROUNDS"
printf '|---|---|---|---|---:|---:|\n'
for config in ${CONFIGS:-durable cpu-bound}; do
  if [ "$config" = cpu-bound ]; then
    psql_q -d postgres -c "alter database $DB set synchronous_commit = off"
  fi
  for flood in ${FLOODS:-default off}; do
    if [ "$flood" = off ]; then
      psql_q -d postgres -c "alter database $DB set observe.flood_limit = 0"
    else
      psql_q -d postgres -c "alter database $DB reset observe.flood_limit"
    fi
    for clients in 1 8; do
      declare -A runs=()
      for round in $(seq "$ROUNDS"); do
        for workload in $(in_turn "$round" bare_insert log_error_hot log_error_distinct); do
          runs[$workload]+="$(tps "$clients" "$workload") "
        done
      done
      bare=$(tr ' ' '\n' <<<"${runs[bare_insert]}" | grep . | median)
      for workload in bare_insert log_error_hot log_error_distinct; do
        value=$(tr ' ' '\n' <<<"${runs[$workload]}" | grep . | median)
        printf '| %s | %s | %s | %s | %.0f | %.2f |\n' "$config" "$flood" "$clients" "$workload" "$value" \
          "$(awk -v a="$value" -v b="$bare" 'BEGIN {print a / b}')"
      done
      unset runs
    done
  done
done
