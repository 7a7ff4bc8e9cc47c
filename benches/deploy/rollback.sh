#!/usr/bin/env bash
# The local pipeline's time from a bad deploy going live to the rollback
# being live (production answering with the previous build again), over
# ROUNDS runs of scripts/e2e-pipeline.sh on the project's own cluster, split
# into detection (live → failed verdict) and the rollback itself (failed
# verdict → `pg-observe deploy rollback` returning once production answers).
# The baseline, in the same runs, is today's way back: rebuild the previous
# ref and deploy it to production as a new deploy (E2E_REBUILD_BASELINE).
# Prints a markdown table and the medians; the target (the platform's
# checklist) is under 5 minutes.
#   benches/deploy/rollback.sh            # ROUNDS=3
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
export PGDIR=${PGDIR:-$ROOT/target/pg-bench} PGPORT=${PGPORT:-5495} PG_DURABLE=1
export PATH="$HOME/.cargo/bin:$PATH"
(cd "$ROOT" && cargo build -q --release -p pg_observe_cli -p vercel_standin)
"$ROOT/scripts/cluster.sh" fresh >/dev/null
trap '"$ROOT/scripts/cluster.sh" stop' EXIT
export PG_OBSERVE_TEST_URL="host=127.0.0.1 port=$PGPORT user=postgres" PG_OBSERVE_BIN=$ROOT/target/release
export E2E_REBUILD_BASELINE=1
mkdir -p "$ROOT/target/bench"
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2"; }
. "$ROOT/benches/lib.sh"
median_of() { printf '%s\n' "$@" | median; }
total=() detect=() act=() rebuild=()
echo "| run | bad deploy live → failed verdict (s) | failed verdict → rollback live: \`deploy rollback\` (s) | baseline: rebuild the previous ref → live (s) | bad deploy live → rollback live (s) | whole pipeline (s) |"
echo "|---|---:|---:|---:|---:|---:|"
for i in $(seq "$ROUNDS"); do
  out=$(mktemp)
  E2E_RESULT=$out "$ROOT/scripts/e2e-pipeline.sh" >"$ROOT/target/bench/pipeline-$i.log" 2>&1 ||
    { echo "run $i failed; see target/bench/pipeline-$i.log" >&2; exit 1; }
  total+=("$(field bad_deploy_to_rollback_live_seconds "$out")")
  detect+=("$(field live_to_failed_verdict_seconds "$out")")
  act+=("$(field failed_verdict_to_rollback_live_seconds "$out")")
  rebuild+=("$(field rebuild_rollback_seconds "$out")")
  echo "| $i | ${detect[-1]} | ${act[-1]} | ${rebuild[-1]} | ${total[-1]} | $(field pipeline_seconds "$out") |"
  rm -f "$out"
done
echo
echo "Medians: **$(median_of "${total[@]}") s** from the bad deploy going live to the rollback being live" \
  "(target: under 300 s), of which $(median_of "${detect[@]}") s to the failed verdict and" \
  "$(median_of "${act[@]}") s for \`deploy rollback\`; rebuilding the previous ref took $(median_of "${rebuild[@]}") s."
