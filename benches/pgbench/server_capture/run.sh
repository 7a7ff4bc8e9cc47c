#!/usr/bin/env bash
# Server-side capture under load, on a cluster that preloads pg_observe:
# pgbench runs a transfer in which 5 % of transactions fail (setup.sql),
# with capture on against capture off (observe.capture_server_errors) in the
# same run, at 1 and 8 clients, each first in turn (benches/lib.sh,
# in_turn), the ratio taken within each round and its median reported
# (median_ratio); then the time from a failing statement to
# its event row (and issue) being visible, polled every 10 ms by a second
# session while pgbench fails 25 transactions a second.
#
#   benches/pgbench/server_capture/run.sh     # ROUNDS=3 SECONDS_PER_RUN=10
#
# Prints markdown: the throughput table, then the latency figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$ROOT/benches/pgbench/server_capture
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
LATENCY_SECONDS=${LATENCY_SECONDS:-20}
export PGDIR=$ROOT/target/pg-bench-capture PGPORT=${CAPTURE_BENCH_PGPORT:-5496} PG_DURABLE=1 PG_PRELOAD=pg_observe
DB=observe_bench

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "create database $DB"
psql_q -d "$DB" -f "$HERE/setup.sql"

pgbench_run() { # clients seconds [extra pgbench flags]
  local out clients=$1 seconds=$2
  shift 2
  if ! out=$(pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$clients" -j 2 \
      -T "$seconds" "$@" -f "$HERE/transfer.sql" "$DB" 2>&1) || grep -qE '^pgbench: error|aborted' <<<"$out"; then
    printf 'pgbench with %s clients failed:\n%s\n' "$clients" "$out" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}
# Each run starts from the same state, as pgbench's own tables do (it
# vacuums them first): the updated table vacuumed, and a checkpoint, so that
# neither mode pays for the pages the other dirtied.
tps() {
  psql_q -d "$DB" -c "vacuum bench.accounts" -c "checkpoint"
  pgbench_run "$1" "$SECONDS_PER_RUN" | awk '/^tps/ {print $3}'
}
capture() { psql_q -d postgres -c "alter database $DB set observe.capture_server_errors = $1"; }
. "$ROOT/benches/lib.sh"

printf '| clients | capture | tps (median of %s) | ratio to off (median of rounds) | range of the rounds |\n' "$ROUNDS"
printf '|---:|---|---:|---:|---:|\n'
for clients in 1 8; do
  declare -A runs=()
  for round in $(seq "$ROUNDS"); do
    line="$clients clients, round $round:"
    for mode in $(in_turn "$round" off on); do
      capture "$mode"
      value=$(tps "$clients")
      runs[$mode]+="$value "
      line+=" $mode $value"
    done
    echo >&2 "$line"
  done
  for mode in off on; do
    value=$(tr ' ' '\n' <<<"${runs[$mode]}" | grep . | median)
    printf '| %s | %s | %.0f | %.3f | %s |\n' "$clients" "$mode" "$value" \
      "$(median_ratio "${runs[$mode]}" "${runs[off]}")" "$(ratio_range "${runs[$mode]}" "${runs[off]}")"
  done
  unset runs
done

# Latency: every failure stored (no flood sampling), the poller watching.
capture on
psql_q -d postgres -c "alter database $DB set observe.flood_limit = 0"
# A storing worker reads the database's settings when it starts; the one
# that served the throughput runs exits after two idle seconds.
sleep 3
psql_q -d "$DB" -c "call bench.watch($LATENCY_SECONDS + 3)" &
watcher=$!
pgbench_run 4 "$LATENCY_SECONDS" -R 500 >/dev/null
wait "$watcher"
stats=$(psql_q -d "$DB" -At -F ' ' -c "
  select count(*),
         round(1000 * extract(epoch from percentile_cont(0.5) within group (order by seen_at - occurred_at)))::int,
         round(1000 * extract(epoch from percentile_cont(0.99) within group (order by seen_at - occurred_at)))::int,
         round(1000 * extract(epoch from max(seen_at - occurred_at)))::int
    from bench.seen")
read -r events p50 p99 worst <<<"$stats"
capture_stats=$(psql_q -d "$DB" -At -F ', ' -c "select 'captured ' || captured, 'dropped ' || dropped, 'stored ' || stored, 'failed ' || failed from observe.capture_stats()")
echo
echo "Failing statement → its event row visible (4 clients, 500 tps, 5 % failing, for ${LATENCY_SECONDS} s): $events events, p50 **$p50 ms**, p99 **$p99 ms**, max $worst ms (polled every 10 ms; $capture_stats)."
