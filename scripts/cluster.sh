#!/usr/bin/env bash
# The project's own PostgreSQL 15 cluster, kept under target/ and away from the
# machine's default cluster. PostgreSQL refuses to run as root, so as root the
# server runs as the postgres user.
#
#   scripts/cluster.sh start|stop|restart|fresh|status|url
#
# Environment: PGDIR (default target/pg), PGPORT (default 5499),
# PG_DURABLE=0 turns off fsync for throwaway test clusters, PG_PRELOAD adds
# libraries to shared_preload_libraries (pg_observe, for server-side
# capture) and PG_CONF adds lines to postgresql.conf; all three apply when
# the cluster is created.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=$(/usr/bin/pg_config --bindir)
PGDIR=${PGDIR:-$ROOT/target/pg}
PGPORT=${PGPORT:-5499}
PG_DURABLE=${PG_DURABLE:-1}
PG_PRELOAD=${PG_PRELOAD:-}
PG_CONF=${PG_CONF:-}
DATA=$PGDIR/data
CRON_DB=observe_cron

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then sudo -u postgres -- "$@"; else "$@"; fi
}

init() {
  mkdir -p "$PGDIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDIR"
  as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  {
    echo "port = $PGPORT"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$PGDIR'"
    echo "shared_preload_libraries = 'pg_cron${PG_PRELOAD:+,$PG_PRELOAD}'"
    echo "cron.database_name = '$CRON_DB'"
    echo "cron.use_background_workers = on"
    echo "max_worker_processes = 32"
    echo "max_connections = 200"
    echo "shared_buffers = 256MB"
    echo "log_min_messages = warning"
    if [ "$PG_DURABLE" = 0 ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
    [ -z "$PG_CONF" ] || printf '%s\n' "$PG_CONF"
  } | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

running() { as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  [ -f "$DATA/PG_VERSION" ] || init
  if ! running && ! as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 start >/dev/null; then
    # pg_ctl only says "examine the log"; the usual cause, another server on
    # the same port, is in the log's last lines.
    echo "cluster.sh: PostgreSQL did not start on port $PGPORT; $PGDIR/server.log ends:" >&2
    tail -n 5 "$PGDIR/server.log" >&2
    exit 1
  fi
  psql_admin -tAc "select 1 from pg_database where datname = '$CRON_DB'" | grep -q 1 \
    || psql_admin -qc "create database $CRON_DB"
  # The cron tests share this database across runs; an extension created
  # there by an older build would keep that build's SQL beside the new
  # library, so each start leaves them to create the current one.
  psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$CRON_DB" -v ON_ERROR_STOP=1 -qc \
    "drop extension if exists pg_observe cascade" 2>&1 | grep -v '^NOTICE' || true
  # pg_cron's scheduler, started before its extension existed in the cron
  # database, can take minutes to notice jobs scheduled there afterwards (the
  # scheduled alert test waited for them in vain), so a fresh cluster gets
  # the extension here and a server restart, whose scheduler starts with it
  # in place (terminating the scheduler alone matched no backend: pg_cron's
  # worker is named "pg_cron launcher").
  if ! psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$CRON_DB" -tAc \
      "select 1 from pg_extension where extname = 'pg_cron'" | grep -q 1; then
    psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$CRON_DB" -v ON_ERROR_STOP=1 -qc "create extension pg_cron"
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 restart >/dev/null
  fi
}

stop() {
  if [ -f "$DATA/PG_VERSION" ] && running; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
}

psql_admin() { psql -X -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  fresh) stop; rm -rf "$PGDIR"; start ;;
  status) running && echo "running on port $PGPORT ($DATA)" || { echo "stopped"; exit 1; } ;;
  url) echo "host=127.0.0.1 port=$PGPORT user=postgres" ;;
  *) echo "usage: $0 start|stop|restart|fresh|status|url" >&2; exit 2 ;;
esac
