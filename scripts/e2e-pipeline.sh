#!/usr/bin/env bash
# The quality-gate pipeline of templates/github/ run end to end on this
# machine, with the same scripts and CLI calls the workflows make:
#   * a local server speaking Vercel's documented API (standins/vercel) hosts
#     the fixture app (templates/fixture-app) under the headers
#     `pg-observe headers` generates for it;
#   * pull request: preview deploy, smoke test in Debian's Chromium, load
#     test (autocannon, the platform's thresholds), budgets, the gate (header
#     grade, alerts), dependency scan;
#   * main: web@1 goes live; web@2 is deployed staged, verified on staging,
#     promoted, verified in production; web@3 likewise, but production users
#     hit errors once it is live (injected by the traffic script): its
#     verification fails and the pipeline rolls production back to web@2 on
#     its own, then checks that web@2 answers again.
# Prints the time from the bad deploy going live to the rollback being live
# (also written to $E2E_RESULT when set). E2E_REBUILD_BASELINE=1 then times
# today's manual way back for comparison: web@3 live again, web@2 rebuilt
# from its sources and deployed to production as a new deploy. Needs PG_OBSERVE_TEST_URL (a
# cluster with pg_observe installed), target/debug/{pg-observe,vercel-standin}
# and tools/node_modules (scripts/setup.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
: "${PG_OBSERVE_TEST_URL:?set PG_OBSERVE_TEST_URL to the test cluster (scripts/cluster.sh url)}"
BIN=${PG_OBSERVE_BIN:-$ROOT/target/debug}
WINDOW=${E2E_WINDOW:-20s}
WINDOW_SECONDS=${WINDOW%s}
T0=$SECONDS

say() { printf '\033[1;36m[pipeline %3ss]\033[0m %s\n' "$((SECONDS - T0))" "$*"; }
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

