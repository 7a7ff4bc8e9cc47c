#!/usr/bin/env bash
# Runs every benchmark with an optimised build, each against a baseline
# measured in the same run:
#   1. criterion: normalize, fingerprint and scrub throughput on the corpus
#   2. pgbench: observe.log_error vs a bare INSERT of the same columns
#   3. SQL: observe.fingerprint over a million stored messages vs a
#      regexp_replace chain and md5
# Figures and the commands that produced them go to benches/RESULTS.md.
# Takes about 25 minutes; run it on an otherwise idle machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh
scripts/install.sh --release

echo "== criterion"
cargo bench -p pg_observe_benches -- --warm-up-time 2 --measurement-time 5
echo "== pgbench"
benches/pgbench/run.sh
echo "== SQL fingerprint"
benches/sql/fingerprint.sh
