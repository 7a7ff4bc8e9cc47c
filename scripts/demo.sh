#!/usr/bin/env bash
# Sets up and runs a local pg_observe stack: PostgreSQL 15 with the extension
# and pg_cron, a database full of realistic demo errors, and the analyst views
# printed. The cluster keeps running afterwards; connect with the printed
# command, stop it with `PGDIR=target/pg-demo PGPORT=5498 scripts/cluster.sh stop`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export PGDIR=$ROOT/target/pg-demo PGPORT=${PGPORT:-5498}

scripts/setup.sh
scripts/install.sh --release
scripts/cluster.sh start

psql_demo() { psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_demo -d postgres -q -c "drop database if exists observe_demo with (force)" -c "create database observe_demo"
psql_demo -d observe_demo -q -c "create extension pg_observe" -f supabase/seed.sql -o /dev/null

psql_demo -d observe_demo -P pager=off <<'SQL'
\echo '\n== observe.issue_overview: what is breaking, how much, and where it is heading'
select id, service, left(title, 60) as title, level, status, events, users, events_24h, trend, last_release
  from observe.issue_overview;

\echo '\n== observe.issues: lifecycle (a resolved issue regressed, a noisy one is ignored)'
select id, service, status, times_regressed, resolved_in_release, first_release, last_release, culprit
  from observe.issues order by id;

\echo '\n== observe.recent_errors: the latest event of each issue, PII already scrubbed'
select at, level, service, message, url
  from (select distinct on (issue_id) occurred_at, occurred_at::time(0) as at, level, service,
               left(message, 60) as message, url
          from observe.recent_errors
         order by issue_id, occurred_at desc) latest
 order by occurred_at desc;

\echo '\n== observe.error_rate: events per minute, last hour (non-empty minutes)'
select service, environment, minute::time(0) as minute, events, issues
  from observe.error_rate where events > 0;

\echo '\n== observe.issue_activity: the feed alert rules will evaluate'
select issue_id, kind, from_status, to_status, reason, at::time(0) as at
  from observe.issue_activity order by id desc limit 10;

\echo '\n== observe.evaluate_alerts(): the seeded rules over the demo data'
select observe.evaluate_alerts() as evaluation;

\echo '\n== observe.active_alerts: what is pending or firing'
select rule, severity, labels, state, value from observe.active_alerts order by severity, rule;

\echo '\n== observe.notifications: the outbox the dispatch function drains, one e-mail per alert group'
select kind, status, subject from observe.notifications order by created_at;
SQL

echo
echo "Demo database ready: psql -h 127.0.0.1 -p $PGPORT -U postgres observe_demo"