WORK=$(mktemp -d)
DB=e2e_pipeline_$$
STANDIN_PID=
cleanup() {
  [ -n "$STANDIN_PID" ] && kill "$STANDIN_PID" 2>/dev/null
  pg "$PG_OBSERVE_TEST_URL dbname=postgres" -c "drop database if exists $DB with (force)" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

pg "$PG_OBSERVE_TEST_URL dbname=postgres" -c "create database $DB"
export DATABASE_URL="$PG_OBSERVE_TEST_URL dbname=$DB"
pg "$DATABASE_URL" -c "create extension pg_observe" \
  -c "select observe.set_deploy_policy(e, min_requests => 40) from unnest(array['staging', 'production']) e" >/dev/null

export VERCEL_TOKEN=e2e-token VERCEL_PROJECT_ID=prj_fixture VERCEL_TEAM_ID=team_e2e
"$BIN/vercel-standin" --token "$VERCEL_TOKEN" --project "$VERCEL_PROJECT_ID" --team "$VERCEL_TEAM_ID" \
  --rate-limit 600 >"$WORK/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 50); do grep -q "listening on" "$WORK/standin.log" && break; sleep 0.1; done
ORIGIN=$(sed -n 's/^listening on //p' "$WORK/standin.log")
[ -n "$ORIGIN" ] || { echo "the Vercel stand-in did not start"; cat "$WORK/standin.log"; exit 1; }
export VERCEL_API_URL=$ORIGIN
PRODUCTION=$ORIGIN/
say "Vercel stand-in at $ORIGIN, database $DB"

pgo() { "$BIN/pg-observe" "$@"; }

# Build: the fixture app at a version, with its headers in vercel.json.
build() {
  local version=$1 dir=$WORK/site-$1
  mkdir -p "$dir"
  cp -r templates/fixture-app/. "$dir/"
  find "$dir" -name '*.html' -exec sed -i "s/__VERSION__/$version/g" {} +
  pgo headers --hash-from "$dir" --format vercel --report-uri "$ORIGIN/csp-reports" >"$WORK/vercel.json"
  mv "$WORK/vercel.json" "$dir/vercel.json"
  echo "$dir"
}
# What `vercel deploy --prebuilt` does; staged (--skip-domain) when $4.
deploy() {
  curl -fsS -X POST "$ORIGIN/_standin/deployments" \
    -d "{\"id\": \"$1\", \"dir\": \"$2\", \"target\": \"$3\", \"stage\": ${4:-false}, \"commit\": \"$1\"}" >/dev/null
}
url_of() { echo "$ORIGIN/_d/$1/"; }
# Users for the length of a verification window, in the background.
traffic() {
  node tools/pipeline/traffic.mjs "$@" --seconds "$((WINDOW_SECONDS + 3))" --per-second 8 >"$WORK/traffic.log" &
  TRAFFIC_PID=$!
}

say "pull request: web@2 as a preview deploy"
site2=$(build web@2)
deploy dpl_pr2 "$site2" preview
pgo deploy record --id dpl_pr2 --environment preview --commit c2 --url "$(url_of dpl_pr2)"
node tools/pipeline/smoke.mjs "$(url_of dpl_pr2)" --path / --path /checkout/ --expect "web@2" >"$WORK/smoke.json"
say "smoke test in Chromium: no console, CSP or Trusted Types error"
node tools/pipeline/load-test.mjs "$(url_of dpl_pr2)" --path / --path /checkout/ --duration 10
pgo budgets check
pgo gate --url "$(url_of dpl_pr2)" --environment preview
tools/pipeline/audit.sh . tools

say "main: web@1 is live"
site1=$(build web@1)
deploy dpl_1 "$site1" production
pgo deploy record --id dpl_1 --environment production --commit c1 --url "$(url_of dpl_1)"
traffic "$PRODUCTION" --environment production --release web@1
pgo deploy verify --id dpl_1 --window "$WINDOW" --wait --poll 2s
wait "$TRAFFIC_PID"

# deploy staging → record → verify → promote → verify → roll back on failure
# Called in a condition, where errexit is off: every step checks itself.
release() {
  local id=$1 site=$2 version=$3 inject=${4:-0}
  deploy "$id" "$site" production true || exit 1
  pgo deploy record --id "$id" --environment staging --commit "$id" --url "$(url_of "$id")" || exit 1
  traffic "$(url_of "$id")" --environment staging --release "$version"
  pgo deploy verify --id "$id" --window "$WINDOW" --wait --poll 2s || { say "$id failed on staging"; exit 1; }
  wait "$TRAFFIC_PID" || exit 1
  pgo deploy promote --id "$id" --url "$PRODUCTION" || exit 1
  LIVE_AT=$(date +%s.%N)
  traffic "$PRODUCTION" --environment production --release "$version" --inject-errors "$inject"
  if pgo deploy verify --id "$id" --window "$WINDOW" --wait --poll 1s; then
    wait "$TRAFFIC_PID"
    return 0
  else
    code=$?
    [ "$code" -eq 1 ] || { say "verification of $id ended with $code, not a verdict"; exit 1; }
    VERDICT_AT=$(date +%s.%N)
    pgo deploy rollback --url "$PRODUCTION" --reason "$id failed its production verification" || exit 1
    ROLLED_BACK_AT=$(date +%s.%N)
    kill "$TRAFFIC_PID" 2>/dev/null || true
    return 1
  fi
}

say "main: web@2 through staging to production"
release dpl_2 "$site2" web@2 || { say "web@2 was rolled back: the good deploy must pass"; exit 1; }
node tools/pipeline/smoke.mjs "$PRODUCTION" --expect "web@2" >/dev/null

say "main: web@3, broken for production users once live"
site3=$(build web@3)
if release dpl_3 "$site3" web@3 0.3; then
  say "web@3 passed its verification: the bad deploy must fail"
  exit 1
fi
node tools/pipeline/smoke.mjs "$PRODUCTION" --path / --path /checkout/ --expect "web@2" >/dev/null
took=$(awk "BEGIN { printf \"%.1f\", $ROLLED_BACK_AT - $LIVE_AT }")
say "rolled back on its own: web@2 serves production again, ${took}s after web@3 went live"

pg "$DATABASE_URL" -At -c "select count(*) from observe.deploy_rollbacks r
                               join observe.deployments f on f.id = r.from_deployment
                               join observe.deployments t on t.id = r.to_deployment
                              where f.deployment_id = 'dpl_3' and t.deployment_id = 'dpl_2'" | grep -qx 1
pg "$DATABASE_URL" -At -c "select count(*) from observe.notifications
                            where subject like '%Deploy dpl_3 failed verification'" | grep -qx 1
pg "$DATABASE_URL" -c "select environment, period, deployments, change_failures, change_failure_rate, restores,
                              time_to_restore from observe.dora where environment = 'production'"
detect=$(awk "BEGIN { printf \"%.1f\", $VERDICT_AT - $LIVE_AT }")
act=$(awk "BEGIN { printf \"%.1f\", $ROLLED_BACK_AT - $VERDICT_AT }")

rebuild=null
if [ "${E2E_REBUILD_BASELINE:-0}" = 1 ]; then
  say "baseline: web@3 live again, then back by rebuilding web@2 and deploying it"
  curl -fsS -X POST -H "Authorization: Bearer $VERCEL_TOKEN" \
    "$ORIGIN/v10/projects/$VERCEL_PROJECT_ID/promote/dpl_3?teamId=$VERCEL_TEAM_ID" >/dev/null
  curl -fsS "$PRODUCTION" | grep -q "web@3"
  start=$(date +%s.%N)
  site2b=$(build web@2)
  deploy dpl_2_rebuilt "$site2b" production
  until curl -fsS "$PRODUCTION" 2>/dev/null | grep -q "web@2"; do sleep 0.05; done
  rebuild=$(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }")
  say "the rebuild took ${rebuild}s here, where the stand-in does not build; pg-observe's rollback took ${act}s"
fi
[ -n "${E2E_RESULT:-}" ] && printf '{"bad_deploy_to_rollback_live_seconds": %s, "live_to_failed_verdict_seconds": %s, "failed_verdict_to_rollback_live_seconds": %s, "rebuild_rollback_seconds": %s, "pipeline_seconds": %s}\n' \
  "$took" "$detect" "$act" "$rebuild" "$((SECONDS - T0))" >"$E2E_RESULT"
say "pipeline passed: a good deploy promoted, a bad one rolled back"
