#!/usr/bin/env bash
# observe.fingerprint(m) over a table of stored messages, against the same
# normalization written as a chain of regexp_replace in SQL (hashed with md5,
# so both produce a grouping key) and against md5(m) alone, in one run on the
# project's own PostgreSQL 15.
#
#   benches/sql/fingerprint.sh          # MESSAGES=1000000 ROUNDS=3
#
# The messages are the criterion corpus (benches/corpus/messages.jsonl,
# realistic error messages with their variable parts varied), repeated to
# MESSAGES rows. Each query is single-threaded (count(distinct) does not run
# in parallel) with JIT off, so the figures compare per-message work. The
# regexp_replace chain runs once (it is the slow one), its result giving the
# number of groups it finds; the others run ROUNDS times, reporting the
# median.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESSAGES=${MESSAGES:-1000000}
ROUNDS=${ROUNDS:-3}
export PGDIR=$ROOT/target/pg-bench-sql PGPORT=${PGPORT:-5494} PG_DURABLE=0
DB=observe_bench_sql

"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
psql_q() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "create database $DB"
psql_q -d "$DB" -c "create extension pg_observe" -f "$ROOT/benches/sql/normalize_regexp.sql" >/dev/null
psql_q -d "$DB" <<SQL
create table bench.corpus_lines (line text);
-- CSV with characters that never occur, so each JSON line arrives verbatim.
\copy bench.corpus_lines from '$ROOT/benches/corpus/messages.jsonl' with (format csv, quote e'\x01', delimiter e'\x02')
create table bench.messages as
select c.line::jsonb ->> 'message' as m
  from generate_series(1, ceil($MESSAGES / (select count(*) from bench.corpus_lines)::numeric)::int) as r,
       bench.corpus_lines c
 limit $MESSAGES;
vacuum analyze bench.messages;
SQL
psql_q -d "$DB" -f "$ROOT/benches/sql/timed.sql"
rows=$(psql_q -d "$DB" -c "select count(*) from bench.messages")
bytes=$(psql_q -d "$DB" -c "select sum(octet_length(m)) from bench.messages")

# One line per run: milliseconds, then the query's result.
timed() { psql_q -F ' ' -d "$DB" -c "set jit = off" -c "select * from bench.timed(\$q\$$1\$q\$)"; }
. "$ROOT/benches/lib.sh"

fingerprint_runs=$(for _ in $(seq "$ROUNDS"); do timed "select count(distinct observe.fingerprint(m)) from bench.messages"; done)
md5_runs=$(for _ in $(seq "$ROUNDS"); do timed "select count(distinct md5(m)) from bench.messages"; done)
regexp_run=$(timed "select count(distinct md5(bench.normalize_regexp(m))) from bench.messages")
fingerprint=$(awk '{print $1}' <<<"$fingerprint_runs" | median)
md5=$(awk '{print $1}' <<<"$md5_runs" | median)
regexp=$(awk '{print $1}' <<<"$regexp_run")
groups="$(awk 'NR == 1 {print $2}' <<<"$fingerprint_runs") / $(awk '{print $2}' <<<"$regexp_run")"

printf '%s messages (%s MB), distinct groups fingerprint / regexp chain: %s\n\n' "$rows" "$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')" "$groups"
printf '| query | ms | µs per message | observe.fingerprint is … × faster |\n|---|---:|---:|---:|\n'
for name in fingerprint regexp md5; do
  value=${!name}
  case $name in
    fingerprint) label='count(distinct observe.fingerprint(m))' ;;
    regexp) label='count(distinct md5(bench.normalize_regexp(m)))' ;;
    md5) label='count(distinct md5(m))' ;;
  esac
  printf '| `%s` | %.0f | %.2f | %.2f |\n' "$label" "$value" \
    "$(awk -v v="$value" -v n="$rows" 'BEGIN {print v * 1000 / n}')" \
    "$(awk -v v="$value" -v f="$fingerprint" 'BEGIN {print v / f}')"
done
