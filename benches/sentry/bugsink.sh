#!/usr/bin/env bash
# pg_observe's Sentry endpoint against Bugsink, on this machine, in one run:
# the same stream of envelopes from the real Python sentry-sdk
# (replay.py capture) is posted to each with the same concurrency, and each
# reports events accepted per second (200 answers over the sending time) and
# stored per second (events stored, over the time from the first request
# until the last one is stored: pg_observe stores before it answers, Bugsink
# digests later in its snappea worker).
#
# Bugsink runs its recommended single-server setup (bugsink-create-conf
# --template singleserver: gunicorn and snappea on SQLite) with its quotas
# raised so that nothing is discarded; pg_observe runs scripts/functions.sh
# against a durable cluster of its own (PGDIR, PGPORT; PostgreSQL's default
# fsync and synchronous_commit, as Bugsink's SQLite commits), with the
# project's budgets raised and flood control off, so every event is stored.
# Prints the markdown section of benches/RESULTS.md, progress on stderr.
# Needs scripts/setup.sh and scripts/install.sh --release; run it under the
# build lock. 10,000 events by default: pg_observe takes under three
# seconds over 2,000, which then measure its warm-up (connections, plans,
# the JIT) as much as its rate (728 stored/s over 2,000, 1,060 over 10,000,
# the same hour); Bugsink's rate is the same over either. 16 connections by
# default: a throughput benchmark offers each target enough concurrent
# requests to keep it busy. Bugsink's stored rate is the same from 8 on (its
# digest worker is the bound); pg_observe's, which stores the envelopes
# that arrive together in one statement, rises up to 16 and no further
# (benches/RESULTS.md, section 10: 1,246, 1,613 and 1,649 stored/s at 8, 16
# and 32).
#   EVENTS=10000 CONCURRENCY=16 benches/sentry/bugsink.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=$ROOT/tools/.venv/bin
EVENTS=${EVENTS:-10000}
CONCURRENCY=${CONCURRENCY:-16}
export PGDIR=${PGDIR:-$ROOT/target/pg-bench-sentry} PGPORT=${PGPORT:-5493} PG_DURABLE=1
BUGSINK_PORT=${BUGSINK_PORT:-8123}
FUNCTIONS_PORT=${FUNCTIONS_PORT:-54371}
scripts/build-edge.sh >&2
scripts/cluster.sh fresh >&2
# Another process using the cores would slow both targets, unevenly.
load=$(cut -d" " -f1-3 /proc/loadavg)
WORK=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c "drop database if exists sentry_bench with (force)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  "$ROOT/scripts/cluster.sh" stop >&2
}
trap cleanup EXIT

echo >&2 "capturing $EVENTS events from sentry-sdk $("$PY/python" -c 'import sentry_sdk; print(sentry_sdk.VERSION)')"
"$PY/python" "$ROOT/benches/sentry/replay.py" capture "$EVENTS" "$WORK/stream.b64" >/dev/null

# Bugsink, as its single-server template sets it up, quotas raised.
mkdir -p "$WORK/bugsink"
"$PY/bugsink-create-conf" --template singleserver --host 127.0.0.1 --port "$BUGSINK_PORT" \
  --base-dir "$WORK/bugsink" -o "$WORK/bugsink_conf.py" >/dev/null
