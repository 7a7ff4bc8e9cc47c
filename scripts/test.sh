#!/usr/bin/env bash
# Runs every test of pg_observe on a fresh or warm machine:
#   0. style gates: rustfmt and clippy -D warnings on every crate, deno fmt,
#      lint and type checks of the functions, and the edge crate built for
#      wasm32 with its Deno glue (so the core cannot drift away from WASM)
#   1. pure Rust unit and property tests (no Postgres), and the edge
#      functions' decisions, natively
#   2. #[pg_test]s inside a PostgreSQL 15 started by cargo-pgrx
#   3. integration tests over tokio-postgres against the project's own
#      PostgreSQL 15 cluster with pg_cron, one database per test; then the
#      server-side capture tests, on a second cluster that also preloads
#      pg_observe (CAPTURE_PGDIR, CAPTURE_PGPORT, default port 5500)
#   4. pgTAP tests of the SQL API (supabase/tests), run with pg_prove
#   5. the edge functions end to end: real Deno running the real WASM
#      (scripts/functions.sh) against that cluster, with local stand-ins
#      for Resend, Vercel and GitHub, health checks against sites the tests
#      start (one over HTTPS), the status page in Debian's headless
#      Chromium (playwright-core), and the real Sentry SDKs (Python
#      sentry-sdk, @sentry/node, @sentry/deno, @sentry/browser in Chromium)
#      sending to the ingest function
#   6. the pg-observe CLI against that cluster and a Vercel stand-in, and the
#      quality-gate pipeline end to end (scripts/e2e-pipeline.sh: a good
#      deploy promoted, a bad one rolled back on its own)
#   7. the criterion benchmarks in test mode (each benchmark runs once)
# Benchmarks proper: scripts/bench.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*"; STEP_START=$SECONDS; }
done_step() { printf '\033[1;32m   (%ss)\033[0m\n' "$((SECONDS - STEP_START))"; }

step "setup"
scripts/setup.sh
done_step

step "style: rustfmt and clippy -D warnings, every crate"
cargo fmt --all --check
cargo fmt --manifest-path edge/Cargo.toml --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --manifest-path edge/Cargo.toml --all-targets -- -D warnings
done_step

# The functions import the WASM glue, so they are checked once it is built.
step "edge crate for wasm32-unknown-unknown with its Deno glue; deno fmt, lint and check"
scripts/build-edge.sh
DENO=$ROOT/tools/node_modules/.bin/deno
(cd supabase/functions && "$DENO" fmt --check --config deno.json . && "$DENO" lint --config deno.json . &&
  "$DENO" check --frozen --config deno.json _local/serve.ts */index.ts tests/)
done_step

step "pure Rust tests (pg_observe_core, and the benchmarks' baselines)"
cargo test -p pg_observe_core -p pg_observe_benches
done_step

step "edge functions' decisions, natively (edge/)"
cargo test --manifest-path edge/Cargo.toml
done_step

step "#[pg_test]s"
PGRX_TEST_DATA=$ROOT/target/pgrx-test
mkdir -p "$PGRX_TEST_DATA"
[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$PGRX_TEST_DATA"
(cd pg_observe && cargo pgrx test pg15 --runas postgres --pgdata "$PGRX_TEST_DATA")
done_step

# `cargo pgrx test` installs its own test build; reinstall the real one.
step "install the extension"
scripts/install.sh
done_step

export PGDIR=${PGDIR:-$ROOT/target/pg-test} PGPORT=${PGPORT:-5499} PG_DURABLE=0
step "start a fresh PostgreSQL 15 test cluster (pg_cron preloaded)"
scripts/cluster.sh fresh
trap 'scripts/cluster.sh stop' EXIT
done_step

export PG_OBSERVE_TEST_URL="host=127.0.0.1 port=$PGPORT user=postgres"
step "integration tests (tests/)"
# Every test target but server_capture, which needs the preloading cluster.
targets=()
for target in tests/tests/*.rs tests/tests/*/main.rs; do
  name=${target#tests/tests/}
  name=${name%.rs}
  name=${name%/main}
  [ "$name" = server_capture ] || targets+=(--test "$name")
done
cargo test -p pg_observe_tests "${targets[@]}"
done_step

CAPTURE_PGDIR=${CAPTURE_PGDIR:-$ROOT/target/pg-capture} CAPTURE_PGPORT=${CAPTURE_PGPORT:-5500}
step "server-side capture tests (tests/tests/server_capture.rs) on a cluster preloading pg_observe"
# A small ring, so that the flood test overflows it quickly.
PGDIR=$CAPTURE_PGDIR PGPORT=$CAPTURE_PGPORT PG_PRELOAD=pg_observe \
  PG_CONF="observe.capture_ring_size = '256kB'" scripts/cluster.sh fresh
trap 'scripts/cluster.sh stop; PGDIR=$CAPTURE_PGDIR PGPORT=$CAPTURE_PGPORT scripts/cluster.sh stop' EXIT
PG_OBSERVE_PRELOAD_TEST_URL="host=127.0.0.1 port=$CAPTURE_PGPORT user=postgres" \
  PG_OBSERVE_PRELOAD_PGDIR=$CAPTURE_PGDIR cargo test -p pg_observe_tests --test server_capture
PGDIR=$CAPTURE_PGDIR PGPORT=$CAPTURE_PGPORT scripts/cluster.sh stop
done_step

step "pgTAP tests (supabase/tests)"
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "drop database if exists pgtap" -c "create database pgtap"
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d pgtap -v ON_ERROR_STOP=1 \
  -c "create extension pgtap" -c "create extension pg_observe"
pg_prove -h 127.0.0.1 -p "$PGPORT" -U postgres -d pgtap --ext .sql -r supabase/tests
done_step

step "edge functions end to end under Deno (supabase/functions/tests)"
(cd supabase/functions && FUNCTIONS_PORT=${FUNCTIONS_PORT:-54329} \
  "$DENO" test --frozen --config deno.json --allow-all tests/)
done_step

step "pg-observe CLI: exit codes and messages against the cluster and the Vercel stand-in"
cargo test -p pg_observe_cli
done_step

step "quality-gate pipeline end to end (Vercel stand-in, Chromium, autocannon)"
cargo build -q -p pg_observe_cli -p vercel_standin
scripts/e2e-pipeline.sh
done_step

step "criterion benchmarks, test mode"
cargo bench -p pg_observe_benches -- --test
done_step

printf '\n\033[1;32mall tests passed\033[0m in %ss\n' "$SECONDS"
