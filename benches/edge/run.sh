#!/usr/bin/env bash
# Benchmarks of the edge functions, printed as the markdown section that
# scripts/bench.sh puts in benches/RESULTS.md:
#   1. the .wasm's size
#   2. cold start: scripts/functions.sh spawned to its first answer
#   3. per-request cost of the Rust/WASM call, against the same handler
#      answering without it, in the same run
#   4. dispatch throughput against the Resend stand-in at its 2 requests/s
# Starts its own PostgreSQL cluster (PGDIR, PGPORT) for 4. Takes about a
# minute. Run it under the machine's build lock, with the extension
# installed (scripts/install.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export PGDIR=${PGDIR:-$ROOT/target/pg-bench-edge} PGPORT=${PGPORT:-5497} PG_DURABLE=0
export FUNCTIONS_PORT=${FUNCTIONS_PORT:-54328}
scripts/build-edge.sh >&2
scripts/cluster.sh fresh >&2
trap '"$ROOT/scripts/cluster.sh" stop >&2' EXIT
cd supabase/functions
"$ROOT/tools/node_modules/.bin/deno" run --config deno.json --allow-all "$ROOT/benches/edge/bench.ts"