cat >>"$WORK/bugsink_conf.py" <<CONF
BUGSINK.update({"MAX_EVENTS_PER_PROJECT_PER_5_MINUTES": 10**9, "MAX_EVENTS_PER_PROJECT_PER_HOUR": 10**9,
                "MAX_EVENTS_PER_5_MINUTES": 10**9, "MAX_EVENTS_PER_HOUR": 10**9,
                "MAX_EVENTS_PER_PROJECT_PER_MONTH": 10**9, "MAX_EVENTS_PER_MONTH": 10**9})
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
CONF
export PYTHONPATH=$WORK DJANGO_SETTINGS_MODULE=bugsink_conf
"$PY/bugsink-manage" migrate -v0 >&2
"$PY/bugsink-manage" migrate snappea --database=snappea -v0 >&2
BUGSINK_KEY=$("$PY/bugsink-manage" shell -c "
from teams.models import Team; from projects.models import Project
team = Team.objects.create(name='bench'); project = Project.objects.create(team=team, name='bench')
print(project.id, project.sentry_key.hex)" 2>/dev/null | tail -1)
read -r BUGSINK_PROJECT BUGSINK_KEY <<<"$BUGSINK_KEY"
"$PY/gunicorn" --bind "127.0.0.1:$BUGSINK_PORT" --workers 4 --access-logfile /dev/null bugsink.wsgi \
  >"$WORK/gunicorn.log" 2>&1 &
pids+=($!)
"$PY/bugsink-runsnappea" >"$WORK/snappea.log" 2>&1 &
pids+=($!)

# pg_observe: a fresh database, a project with its budgets raised, flood control off.
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 \
  -c "drop database if exists sentry_bench with (force)" -c "create database sentry_bench" >&2
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d sentry_bench -v ON_ERROR_STOP=1 \
  -c "create extension pg_observe" -c "alter database sentry_bench set observe.flood_limit = 0" \
  -c "select observe.set_ingest_budget('*', 1000000000, 1000000000, 1000000000000)" >/dev/null
read -r OBSERVE_PROJECT OBSERVE_KEY <<<"$(psql -X -qAt -F ' ' -h 127.0.0.1 -p "$PGPORT" -U postgres -d sentry_bench \
  -c "select project_id, public_key from observe.create_project('bench')")"
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d sentry_bench -v ON_ERROR_STOP=1 \
  -c "select observe.set_project_budget($OBSERVE_PROJECT, 1000000000, 1000000000, 1000000000000)" >/dev/null
SUPABASE_DB_URL="postgres://postgres@127.0.0.1:$PGPORT/sentry_bench" FUNCTIONS_PORT=$FUNCTIONS_PORT \
  "$ROOT/scripts/functions.sh" >"$WORK/functions.log" 2>&1 &
pids+=($!)

wait_for() { for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
wait_for "http://127.0.0.1:$BUGSINK_PORT/"
wait_for "http://127.0.0.1:$FUNCTIONS_PORT/functions/v1/"

# Each prints "events_stored unix_time", the time read as the count is: a
# poller's own start (an interpreter, a connection) is not charged to the
# target.
bugsink_stored() {
  "$PY/python" -c "import sqlite3, time; db = sqlite3.connect('$WORK/bugsink/db.sqlite3'); at = time.time(); print(db.execute('select count(*) from events_event').fetchone()[0], at)"
}
observe_stored() {
  psql -X -qAt -F ' ' -h 127.0.0.1 -p "$PGPORT" -U postgres -d sentry_bench \
    -c "select count(*), extract(epoch from statement_timestamp()) from observe.events"
}

# Runs one target: prints "accepted seconds_to_send stored seconds_to_store".
measure() {
  local url=$1 key=$2 stored=$3
  local started sent accepted send_seconds count now
  sent=$("$PY/python" "$ROOT/benches/sentry/replay.py" send "$url" "$key" "$WORK/stream.b64" "$CONCURRENCY")
  echo "   $sent" >&2
  # From the first request, as the sender timed it: not from the sender's
  # start, whose interpreter and imports (a quarter of a second) would
  # weigh on the faster target only.
  started=$(jq -r .started_at <<<"$sent")
  accepted=$(jq -r .accepted <<<"$sent")
  send_seconds=$(jq -r .seconds <<<"$sent")
  # Stored: until every accepted event is, or 10 minutes.
  for _ in $(seq 6000); do
    read -r count now <<<"$($stored)"
    [ "$count" -ge "$accepted" ] && break
    sleep 0.1
  done
  echo "$accepted $send_seconds $count $(echo "$now - $started" | bc -l)"
}

echo >&2 "bugsink (gunicorn, 4 workers, snappea, SQLite), $CONCURRENCY connections:"
read -r b_acc b_send b_stored b_store <<<"$(measure "http://127.0.0.1:$BUGSINK_PORT/api/$BUGSINK_PROJECT/envelope/" "$BUGSINK_KEY" bugsink_stored)"
echo >&2 "pg_observe (scripts/functions.sh, PostgreSQL $PGPORT), $CONCURRENCY connections:"
read -r o_acc o_send o_stored o_store <<<"$(measure "http://127.0.0.1:$FUNCTIONS_PORT/functions/v1/ingest/api/$OBSERVE_PROJECT/envelope/" "$OBSERVE_KEY" observe_stored)"

rate() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }
stored_ratio=$(printf '%.1f' "$(echo "($o_stored / $o_store) / ($b_stored / $b_store)" | bc -l)")
accepted_ratio=$(printf '%.1f' "$(echo "($o_acc / $o_send) / ($b_acc / $b_send)" | bc -l)")
verdict=$(awk -v r="$stored_ratio" 'BEGIN {print (r >= 20) ? "met" : "not met"}')
lost() { [ "$2" -ge "$1" ] && echo none || echo "$(($1 - $2))"; }
echo "sentry-sdk $("$PY/python" -c 'import sentry_sdk; print(sentry_sdk.VERSION)'), $EVENTS events (20 error sites), $CONCURRENCY keep-alive connections; load average before the run: $load."
echo
echo "| target | events sent | accepted | accepted/s | stored | stored/s | accepted, not stored |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| Bugsink $("$PY/python" -c 'from importlib.metadata import version; print(version("bugsink"))') | $EVENTS | $b_acc | $(rate "$b_acc" "$b_send") | $b_stored | $(rate "$b_stored" "$b_store") | $(lost "$b_acc" "$b_stored") |"
echo "| pg_observe | $EVENTS | $o_acc | $(rate "$o_acc" "$o_send") | $o_stored | $(rate "$o_stored" "$o_store") | $(lost "$o_acc" "$o_stored") |"
echo
echo "Stored events per second, pg_observe / Bugsink: **${stored_ratio}×** (target 20×: **$verdict**);"
echo "accepted per second: ${accepted_ratio}×."
