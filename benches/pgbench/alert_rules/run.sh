#!/usr/bin/env bash
# pgbench: observe.log_error with fifty enabled alert rules against none, in
# one run on the project's own PostgreSQL 15 (issue "Alerting inside
# Postgres", §9: rules must not slow capture).
#
#   benches/pgbench/alert_rules/run.sh     # ROUNDS=3 SECONDS_PER_RUN=10
#
# Two databases, identical but for the rules (rules.sql): thresholds on every
# metric capture feeds and the event rules that run inside the capturing
# transaction. In the one with rules the evaluator runs every 10 seconds, as
# observe.schedule_jobs() schedules it, so its cost on the shared cores
# counts against capture too. The workload is benches/pgbench's
# log_error_distinct (1,000 fingerprints), after a warm-up in each database
# that creates the issues (firing the new-issue rules). Commits are
# asynchronous (synchronous_commit off) so the figures show CPU, not the
# disk's flush latency. Rounds interleave the two databases, each first in
# turn (benches/lib.sh, in_turn); the median round is reported.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE=$ROOT/benches/pgbench/alert_rules
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
export PGDIR=$ROOT/target/pg-bench-rules PGPORT=${PGPORT:-5491} PG_DURABLE=1
WORKLOAD=$ROOT/benches/pgbench/log_error_distinct.sql

"$ROOT/scripts/cluster.sh" fresh >/dev/null
STOP=$(mktemp -u)
evaluator=
# The evaluator finishes its call before the cluster stops.
trap 'touch "$STOP"; [ -z "$evaluator" ] || wait "$evaluator"; rm -f "$STOP"; "$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
for db in observe_rules_none observe_rules_50; do
  psql_q -d postgres -c "create database $db" -c "alter database $db set synchronous_commit = off"
  psql_q -d "$db" -c "create extension pg_observe"
done
psql_q -d observe_rules_50 -f "$HERE/rules.sql" >/dev/null
rules=$(psql_q -d observe_rules_50 -c "select count(*) from observe.alert_rules where enabled")

tps() { # clients database
  local out
  if ! out=$(pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c "$1" -j 2 \
      -T "$SECONDS_PER_RUN" -f "$WORKLOAD" "$2" 2>&1) || grep -qE '^pgbench: error|aborted' <<<"$out"; then
    printf 'pgbench on %s with %s clients failed:\n%s\n' "$2" "$1" "$out" >&2
    exit 1
  fi
  awk '/^tps/ {print $3}' <<<"$out"
}
. "$ROOT/benches/lib.sh"

for db in observe_rules_none observe_rules_50; do
  pgbench -n -M prepared -h 127.0.0.1 -p "$PGPORT" -U postgres -c 2 -j 2 -t 2000 -f "$WORKLOAD" "$db" >/dev/null
done
(while [ ! -e "$STOP" ]; do
  psql_q -d observe_rules_50 -c "select observe.evaluate_alerts()" >/dev/null
  for _ in $(seq 10); do [ -e "$STOP" ] || sleep 1; done
done) &
evaluator=$!

printf '%s enabled rules; evaluator every 10 s in the database with rules.\n\n' "$rules"
printf '| clients | rules | tps (median of %s) | ratio to no rules |\n|---:|---:|---:|---:|\n' "$ROUNDS"
for clients in 1 8; do
  declare -A runs=()
  for round in $(seq "$ROUNDS"); do
    for db in $(in_turn "$round" observe_rules_none observe_rules_50); do
      runs[$db]+="$(tps "$clients" "$db") "
    done
  done
  none_runs=${runs[observe_rules_none]} rules_runs=${runs[observe_rules_50]}
  unset runs
  none=$(tr ' ' '\n' <<<"$none_runs" | grep . | median)
  with=$(tr ' ' '\n' <<<"$rules_runs" | grep . | median)
  printf '| %s | 0 | %.0f | 1.00 |\n' "$clients" "$none"
  printf '| %s | %s | %.0f | %.2f |\n' "$clients" "$rules" "$with" "$(awk -v a="$with" -v b="$none" 'BEGIN {print a / b}')"
done
notified=$(psql_q -d observe_rules_50 -c "select count(*) from observe.notifications")
printf '\nNotifications queued in the database with rules during the run: %s.\n' "$notified"
